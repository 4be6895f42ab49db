/**
 * The roots an Android attestation chain must end at (`--android-roots
 * FILE`, PEM, one certificate or more): Google's hardware attestation roots
 * in production (https://developer.android.com/privacy-and-security/security-key-attestation#root_certificate),
 * a test root in tests.
 */
import { parseRootCertificates } from '../attestation-chain.ts'
import type { X509Certificate } from 'node:crypto'

export function parseAndroidRoots (pem: string, source: string): X509Certificate[] {
  return parseRootCertificates(pem, source)
}

/**
 * The roots an Android attestation chain must end at (`--android-roots
 * FILE`, PEM, one certificate or more): Google's hardware attestation roots
 * in production (https://developer.android.com/privacy-and-security/security-key-attestation#root_certificate),
 * a test root in tests.
 */
import { X509Certificate } from 'node:crypto'
import { ConfigError } from '../../core/config-error.ts'

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g

export function parseAndroidRoots (pem: string, source: string): X509Certificate[] {
  const blocks = pem.match(PEM_BLOCK) ?? []
  if (blocks.length === 0 || blocks.length > 32) {
    throw new ConfigError(`${source}: expected 1 to 32 PEM certificates (-----BEGIN CERTIFICATE-----), found ${blocks.length}`)
  }
  return blocks.map((block, i) => {
    let cert: X509Certificate
    try {
      cert = new X509Certificate(block)
    } catch (err: any) {
      throw new ConfigError(`${source}: certificate ${i + 1} does not parse (${String(err.message)})`)
    }
    if (!cert.ca) {
      throw new ConfigError(`${source}: certificate ${i + 1} (${cert.subject.replace(/\n/g, ', ')}) is not a CA certificate`)
    }
    return cert
  })
}

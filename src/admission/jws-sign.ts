/**
 * A compact JWS (RFC 7515) signed with EdDSA through any Ed25519 key a
 * tempus key can be: an in-memory KeyObject or a signer whose private key
 * never leaves its token (`core/keys.ts`). jose signs only with a key it
 * can hold, so the issuer makes its tokens, credentials and certificates
 * here; jose still verifies them (`jws.ts`): the header and claims are the
 * ones `SignJWT` wrote (`alg` first, then the header fields in order, then
 * the claims as JSON).
 */
import { KeyObject, sign as edSign } from 'node:crypto'
import type { SignerKey } from '../core/keys.ts'

export function signCompactJws (key: SignerKey, header: Record<string, unknown>, payload: Record<string, unknown>): string {
  const encode = (value: unknown): string => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url')
  const input = `${encode({ alg: 'EdDSA', ...header })}.${encode(payload)}`
  const bytes = Buffer.from(input, 'ascii')
  const signature = key instanceof KeyObject ? edSign(null, bytes, key) : key.sign(bytes)
  return `${input}.${Buffer.from(signature).toString('base64url')}`
}

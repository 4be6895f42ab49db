/**
 * The nonce an Android node passes to `IntegrityManager.requestIntegrityToken`
 * (or the request hash of a standard request): base64url, without padding,
 * of SHA-256(domain ‖ 0x00 ‖ issuer challenge ‖ node's raw Ed25519 key).
 * Play Integrity attests the app and the device, not a key: the challenge is
 * what binds the node's key.
 */
import { createHash } from 'node:crypto'
import { DOMAINS } from '../../core/domains.ts'
import { domainBytes } from '../../core/keys.ts'

export function playIntegrityNonce (issuerChallenge: Uint8Array, publicKey: Uint8Array): string {
  return createHash('sha256').update(domainBytes(DOMAINS.playIntegrity, issuerChallenge, publicKey)).digest('base64url')
}

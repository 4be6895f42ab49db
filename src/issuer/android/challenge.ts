/**
 * The attestation challenge an Android node puts in its keystore key
 * (`KeyGenParameterSpec.Builder.setAttestationChallenge`) for one enrolment.
 *
 * Two bindings, because the keystore fixes the challenge before the key
 * exists:
 * - `key` (KeyMint 2 / Android 13 and later, the default): the node's
 *   Ed25519 identity key is generated in the keystore after the issuer's
 *   challenge is fetched, so the challenge cannot contain the public key;
 *   the certificate itself binds the key (the leaf's subject public key IS
 *   the node's key). Challenge = SHA-256(domain ‖ 0x00 ‖ issuer challenge).
 * - `challenge` (older devices, which cannot hold Ed25519 keys): the node's
 *   key is a software key; the keystore attests another key generated for
 *   the enrolment, with challenge = SHA-256(domain ‖ 0x00 ‖ issuer challenge
 *   ‖ node's raw Ed25519 key). This proves a genuine, locked device asked
 *   for this enrolment, not that the key lives in it; the issuer accepts it
 *   only when its policy says so.
 * The issuer challenge has a fixed length (CHALLENGE_BYTES), so the two
 * inputs cannot be confused.
 */
import { createHash } from 'node:crypto'
import { DOMAINS } from '../../core/domains.ts'
import { domainBytes } from '../../core/keys.ts'

export type AndroidKeyBinding = 'key' | 'challenge'

export function androidAttestationChallenge (issuerChallenge: Uint8Array, binding: AndroidKeyBinding, publicKey?: Uint8Array): Uint8Array {
  const parts = binding === 'key' ? [issuerChallenge] : [issuerChallenge, publicKey ?? new Uint8Array(0)]
  return new Uint8Array(createHash('sha256').update(domainBytes(DOMAINS.androidAttestation, ...parts)).digest())
}

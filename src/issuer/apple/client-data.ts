/**
 * The clientDataHash an iOS node passes to `DCAppAttestService.attestKey`:
 * SHA-256(domain ‖ 0x00 ‖ issuer challenge ‖ node's raw Ed25519 key). The
 * App Attest key is a Secure Enclave P-256 key, never the node's Ed25519
 * key, so the challenge is what binds the node's key (the issuer challenge
 * has a fixed length: the two inputs cannot run into each other).
 */
import { createHash } from 'node:crypto'
import { DOMAINS } from '../../core/domains.ts'
import { domainBytes } from '../../core/keys.ts'

export function appAttestClientDataHash (issuerChallenge: Uint8Array, publicKey: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(domainBytes(DOMAINS.appAttest, issuerChallenge, publicKey)).digest())
}

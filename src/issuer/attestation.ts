/**
 * Platform attestation at enrolment, behind a small interface: a real
 * verifier (App Attest, Play Integrity, a TPM quote) implements `verify`
 * and is passed to the issuer. Two built-ins: `none` (development only; the
 * issuer warns at start) and `test-attestor`, which accepts evidence signed
 * by a configured attestor key, standing in for a platform's.
 */
import { DOMAINS } from '../core/domains.ts'
import { publicKeyFromRawBytes, signDomain, verifyDomain } from '../core/keys.ts'
import { TempusError } from '../core/tempus-error.ts'
import type { PeerType } from '../core/peer-type.ts'
import type { KeyObject } from 'node:crypto'

export interface AttestationContext {
  /** the enrolling node's raw Ed25519 public key */
  publicKey: Uint8Array
  /** the issuer challenge the enrolment answers */
  challenge: Uint8Array
  typ: PeerType
}

export interface AttestationVerifier {
  readonly kind: string
  /**
   * true when the evidence vouches for this key on a genuine platform;
   * false, or an `AttestationRefusal` naming the check that failed
   */
  verify(evidence: string | undefined, context: AttestationContext): Promise<boolean>
}

/**
 * A verifier's refusal with its reason (`code`, stable per verifier): the
 * enrolment records the reason in the audit log; the node is told only
 * `attestation-failed`.
 */
export class AttestationRefusal extends TempusError {
  override readonly name: string = 'AttestationRefusal'
  readonly code: string
  /** the verifier's kind, e.g. `android` */
  readonly verifier: string

  constructor (verifier: string, code: string, message: string) {
    super(message)
    this.verifier = verifier
    this.code = code
  }
}

/** undefined when the verifier accepts; else the reason it refused (`refused` when it said only false) */
export async function attestationRefusal (verifier: AttestationVerifier, evidence: string | undefined, context: AttestationContext): Promise<{ reason: string, message: string } | undefined> {
  try {
    return await verifier.verify(evidence, context) ? undefined : { reason: 'refused', message: 'the evidence was not accepted' }
  } catch (err) {
    if (err instanceof AttestationRefusal) {
      return { reason: err.code, message: err.message }
    }
    throw err
  }
}

export function noAttestation (): AttestationVerifier {
  return { kind: 'none', async verify () { return true } }
}

/** Evidence = base64url Ed25519 signature by the attestor over (public key ‖ challenge). */
export function testAttestor (attestorPublicKey: Uint8Array): AttestationVerifier {
  const key = publicKeyFromRawBytes(attestorPublicKey)
  return {
    kind: 'test-attestor',
    async verify (evidence, context) {
      if (typeof evidence !== 'string' || evidence.length > 200) {
        return false
      }
      return verifyDomain(key, new Uint8Array(Buffer.from(evidence, 'base64url')), DOMAINS.attestation, context.publicKey, context.challenge)
    }
  }
}

/** What a test platform does: sign the node's key and the challenge. */
export function attest (attestorPrivateKey: KeyObject, publicKey: Uint8Array, challenge: Uint8Array): string {
  return Buffer.from(signDomain(attestorPrivateKey, DOMAINS.attestation, publicKey, challenge)).toString('base64url')
}

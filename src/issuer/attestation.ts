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

/**
 * A verifier's answer with its reason: `reason` names the check that failed
 * (it goes into the audit log, never to the client); `binding`, on a pass,
 * is what the enrolment's challenge must have been sealed with.
 */
export type AttestationVerdict = { ok: true, binding?: Uint8Array } | { ok: false, reason: string }

/**
 * A challenge sealed for one device: `binding` names the device (the
 * challenge book MACs it into the challenge), `seal` hides the challenge so
 * that only that device recovers it, as the answer's `activation`.
 */
export interface ChallengeSeal {
  binding: Uint8Array
  seal(challenge: Uint8Array): Record<string, unknown>
}

export interface AttestationVerifier {
  readonly kind: string
  /**
   * true (or `{ ok: true }`) when the evidence vouches for this key on a
   * genuine platform; false, or a verdict with the failed check's reason
   */
  verify(evidence: string | undefined, context: AttestationContext): Promise<boolean | AttestationVerdict>
  /**
   * For verifiers whose device must first prove it holds a key (TPM
   * credential activation): the seal for a challenge request's `tpm`
   * member; throws an IssuerError `bad-request` when it is malformed.
   */
  sealChallenge?(device: unknown): ChallengeSeal
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

/**
 * A verifier's answer as a verdict, whichever way it gave it: true/false, a
 * verdict, or a thrown `AttestationRefusal` (`refused` when it said only
 * false).
 */
export async function attestationVerdict (verifier: AttestationVerifier, evidence: string | undefined, context: AttestationContext): Promise<AttestationVerdict> {
  try {
    const answer = await verifier.verify(evidence, context)
    if (typeof answer === 'boolean') {
      return answer ? { ok: true } : { ok: false, reason: 'refused' }
    }
    return answer
  } catch (err) {
    if (err instanceof AttestationRefusal) {
      return { ok: false, reason: err.code }
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

/**
 * A platform's evidence string as the JSON object it must be: present, at
 * most `maxChars`, JSON, an object with exactly `fields`. `fail` makes the
 * verifier's own refusal from a message (`usage` says what to send).
 */
export function evidenceObject (evidence: unknown, maxChars: number, fields: readonly string[], usage: string, fail: (message: string) => Error): Record<string, unknown> {
  if (typeof evidence !== 'string' || evidence.length === 0) {
    throw fail(`no evidence: send ${usage}`)
  }
  if (evidence.length > maxChars) {
    throw fail(`evidence of ${evidence.length} characters; at most ${maxChars}`)
  }
  let body: unknown
  try {
    body = JSON.parse(evidence)
  } catch {
    throw fail('evidence is not JSON')
  }
  if (body == null || typeof body !== 'object' || Array.isArray(body) || Object.keys(body).sort().join() !== [...fields].sort().join()) {
    throw fail(`evidence must be ${usage}`)
  }
  return body as Record<string, unknown>
}

/**
 * Why an App Attest attestation was refused: distinct reasons for the
 * audit log; the node hears only `attestation-failed`.
 */
import { AttestationRefusal } from '../attestation.ts'

export type AppAttestRefusalReason =
  /** not `{ keyId, attestation }` within the bounds, CBOR that does not decode, or an attestation object of another shape */
  | 'malformed-evidence'
  /** the chain ends at no configured root (Apple's App Attestation Root CA) */
  | 'unknown-root'
  | 'bad-signature'
  | 'not-a-ca'
  | 'outside-validity'
  /** the credential certificate's nonce is not SHA-256(authData ‖ clientDataHash) for this enrolment */
  | 'wrong-nonce'
  /** the key id is not the SHA-256 of the credential certificate's key, or the authenticator data's credential id is not the key id */
  | 'wrong-key-id'
  /** the RP ID hash is not that of an allowed App ID */
  | 'wrong-app-id'
  /** the counter of a fresh attestation is not 0 */
  | 'wrong-counter'
  /** the AAGUID is not production's (or development's, when allowed) */
  | 'wrong-environment'

export class AppAttestRefusal extends AttestationRefusal {
  override readonly name = 'AppAttestRefusal'
  declare readonly code: AppAttestRefusalReason

  constructor (code: AppAttestRefusalReason, message: string) {
    super('apple-app-attest', code, message)
  }
}

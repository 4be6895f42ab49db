/**
 * Why a Play Integrity verdict was refused: distinct reasons for the audit
 * log; the node hears only `attestation-failed`.
 */
import { AttestationRefusal } from '../attestation.ts'

export type PlayIntegrityRefusalReason =
  /** not `{ token }` within the bounds, or a verdict of another shape */
  | 'malformed-evidence'
  /** the token does not decrypt with the app's decryption key, or its signature does not verify with the verification key */
  | 'bad-token'
  /** the verdict is for another package */
  | 'wrong-package'
  /** the verdict's nonce (or request hash) is not this enrolment's */
  | 'wrong-nonce'
  /** the verdict was made too long before (or after) the issuer's clock */
  | 'stale-verdict'
  /** Play does not recognise the app (`appRecognitionVerdict` is not PLAY_RECOGNIZED) */
  | 'app-not-recognized'
  /** the app is signed by a certificate not in the allow-list */
  | 'wrong-signer'
  /** the device does not meet the integrity the policy asks for */
  | 'device-integrity'
  /** the user's copy is not licensed (when the policy asks) */
  | 'unlicensed'

export class PlayIntegrityRefusal extends AttestationRefusal {
  override readonly name = 'PlayIntegrityRefusal'
  declare readonly code: PlayIntegrityRefusalReason

  constructor (code: PlayIntegrityRefusalReason, message: string) {
    super('play-integrity', code, message)
  }
}

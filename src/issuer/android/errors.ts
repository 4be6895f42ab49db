/**
 * Why an Android key attestation was refused. Each reason is distinct so
 * the audit log says which check failed; the enrolling node is told only
 * `attestation-failed` (a forger learns nothing about which check it
 * failed). Reasons name a check, never a value from the evidence.
 */
import { AttestationRefusal } from '../attestation.ts'

export type AndroidRefusalReason =
  /** not a JSON object `{ chain: [base64url DER, …] }` within the bounds, or a certificate that does not parse */
  | 'malformed-evidence'
  /** the chain ends at no configured root */
  | 'unknown-root'
  /** a certificate's signature does not verify under its issuer's key, or its issuer name does not match */
  | 'bad-signature'
  /** a certificate that signs another is not a CA (basicConstraints) */
  | 'not-a-ca'
  /** a certificate (or the root) is not valid at the issuer's clock */
  | 'outside-validity'
  /** a certificate's serial is in the revocation status list (revoked or suspended) */
  | 'revoked-certificate'
  /** the leaf has no key description extension, or it does not parse */
  | 'no-key-description'
  /** the attestation or KeyMint security level is Software */
  | 'software-security-level'
  /** the key was imported into the keystore, not generated in it: a copy may exist */
  | 'imported-key'
  /** no hardware-enforced root of trust */
  | 'no-root-of-trust'
  /** verified boot state is not Verified */
  | 'boot-not-verified'
  /** the bootloader is unlocked */
  | 'device-unlocked'
  /** the attested key is not the node's key (and the policy does not accept the challenge binding) */
  | 'wrong-key'
  /** the attestation challenge is not the one this enrolment asked for */
  | 'wrong-challenge'
  /** the attesting app's package names or signing certificates are not in the policy's allow-list */
  | 'package-not-allowed'
  /** the OS patch level is missing or older than the policy's minimum */
  | 'patch-level-too-old'

export class AndroidAttestationRefusal extends AttestationRefusal {
  override readonly name = 'AndroidAttestationRefusal'
  declare readonly code: AndroidRefusalReason

  constructor (code: AndroidRefusalReason, message: string) {
    super('android', code, message)
  }
}

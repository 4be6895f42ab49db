/**
 * Why a token or an admission was refused. The reason is for our logs and
 * for the honest holder of a token (`rotated-key` tells it to re-fetch);
 * the remote side of a refused connection learns nothing but the close.
 */
import { TempusError } from '../core/tempus-error.ts'
export type RefusalReason =
  | 'malformed'
  | 'unknown-key'
  | 'rotated-key'
  | 'bad-signature'
  | 'not-yet-valid'
  | 'expired'
  | 'lifetime'
  | 'wrong-issuer'
  | 'wrong-audience'
  | 'wrong-subject'
  | 'wrong-type'
  | 'revoked'
  | 'bad-proof'
  | 'refused'
  | 'timeout'
  /** the exchange was cut before it ended (a reset, a close): nobody's offence */
  | 'closed'

export class AdmissionError extends TempusError {
  /** the same as `reason`: the one field every project error has */
  get code (): string { return this.reason }
  override readonly name = 'AdmissionError'
  readonly reason: RefusalReason
  /** for `expired`: how long ago the token expired, ms */
  readonly expiredForMs?: number

  constructor (reason: RefusalReason, message?: string, detail: { expiredForMs?: number } = {}) {
    super(message ?? `admission refused: ${reason}`)
    this.reason = reason
    this.expiredForMs = detail.expiredForMs
  }
}

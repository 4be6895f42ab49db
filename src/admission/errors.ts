/**
 * Why a token or an admission was refused. The reason is for our logs and
 * for the honest holder of a token (`rotated-key` tells it to re-fetch);
 * the remote side of a refused connection learns nothing but the close.
 */
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

export class AdmissionError extends Error {
  override readonly name = 'AdmissionError'
  readonly reason: RefusalReason

  constructor (reason: RefusalReason, message?: string) {
    super(message ?? `admission refused: ${reason}`)
    this.reason = reason
  }
}

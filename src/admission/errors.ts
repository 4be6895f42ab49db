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
  /**
   * a token (or key certificate) of another overlay, by a key this overlay
   * never certified: a node enrolled elsewhere, or pointed at the wrong mesh
   */
  | 'foreign-overlay'
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
  /** for `foreign-overlay`: the overlay the token claims (unverified, cut to 64 characters) */
  readonly overlay?: string

  constructor (reason: RefusalReason, message?: string, detail: { expiredForMs?: number, overlay?: string } = {}) {
    super(message ?? `admission refused: ${reason}`)
    this.reason = reason
    this.expiredForMs = detail.expiredForMs
    this.overlay = detail.overlay
  }
}

/** What else is known of a refusal: what its cost depends on, and what the operator's log shows. */
export interface RefusalDetail {
  /** how long the token shown had been expired, ms */
  expiredForMs?: number
  /** the overlay a foreign token named */
  overlay?: string
  /** the deadline passed while this node's own event loop ran late: not charged */
  starved?: boolean
  /** what the exchange said of it, where it said more than the reason (for this node's log and events; never sent) */
  why?: string
}

/** The refusal detail an exchange's error carries. */
export function refusalDetailOf (err: unknown): RefusalDetail {
  if (!(err instanceof AdmissionError)) {
    return {}
  }
  const said = err.message !== `admission refused: ${err.reason}` ? { why: err.message } : {}
  return { expiredForMs: err.expiredForMs, overlay: err.overlay, ...said }
}

/** Why a bundle, a receipt or a send was refused: every reason is named. */
import { TempusError } from '../core/tempus-error.ts'

export type DtnRefusal =
  | 'malformed' | 'oversize' | 'bad-signature' | 'no-admission' | 'revoked-source'
  | 'expired' | 'skew' | 'hop-limit' | 'bad-fragment' | 'bad-digest' | 'bad-receipt'
  | 'quota-full' | 'no-token' | 'bad-destination' | 'duplicate' | 'unwanted' | 'stale-evidence'
  | 'bad-endorsement'
  /** the source's (or endorsing bridge's) token had lapsed, as an honest node's does in an issuer outage: not stored, nobody charged; a holder that learns a newer token of the source offers it again with that */
  | 'lapsed-evidence'
  /** this node cannot open an encrypted payload: its identity key is in a PKCS#11 token (no X25519 there) */
  | 'key-in-token'

/** refusals that are nobody's fault: not counted against the sender (a carrier may not have heard of a revocation yet) */
export const HARMLESS: ReadonlySet<DtnRefusal> = new Set(['duplicate', 'quota-full', 'expired', 'unwanted', 'stale-evidence', 'lapsed-evidence', 'revoked-source', 'key-in-token'])

export class DtnError extends TempusError {
  override readonly name = 'DtnError'
  /** the same as `reason`: the one field every project error has */
  get code (): string { return this.reason }
  readonly reason: DtnRefusal
  constructor (reason: DtnRefusal, message?: string) {
    super(message ?? reason)
    this.name = 'DtnError'
    this.reason = reason
  }
}

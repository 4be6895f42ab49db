/** Why a gossip frame was refused: every reason is named. */
import { TempusError } from '../core/tempus-error.ts'

export type GossipRefusal =
  | 'oversize' | 'malformed' | 'bad-signature'
  | 'no-admission' | 'revoked-origin' | 'bad-body' | 'expired' | 'skew'
  | 'duplicate' | 'stale'
  /** an anomaly id that is not the hash of its origin and content (anomaly-id.ts) */
  | 'bad-id'
  /** a second, different anomaly under an id already held: charged to its signer */
  | 'equivocation'
  /** the origin's token had lapsed when it published, as an honest node's does in an issuer outage: not taken, nobody charged */
  | 'lapsed-evidence'

/** duplicates, stale copies and lapsed evidence are ignored (no penalty); the rest are rejected */
export const IGNORED: ReadonlySet<GossipRefusal> = new Set(['duplicate', 'stale', 'lapsed-evidence'])

export class GossipError extends TempusError {
  override readonly name = 'GossipError'
  /** the same as `reason`: the one field every project error has */
  get code (): string { return this.reason }
  readonly reason: GossipRefusal
  /** who is at fault when it is not the peer that handed the frame on (equivocation: the signer) */
  readonly signer?: string
  /** the peer a refusal is about, when it is not the sender (`revoked-origin`: the revoked origin) */
  readonly about?: string
  constructor (reason: GossipRefusal, message?: string, signer?: string, about?: string) {
    super(message ?? reason)
    this.name = 'GossipError'
    this.reason = reason
    if (signer != null) {
      this.signer = signer
    }
    if (about != null) {
      this.about = about
    }
  }
}

/** Why a gossip frame was refused: every reason is named. */
import { TempusError } from '../core/tempus-error.ts'

export type GossipRefusal =
  | 'oversize' | 'malformed' | 'bad-signature'
  | 'no-admission' | 'revoked-origin' | 'bad-body'
  /** live, an anomaly dated ahead of the receiver's clock by more than the allowed skew: charged to its origin, whose clock or hand dated it */
  | 'skew'
  | 'duplicate' | 'stale'
  /** an anomaly id that is not the hash of its origin and content (anomaly-id.ts) */
  | 'bad-id'
  /** a second, different anomaly under an id already held: charged to its signer */
  | 'equivocation'
  /** the origin's token had lapsed when it published, as an honest node's does in an issuer outage: not taken, nobody charged */
  | 'lapsed-evidence'
  /** live, an anomaly older than the allowed skew or expired: it took that long to come (a loaded relay, a slow path), not taken live, nobody charged; catch-up takes it */
  | 'late'
  /** live, a frame of a sender already refused often enough to be graylisted, dropped unchecked (source-gate.ts); nobody charged again */
  | 'cut-off'

/** duplicates, stale copies, lapsed evidence, late live copies and frames dropped unchecked are ignored (no penalty); the rest are rejected */
export const IGNORED: ReadonlySet<GossipRefusal> = new Set(['duplicate', 'stale', 'lapsed-evidence', 'late', 'cut-off'])

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

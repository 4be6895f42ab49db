/** Why a gossip frame was refused: every reason is named. */

export type GossipRefusal =
  | 'oversize' | 'malformed' | 'bad-signature' | 'origin-mismatch'
  | 'no-admission' | 'revoked-origin' | 'bad-body' | 'expired' | 'skew'
  | 'duplicate' | 'stale'

/** duplicates and stale copies are ignored (no penalty); the rest are rejected */
export const IGNORED: ReadonlySet<GossipRefusal> = new Set(['duplicate', 'stale'])

export class GossipError extends Error {
  readonly reason: GossipRefusal
  constructor (reason: GossipRefusal, message?: string) {
    super(message ?? reason)
    this.name = 'GossipError'
    this.reason = reason
  }
}

/**
 * The peers admission refused lately, most recent first: a peer of another
 * overlay that dials, a revoked one, a forger. The peer store may never
 * hear of them (their connection closed before identify), so the dashboard
 * keeps its own bounded list from the admission `refused` events.
 */
export interface RefusedPeer {
  peerId: string
  reason: string
  direction: 'inbound' | 'outbound'
  count: number
  /** ms since the epoch */
  firstAt: number
  lastAt: number
}

/** refusals with no PeerId (the exchange never got that far) are counted under this */
export const UNKNOWN_PEER = '(unknown)'

export class RefusedPeers {
  private readonly peers = new Map<string, RefusedPeer>()
  private readonly max: number

  constructor (max: number) {
    this.max = max
  }

  add (peer: string | undefined, reason: string, direction: 'inbound' | 'outbound', at: number): void {
    const id = peer ?? UNKNOWN_PEER
    const known = this.peers.get(id)
    this.peers.delete(id)
    this.peers.set(id, { peerId: id, reason, direction, count: (known?.count ?? 0) + 1, firstAt: known?.firstAt ?? at, lastAt: at })
    while (this.peers.size > this.max) {
      const oldest = this.peers.keys().next().value
      if (oldest == null) break
      this.peers.delete(oldest)
    }
  }

  /** most recent first */
  list (): RefusedPeer[] {
    return [...this.peers.values()].reverse().map(p => ({ ...p }))
  }
}

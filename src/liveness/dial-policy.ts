/**
 * Whom to dial when a node has too few connections: pure, no libp2p.
 *
 * libp2p v3 has no auto-dialler, so discovered peers are only remembered; the
 * node decides. Sentinels first (the keeper offers only the few it keeps:
 * sentinel-choice.ts), then edges, then peers whose type is not known yet,
 * bridges last; within a type the most recently seen first. Peers in backoff
 * after a failed dial wait their turn. Bridges came second once, and every
 * node short of connections filled up on them: at 100 nodes each of the 5
 * bridges held a connection from 68–98 nodes (issue #20's chaos run), while
 * an edge needs edges for its gossip mesh (the hubs' meshes are full).
 */
import type { PeerType } from '../core/peer-type.ts'

export interface DialCandidate {
  id: string
  type?: PeerType
  /** ms since the epoch, or undefined if never seen */
  lastSeen?: number
  connected: boolean
  /** the peer may not be dialled before this time (ms since the epoch) */
  notBefore?: number
}

const TYPE_RANK: Record<PeerType, number> = { sentinel: 0, edge: 1, bridge: 2 }

/** not connected, and not waiting out a backoff after a failed dial */
function dialable (c: DialCandidate, now: number): boolean {
  return !c.connected && (c.notBefore == null || c.notBefore <= now)
}

/** a peer of unknown type between edges and bridges */
function rankOf (c: DialCandidate): number {
  return c.type == null ? 1.5 : TYPE_RANK[c.type]
}

export function selectDialCandidates (candidates: DialCandidate[], want: number, now: number): DialCandidate[] {
  if (want <= 0) {
    return []
  }
  return candidates
    .filter(c => dialable(c, now))
    .sort((a, b) => {
      const rank = rankOf(a) - rankOf(b)
      if (rank !== 0) {
        return rank
      }
      return (b.lastSeen ?? 0) - (a.lastSeen ?? 0)
    })
    .slice(0, want)
}

/** the reverse order: a peer whose gossipsub mesh is not crowded by every edge of the fleet first */
const NEIGHBOUR_RANK: Record<PeerType, number> = { edge: 0, bridge: 1, sentinel: 2 }

/**
 * Whom to dial for one more neighbour when the node has enough connections
 * but its gossipsub mesh is stuck thin (src/gossip/mesh-starvation.ts): the
 * hubs are what every edge dials first, so their meshes are the full ones;
 * edges first, then peers of unknown type, bridges, sentinels; within a type
 * the most recently seen first. Peers in backoff wait their turn.
 */
export function selectNeighbour (candidates: DialCandidate[], now: number): DialCandidate | undefined {
  const rank = (c: DialCandidate): number => c.type == null ? 0.5 : NEIGHBOUR_RANK[c.type]
  return candidates
    .filter(c => dialable(c, now))
    .sort((a, b) => (rank(a) - rank(b)) || ((b.lastSeen ?? 0) - (a.lastSeen ?? 0)))[0]
}

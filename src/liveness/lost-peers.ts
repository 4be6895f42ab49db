/**
 * Peers a network fault took from this node, redialled for a while though
 * the node does not keep them. Pure: no libp2p, the clock passed in.
 *
 * A node keeps only a few peers (its sentinels, peers in use) and redials
 * only those; any other connection that dies is simply gone. When a
 * partition splits the fleet, every connection across it dies by the ping
 * verdict, and each node goes on with the connections on its own side: once
 * the cut heals, nothing makes it dial across again. In the 100-process
 * chaos run (issue #20) a cut sentinel with twenty connections on its side
 * admitted its first peer across 102 s after the heal, and the cut half's
 * median node took 4–11 s, all of them waiting for a kept sentinel's redial
 * (dialled by dozens at once, the busiest peers there are) or for sampling
 * to pick a partner across.
 *
 * So the peers whose connection ended because they stopped answering
 * (`PeerUnresponsiveError`, or the network said they are unreachable) are
 * remembered, the most recent `capacity` of them, and redialled like kept
 * peers for `forMs` (the early redial window): a cut that heals within
 * minutes is crossed again by every node within one early redial period,
 * each towards peers it knew, spread over the other side's edges and
 * bridges. A peer that closed the connection, reset it, or was cut off for
 * what it did is not a lost peer: that was someone's decision.
 */
import { TempusError } from '../core/tempus-error.ts'

/** A connection ended because its peer stopped answering (pings, or a probe after a network change): a network fault, nobody's decision. */
export class PeerUnresponsiveError extends TempusError {
  readonly code = 'unresponsive'
  override readonly name = 'PeerUnresponsiveError'
}

/** socket errors that say the network, not the peer, ended a connection */
const NETWORK_CODES = new Set(['ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN'])

/** Did a network fault end the connection (its close event's error)? A graceful close, a reset or this node's own verdict on the peer did not. */
export function endedByNetwork (error: unknown): boolean {
  if (error == null || typeof error !== 'object') {
    return false
  }
  const { name, code } = error as { name?: unknown, code?: unknown }
  return name === 'PeerUnresponsiveError' || (typeof code === 'string' && NETWORK_CODES.has(code))
}

export interface LostPeersInit {
  /** how many lost peers to redial at once, the most recent first; 0: none */
  capacity: number
  /** how long after its loss a peer is still redialled, ms */
  forMs: number
  now: () => number
}

export class LostPeers {
  /** PeerId → when it was lost; the Map's order is the order of loss */
  private readonly lost = new Map<string, number>()
  private readonly init: LostPeersInit

  constructor (init: LostPeersInit) {
    this.init = init
  }

  /** `id` was lost now; returns the peer it pushed out (the oldest), if any */
  add (id: string): string | undefined {
    if (this.init.capacity <= 0) {
      return undefined
    }
    this.lost.delete(id) // re-inserted last
    this.lost.set(id, this.init.now())
    if (this.lost.size > this.init.capacity) {
      const oldest = this.lost.keys().next().value as string
      this.lost.delete(oldest)
      return oldest
    }
    return undefined
  }

  /** is `id` a lost peer still worth redialling (lost within `forMs`)? */
  has (id: string): boolean {
    const at = this.lost.get(id)
    if (at == null) {
      return false
    }
    if (this.init.now() - at >= this.init.forMs) {
      this.lost.delete(id)
      return false
    }
    return true
  }

  /** `id` is back (or no longer wanted) */
  delete (id: string): void {
    this.lost.delete(id)
  }

  /** the lost peers still worth redialling, oldest loss first */
  ids (): string[] {
    return [...this.lost.keys()].filter(id => this.has(id))
  }
}

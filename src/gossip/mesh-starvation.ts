/**
 * When a node's gossipsub mesh cannot grow by itself: pure, no libp2p.
 *
 * gossipsub keeps each topic's mesh between D_lo and D_hi by grafting
 * connected peers of the topic, and a peer whose own mesh is at D_hi
 * refuses a graft from a peer it did not dial (a PRUNE with a minute's
 * backoff). A tempus edge dials the hubs first (src/liveness/dial-policy.ts):
 * every edge does, so the hubs' meshes are full and an edge whose other
 * connections are few, or none, ends up in no mesh at all. It then hears of
 * an anomaly only when a hub happens to name it in an IHAVE, a heartbeat or
 * more later, or from catch-up. Measured in `bench:gossip` meshes: an edge
 * connected to the 7 hubs only, grafting all of them each minute and pruned
 * by all of them within 15 ms, an anomaly 0.5–1.7 s late at it (and one 16 s
 * late), while half the edges had fewer than D_lo mesh peers.
 *
 * gossipsub's own remedy, peer exchange on PRUNE, would dial peers a third
 * party names; a zero-trust node dials only peers it sampled itself. So this
 * notices the state gossipsub cannot leave (fewer than D_lo mesh peers and
 * no connected peer of the topic left to graft: each is in the mesh, or a
 * PRUNE either way is within its backoff, or its score here is negative)
 * for `patience` heartbeats in a row, and
 * says so; the node then connects to one more peer of its own views
 * (the peer keeper's `addNeighbour`), which has room in its mesh. After
 * saying so it waits `cooldown` heartbeats (a connection's admission,
 * identify and subscriptions take about that) before it may say so again.
 */

export interface MeshStarvationInit {
  /** gossipsub's D_lo: fewer mesh peers than this is a thin mesh */
  dLo: number
  /** how long a PRUNE keeps that peer from being grafted, in ms (gossipsub's `pruneBackoff`) */
  backoffMs: number
  /** heartbeats in a row the mesh must be stuck before it counts; @default 2 */
  patience?: number
  /** heartbeats to wait after saying so before saying so again; @default 5 */
  cooldown?: number
  now: () => number
}

export interface TopicPeers {
  topic: string
  /** the topic's mesh peers now */
  mesh: Iterable<string>
  /** the connected peers subscribed to the topic that gossipsub would graft but for a PRUNE (score ≥ 0 here) */
  subscribers: Iterable<string>
}

const DEFAULT_PATIENCE = 2
const DEFAULT_COOLDOWN = 5

export class MeshStarvation {
  private readonly init: MeshStarvationInit
  /** `${topic} ${peer}` → when its PRUNE's backoff ends */
  private readonly prunedUntil = new Map<string, number>()
  private readonly stuckBeats = new Map<string, number>()
  private quietBeats = 0

  constructor (init: MeshStarvationInit) {
    this.init = init
  }

  /**
   * a PRUNE between this node and `peer` on `topic`, either way (it pruned
   * us or refused our GRAFT; we pruned it): gossipsub grafts neither side
   * of it again within the backoff
   */
  pruned (topic: string, peer: string): void {
    this.prunedUntil.set(`${topic} ${peer}`, this.init.now() + this.init.backoffMs)
  }

  /**
   * One heartbeat, after gossipsub's own mesh maintenance. Returns the
   * topics stuck for `patience` heartbeats (empty when none, or during the
   * cooldown): the node should connect to one more peer.
   */
  beat (topics: TopicPeers[]): string[] {
    const now = this.init.now()
    for (const [key, until] of this.prunedUntil) {
      if (until <= now) {
        this.prunedUntil.delete(key)
      }
    }
    const starved: string[] = []
    for (const t of topics) {
      const beats = this.stuck(t) ? (this.stuckBeats.get(t.topic) ?? 0) + 1 : 0
      this.stuckBeats.set(t.topic, beats)
      if (beats >= (this.init.patience ?? DEFAULT_PATIENCE)) {
        starved.push(t.topic)
      }
    }
    if (this.quietBeats > 0) {
      this.quietBeats--
      return []
    }
    if (starved.length > 0) {
      this.quietBeats = this.init.cooldown ?? DEFAULT_COOLDOWN
      for (const topic of starved) {
        this.stuckBeats.set(topic, 0)
      }
    }
    return starved
  }

  /**
   * fewer than D_lo mesh peers, and every connected subscriber is in the
   * mesh or was pruned (either way) lately; a node with no subscriber at all is not stuck
   * but unconnected or starting, which the peer keeper's `minConnections`
   * is for
   */
  private stuck (t: TopicPeers): boolean {
    const mesh = new Set(t.mesh)
    if (mesh.size >= this.init.dLo) {
      return false
    }
    let subscribers = 0
    for (const peer of t.subscribers) {
      subscribers++
      if (!mesh.has(peer) && !this.prunedUntil.has(`${t.topic} ${peer}`)) {
        return false
      }
    }
    return subscribers > 0
  }
}

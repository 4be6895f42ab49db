/**
 * When a node's gossipsub mesh cannot grow by itself: pure, no libp2p.
 *
 * gossipsub keeps each topic's mesh between D_lo and D_hi by grafting
 * connected peers of the topic, and a peer whose own mesh is at D_hi
 * refuses a graft from a peer it did not dial (a PRUNE, and a backoff of a
 * minute or more before either side grafts the other again). A tempus edge
 * dials the hubs first (src/liveness/dial-policy.ts): every edge does, so
 * the hubs' meshes are full, and an edge whose other connections are few,
 * or none, ends up in a thin mesh or none at all. It then hears of an
 * anomaly only when a hub happens to name it in an IHAVE, a heartbeat or
 * more later, or from catch-up. Measured in `bench:gossip` meshes: an edge
 * connected to the 7 hubs only, grafting all of them each minute and pruned
 * by all of them within 15 ms, an anomaly 0.5–1.7 s late at it (and one 16 s
 * late), while a third of the edges had fewer than D_lo mesh peers.
 *
 * gossipsub's own remedy, peer exchange on PRUNE, would dial peers a third
 * party names; a zero-trust node dials only peers it sampled itself. So this
 * notices the state gossipsub cannot leave, fewer than D_lo mesh peers with
 * connected subscribers of the topic but none gossipsub would graft (each is
 * in the mesh, or in backoff, or scored below 0 here), for `patience`
 * heartbeats in a row, and says so; the node then connects to one more peer
 * of its own views (the peer keeper's `addNeighbour`), whose mesh has room.
 * After saying so it waits `cooldown` heartbeats (a connection's admission,
 * identify and subscriptions take about that) before it may say so again.
 * A node with no subscriber at all is not stuck but unconnected or starting:
 * that is the peer keeper's `minConnections`.
 */

export interface MeshStarvationInit {
  /** gossipsub's D_lo: fewer mesh peers than this is a thin mesh */
  dLo: number
  /** heartbeats in a row the mesh must be stuck before it counts; @default 2 */
  patience?: number
  /** heartbeats to wait after saying so before saying so again; @default 5 */
  cooldown?: number
}

/** one topic's mesh at a heartbeat, as gossipsub holds it */
export interface TopicMesh {
  topic: string
  /** mesh peers */
  mesh: number
  /** connected peers subscribed to the topic */
  subscribers: number
  /** of those, the ones gossipsub would graft now: not in the mesh, not in backoff, score ≥ 0, an outbound stream open */
  graftable: number
}

const DEFAULT_PATIENCE = 2
const DEFAULT_COOLDOWN = 5

export class MeshStarvation {
  private readonly init: MeshStarvationInit
  private readonly stuckBeats = new Map<string, number>()
  private quietBeats = 0

  constructor (init: MeshStarvationInit) {
    this.init = init
  }

  /**
   * One heartbeat, after gossipsub's own mesh maintenance. Returns the
   * topics stuck for `patience` heartbeats (empty when none, or during the
   * cooldown): the node should connect to one more peer.
   */
  beat (topics: TopicMesh[]): string[] {
    const starved: string[] = []
    for (const t of topics) {
      const stuck = t.subscribers > 0 && t.mesh < this.init.dLo && t.graftable === 0
      const beats = stuck ? (this.stuckBeats.get(t.topic) ?? 0) + 1 : 0
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
}

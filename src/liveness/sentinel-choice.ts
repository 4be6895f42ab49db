/**
 * Which sentinels a node keeps a connection to: a few, not all. Pure, no
 * libp2p.
 *
 * Every node used to keep every sentinel it knew (the entry points). At
 * 100 nodes with 10 sentinels each sentinel held 60–95 connections, each
 * with its pings, gossip heartbeats and re-presented tokens; on a loaded
 * host the sentinels starved first, their pongs came back in 4–7 s, their
 * handshakes outlived their peers' dials, and links between sentinels
 * stayed down for minutes (issue #20, the 100-process chaos run). The
 * fan-in grows with the fleet; a node's need for an entry point does not.
 *
 * So each node keeps `want` sentinels, chosen by rendezvous hashing: it
 * ranks the sentinels it knows by a hash of its own PeerId and each
 * sentinel's, and keeps the first `want`. The choice is the same after a
 * restart, differs from node to node so that the load spreads evenly
 * (each of S sentinels is kept by about N·want/S nodes), and moves little
 * when a sentinel joins or leaves (only the nodes that ranked it among
 * their first `want`). Sentinels use the same rule among themselves: a
 * random `want`-out graph, connected with high probability for want ≥ 2.
 *
 * A chosen sentinel that cannot be reached is still kept (redialled with
 * its backoff: it is the one this node should come back to), and the next
 * one in the ranking is kept in its place meanwhile, up to twice `want`
 * in all: a node whose chosen sentinels are down or behind a partition
 * reaches others, and never dials every sentinel at once.
 */
import { createHash } from 'node:crypto'

export interface SentinelCandidate {
  /** the sentinel's PeerId, as a string */
  id: string
  /** a dial to it failed and no connection came since: it counts for nothing until it answers */
  failing: boolean
}

/** how much this node prefers `id`: SHA-256 of both PeerIds, as hex (compare as strings) */
export function rendezvousWeight (self: string, id: string): string {
  return createHash('sha256').update(self).update('\u0000').update(id).digest('hex')
}

/** `ids` in this node's rendezvous order: by weight, highest first (ties, impossible in practice, by id) */
export function rendezvousOrder (self: string, ids: readonly string[]): string[] {
  return ids
    .map(id => ({ id, w: rendezvousWeight(self, id) }))
    .sort((a, b) => (a.w < b.w ? 1 : a.w > b.w ? -1 : (a.id < b.id ? -1 : 1)))
    .map(x => x.id)
}

/**
 * The sentinels this node keeps: in rendezvous order, until `want` of them
 * are not failing, and never more than `2 × want`. Itself is never among
 * them.
 */
export function chooseSentinels (self: string, candidates: readonly SentinelCandidate[], want: number): Set<string> {
  const kept = new Set<string>()
  if (want <= 0) {
    return kept
  }
  const failing = new Map(candidates.map(c => [c.id, c.failing]))
  let sound = 0
  for (const id of rendezvousOrder(self, [...failing.keys()].filter(id => id !== self))) {
    if (sound >= want || kept.size >= 2 * want) {
      break
    }
    kept.add(id)
    if (failing.get(id) !== true) {
      sound++
    }
  }
  return kept
}

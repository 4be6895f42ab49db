/**
 * A stream's protocol is written into the peer store once, not at every
 * stream.
 *
 * libp2p merges the protocol it negotiated into the peer store on every
 * stream it opens and every stream it accepts (`connection.js`: "the peer
 * store should ensure that the peer is registered with that protocol").
 * For a protocol the peer's record already lists, that merge takes the
 * peer's write lock, reads and decodes the record, builds the peer twice
 * (every address a multiaddr), encodes and writes it back, and changes
 * nothing but its `updated` time: 120-220 µs on this machine, on both
 * sides of every shuffle, sample exchange, catch-up, DTN session and RPC
 * session, and a datastore write each.
 *
 * `elideKnownProtocolMerges` wraps the peer store's `merge`. A call that
 * only adds protocols which the peer's record listed when a merge here last
 * wrote it, less than `refreshMs` ago, answers with that record and writes
 * nothing. Everything else goes
 * through as before. Any write of a peer (a merge, a patch, a save, a
 * consumed peer record, a delete) drops what is remembered of it before it
 * starts (a peer record whose peer is not named: every peer), and a call
 * that overlapped any other write remembers nothing, so a remembered record
 * is never older than the store's.
 * The record's `updated` time still moves at least every `refreshMs`
 * (libp2p forgets a peer not updated for 6 h that has no fresh address),
 * and `peer:update` is emitted as before: an elided merge changed nothing.
 *
 * It relies on libp2p reaching the peer store through the one object it
 * created (`libp2p.peerStore` is `components.peerStore`);
 * `test/node/protocol-merges.test.ts` fails if that changes.
 */
import { Counter } from 'prom-client'
import { setBounded } from '../core/bounded-map.ts'
import type { Peer, PeerData, PeerId, PeerStore } from '@libp2p/interface'
import type { Registry } from 'prom-client'

/** Every field optional. */
export interface ProtocolMergesInit {
  /**
   * How long a record a merge wrote answers merges of protocols it lists
   * (ms): the longest the record's `updated` time is left unmoved.
   * @default 300_000 (5 min)
   */
  refreshMs?: number
  /**
   * Peers remembered at once, the least recently used forgotten first (a
   * node keeps far fewer connections).
   * @default 256
   */
  maxPeers?: number
  /** @default Date.now */
  now?: () => number
  /** the node's Prometheus registry: `tempus_peer_store_protocol_merges_total` by outcome (`elided`, `passed`) goes there; none without it */
  registry?: Registry
}

/** what the wrapper counts (the tests and `bench:idle` read it) */
export interface ProtocolMergeStats {
  /** merges answered from memory, nothing written */
  elided: number
  /** merges passed to the peer store */
  passed: number
}

interface Remembered {
  peer: Peer
  protocols: ReadonlySet<string>
  at: number
}

const WRITERS = ['patch', 'save', 'consumePeerRecord', 'delete'] as const

/** Wrap `peerStore` in place (see above); returns its counts. Wrapping the same store again changes nothing. */
export function elideKnownProtocolMerges (peerStore: PeerStore, init: ProtocolMergesInit = {}): ProtocolMergeStats {
  const existing = wrapped.get(peerStore)
  if (existing != null) {
    return existing
  }
  const refreshMs = init.refreshMs ?? 300_000
  const maxPeers = init.maxPeers ?? 256
  const now = init.now ?? Date.now
  const stats: ProtocolMergeStats = { elided: 0, passed: 0 }
  const remembered = new Map<string, Remembered>()
  // writes started so far, and under way: a call remembers what it saw only
  // if no other write started or was under way meanwhile (a rare miss costs
  // one more pass through the store; a stale memory would answer wrongly)
  let started = 0
  let underWay = 0

  const startWrite = (key: string | undefined): void => {
    if (key == null) {
      remembered.clear()
    } else {
      remembered.delete(key)
    }
    started++
    underWay++
  }
  const remember = (key: string, peer: Peer): void => {
    setBounded(remembered, key, { peer, protocols: new Set(peer.protocols), at: now() }, maxPeers)
  }

  const merge = peerStore.merge.bind(peerStore)
  peerStore.merge = async (id: PeerId, data: PeerData, options?: any): Promise<Peer> => {
    const key = id.toString()
    const known = remembered.get(key)
    if (known != null && onlyProtocols(data) && now() - known.at < refreshMs && (data.protocols ?? []).every(p => known.protocols.has(p))) {
      stats.elided++
      return known.peer
    }
    stats.passed++
    const quiet = underWay === 0
    startWrite(key)
    const mine = started
    try {
      const peer = await merge(id, data, options)
      if (quiet && started === mine && underWay === 1) {
        remember(key, peer)
      }
      return peer
    } finally {
      underWay--
    }
  }

  for (const name of WRITERS) {
    const original = (peerStore as any)[name].bind(peerStore)
    ;(peerStore as any)[name] = async (...args: unknown[]): Promise<unknown> => {
      startWrite(peerKey(name, args))
      try {
        return await original(...args)
      } finally {
        underWay--
      }
    }
  }
  if (init.registry != null) {
    const counter = new Counter({
      name: 'tempus_peer_store_protocol_merges_total',
      help: 'Merges of a protocol into the peer store, by outcome: elided (the record already listed it) or passed',
      labelNames: ['outcome'],
      registers: [init.registry],
      collect () {
        counter.reset()
        counter.inc({ outcome: 'elided' }, stats.elided)
        counter.inc({ outcome: 'passed' }, stats.passed)
      }
    })
  }
  wrapped.set(peerStore, stats)
  return stats
}

const wrapped = new WeakMap<PeerStore, ProtocolMergeStats>()

/** The peer a write is about, as text; undefined when it is not named (a peer record names its own peer: every peer is forgotten). */
function peerKey (name: typeof WRITERS[number], args: unknown[]): string | undefined {
  const isPeerId = (x: unknown): x is PeerId => typeof (x as PeerId | undefined)?.toMultihash === 'function'
  if (name !== 'consumePeerRecord') {
    return isPeerId(args[0]) ? args[0].toString() : undefined
  }
  const expected = isPeerId(args[1]) ? args[1] : (args[1] as { expectedPeer?: unknown } | undefined)?.expectedPeer
  return isPeerId(expected) ? expected.toString() : undefined
}

/** Does a merge only add protocols (libp2p's per-stream call)? */
function onlyProtocols (data: PeerData): boolean {
  for (const field of Object.keys(data) as Array<keyof PeerData>) {
    if (field !== 'protocols' && data[field] !== undefined) {
      return false
    }
  }
  return Array.isArray(data.protocols)
}

/**
 * A short-lived read cache in front of libp2p's peer store, which also
 * drops the merges that would change nothing.
 *
 * Why: libp2p's `Connection` merges a stream's protocol into the remote
 * peer's record on every stream either side opens, so a peer that already
 * has the protocol is merged again each time: the store takes the peer's
 * lock, reads and decodes the record, merges, encodes and writes it back
 * (only its `updated` stamp differs) and decodes the result. A get costs
 * about as much (the lock and the decode: 60–80 µs each, measured apart),
 * and a shuffle reads the partner's record several times (is it kept, its
 * certified addresses, its signed record). In a settled 50-node dev mesh
 * the peer store took 9–10 % of the busy main-thread samples (`bench:idle
 * --profile`), and each write-back made the peer's key dirty for the
 * write-behind store's next flush (a file written and renamed).
 *
 * What it keeps: each peer's record as the store last returned or announced
 * it, for `ttlMs`; callers get copies. The store announces the changes it
 * makes (`peer:update`, dispatched synchronously, whoever asked for it), so
 * a change made through another reference is seen at once (but see
 * `peerStoreCache` for the ones it does not announce); a read that was
 * under way during any change does not hold what it read (it may predate
 * the change). A merge that only adds protocols the held record already has
 * is answered from memory. What a held record can differ in from a fresh
 * read, for at most `ttlMs`: an address that passed the store's maximum
 * address age (an hour) meanwhile. A dropped merge does not restamp
 * `updated`; a peer's first merge after its record leaves the cache does,
 * far within the store's six hours before it forgets an unseen peer.
 *
 * Installed as the node's first libp2p service (`peerStoreCache`): libp2p's
 * connections read `components.peerStore` each time they merge, and the
 * services built after it read it through the cache.
 */
import type { AbortOptions, Libp2pEvents, Peer, PeerData, PeerId, PeerInfo, PeerQuery, PeerStore, PeerUpdate } from '@libp2p/interface'
import type { TypedEventTarget } from 'main-event'
import { setBounded } from '../core/bounded-map.ts'

export interface PeerStoreCacheInit {
  /**
   * how long a record is served from memory after it was read or changed (ms)
   * @default PEER_CACHE_TTL_MS (60 s)
   */
  ttlMs?: number
  /**
   * records held at most (the least recently held goes first)
   * @default MAX_CACHED_PEERS (512)
   */
  maxPeers?: number
  /** injected clock (ms) */
  now?: () => number
}

/** a minute: a settled node streams to each of its peers every few seconds to minutes */
export const PEER_CACHE_TTL_MS = 60_000
/** a node's connections and its sampling partners of the last minute, with room */
export const MAX_CACHED_PEERS = 512

interface Held {
  peer: Peer
  at: number
}

/** What the cache did, for tests and the operator's curiosity. */
export interface PeerStoreCacheStats {
  /** gets and merges answered from memory */
  hits: number
  /** gets and merges the store answered */
  misses: number
}

export class PeerStoreCache implements PeerStore {
  readonly [Symbol.toStringTag] = 'tempus/peer-store-cache'
  readonly stats: PeerStoreCacheStats = { hits: 0, misses: 0 }
  private readonly inner: PeerStore
  private readonly self: string
  private readonly events: TypedEventTarget<Libp2pEvents>
  private readonly ttlMs: number
  private readonly maxPeers: number
  private readonly now: () => number
  private readonly held = new Map<string, Held>()
  /** bumped by every change, announced or made here: what a read or write under way across a later one returns is not held */
  private changes = 0

  constructor (inner: PeerStore, self: PeerId, events: TypedEventTarget<Libp2pEvents>, init: PeerStoreCacheInit = {}) {
    this.inner = inner
    this.self = self.toString()
    this.events = events
    this.ttlMs = init.ttlMs ?? PEER_CACHE_TTL_MS
    this.maxPeers = init.maxPeers ?? MAX_CACHED_PEERS
    this.now = init.now ?? Date.now
    this.onUpdate = this.onUpdate.bind(this)
    events.addEventListener('peer:update', this.onUpdate)
  }

  /** Stop following the store's changes and forget what is held. */
  close (): void {
    this.events.removeEventListener('peer:update', this.onUpdate)
    this.held.clear()
    this.changes++
  }

  async get (peerId: PeerId, options?: AbortOptions): Promise<Peer> {
    const held = this.fresh(peerId)
    if (held != null) {
      this.stats.hits++
      return copyOf(held)
    }
    this.stats.misses++
    const changes = this.changes
    const peer = await this.inner.get(peerId, options)
    this.remember(peerId, peer, changes)
    return copyOf(peer)
  }

  async merge (id: PeerId, data: PeerData, options?: AbortOptions): Promise<Peer> {
    const held = this.fresh(id)
    if (held != null && addsNothing(held, data)) {
      this.stats.hits++
      return copyOf(held)
    }
    return await this.write(id, async () => await this.inner.merge(id, data, options))
  }

  async patch (id: PeerId, data: PeerData, options?: AbortOptions): Promise<Peer> {
    return await this.write(id, async () => await this.inner.patch(id, data, options))
  }

  async save (id: PeerId, data: PeerData, options?: AbortOptions): Promise<Peer> {
    return await this.write(id, async () => await this.inner.save(id, data, options))
  }

  async delete (peerId: PeerId, options?: AbortOptions): Promise<void> {
    this.forget(peerId)
    try {
      await this.inner.delete(peerId, options)
    } finally {
      this.forget(peerId)
    }
  }

  async has (peerId: PeerId, options?: AbortOptions): Promise<boolean> {
    return this.fresh(peerId) != null || await this.inner.has(peerId, options)
  }

  async getInfo (peerId: PeerId, options?: AbortOptions): Promise<PeerInfo> {
    const peer = await this.get(peerId, options)
    return { id: peer.id, multiaddrs: peer.addresses.map(({ multiaddr }) => multiaddr) }
  }

  async forEach (fn: (peer: Peer) => void, query?: PeerQuery): Promise<void> {
    await this.inner.forEach(fn, query)
  }

  async all (query?: PeerQuery): Promise<Peer[]> {
    return await this.inner.all(query)
  }

  async consumePeerRecord (buf: Uint8Array, ...rest: any[]): Promise<boolean> {
    // its change, if any, is announced (and held) like any other
    return await (this.inner.consumePeerRecord as (...args: any[]) => Promise<boolean>)(buf, ...rest)
  }

  private async write (id: PeerId, change: () => Promise<Peer>): Promise<Peer> {
    this.stats.misses++
    // a change itself: a read under way does not hold what it read; and of
    // writes under way together (the store runs them in the order they
    // began) the last one's record is held
    const ticket = ++this.changes
    const peer = await change()
    this.remember(id, peer, ticket)
    return copyOf(peer)
  }

  private fresh (peerId: PeerId): Peer | undefined {
    const key = peerId.toString()
    const held = this.held.get(key)
    if (held == null) {
      return undefined
    }
    if (this.now() - held.at >= this.ttlMs) {
      this.held.delete(key)
      return undefined
    }
    return held.peer
  }

  /** Hold what a read or write returned, unless a change came meanwhile. */
  private remember (peerId: PeerId, peer: Peer, changesBefore: number): void {
    if (changesBefore === this.changes) {
      this.hold(peerId.toString(), peer)
    }
  }

  /** Hold a peer's record (never this node's own: it changes under libp2p's own hand). */
  private hold (key: string, peer: Peer): void {
    if (key !== this.self) {
      setBounded(this.held, key, { peer, at: this.now() }, this.maxPeers)
    }
  }

  private forget (peerId: PeerId): void {
    this.held.delete(peerId.toString())
    this.changes++
  }

  private onUpdate (evt: CustomEvent<PeerUpdate>): void {
    this.changes++
    this.hold(evt.detail.peer.id.toString(), evt.detail.peer)
  }
}

/** Does merging `data` into `peer` change nothing (only protocols it has already)? */
function addsNothing (peer: Peer, data: PeerData): boolean {
  for (const [field, value] of Object.entries(data)) {
    if (value === undefined) {
      continue
    }
    if (field !== 'protocols' || !Array.isArray(value) || !value.every(p => peer.protocols.includes(p))) {
      return false
    }
  }
  return true
}

/** a caller's own copy: the store hands out fresh objects, and callers may change what they get */
function copyOf (peer: Peer): Peer {
  return {
    ...peer,
    addresses: peer.addresses.map(a => ({ ...a })),
    protocols: [...peer.protocols],
    metadata: new Map(peer.metadata),
    tags: new Map(peer.tags)
  }
}

export interface PeerStoreCacheComponents {
  peerStore: PeerStore
  peerId: PeerId
  events: TypedEventTarget<Libp2pEvents>
}

/** Put the cache in `components` (once); what reads `components.peerStore` from here on reads through it. */
function install (components: PeerStoreCacheComponents, init: PeerStoreCacheInit): PeerStoreCache {
  if (components.peerStore instanceof PeerStoreCache) {
    return components.peerStore
  }
  const cache = new PeerStoreCache(components.peerStore, components.peerId, components.events, init)
  components.peerStore = cache
  return cache
}

/**
 * The cache as a libp2p service, first in `services`: libp2p builds its
 * peer store, then its services in order, and several services keep the
 * `components.peerStore` they were built with (this project's sampler
 * among them), so it goes in before any of them is built. libp2p's
 * connection manager and peer routing, built before the services, keep the
 * store itself: what they change is announced, except a merge of metadata
 * or tags (the store compares the merged record with the one it mutated,
 * and finds no change), which only libp2p's reconnect queue makes: tempus
 * stops it (reconnect-queue.ts).
 */
export function peerStoreCache (init: PeerStoreCacheInit = {}): (components: PeerStoreCacheComponents) => PeerStoreCache {
  return (components) => install(components, init)
}

/**
 * Put a cache in front of a libp2p node's peer store, or find the one its
 * services put there, and make `libp2p.peerStore` read through it too.
 * Before the node starts: what was built before keeps the store itself.
 */
export function useCachedPeerStore (libp2p: { peerStore: PeerStore }, init: PeerStoreCacheInit = {}): PeerStoreCache {
  const node = libp2p as unknown as { peerStore: PeerStore, components: PeerStoreCacheComponents }
  const cache = install(node.components, init)
  node.peerStore = cache
  return cache
}

/**
 * Keeps the node connected: redials peers worth keeping (a few sentinels,
 * chosen by rendezvous hashing among the sentinels and bootstrap peers it
 * knows (sentinel-choice.ts), and peers the application marked as in use) with exponential
 * backoff and jitter after a drop, redials them after a restart from the
 * persisted peer store, and dials discovered peers while the node has fewer
 * than `minConnections` connections (libp2p v3 has no auto-dialler). The
 * peers it may dial include the peers of the node's Cyclon views: sampling
 * hands their signed peer records to the peer store when it admits an entry
 * (src/sampling/sampler.ts), so they are candidates here with the addresses
 * they signed, and never with addresses a third party attached.
 *
 * Every dial goes to the addresses the peer store holds, within the node's
 * dial budget per address and host (src/liveness/dial-limiter.ts): whoever
 * put an address there, the keeper never hammers it.
 */
import { FOREIGN_KEEP_ALIVE_TAGS, LIVENESS_DEFAULTS, REDIAL_DEFAULTS } from './constants.ts'
import { BOOTSTRAP_TAG, KEPT_TAG } from '../core/peer-tags.ts'
import { serviceDependencies } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { repeatingTask } from '@libp2p/utils'
import { backoffDelay } from '../core/backoff.ts'
import { selectDialCandidates, selectNeighbour } from './dial-policy.ts'
import { DialBudgetError, DialRateLimiter } from './dial-limiter.ts'
import { chooseSentinels, rendezvousWeight } from './sentinel-choice.ts'
import { LostPeers } from './lost-peers.ts'
import type { RepeatingTask } from '@libp2p/utils'
import type { BackoffPolicy } from '../core/backoff.ts'
import type { DialCandidate } from './dial-policy.ts'
import type { Multiaddr } from '@multiformats/multiaddr'
import { PEER_DIRECTORY_CAPABILITY } from './peer-directory.ts'
import type { PeerDirectory } from './peer-directory.ts'
import type { ComponentLogger, Connection, Libp2pEvents, Logger, Peer, PeerId, PeerInfo, PeerStore, Startable } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import type { TypedEventTarget } from 'main-event'

/** Every field optional; the defaults are LIVENESS_DEFAULTS and REDIAL_DEFAULTS (constants.ts), the same the node's config schema fills in. */
export interface PeerKeeperInit {
  /** redial backoff for kept peers; @default REDIAL_DEFAULTS (250 ms doubling to 30 s, jitter 0.5) */
  backoff?: BackoffPolicy
  /**
   * for the first `forMs` of a peer's absence its redials are at most
   * `maxDelayMs` apart; @default REDIAL_DEFAULTS (5 s, for 5 min)
   */
  earlyBackoff?: { maxDelayMs: number, forMs: number }
  /** dial discovered peers while connected to fewer than this many; @default LIVENESS_DEFAULTS.minConnections (8) */
  minConnections?: number
  /**
   * how many sentinels to keep a connection to, chosen by rendezvous
   * hashing (sentinel-choice.ts), others in place of ones that cannot be
   * reached; @default LIVENESS_DEFAULTS.sentinelLinks (3)
   */
  sentinelLinks?: number
  /**
   * how many peers a network fault took (no answer to pings; lost-peers.ts)
   * to redial, the most recent, during the early window
   * (`earlyBackoff.forMs`) after their loss though they are not kept: a
   * healed partition is crossed again by every node; 0: none.
   * @default LIVENESS_DEFAULTS.lostPeers (3)
   */
  lostPeers?: number
  /** how often to check the connection count, in ms; @default LIVENESS_DEFAULTS.maintainIntervalMs (2 s) */
  maintainIntervalMs?: number
  /**
   * `addNeighbour` dials only while the node has fewer connections than
   * this; @default `minConnections` + 8
   */
  maxNeighbours?: number
  /** @default Date.now */
  now?: () => number
  /** @default Math.random */
  random?: () => number
  /**
   * The node's dial budget per address and host, shared with sampling.
   * @default a budget of the keeper's own (DIAL_LIMITS)
   */
  dialBudget?: DialRateLimiter
}

export interface PeerKeeperComponents {
  peerId: PeerId
  peerStore: PeerStore
  connectionManager: ConnectionManager
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
  directory: PeerDirectory
  /** connection-settling.ts: a connection the keeper dials is meant to stay, so its upkeep starts at once (absent: libp2p's own identify runs) */
  settling?: { settle: (connection: Connection) => void }
}

export interface PeerKeeper {
  /** keep a connection to this peer: redial it whenever it drops */
  keep(peer: PeerId): void
  /** the sentinels this node keeps now (PeerIds as strings) */
  readonly keptSentinels: ReadonlySet<string>
  /** stop keeping a connection to this peer */
  release(peer: PeerId): void
  /** redial every kept peer that is not connected now */
  redialKept(): Promise<void>
  /**
   * forget every backoff and dial now: the cause of the failures is gone
   * (this node got a token again after an issuer outage), and a backoff
   * grown meanwhile must not delay the reconnect
   */
  reconnectNow(): Promise<void>
  /**
   * dial one more peer, beyond `minConnections`: the node's gossipsub mesh is
   * stuck thin (src/gossip/mesh-starvation.ts). Picks an unconnected peer
   * not in backoff, edges first (dial-policy.ts `selectNeighbour`), from
   * the peer store, which holds the peers this node's own views sampled;
   * does nothing with `maxNeighbours` connections or more. Resolves whether
   * a dial was started.
   */
  addNeighbour(): Promise<boolean>
  /** number of redials scheduled and not yet run */
  readonly pendingRedials: number
  /**
   * how dialling a peer has gone since it dropped: failed dials in a row,
   * when the next may be, and why the last failed (the error's name and
   * message) (undefined: no failure pending)
   */
  redialOf(peer: PeerId): { failures: number, nextAt: number, lastError?: string } | undefined
  /** the peers a network fault took that are redialled now (lost-peers.ts), PeerIds as strings */
  lostPeers(): string[]
}

interface RetryState {
  attempt: number
  notBefore: number
  /** when the peer was first missed (a drop or a failed dial) in this absence */
  since: number
  /** why the last dial failed: the error's name and the start of its message */
  lastError?: string
  timer?: ReturnType<typeof setTimeout>
}


/** how many connections beyond `minConnections` a thin gossip mesh may add, one `addNeighbour` at a time */
const EXTRA_NEIGHBOURS = 8

/**
 * A way back (below) cuts the other backoffs short at most this often, and
 * spreads the redials it brings forward over this long: a flapping peer
 * cannot turn it into a dial storm, and the node's dial budget still
 * applies to every dial.
 */
const WAY_BACK_MIN_INTERVAL_MS = 2_000
const WAY_BACK_SPREAD_MS = 500

export class DefaultPeerKeeper implements PeerKeeper, Startable {
  private readonly components: PeerKeeperComponents
  private readonly init: PeerKeeperInit
  private readonly log: Logger
  private readonly now: () => number
  private readonly random: () => number
  private readonly dialBudget: DialRateLimiter
  private readonly kept = new Set<string>()
  /** how many sentinels to keep (init, else the default) */
  private readonly sentinelLinks: number
  private sentinels = new Set<string>()
  /** something that may change the choice of sentinels happened since it was made */
  private sentinelsDirty = true
  private sentinelsChosenAt = Number.NEGATIVE_INFINITY
  private readonly retries = new Map<string, RetryState>()
  private readonly lost: LostPeers
  private maintainTask?: RepeatingTask
  private maintaining = false
  private running = false
  private lastWayBack = Number.NEGATIVE_INFINITY
  /** the `reconnectNow` pass under way */
  private reconnecting?: Promise<void>

  constructor (components: PeerKeeperComponents, init: PeerKeeperInit = {}) {
    this.components = components
    this.init = init
    this.log = components.logger.forComponent('tempus:peer-keeper')
    this.now = init.now ?? Date.now
    this.random = init.random ?? Math.random
    this.dialBudget = init.dialBudget ?? new DialRateLimiter({ now: this.now })
    this.sentinelLinks = init.sentinelLinks ?? LIVENESS_DEFAULTS.sentinelLinks
    this.lost = new LostPeers({
      capacity: init.lostPeers ?? LIVENESS_DEFAULTS.lostPeers,
      forMs: init.earlyBackoff?.forMs ?? REDIAL_DEFAULTS.earlyForMs,
      now: this.now
    })
    this.onConnect = this.onConnect.bind(this)
    this.onDisconnect = this.onDisconnect.bind(this)
    this.onDiscovery = this.onDiscovery.bind(this)
  }

  readonly [Symbol.toStringTag] = 'tempus/peer-keeper'
  /** the directory it asks for peers' types and last-seen times (found as `components.directory`) */
  readonly [serviceDependencies]: string[] = [PEER_DIRECTORY_CAPABILITY]

  get keptSentinels (): ReadonlySet<string> {
    return this.sentinels
  }

  get pendingRedials (): number {
    let n = 0
    for (const state of this.retries.values()) {
      if (state.timer != null) {
        n++
      }
    }
    return n
  }

  async start (): Promise<void> {
    this.running = true
    this.components.events.addEventListener('peer:connect', this.onConnect)
    this.components.events.addEventListener('peer:disconnect', this.onDisconnect)
    this.components.events.addEventListener('peer:discovery', this.onDiscovery)
    await this.clearForeignKeepAlive()
  }

  /**
   * A peer store persisted by an earlier version holds the DHT's keep-alive
   * tags, by which libp2p dials those peers after every start (its
   * `afterStart`, after this): cleared first.
   */
  private async clearForeignKeepAlive (): Promise<void> {
    try {
      const tagged = await this.components.peerStore.all({ filters: [p => FOREIGN_KEEP_ALIVE_TAGS.some(t => p.tags.has(t))] })
      for (const peer of tagged) {
        await this.components.peerStore.merge(peer.id, { tags: Object.fromEntries(FOREIGN_KEEP_ALIVE_TAGS.map(t => [t, undefined])) })
      }
      if (tagged.length > 0) {
        this.log('cleared the keep-alive tags of %d peers left by the DHT', tagged.length)
      }
    } catch (err: any) {
      this.log.error('could not clear keep-alive tags - %e', err)
    }
  }

  /** After libp2p started: reconnect to the peers known from the last run. */
  afterStart (): void {
    void this.redialKept()
    // one pass at a time: the next is scheduled when this one ended
    this.maintainTask = repeatingTask(async () => { await this.maintain() }, this.init.maintainIntervalMs ?? LIVENESS_DEFAULTS.maintainIntervalMs)
    this.maintainTask.start()
  }

  stop (): void {
    this.running = false
    this.components.events.removeEventListener('peer:connect', this.onConnect)
    this.components.events.removeEventListener('peer:disconnect', this.onDisconnect)
    this.components.events.removeEventListener('peer:discovery', this.onDiscovery)
    this.maintainTask?.stop()
    for (const state of this.retries.values()) {
      clearTimeout(state.timer)
    }
    this.retries.clear()
  }

  keep (peer: PeerId): void {
    this.kept.add(peer.toString())
    this.tag(peer, true)
  }

  release (peer: PeerId): void {
    this.kept.delete(peer.toString())
    if (!this.sentinels.has(peer.toString())) {
      this.tag(peer, false)
    }
  }

  async redialKept (): Promise<void> {
    const peers = await this.components.peerStore.all().catch(() => [])
    this.chooseSentinels(peers)
    for (const peer of peers) {
      if (this.isKept(peer) && !this.isConnected(peer.id)) {
        this.dial(peer.id)
      }
    }
  }

  lostPeers (): string[] {
    return this.lost.ids()
  }

  redialOf (peer: PeerId): { failures: number, nextAt: number, lastError?: string } | undefined {
    const state = this.retries.get(peer.toString())
    return state == null || state.attempt === 0 ? undefined : { failures: state.attempt, nextAt: state.notBefore, lastError: state.lastError }
  }

  async reconnectNow (): Promise<void> {
    if (!this.running) {
      return
    }
    // one pass at a time: a fetch that ends an outage and brings a new epoch asks twice
    this.reconnecting ??= (async () => {
      for (const state of this.retries.values()) {
        clearTimeout(state.timer)
      }
      this.retries.clear()
      await this.redialKept()
      await this.maintain()
    })().finally(() => { this.reconnecting = undefined })
    await this.reconnecting
  }

  /** Dial more peers when the node has fewer connections than wanted. */
  async maintain (): Promise<void> {
    if (!this.running || this.maintaining) {
      return
    }
    this.maintaining = true
    try {
      await this.reviewSentinels()
      const connected = this.components.connectionManager.getConnections().length
      const want = (this.init.minConnections ?? LIVENESS_DEFAULTS.minConnections) - connected
      if (want <= 0) {
        return
      }
      const { candidates, byId } = await this.candidates()
      for (const pick of selectDialCandidates(candidates, want, this.now())) {
        const id = byId.get(pick.id)
        if (id != null) {
          this.dial(id)
        }
      }
    } catch (err) {
      this.log.error('maintenance failed - %e', err)
    } finally {
      this.maintaining = false
    }
  }

  async addNeighbour (): Promise<boolean> {
    if (!this.running) {
      return false
    }
    const connected = this.components.connectionManager.getConnections().length
    if (connected >= (this.init.maxNeighbours ?? (this.init.minConnections ?? LIVENESS_DEFAULTS.minConnections) + EXTRA_NEIGHBOURS)) {
      return false
    }
    const { candidates, byId } = await this.candidates()
    const pick = selectNeighbour(candidates, this.now())
    const id = pick == null ? undefined : byId.get(pick.id)
    if (id == null) {
      return false
    }
    this.log('one more neighbour for a thin gossip mesh: %p', id)
    this.dial(id)
    return true
  }

  /**
   * every peer of the peer store the node could dial, as the dial policy
   * sees it. A sentinel (or bootstrap peer) is one only if this node keeps
   * it: the choice already stands others in for ones out of reach
   * (sentinel-choice.ts), and otherwise a node short of connections would
   * fill up on sentinels, the peers it knows first, until each sentinel
   * held most of the fleet again.
   */
  private async candidates (): Promise<{ candidates: DialCandidate[], byId: Map<string, PeerId> }> {
    const peers = await this.components.peerStore.all()
    const candidates: DialCandidate[] = peers
      .filter(p => !p.id.equals(this.components.peerId) && p.addresses.length > 0)
      .filter(p => this.sentinels.has(p.id.toString()) || !this.isSentinelLike(p))
      .map(p => ({
        id: p.id.toString(),
        type: this.components.directory.typeOf(p),
        lastSeen: this.components.directory.lastSeenOf(p),
        connected: this.isConnected(p.id),
        notBefore: this.retries.get(p.id.toString())?.notBefore
      }))
    return { candidates, byId: new Map(peers.map(p => [p.id.toString(), p.id])) }
  }

  private isKept (peer: Peer): boolean {
    return this.isKeptId(peer.id.toString())
  }

  /** kept, or lost to a network fault a short while ago: worth a redial */
  private isKeptId (id: string): boolean {
    return this.kept.has(id) || this.sentinels.has(id) || this.lost.has(id)
  }

  /** a sentinel, or an entry point the operator listed: a peer this node might keep as one */
  private isSentinelLike (peer: Peer): boolean {
    return peer.tags.has(BOOTSTRAP_TAG) || this.components.directory.typeOf(peer) === 'sentinel'
  }

  /**
   * Choose again which sentinels to keep, when something changed (a kept
   * sentinel dropped, failed or came back, a peer was discovered) or every
   * `sentinelRecheckMs` (a peer store learns of sentinels quietly, from
   * sampling): a node at rest does not read its peer store every pass. A
   * sentinel newly kept and not connected is dialled now.
   */
  private async reviewSentinels (): Promise<void> {
    if (!this.sentinelsDirty && this.now() - this.sentinelsChosenAt < LIVENESS_DEFAULTS.sentinelRecheckMs) {
      return
    }
    // cleared before the read: news that comes during it marks the choice stale again
    this.sentinelsDirty = false
    const peers = await this.components.peerStore.all()
    const added = this.chooseSentinels(peers)
    for (const peer of peers) {
      if (added.has(peer.id.toString()) && !this.isConnected(peer.id) && this.retries.get(peer.id.toString())?.timer == null) {
        this.dial(peer.id)
      }
    }
  }

  /** The sentinels to keep among `peers` (sentinel-choice.ts); returns the ones newly kept. */
  private chooseSentinels (peers: Peer[]): Set<string> {
    const self = this.components.peerId.toString()
    const candidates = peers
      .filter(p => !p.id.equals(this.components.peerId) && p.addresses.length > 0 && this.isSentinelLike(p))
      .map(p => ({ id: p.id.toString(), failing: (this.retries.get(p.id.toString())?.attempt ?? 0) > 0 && !this.isConnected(p.id) }))
    const chosen = chooseSentinels(self, candidates, this.sentinelLinks)
    const added = new Set([...chosen].filter(id => !this.sentinels.has(id)))
    const dropped = [...this.sentinels].filter(id => !chosen.has(id))
    this.sentinels = chosen
    this.sentinelsChosenAt = this.now()
    const byId = new Map(peers.map(p => [p.id.toString(), p.id]))
    for (const id of added) {
      const peer = byId.get(id)
      if (peer != null) this.tag(peer, true)
    }
    for (const id of dropped) {
      const peer = byId.get(id) ?? peerIdFromString(id)
      if (!this.kept.has(id)) this.tag(peer, false)
    }
    if (added.size > 0 || dropped.length > 0) {
      this.log('keeping sentinels %s (of %d known)', [...chosen].map(id => id.slice(-6)).join(', '), candidates.length)
    }
    return added
  }

  /**
   * Would `peer` be among the sentinels kept, if it is one? The keeper is
   * short of sentinels, or it ranks above one kept. Asked of every peer
   * discovered (mDNS repeats itself every few seconds), so a peer that
   * would change nothing costs no look at the peer store.
   */
  private mightChoose (peer: PeerId): boolean {
    const id = peer.toString()
    if (this.sentinels.has(id) || id === this.components.peerId.toString()) {
      return false
    }
    if (this.sentinels.size < (this.sentinelLinks)) {
      return true
    }
    const self = this.components.peerId.toString()
    const weight = rendezvousWeight(self, id)
    return [...this.sentinels].some(kept => rendezvousWeight(self, kept) < weight)
  }

  /** Mark (or unmark) a peer the keeper keeps in the peer store, for the idle-connection closer to leave alone. */
  private tag (peer: PeerId, kept: boolean): void {
    this.components.peerStore.merge(peer, { tags: { [KEPT_TAG]: kept ? { value: 50 } : undefined } })
      .catch((err: Error) => { this.log('could not tag %p - %s', peer, err.message) })
  }

  private isConnected (peer: PeerId): boolean {
    return this.components.connectionManager.getConnections(peer).length > 0
  }

  private dial (peer: PeerId): void {
    const key = peer.toString()
    this.dialTarget(peer)
      .then(async target => await this.components.connectionManager.openConnection(target))
      .then((connection) => {
        this.components.settling?.settle(connection)
        this.retries.delete(key)
      }, (err: Error) => {
        if (err instanceof DialBudgetError) {
          // not dialled at all: the node's own budget said wait (a redial brought
          // forward, by a way back, a new epoch or an outage's end, may find it spent);
          // the peer failed nothing, so its backoff does not grow
          this.deferred(peer, err.retryInMs)
          return
        }
        this.log('dial to %p failed - %s', peer, err.name)
        this.recordFailure(peer, err)
      })
  }

  /**
   * What to dial for `peer`: its known addresses that are within the dial
   * budget (with its PeerId, so the dialler checks whom it reached), or the
   * PeerId alone when none is known (libp2p then asks the DHT). Throws when
   * every known address is over the budget: the dial waits its backoff.
   */
  private async dialTarget (peer: PeerId): Promise<PeerId | Multiaddr[]> {
    const known = await this.components.peerStore.get(peer).then(p => p.addresses.map(a => a.multiaddr), () => [])
    if (known.length === 0) {
      return peer
    }
    return this.dialBudget.dialTargets(peer.toString(), known)
  }

  /** The peer's retry state in this absence: the one kept, or a new one starting now (not stored: the caller does). */
  private retryStateOf (key: string): RetryState {
    return this.retries.get(key) ?? { attempt: 0, notBefore: 0, since: this.now() }
  }

  /** A dial the budget held back: tried again as soon as the budget allows, if the peer is still worth it; its failures as they were. */
  private deferred (peer: PeerId, retryInMs: number): void {
    if (!this.running) {
      return
    }
    const key = peer.toString()
    const state = this.retryStateOf(key)
    // a spread of a tenth of a second: every deferred dial of one host does not come due at once
    const delay = retryInMs + Math.floor(this.random() * 100)
    state.notBefore = this.now() + delay
    this.retries.set(key, state)
    if (this.isKeptId(key)) {
      this.schedule(peer, state, delay)
    }
  }

  /** Push the peer's next dial out by the backoff; schedule it if kept. */
  private recordFailure (peer: PeerId, err: Error): void {
    if (!this.running) {
      return
    }
    const key = peer.toString()
    const state = this.retryStateOf(key)
    state.lastError = `${String(err?.name ?? 'Error')}: ${String(err?.message ?? '').slice(0, 160)}`
    const delay = this.redialDelay(state)
    state.attempt++
    state.notBefore = this.now() + delay
    this.retries.set(key, state)
    if (this.sentinels.has(key) && state.attempt === 1) {
      // one of ours cannot be reached: the next in the ranking stands in
      this.sentinelsDirty = true
    }
    void this.components.peerStore.get(peer).then(p => {
      if (this.isKept(p)) {
        this.schedule(peer, state, delay)
      }
    }, () => {})
  }

  /** The backoff before the next redial; early in an absence, capped lower (REDIAL_DEFAULTS.earlyMaxDelayMs). */
  private redialDelay (state: RetryState): number {
    const policy = this.init.backoff ?? REDIAL_DEFAULTS
    const early = this.init.earlyBackoff ?? { maxDelayMs: REDIAL_DEFAULTS.earlyMaxDelayMs, forMs: REDIAL_DEFAULTS.earlyForMs }
    if (this.now() - state.since >= early.forMs) {
      return backoffDelay(policy, state.attempt, this.random)
    }
    const cap = Math.max(policy.initialDelayMs, Math.min(policy.maxDelayMs, early.maxDelayMs))
    return backoffDelay({ ...policy, maxDelayMs: cap }, state.attempt, this.random)
  }

  private schedule (peer: PeerId, state: RetryState, delay: number): void {
    if (!this.running || state.timer != null) {
      return
    }
    this.log('redial %p in %d ms (attempt %d)', peer, delay, state.attempt)
    state.timer = setTimeout(() => {
      state.timer = undefined
      // a stand-in sentinel is no longer kept once the one it stood in for is back
      if (this.running && !this.isConnected(peer) && this.isKeptId(peer.toString())) {
        this.dial(peer)
      }
    }, delay)
    state.timer.unref?.()
  }

  private onConnect (evt: CustomEvent<PeerId>): void {
    const key = evt.detail.toString()
    this.lost.delete(key)
    const state = this.retries.get(key)
    clearTimeout(state?.timer)
    this.retries.delete(key)
    if (state != null && state.attempt > 0) {
      if (this.sentinels.has(key)) {
        // one of ours is back: a stand-in is no longer needed
        this.sentinelsDirty = true
      }
      this.wayBack()
    }
  }

  /**
   * A peer this node had failed to dial is connected again (it dialled in,
   * or a redial got through): whatever cut the node off from it (a
   * partition, a link down between them) has likely gone for the other
   * peers it is failing to reach, whose backoffs grew during the cut (up to
   * `maxDelay`). Their redials are brought forward to now, spread over half
   * a second, instead of waiting out that backoff: after a partition heals,
   * one connection across is enough for a node to redial the rest at once,
   * and every node it reaches does the same. A peer that still fails goes
   * on from the backoff it had reached.
   */
  private wayBack (): void {
    const now = this.now()
    if (now - this.lastWayBack < WAY_BACK_MIN_INTERVAL_MS) {
      return
    }
    this.lastWayBack = now
    let brought = 0
    for (const [key, state] of this.retries) {
      if (state.notBefore <= now) {
        continue
      }
      if (state.timer == null) {
        state.notBefore = now // a discovered peer: the next maintenance pass may pick it
        continue
      }
      clearTimeout(state.timer)
      state.timer = undefined
      const delay = Math.floor(this.random() * WAY_BACK_SPREAD_MS)
      state.notBefore = now + delay
      this.schedule(peerIdFromString(key), state, delay)
      brought++
    }
    if (brought > 0) {
      this.log('a peer that could not be reached is back: %d redials brought forward', brought)
    }
  }

  private onDisconnect (evt: CustomEvent<PeerId>): void {
    const peer = evt.detail
    if (!this.running) {
      return
    }
    // looked at once the close's dispatch is over: libp2p announces the
    // disconnect from its own close listener, before the directory's has
    // recorded how the connection ended
    queueMicrotask(() => { this.afterDisconnect(peer) })
  }

  private afterDisconnect (peer: PeerId): void {
    const id = peer.toString()
    if (!this.running || (!this.isKeptId(id) && this.components.directory.lastEndOf(id)?.network !== true)) {
      // neither kept nor taken by the network (most closes: a call's
      // connection ended): nothing to redial, and no peer-store read
      return
    }
    void this.components.peerStore.get(peer).then(p => {
      if (this.isKept(p)) {
        this.redialAfterDrop(peer)
      } else if (this.lostToNetwork(p)) {
        this.log('lost %p to a network fault: redialled for a while', peer)
        this.redialAfterDrop(peer)
      }
    }, () => {})
  }

  /**
   * Did a network fault end the last connection to `peer` (the directory
   * follows how each one ends)? Then it is a lost peer (lost-peers.ts),
   * redialled for a while. A sentinel is not one: which sentinels to
   * redial is the rendezvous choice's (a lost sentinel redialled by every
   * node it had would be the storm that choice ended).
   */
  private lostToNetwork (peer: Peer): boolean {
    if (this.components.directory.lastEndOf(peer.id.toString())?.network !== true || this.isSentinelLike(peer)) {
      return false
    }
    const pushedOut = this.lost.add(peer.id.toString())
    if (pushedOut != null && !this.isKeptId(pushedOut)) {
      clearTimeout(this.retries.get(pushedOut)?.timer)
      this.retries.delete(pushedOut)
    }
    return this.lost.has(peer.id.toString())
  }

  /** a peer worth keeping is no longer connected: its redial, after the backoff its absence has reached */
  private redialAfterDrop (peer: PeerId): void {
    if (this.isConnected(peer)) {
      return
    }
    const key = peer.toString()
    const state = this.retryStateOf(key)
    this.retries.set(key, state)
    const delay = this.redialDelay(state)
    state.notBefore = this.now() + delay
    this.schedule(peer, state, delay)
  }

  private onDiscovery (evt: CustomEvent<PeerInfo>): void {
    if (this.maintainTask == null) {
      // still starting: libp2p announces each peer as its discovery records it
      // (the bootstrap list, at start), and the first choice, at `afterStart`,
      // is made among all of them
      return
    }
    if (this.mightChoose(evt.detail.id)) {
      this.sentinelsDirty = true
    }
    void this.maintain()
  }
}

export function peerKeeper (init: PeerKeeperInit = {}): (components: PeerKeeperComponents) => DefaultPeerKeeper {
  return (components) => new DefaultPeerKeeper(components, init)
}

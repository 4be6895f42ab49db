/**
 * The DTN service: bundles stored durably and handed over, on
 * `/tempus/dtn/1.0.0`, to the admitted peers that should take them.
 *
 * A session is one-way: the offerer sends a summary of what it would hand
 * the peer (fragment keys and the receipts it knows); the peer answers with
 * the keys it takes and the receipts it knows for the offered bundles; the
 * offerer sends each fragment and waits for its acknowledgement (the peer
 * acknowledges once the fragment is on its disk). What to offer is
 * `routing.ts`'s choice.
 *
 * This file is the libp2p service only: options, start and stop, timers,
 * and the wiring of the parts, each one concept:
 * - `sessions.ts`: when sessions run (on connection, every period, after news);
 * - `offer.ts` and `serve.ts`: the two sides of a session;
 * - `evidence.ts`: the checks of a source's (or endorsing bridge's) proof of admission;
 * - `delivery.ts`: delivery to the destination, and receipts;
 * - `cross-overlay.ts`: bundles a federated bridge hands across.
 */
import { serviceDependencies } from '@libp2p/interface'
import { repeatingTask } from '@libp2p/utils'
import { TypedEventEmitter } from 'main-event'
import { createBundle } from './bundle.ts'
import {
  DEFAULT_COPIES, DEFAULT_FRAGMENT_SIZE, DEFAULT_HOP_LIMIT, DEFAULT_LIFETIME_MS, DEFAULT_MAX_PAYLOAD, DEFAULT_SESSION_PERIOD_MS, DECLINED_MEMORY_PERIODS, DTN_PROTOCOL, MAX_DECLINED_REMEMBERED,
  DEFAULT_QUOTA_PER_SOURCE_BYTES, DEFAULT_QUOTA_TOTAL_BYTES, EXPIRY_SWEEP_MS, MAX_COPIES, MAX_HOP_LIMIT, MAX_LIFETIME_MS, MAX_RECEIPTS_HELD
} from './constants.ts'
import { CrossOverlay } from './cross-overlay.ts'
import { DeclinedOffers } from './declined.ts'
import { Delivery } from './delivery.ts'
import { destinedTo, formatDestination, parseDestination } from './destination.ts'
import { DtnError } from './errors.ts'
import { GroupCommit } from '../core/group-commit.ts'
import { OfferingSide } from './offer.ts'
import { DEFAULT_PREFERRED_CARRIERS } from './routing.ts'
import { ServingSide } from './serve.ts'
import { SessionScheduler } from './sessions.ts'
import type { Fragment } from './bundle.ts'
import type { DtnContext } from './context.ts'
import type { Destination } from './destination.ts'
import type { DtnEvents, DtnStats } from './events.ts'
import type { Evidence } from './evidence.ts'
import type { Bundle as PbBundle, Receipt as PbReceipt } from './pb/dtn.ts'
import { registerDtnMetrics } from './metrics.ts'
import { BundleStore } from './store.ts'
import type { CarriedEntry, HeldFragment, InboxEntry, OutboxEntry } from './store.ts'
import { admissionDependencies, admissionStateOf, selfTypeOf } from '../admission/provider.ts'
import type { AdmissionState } from '../admission/state.ts'
import type { PeerType } from '../core/peer-type.ts'
import type { ComponentLogger, Connection, Libp2pEvents, PeerId, PrivateKey, Startable } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { RepeatingTask } from '@libp2p/utils'
import type { TypedEventTarget } from 'main-event'
import type { Registry } from 'prom-client'

export type { DeliveredBundle, DtnEvents, DtnStats } from './events.ts'

/** Every field optional; the defaults are in constants.ts (and routing.ts for the carriers), the same the node's config schema fills in. */
export interface DtnServiceInit {
  /**
   * whose verdicts admit carriers and take their offences
   * @default the admission service's (src/admission/provider.ts)
   */
  state?: AdmissionState
  /**
   * where bundles wait for a carrier or their destination
   * @default an in-memory store with the default quota (lost with the process; the node passes its `bundles.db`)
   */
  store?: BundleStore
  /**
   * this node's type (it delivers bundles addressed to its type)
   * @default the type it enrolled as (AdmissionState.selfType)
   */
  type?: PeerType
  /**
   * this node's overlay: bundles for another one are handed to bridges
   * @default the admission state's overlay
   */
  overlay?: string
  /** @default Date.now */
  now?: () => number
  /** 'spray' (spray-and-wait, `copies` copies) or 'epidemic'; @default 'spray' */
  routing?: 'spray' | 'epidemic'
  /** @default DEFAULT_COPIES (8) */
  copies?: number
  /** @default DEFAULT_FRAGMENT_SIZE (256 KiB) */
  fragmentSize?: number
  /** @default DEFAULT_MAX_PAYLOAD (32 MiB) */
  maxPayload?: number
  /** @default DEFAULT_LIFETIME_MS (1 h) */
  lifetimeMs?: number
  /** @default DEFAULT_HOP_LIMIT (16) */
  hopLimit?: number
  /** encrypt payloads to a PeerId destination's key unless a send says otherwise; @default true */
  encrypt?: boolean
  /** how often a session is offered to every admitted peer; @default DEFAULT_SESSION_PERIOD_MS (10 s) */
  periodMs?: number
  /** @default DEFAULT_PREFERRED_CARRIERS (sentinels, then bridges) */
  preferredCarriers?: readonly PeerType[]
  /** the node's Prometheus registry: the store and the counts of `status()` go there (see `metrics.ts`); none without it */
  registry?: Registry
}

export interface DtnServiceComponents {
  peerId: PeerId
  privateKey: PrivateKey
  registrar: Registrar
  connectionManager: ConnectionManager
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
}

export interface SendOptions {
  lifetimeMs?: number
  copies?: number
  hopLimit?: number
  encrypt?: boolean
  routing?: 'spray' | 'epidemic'
}

type Box = 'inbox' | 'outbox' | 'carried'

export class DtnService extends TypedEventEmitter<DtnEvents> implements Startable {
  readonly store: BundleStore
  private readonly components: DtnServiceComponents
  private readonly init: DtnServiceInit
  private readonly ctx: DtnContext
  private readonly stats: DtnStats = { sent: 0, delivered: 0, sessions: 0, transmissions: 0, received: 0, duplicates: 0, receipts: 0, refused: {} }
  private readonly scheduler: SessionScheduler
  private readonly declined: DeclinedOffers
  private readonly delivery: Delivery
  private readonly serving: ServingSide
  private readonly crossing: CrossOverlay
  private readonly sweep: RepeatingTask
  private readonly period: RepeatingTask

  constructor (components: DtnServiceComponents, init: DtnServiceInit = {}) {
    super()
    this.components = components
    this.init = init
    const state = admissionStateOf(components, init.state, 'the DTN service')
    this[serviceDependencies] = admissionDependencies(init.state)
    this.store = init.store ?? new BundleStore(':memory:', { totalBytes: DEFAULT_QUOTA_TOTAL_BYTES, perSourceBytes: DEFAULT_QUOTA_PER_SOURCE_BYTES, receipts: MAX_RECEIPTS_HELD })
    const now = init.now ?? Date.now
    const self = components.peerId.toString()
    this.ctx = {
      store: this.store,
      writer: new GroupCommit<{ fragments: Fragment[], outbox?: boolean, receivedFrom?: string }, boolean[]>({ flush: items => this.store.add(items, now()), maxBatch: Number.POSITIVE_INFINITY }),
      state,
      self,
      type: selfTypeOf(state, init.type, 'the DTN service'),
      overlay: init.overlay ?? state.verifier.overlay,
      privateKey: components.privateKey,
      maxPayload: init.maxPayload ?? DEFAULT_MAX_PAYLOAD,
      now,
      log: components.logger.forComponent('tempus:dtn'),
      stats: this.stats,
      events: this,
      offerSoon: () => { this.scheduler.offerSoon() }
    }
    this.delivery = new Delivery(this.ctx)
    const periodMs = init.periodMs ?? DEFAULT_SESSION_PERIOD_MS
    this.declined = new DeclinedOffers({ memoryMs: DECLINED_MEMORY_PERIODS * periodMs, maxEntries: MAX_DECLINED_REMEMBERED })
    const offering = new OfferingSide({
      ctx: this.ctx,
      connectionManager: components.connectionManager,
      preferredCarriers: init.preferredCarriers ?? DEFAULT_PREFERRED_CARRIERS,
      known: peer => this.knownEvidence(peer),
      applyReceipts: wires => { this.delivery.applyReceipts(wires) },
      declined: this.declined
    })
    this.scheduler = new SessionScheduler({ offer: async peer => { await offering.offer(peer) }, peers: () => this.admittedPeers() })
    this.serving = new ServingSide({ ctx: this.ctx, delivery: this.delivery })
    this.crossing = new CrossOverlay({ ctx: this.ctx, delivery: this.delivery })
    this.sweep = repeatingTask(() => { this.expire() }, EXPIRY_SWEEP_MS)
    this.period = repeatingTask(() => { this.scheduler.offerToAll() }, periodMs)
    if (init.registry != null) {
      registerDtnMetrics(init.registry, this)
    }
    this.onConnection = this.onConnection.bind(this)
    this.onRevoked = this.onRevoked.bind(this)
  }

  readonly [Symbol.toStringTag] = 'tempus/dtn'
  /** the admission service, unless Init.state was given */
  readonly [serviceDependencies]: string[]

  async start (): Promise<void> {
    await this.components.registrar.handle(DTN_PROTOCOL, async (stream, connection) => { await this.serving.serve(stream, connection) }, { maxInboundStreams: 4, maxOutboundStreams: 4 })
    this.scheduler.start()
  }

  afterStart (): void {
    this.components.events.addEventListener('connection:open', this.onConnection)
    this.ctx.state.addEventListener('revoked', this.onRevoked)
    this.sweep.start()
    this.period.start()
    // fragments left from before a restart may be whole by now
    const { self, type, overlay } = this.ctx
    for (const c of this.store.carried(this.ctx.now(), 10_000)) {
      if (destinedTo(parseDestination(c.destination), self, type, overlay)) {
        this.delivery.tryDeliver(c.id)
      }
    }
  }

  async stop (): Promise<void> {
    this.scheduler.stop()
    this.sweep.stop()
    this.period.stop()
    this.components.events.removeEventListener('connection:open', this.onConnection)
    this.ctx.state.removeEventListener('revoked', this.onRevoked)
    await this.components.registrar.unhandle(DTN_PROTOCOL)
  }

  /**
   * Sign and store a bundle for `destination` (a PeerId, a type or `*`);
   * resolves with its id once it is on disk. It is handed over when a peer
   * that should take it is connected, now or later.
   */
  async send (destination: string | Destination, payload: Uint8Array, options: SendOptions = {}): Promise<string> {
    const own = this.ctx.state.ownToken
    if (own == null) {
      throw new DtnError('no-token', 'this node holds no token yet')
    }
    let dest = typeof destination === 'string' ? parseDestination(destination) : destination
    if (dest.overlay != null && dest.overlay === this.ctx.overlay) {
      // this overlay named explicitly: an ordinary bundle
      const { overlay: _, ...home } = dest
      dest = home
    }
    const maxPayload = this.ctx.maxPayload
    if (payload.length > maxPayload) {
      throw new DtnError('oversize', `payloads are limited to ${maxPayload} bytes`)
    }
    const lifetimeMs = options.lifetimeMs ?? this.init.lifetimeMs ?? DEFAULT_LIFETIME_MS
    const hopLimit = options.hopLimit ?? this.init.hopLimit ?? DEFAULT_HOP_LIMIT
    const routing = options.routing ?? this.init.routing ?? 'spray'
    const copies = routing === 'epidemic' ? 0 : (options.copies ?? this.init.copies ?? DEFAULT_COPIES)
    if (!Number.isInteger(lifetimeMs) || lifetimeMs < 1 || lifetimeMs > MAX_LIFETIME_MS) {
      throw new RangeError(`lifetime must be 1 ms to ${MAX_LIFETIME_MS} ms`)
    }
    if (!Number.isInteger(hopLimit) || hopLimit < 1 || hopLimit > MAX_HOP_LIMIT || !Number.isInteger(copies) || copies < 0 || copies > MAX_COPIES) {
      throw new RangeError('hop limit or copies out of range')
    }
    const fragments = createBundle(
      { privateKey: this.components.privateKey, peerId: this.ctx.self, evidence: own },
      dest, payload, { lifetimeMs, hopLimit, copies, fragmentSize: this.init.fragmentSize ?? DEFAULT_FRAGMENT_SIZE, encrypt: options.encrypt ?? this.init.encrypt ?? true }, this.ctx.now())
    await this.ctx.writer.submit({ fragments, outbox: true })
    const id = (fragments[0] as Fragment).id
    this.stats.sent++
    this.ctx.log('bundle %s for %s stored (%d bytes, %d fragments)', id, formatDestination(dest), payload.length, fragments.length)
    if (destinedTo(dest, this.ctx.self, this.ctx.type, this.ctx.overlay)) {
      this.delivery.tryDeliver(id)
    }
    this.scheduler.offerSoon()
    return id
  }

  list (box: Box = 'inbox', limit = 100): InboxEntry[] | OutboxEntry[] | CarriedEntry[] {
    const now = this.ctx.now()
    return box === 'inbox' ? this.store.inbox(now, limit) : box === 'outbox' ? this.store.outbox(now, limit) : this.store.carried(now, limit)
  }

  status (): DtnStats & ReturnType<BundleStore['usage']> & { quota: BundleStore['quota'] } {
    return { ...this.stats, refused: { ...this.stats.refused }, ...this.store.usage(this.ctx.now()), quota: this.store.quota }
  }

  /**
   * Offer `peer` what it should take now (also run on admission and every
   * period). While a session to `peer` runs, a call asks for one more after
   * it; either way the promise settles once the sessions that cover this
   * call have ended.
   */
  async sync (peer: PeerId | string): Promise<void> {
    await this.scheduler.sync(peer.toString())
  }

  // ---- across overlays (a federated bridge): see cross-overlay.ts ------------

  /** Held fragments addressed to another overlay (a bridge hands them across). */
  heldForOtherOverlays (limit?: number): HeldFragment[] {
    return this.crossing.heldForOtherOverlays(limit)
  }

  /** A held fragment as it crosses to another overlay: its source's wire form, one more hop, no endorsement. */
  exportFragment (id: string, offset: number): PbBundle | undefined {
    return this.crossing.exportFragment(id, offset)
  }

  /**
   * Store a fragment a remote bridge handed across, once the caller (the
   * bundle relay) checked its source under the trust anchor of its overlay
   * and endorsed it. False if it was held or delivered already.
   */
  async importFragment (f: Fragment, from: string): Promise<boolean> {
    return await this.crossing.importFragment(f, from)
  }

  /** Receipts a remote bridge handed back across, for bundles that crossed from here. */
  takeReceipts (wires: PbReceipt[]): void {
    this.crossing.takeReceipts(wires)
  }

  /** The newest token this node knows of `peer`: its own, or the one an admitted peer showed. */
  private knownEvidence (peer: string): Evidence | undefined {
    return peer === this.ctx.self ? this.ctx.state.ownToken : this.ctx.state.admitted.get(peer)
  }

  private admittedPeers (): string[] {
    const peers = new Set<string>()
    for (const c of this.components.connectionManager.getConnections()) {
      const id = c.remotePeer.toString()
      if (this.ctx.state.admitted.has(id)) {
        peers.add(id)
      }
    }
    return [...peers]
  }

  /** A connection is admitted before it opens: offer once it can carry streams. */
  private onConnection (evt: CustomEvent<Connection>): void {
    const peer = evt.detail.remotePeer.toString()
    if (this.scheduler.running && this.ctx.state.admitted.has(peer)) {
      void this.scheduler.sync(peer)
    }
  }

  private onRevoked (evt: CustomEvent<string[]>): void {
    // a revoked source's bundles are not carried further, and a revoked peer is offered nothing
    for (const peer of evt.detail) {
      this.declined.forget(peer)
    }
    try {
      this.store.removeSources(evt.detail)
    } catch (err) {
      this.ctx.log.error('dropping the bundles of revoked sources failed - %e', err)
    }
  }

  private expire (): void {
    try {
      this.store.expire(this.ctx.now())
    } catch (err) {
      this.ctx.log.error('expiring bundles failed - %e', err)
    }
  }
}

export function dtnService (init: DtnServiceInit = {}): (components: DtnServiceComponents) => DtnService {
  return (components) => new DtnService(components, init)
}

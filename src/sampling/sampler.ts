/**
 * The sampling service: three isolated Cyclon views, one per population,
 * over `/tempus/cyclon/{edge,bridge,sentinel}/1.0.0`. A node is a full
 * member of its own type's view and a pull-only observer of the other two.
 * Every entry carries the peer's token; an entry whose token does not verify
 * (signature, current epoch, not expired, not revoked) for that very peer
 * and that view's type is dropped, and its sender's suspicion rises. Its
 * addresses come only in a peer record the peer itself signed
 * (src/sampling/signed-record.ts), checked before they reach the peer store;
 * its age is clamped to what its token's age allows
 * (src/sampling/entry-age.ts); requests and replies pass one shape check
 * (`decodeShuffle`); every dial spends the node's per-address budget.
 */
import { serviceDependencies } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { RateLimiter } from '@libp2p/utils'
import { TypedEventEmitter } from 'main-event'
import { PEER_TYPES } from '../core/peer-type.ts'
import { DialBudgetError, DialRateLimiter } from '../liveness/dial-limiter.ts'
import { PARTNER_ATTEMPTS, SHUFFLES_PER_PEER_PER_MINUTE, SHUFFLE_TIMEOUT_MS, cyclonProtocol } from './constants.ts'
import { nextTickDelay } from './schedule.ts'
import { sealRecord } from './signed-record.ts'
import { CyclonView } from './view.ts'
import { SamplingMetrics } from './metrics.ts'
import { EntryEvidence } from './entry-evidence.ts'
import { answerShuffle, dialPartner, initiateShuffle } from './shuffle-wire.ts'
import type { DialBudget } from './shuffle-wire.ts'
import { viewSettingsOf } from './view-settings.ts'
import { admissionDependencies, admissionStateOf, selfTypeOf } from '../admission/provider.ts'
import type { AdmissionState } from '../admission/state.ts'
import type { PeerType } from '../core/peer-type.ts'
import type { PeerEntry } from './peer-entry.ts'
export type { DialBudget } from './shuffle-wire.ts'
import type { ViewSettings } from './view-settings.ts'
import type { ComponentLogger, Connection, Logger, PeerId, PeerStore, PrivateKey, Startable, Stream } from '@libp2p/interface'
import type { AddressManager, ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { Registry } from 'prom-client'

/** Every field optional; the defaults are in constants.ts, the same the node's config schema fills in. */
export interface SamplerInit {
  /**
   * this node's own type: a member of that view, an observer of the others
   * @default the type it enrolled as (AdmissionState.selfType)
   */
  type?: PeerType
  /**
   * each view's size and pace; a field left out takes its default
   * @default VIEW_DEFAULTS, an observer at OBSERVER_PERIOD_FACTOR × the period
   */
  views?: Partial<Record<PeerType, Partial<ViewSettings>>>
  /**
   * whose verdicts check entries' tokens and take their senders' offences
   * @default the admission service's (src/admission/provider.ts)
   */
  state?: AdmissionState
  /** @default crypto.getRandomValues */
  random?: () => number
  /** a shuffle's deadline; @default SHUFFLE_TIMEOUT_MS (5 s) */
  timeoutMs?: number
  /** incoming shuffles per peer per minute and view; @default twice what one period allows, at least SHUFFLES_PER_PEER_PER_MINUTE */
  perPeerPerMinute?: number
  /**
   * A connection dialled only for a shuffle is closed afterwards while the
   * node holds more than this many connections: Cyclon meets a new random
   * partner every period, and keeping every one would connect each node to
   * most of the overlay (each connection costs a handshake, an admission,
   * identify, gossip and DHT streams).
   */
  keepConnections?: number
  /**
   * The node's dial budget per address and host, shared with the peer
   * keeper so the node as a whole never hammers one address.
   * @default a budget of the sampler's own (DIAL_LIMITS, src/liveness/dial-limiter.ts)
   */
  dialBudget?: DialBudget
  /** the node's Prometheus registry: view sizes, shuffles and refused entries go there (see `metrics.ts`); none without it */
  registry?: Registry
}

export interface SamplerComponents {
  peerId: PeerId
  /** to sign this node's own peer record for its entry */
  privateKey: PrivateKey
  registrar: Registrar
  connectionManager: ConnectionManager
  peerStore: PeerStore
  addressManager: AddressManager
  logger: ComponentLogger
}

export interface SamplerEvents {
  'view:change': CustomEvent<{ type: PeerType, size: number }>
}

/** What the API shows of an entry: no token. */
export interface ViewEntry {
  peerId: string
  type: PeerType
  age: number
  addrs: string[]
}

const cryptoRandom = (): number => (crypto.getRandomValues(new Uint32Array(1))[0] as number) / 4294967296

export class Sampler extends TypedEventEmitter<SamplerEvents> implements Startable {
  readonly type: PeerType
  private readonly components: SamplerComponents
  private readonly init: SamplerInit
  private readonly state: AdmissionState
  private readonly settings: Record<PeerType, ViewSettings>
  private readonly log: Logger
  private readonly views: Record<PeerType, CyclonView<PeerEntry, string>>
  private readonly metrics?: SamplingMetrics
  private readonly limiters: Record<PeerType, RateLimiter>
  private readonly timers = new Map<PeerType, ReturnType<typeof setTimeout>>()
  private readonly busy = new Set<PeerType>()
  private readonly dialBudget: DialBudget
  private readonly evidence: EntryEvidence
  /** what the wire side of an exchange needs (shuffle-wire.ts) */
  private readonly wire: { peerStore: PeerStore, connectionManager: ConnectionManager, dialBudget: DialBudget, state: AdmissionState, log: Logger }
  /** this node's signed record for its own entry, re-sealed when its addresses change */
  private ownRecord?: { addrs: string, seq: bigint, envelope: Uint8Array }
  private running = false

  constructor (components: SamplerComponents, init: SamplerInit = {}) {
    super()
    this.components = components
    this.init = init
    this.state = admissionStateOf(components, init.state, 'the sampling service')
    this[serviceDependencies] = admissionDependencies(init.state)
    this.type = selfTypeOf(this.state, init.type, 'the sampling service')
    this.settings = viewSettingsOf(init.views)
    this.log = components.logger.forComponent('tempus:sampling')
    this.metrics = init.registry == null ? undefined : new SamplingMetrics(init.registry, this)
    const random = init.random ?? cryptoRandom
    const self = components.peerId.toString()
    const make = (type: PeerType): CyclonView<PeerEntry, string> => new CyclonView<PeerEntry, string>({
      self,
      capacity: this.settings[type].capacity,
      shuffleLength: this.settings[type].shuffleLength,
      random,
      member: type === this.type,
      selfEntry: () => this.selfEntry(),
      copy: e => ({ ...e, addrs: [...e.addrs] })
    })
    this.dialBudget = init.dialBudget ?? new DialRateLimiter({ now: this.state.now })
    this.views = { edge: make('edge'), bridge: make('bridge'), sentinel: make('sentinel') }
    this.wire = { peerStore: components.peerStore, connectionManager: components.connectionManager, dialBudget: this.dialBudget, state: this.state, log: this.log }
    this.evidence = new EntryEvidence({
      self,
      state: this.state,
      peerStore: components.peerStore,
      views: this.views,
      periodMs: type => this.settings[type].periodMs,
      log: (format, ...args) => { this.log(format, ...args) },
      metrics: this.metrics,
      changed: type => { this.changed(type) }
    })
    // An honest peer shuffles a view with us at most once per period (we are
    // then its oldest entry every time), so the limit follows the period:
    // twice that rate, never below the floor.
    const limiter = (type: PeerType): RateLimiter => new RateLimiter({
      points: init.perPeerPerMinute ?? Math.max(SHUFFLES_PER_PEER_PER_MINUTE, Math.ceil(2 * 60_000 / this.settings[type].periodMs)),
      duration: 60
    })
    this.limiters = { edge: limiter('edge'), bridge: limiter('bridge'), sentinel: limiter('sentinel') }
    this.onRevoked = this.onRevoked.bind(this)
  }

  readonly [Symbol.toStringTag] = 'tempus/sampling'
  /** the admission service, unless Init.state was given */
  readonly [serviceDependencies]: string[]

  async start (): Promise<void> {
    this.running = true
    for (const type of PEER_TYPES) {
      await this.components.registrar.handle(cyclonProtocol(type), async (stream, connection) => { await this.handle(type, stream, connection) }, { maxInboundStreams: 4, maxOutboundStreams: 4 })
    }
    this.state.addEventListener('revoked', this.onRevoked)
  }

  afterStart (): void {
    for (const type of PEER_TYPES) {
      this.schedule(type)
    }
  }

  /** Tick `type` again when `nextTickDelay` says (src/sampling/schedule.ts). */
  private schedule (type: PeerType): void {
    if (!this.running) {
      return
    }
    const settings = this.settings[type]
    const delay = nextTickDelay({ member: type === this.type, size: this.views[type].size, periodMs: settings.periodMs, observerPeriodMs: settings.observerPeriodMs })
    const timer = setTimeout(() => {
      this.tick(type)
        .catch((err: any) => { this.log.error('%s tick failed - %s', type, err?.message ?? err) })
        .finally(() => { this.schedule(type) })
    }, delay)
    timer.unref?.()
    this.timers.set(type, timer)
  }

  async stop (): Promise<void> {
    this.running = false
    this.timers.forEach(t => { clearTimeout(t) })
    this.timers.clear()
    this.state.removeEventListener('revoked', this.onRevoked)
    for (const type of PEER_TYPES) {
      await this.components.registrar.unhandle(cyclonProtocol(type))
    }
  }

  /** n peers of `type` drawn uniformly from that view (fewer if it is smaller). */
  sample (type: PeerType, n: number): ViewEntry[] {
    return this.views[type].sample(n).map(publicEntry)
  }

  view (type: PeerType): ViewEntry[] {
    return this.views[type].entries().map(publicEntry)
  }

  capacity (type: PeerType): number {
    return this.views[type].capacity
  }

  /** One shuffle of the `type` view (the timer calls this every period). */
  async tick (type: PeerType): Promise<void> {
    if (!this.running || this.busy.has(type) || this.state.ownToken == null) {
      return
    }
    this.busy.add(type)
    const waiting: PeerEntry[] = []
    try {
      const view = this.views[type]
      await this.refreshOwnRecord()
      this.evidence.dropLapsing(type)
      if (view.size === 0) {
        await this.seed(type)
      }
      if (view.size === 0) {
        await this.introduce(type)
        return
      }
      for (let attempt = 0; attempt < PARTNER_ATTEMPTS; attempt++) {
        const shuffle = view.startShuffle(attempt === 0)
        if (shuffle == null) {
          break
        }
        try {
          const reply = await this.exchange(type, shuffle.partner, shuffle.sent)
          view.completeShuffle(shuffle, await this.evidence.admissible(type, reply, shuffle.partner.id))
          this.metrics?.shuffle(type, 'initiator', 'ok')
          break
        } catch (err: any) {
          if (err instanceof DialBudgetError) {
            // our own budget, not the partner's fault: it stays, for a later tick
            this.log('%s shuffle with %s deferred: its addresses are over the dial budget', type, shuffle.partner.id)
            waiting.push(shuffle.partner)
            continue
          }
          // a partner that does not answer (or answers out of shape) is gone; try the next oldest
          this.log('%s shuffle with %s failed (%s): dropped from the view', type, shuffle.partner.id, err?.name)
          this.metrics?.shuffle(type, 'initiator', 'failed')
        }
      }
      for (const partner of waiting) {
        view.add(partner)
      }
      this.changed(type)
    } finally {
      this.busy.delete(type)
    }
  }

  /**
   * An empty view starts from the admitted peers of that type this node is
   * connected to, with the peer records they signed and sent over identify
   * (an inbound connection's remote address is an ephemeral port nobody can
   * dial, and an entry's addresses must be signed by its peer).
   */
  private async seed (type: PeerType): Promise<void> {
    for (const connection of this.components.connectionManager.getConnections()) {
      const id = connection.remotePeer.toString()
      const admitted = this.state.admitted.get(id)
      if (admitted == null || admitted.claims.typ !== type || admitted.token === '') {
        continue
      }
      // evidence that lapses within the margin, or of a rotated key, would be
      // refused by the receiver (a connection kept through an issuer outage
      // still holds its peer's lapsed token): not an entry to pass on
      if (this.evidence.lapsing(admitted.claims.exp * 1000, admitted.claims.ep)) {
        continue
      }
      // the record it signed (identify stored it); without one, no address can be vouched for
      const record = await this.evidence.storedRecord(connection.remotePeer)
      if (record == null) {
        continue
      }
      this.views[type].add({ id, age: 0, type, token: admitted.token, keyCertificate: admitted.keyCertificate, record: record.envelope, addrs: record.addrs, seq: record.seq, expiresAt: admitted.claims.exp * 1000, epoch: admitted.claims.ep })
    }
  }

  /**
   * An empty view that no connected peer of its type can fill asks a
   * connected admitted peer of any type for the entries it holds of this
   * type (sentinels observe every population, so they introduce); a member
   * sends itself along, so the introducer learns it.
   */
  private async introduce (type: PeerType): Promise<void> {
    const candidates = this.components.connectionManager.getConnections()
      .map(c => ({ c, admitted: this.state.admitted.get(c.remotePeer.toString()) }))
      .filter(x => x.admitted != null && x.admitted.token !== '')
    if (candidates.length === 0) {
      return
    }
    const pick = candidates[Math.floor((this.init.random ?? cryptoRandom)() * candidates.length)] as (typeof candidates)[number]
    const view = this.views[type]
    const introducer: PeerEntry = { id: pick.c.remotePeer.toString(), age: 0, type: pick.admitted?.claims.typ as PeerType, token: '', keyCertificate: '', record: new Uint8Array(0), addrs: [] }
    const sent = view.member ? [this.selfEntry()] : []
    try {
      const reply = await this.exchange(type, introducer, sent)
      view.merge(await this.evidence.admissible(type, reply, introducer.id), sent)
      this.changed(type)
    } catch (err: any) {
      this.log('%s introduction through %s failed - %s', type, introducer.id, err?.name)
    }
  }

  private selfEntry (): PeerEntry {
    const own = this.state.ownToken
    return {
      id: this.components.peerId.toString(),
      age: 0,
      type: this.type,
      token: own?.token ?? '',
      keyCertificate: own?.keyCertificate ?? '',
      record: this.ownRecord?.envelope ?? new Uint8Array(0),
      addrs: []
    }
  }

  /**
   * Seal this node's own peer record again when its addresses changed (the
   * sequence number follows the clock and never repeats, so receivers take
   * the new record over the old one).
   */
  private async refreshOwnRecord (): Promise<void> {
    const addrs = this.components.addressManager.getAddresses().map(a => a.decapsulateCode(421))
    const key = addrs.map(String).join(' ')
    if (this.ownRecord?.addrs === key) {
      return
    }
    const seq = BigInt(Math.max(this.state.now(), Number(this.ownRecord?.seq ?? 0n) + 1))
    this.ownRecord = { addrs: key, seq, envelope: await sealRecord(this.components.privateKey, addrs, seq) }
  }

  private async exchange (type: PeerType, partner: PeerEntry, sent: PeerEntry[]): Promise<PeerEntry[]> {
    const signal = AbortSignal.timeout(this.init.timeoutMs ?? SHUFFLE_TIMEOUT_MS)
    const peer = peerIdFromString(partner.id)
    const wasConnected = this.components.connectionManager.getConnections(peer).length > 0
    if (!wasConnected) {
      await dialPartner(this.wire, peer, partner, signal)
    }
    try {
      return await initiateShuffle(this.wire, peer, type, this.views[type].shuffleLength, sent, signal)
    } finally {
      // sentinels are kept by the peer keeper anyway: closing would only make it redial
      if (!wasConnected && partner.type !== 'sentinel' && this.components.connectionManager.getConnections().length > (this.init.keepConnections ?? Infinity)) {
        await this.components.connectionManager.closeConnections(peer).catch(() => {})
      }
    }
  }

  private async handle (type: PeerType, stream: Stream, connection: Connection): Promise<void> {
    await answerShuffle({
      state: this.state,
      log: this.log,
      metrics: this.metrics,
      limiter: this.limiters[type],
      maxEntries: this.views[type].shuffleLength,
      timeoutMs: this.init.timeoutMs ?? SHUFFLE_TIMEOUT_MS,
      answer: async (received, sender) => {
        const admissible = await this.evidence.admissible(type, received, sender)
        await this.refreshOwnRecord()
        this.evidence.dropLapsing(type)
        return this.views[type].respond(admissible)
      },
      answered: () => { this.changed(type) }
    }, type, stream, connection)
  }

  private onRevoked (evt: CustomEvent<string[]>): void {
    for (const type of PEER_TYPES) {
      if (this.views[type].removeWhere(e => evt.detail.includes(e.id)) > 0) {
        this.changed(type)
      }
    }
  }

  private changed (type: PeerType): void {
    this.safeDispatchEvent('view:change', { detail: { type, size: this.views[type].size } })
  }
}

function publicEntry (e: PeerEntry): ViewEntry {
  return { peerId: e.id, type: e.type, age: e.age, addrs: [...e.addrs] }
}

export function sampler (init: SamplerInit = {}): (components: SamplerComponents) => Sampler {
  return (components) => new Sampler(components, init)
}

/**
 * The sampling service: three isolated Cyclon views, one per population,
 * over `/tempus/cyclon/{edge,bridge,sentinel}/1.1.0`. A node is a full
 * member of its own type's view and a pull-only observer of the other two.
 * Every entry carries the peer's token; an entry whose token does not verify
 * (signature, not revoked, valid within the evidence bound) for that very peer
 * and that view's type is dropped, and its sender's suspicion rises. Its
 * addresses come only in a peer record the peer itself signed
 * (src/sampling/signed-record.ts), checked before they reach the peer store;
 * its age and its chain of owners come in a descriptor the peer signed and
 * each owner handed on with a signed hop (src/sampling/descriptor.ts), so
 * an age cannot be forged and a clone is caught; requests and replies pass one shape check
 * (`decodeShuffle`); every dial spends the node's per-address budget.
 */
import { serviceDependencies } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { RateLimiter } from '@libp2p/utils'
import { TypedEventEmitter } from 'main-event'
import { PEER_TYPES } from '../core/peer-type.ts'
import { DialBudgetError, DialRateLimiter } from '../liveness/dial-limiter.ts'
import { INTRODUCERS, PARTNER_ATTEMPTS, SHUFFLES_PER_PEER_PER_MINUTE, SHUFFLE_TIMEOUT_MS, cyclonProtocol, sampleProtocol } from './constants.ts'
import { checkPeriods, descriptorSpacingOf } from './descriptor-spacing.ts'
import { keyObjectOf } from '../core/keys.ts'
import { DescriptorDesk } from './descriptor-desk.ts'
import { DescriptorLedger } from './descriptor-ledger.ts'
import { nextTickDelay } from './schedule.ts'
import { sealRecord } from './signed-record.ts'
import { CyclonView } from './view.ts'
import { SamplingMetrics } from './metrics.ts'
import { EntryEvidence } from './entry-evidence.ts'
import { answerShuffle, initiateShuffle, withPartner } from './shuffle-wire.ts'
import { answerSampleExchange, initiateSampleExchange } from './sample-wire.ts'
import { SampleKeeper } from './sample-keeper.ts'
import { IdleCloser } from './idle-connection.ts'
import type { DialBudget } from './shuffle-wire.ts'
import { viewSettingsOf } from './view-settings.ts'
import { admissionDependencies, admissionStateOf, selfTypeOf } from '../admission/provider.ts'
import { ownBytes } from '../core/own-bytes.ts'
import type { AdmissionState } from '../admission/state.ts'
import type { PeerType } from '../core/peer-type.ts'
import type { PeerEntry } from './peer-entry.ts'
import type { SamplerComponents, SamplerEvents, SamplerInit, ViewEntry } from './sampler-types.ts'
export type { DialBudget } from './shuffle-wire.ts'
export type { SamplerComponents, SamplerEvents, SamplerInit, ViewEntry } from './sampler-types.ts'
import type { ViewSettings } from './view-settings.ts'
import type { Connection, Logger, PeerId, PeerStore, PeerUpdate, Startable, Stream } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'

const cryptoRandom = (): number => (crypto.getRandomValues(new Uint32Array(1))[0] as number) / 4294967296

export class Sampler extends TypedEventEmitter<SamplerEvents> implements Startable {
  readonly type: PeerType
  private readonly components: SamplerComponents
  private readonly init: SamplerInit
  private readonly state: AdmissionState
  private readonly settings: Record<PeerType, ViewSettings>
  /** each view's descriptor spacing: the overlay's, never this node's period (descriptor-spacing.ts) */
  private readonly spacing: Record<PeerType, number>
  private readonly log: Logger
  private readonly views: Record<PeerType, CyclonView<PeerEntry, string>>
  private readonly metrics?: SamplingMetrics
  private readonly limiters: Record<PeerType, RateLimiter>
  private readonly sampleLimiters: Record<PeerType, RateLimiter>
  private readonly samples: SampleKeeper
  private readonly timers = new Map<PeerType, ReturnType<typeof setTimeout>>()
  private readonly busy = new Set<PeerType>()
  private readonly dialBudget: DialBudget
  private readonly evidence: EntryEvidence
  private readonly ledger: DescriptorLedger
  private desk?: DescriptorDesk
  /** what the wire side of an exchange needs (shuffle-wire.ts) */
  private readonly wire: { peerStore: PeerStore, connectionManager: ConnectionManager, dialBudget: DialBudget, state: AdmissionState, log: Logger }
  /** this node's signed record for its own entry, re-sealed when its addresses change */
  private ownRecord?: { addrs: string, seq: bigint, envelope: Uint8Array }
  /** the seal of this node's record under way, if any (refreshOwnRecord) */
  private recordRefresh: Promise<void> = Promise.resolve()
  /** the PeerIds of the node's configured bootstrap peers */
  private readonly bootstrapIds: string[]
  /** closes connections dialled only for an exchange once idle, while the node holds more than `keepConnections` */
  private readonly closer: IdleCloser
  private running = false
  /** per view: introducers that have not had this node's own entry yet, each sent its next descriptor, one a tick (introduceNext) */
  private readonly introducing = new Map<PeerType, string[]>()
  /** the mint times being written to the mint log, in order */
  private mintWrites: Promise<void> = Promise.resolve()

  constructor (components: SamplerComponents, init: SamplerInit = {}) {
    super()
    this.components = components
    this.init = init
    this.state = admissionStateOf(components, init.state, 'the sampling service')
    this[serviceDependencies] = admissionDependencies(init.state)
    this.type = selfTypeOf(this.state, init.type, 'the sampling service')
    this.settings = viewSettingsOf(init.views)
    this.spacing = descriptorSpacingOf(init.descriptorSpacingMs)
    checkPeriods(this.settings, this.spacing)
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
      copy: e => ({ ...e, addrs: [...e.addrs] }),
      // an entry this node can no longer hand on gives way to a fresh one of the same peer
      supersedes: (held, received) => (held.spent === true || held.descriptor == null) && received.descriptor != null
    })
    this.dialBudget = init.dialBudget ?? new DialRateLimiter({ now: this.state.now })
    this.views = { edge: make('edge'), bridge: make('bridge'), sentinel: make('sentinel') }
    this.ledger = new DescriptorLedger({ spacingMs: type => this.spacingMs(type), now: this.state.now })
    this.wire = { peerStore: components.peerStore, connectionManager: components.connectionManager, dialBudget: this.dialBudget, state: this.state, log: this.log }
    this.evidence = new EntryEvidence({
      self,
      state: this.state,
      peerStore: components.peerStore,
      views: this.views,
      periodMs: type => this.settings[type].periodMs,
      log: (format, ...args) => { this.log(format, ...args) },
      metrics: this.metrics,
      changed: type => { this.changed(type) },
      ledger: this.ledger,
      handedBefore: descriptor => this.desk?.handedBefore(descriptor) ?? false,
      cloned: (cloner, proof) => { this.safeDispatchEvent('descriptor:cloned', { detail: { cloner, proof } }) }
    })
    // An honest peer shuffles a view with us at most once per its period (we
    // are then its oldest entry every time), and no period is shorter than
    // the overlay's spacing, so the limit follows the spacing: twice that
    // rate, never below the floor. Not this node's own period: a peer
    // configured faster than this node, legally, would be charged for it.
    const limiter = (type: PeerType): RateLimiter => new RateLimiter({
      points: init.perPeerPerMinute ?? Math.max(SHUFFLES_PER_PEER_PER_MINUTE, Math.ceil(2 * 60_000 / this.spacing[type])),
      duration: 60
    })
    this.limiters = { edge: limiter('edge'), bridge: limiter('bridge'), sentinel: limiter('sentinel') }
    // one sample exchange follows each shuffle: the same pace, its own bucket
    this.sampleLimiters = { edge: limiter('edge'), bridge: limiter('bridge'), sentinel: limiter('sentinel') }
    this.samples = new SampleKeeper({
      self,
      evidence: this.evidence,
      random,
      isRevoked: peer => this.state.revocations.isRevoked(peer),
      connectedEntry: async (type, peer) => await this.evidence.connectedEntry(type, peerIdFromString(peer)),
      ownEntry: type => {
        const own = this.selfEntry()
        return type === this.type && own.token !== '' && own.record.byteLength > 0 ? own : undefined
      },
      settings: init.sampler
    })
    const keep = init.keepConnections ?? Infinity
    this.closer = new IdleCloser(() => components.connectionManager.getConnections().length > keep)
    this.bootstrapIds = [...new Set((init.bootstrap ?? []).map(peerIdOfAddress).filter((id): id is string => id != null && id !== self))]
    this.onRevoked = this.onRevoked.bind(this)
    this.onSelfUpdate = this.onSelfUpdate.bind(this)
    this.onPeerUpdate = this.onPeerUpdate.bind(this)
  }

  /** The peer store changed a peer: the evidence's copy of its record follows (`watchPeerStore`). */
  private onPeerUpdate (evt: CustomEvent<PeerUpdate>): void {
    this.evidence.peerStoreChanged(evt.detail.peer.id.toString(), evt.detail.peer.peerRecordEnvelope)
  }

  readonly [Symbol.toStringTag] = 'tempus/sampling'
  /** the admission service, unless Init.state was given */
  readonly [serviceDependencies]: string[]

  async start (): Promise<void> {
    this.running = true
    const mintLog = this.init.mintLog
    this.desk = new DescriptorDesk({
      self: this.components.peerId.toString(),
      key: keyObjectOf(this.components.privateKey),
      now: this.state.now,
      ledger: this.ledger,
      spacingMs: type => this.spacingMs(type),
      startedAt: this.state.now(),
      lastMinted: await mintLog?.load(),
      // kept in order; a frame carrying a descriptor of this node's is written only once its mint is (`mintWrites`)
      minted: mintLog == null
        ? undefined
        : (type, at) => {
            this.mintWrites = this.mintWrites.then(async () => { await mintLog.record(type, at) }).catch((err: any) => {
              this.log.error('%s: the time of this node\'s last descriptor could not be kept - %s', type, err?.message ?? err)
            })
          },
      persistentIdentity: this.init.persistentIdentity
    })
    for (const type of PEER_TYPES) {
      await this.components.registrar.handle(cyclonProtocol(type), async (stream, connection) => { await this.handle(type, stream, connection) }, { maxInboundStreams: 4, maxOutboundStreams: 4 })
      await this.components.registrar.handle(sampleProtocol(type), async (stream, connection) => { await this.handleSample(type, stream, connection) }, { maxInboundStreams: 4, maxOutboundStreams: 4 })
    }
    this.state.addEventListener('revoked', this.onRevoked)
    // a listener that starts changes the addresses at once; the address
    // manager's `self:peer:update` follows about a second later (debounced)
    this.components.events?.addEventListener('transport:listening', this.onSelfUpdate)
    this.components.events?.addEventListener('self:peer:update', this.onSelfUpdate)
    if (this.components.events != null) {
      this.components.events.addEventListener('peer:update', this.onPeerUpdate)
      this.evidence.watchPeerStore()
    }
  }

  afterStart (): void {
    // the node's record as early as it can be: the transports may not be
    // listening yet (they start in afterStart too), and then the events
    // above seal it once they are
    this.onSelfUpdate()
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
    this.components.events?.removeEventListener('transport:listening', this.onSelfUpdate)
    this.components.events?.removeEventListener('self:peer:update', this.onSelfUpdate)
    this.components.events?.removeEventListener('peer:update', this.onPeerUpdate)
    // changes made while stopped go unseen: a restart reads every record again
    this.evidence.forgetPeerStore()
    for (const type of PEER_TYPES) {
      await this.components.registrar.unhandle(cyclonProtocol(type))
      await this.components.registrar.unhandle(sampleProtocol(type))
    }
  }

  /**
   * n peers of `type` drawn uniformly from what that view's slot sampler
   * holds (fewer if it holds fewer): not from the view, which admitted
   * liars can fill (protocols/cyclon.md, "The sampler beside each view").
   */
  sample (type: PeerType, n: number): ViewEntry[] {
    return this.samples.sample(type, n).map(publicEntry)
  }

  /** ids the `type` view's slot sampler holds */
  sampled (type: PeerType): number {
    return this.samples.held(type)
  }

  /** the `type` sampler's bootstrap peers now (the partner rule, bootstrap-partners.ts): the configured ones connected and admitted as `type`, then the first the view held */
  bootstrapPeers (type: PeerType): string[] {
    return [...new Set([...this.configuredBootstrap(type), ...this.samples.bootstrapPeers(type)].map(e => e.id))]
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
      // connections an earlier exchange dialled and something else still used
      await this.closer.sweep()
      if (view.size === 0) {
        await this.seed(type)
      }
      if (view.size === 0) {
        await this.introduce(type)
        return
      }
      await this.introduceNext(type)
      // the first admitted peers the view held are its bootstrap peers
      this.samples.viewHolds(type, view.entries())
      for (let attempt = 0; attempt < PARTNER_ATTEMPTS; attempt++) {
        const shuffle = view.startShuffle(attempt === 0)
        if (shuffle == null) {
          break
        }
        try {
          const reply = await this.evidence.admissible(type, await this.exchange(type, shuffle.partner, shuffle.sent), shuffle.partner.id)
          view.completeShuffle(shuffle, reply)
          this.samples.observe(type, reply)
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
      await this.observeConnected(type)
      await this.exchangeSamples(type)
      this.samples.endRound(type)
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
      const entry = await this.evidence.connectedEntry(type, connection.remotePeer)
      if (entry != null) {
        this.views[type].add(entry)
        this.samples.observe(type, [entry])
      }
    }
  }

  /**
   * An empty view that no connected peer of its type can fill asks up to
   * INTRODUCERS connected admitted peers of any type for the entries they
   * hold of this type (sentinels observe every population, so they
   * introduce); a member sends itself along, so each introducer learns it.
   * A member has one descriptor of its own per spacing, so only the first
   * introducer gets one now; the others are kept (`introducing`) and each
   * is sent this node's next descriptor, one a tick (introduceNext).
   */
  private async introduce (type: PeerType): Promise<void> {
    const candidates = this.components.connectionManager.getConnections()
      .map(c => ({ id: c.remotePeer.toString(), admitted: this.state.admitted.get(c.remotePeer.toString()) }))
      .filter((x, i, all) => x.admitted != null && x.admitted.token !== '' && all.findIndex(y => y.id === x.id) === i)
    const random = this.init.random ?? cryptoRandom
    // introducers still owed this node's entry go first: one that an earlier
    // round left waiting gets this round's descriptor
    const owed = this.introducing.get(type) ?? []
    candidates.sort((a, b) => Number(owed.includes(b.id)) - Number(owed.includes(a.id)))
    const waiting: string[] = []
    this.introducing.set(type, waiting)
    // several introducers, not one: an introducer knows the members that
    // came through it, so nodes that each asked one of two sentinels would
    // form two overlays that Cyclon never joins (each shuffles only with
    // what its own part knows)
    const first = candidates.filter(c => owed.includes(c.id)).length
    for (let i = 0; i < Math.min(INTRODUCERS, candidates.length); i++) {
      // at random, but among those owed while any are left
      const j = i + Math.floor(random() * ((i < first ? first : candidates.length) - i))
      const pick = candidates[j] as (typeof candidates)[number]
      candidates[j] = candidates[i] as (typeof candidates)[number]
      if (await this.introduceTo(type, pick.id) === 'later') {
        waiting.push(pick.id)
      }
    }
  }

  /**
   * One introducer that has not had this node's entry yet (`introduce`) is
   * sent its next descriptor, once it may mint one: one a tick, so the
   * introductions go one spacing apart, each with a descriptor of its own
   * and none over-minted. Bounded: at most INTRODUCERS − 1 after the first,
   * each tried once with a descriptor; one no longer connected is skipped.
   */
  private async introduceNext (type: PeerType): Promise<void> {
    const waiting = this.introducing.get(type)
    if (waiting == null || waiting.length === 0 || this.desk == null || this.desk.nextMint(type) > this.state.now()) {
      return
    }
    while (waiting.length > 0) {
      const id = waiting.shift() as string
      if (this.state.admitted.get(id) == null || this.components.connectionManager.getConnections(peerIdFromString(id)).length === 0) {
        continue
      }
      // tried once: had no descriptor gone after all (an answer took this
      // tick's first), the introducer learns the node as any peer does
      await this.introduceTo(type, id)
      return
    }
  }

  /**
   * Ask `id` for its entries of `type`, sending this node's own entry if a
   * member. 'later': a member whose own descriptor could not go now (one
   * per spacing), so the introducer still has to learn it.
   */
  private async introduceTo (type: PeerType, id: string): Promise<'done' | 'later' | 'failed'> {
    const view = this.views[type]
    const admitted = this.state.admitted.get(id)
    const introducer: PeerEntry = { id, age: 0, type: admitted?.claims.typ as PeerType, token: '', keyCertificate: '', record: new Uint8Array(0), addrs: [] }
    const sent = view.member ? [this.selfEntry()] : []
    try {
      const reply = await this.evidence.admissible(type, await this.exchange(type, introducer, sent), introducer.id)
      view.merge(reply, sent)
      this.samples.observe(type, reply)
      this.changed(type)
      return view.member && sent.length === 0 ? 'later' : 'done'
    } catch (err: any) {
      this.log('%s introduction through %s failed - %s', type, introducer.id, err?.name)
      return 'failed'
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
   * the new record over the old one), and keep it in the peer store as this
   * node's own. There identify finds it: libp2p v3's identify answers with
   * the record the peer store holds for the node and, holding none, seals
   * a new one (its sequence number the time) for every identify it
   * answers. Each peer then took a new record of this node on each
   * connection (a signature here, a verification and a peer-store write
   * there), and the entries for this node carried a dozen versions, each
   * verified again by every receiver (a 30-node dev mesh: up to 17 distinct
   * records per peer in one minute). Now every connection and every entry
   * carries the same bytes until an address changes.
   */
  private async refreshOwnRecord (): Promise<void> {
    // one at a time: two seals racing (the start and a `self:peer:update`)
    // could leave the older addresses in place
    const next = this.recordRefresh.then(async () => { await this.sealOwnRecord() })
    this.recordRefresh = next.catch(() => {})
    await next
  }

  private async sealOwnRecord (): Promise<void> {
    const addrs = this.components.addressManager.getAddresses().map(a => a.decapsulateCode(421))
    const key = addrs.map(String).join(' ')
    if (this.ownRecord?.addrs === key) {
      return
    }
    const seq = BigInt(Math.max(this.state.now(), Number(this.ownRecord?.seq ?? 0n) + 1))
    const envelope = await sealRecord(this.components.privateKey, addrs, seq)
    this.ownRecord = { addrs: key, seq, envelope: ownBytes(envelope) }
    if (addrs.length > 0) {
      // (never a record of no address: identify would hand it out, and a
      // peer that took it would forget every address it knew for this node)
      await this.components.peerStore.patch(this.components.peerId, { peerRecordEnvelope: envelope })
    }
  }

  /** `transport:listening`, `self:peer:update`: the addresses may have changed (the node's own patch above fires the latter too, and changes nothing) */
  private onSelfUpdate (): void {
    if (!this.running) {
      return
    }
    this.refreshOwnRecord().catch((err: any) => {
      this.log.error('this node\'s own record could not be sealed again - %s', err?.message ?? err)
    })
  }

  private async exchange (type: PeerType, partner: PeerEntry, sent: PeerEntry[]): Promise<PeerEntry[]> {
    return await this.withPartner(partner, async (peer, signal) => {
      // handed on once dialled: what goes in the frame is spent, answered or not
      this.handOver(type, sent, partner.id)
      await this.mintWrites
      return await initiateShuffle(this.wire, peer, type, this.views[type].shuffleLength, sent, signal)
    })
  }

  /** Hand `sent` to `to` (descriptor-desk.ts): each entry with a hop this node signs; what cannot go is taken out. */
  private handOver (type: PeerType, sent: PeerEntry[], to: string, max?: number): void {
    if (this.desk == null) {
      sent.length = 0
      return
    }
    this.desk.handOver(type, sent, id => this.views[type].get(id), to, max)
  }

  /** The least time between two descriptors one peer mints for a view: the overlay's (descriptor-spacing.ts), the same on every node. */
  private spacingMs (type: PeerType): number {
    return this.spacing[type]
  }

  /** The sampler sees the admitted peers of `type` this node is connected to (with a record to vouch for their addresses). */
  private async observeConnected (type: PeerType): Promise<void> {
    for (const connection of this.components.connectionManager.getConnections()) {
      if (this.state.admitted.get(connection.remotePeer.toString())?.claims.typ === type) {
        const entry = await this.evidence.connectedEntry(type, connection.remotePeer)
        if (entry != null) {
          this.samples.observe(type, [entry])
        }
      }
    }
  }

  /**
   * One sample exchange of the `type` sampler with this round's partner:
   * a bootstrap peer in the sampler's first rounds and one round in
   * `anchorEvery`, else its least-hit slot (bootstrap-partners.ts). A
   * partner that does not answer leaves the sampler and the bootstrap
   * peers (dead, or not what it claimed); one over the dial budget waits
   * for a later tick.
   */
  private async exchangeSamples (type: PeerType): Promise<void> {
    const choice = this.samples.choosePartner(type, () => this.configuredBootstrap(type))
    if (choice == null) {
      return
    }
    const { partner, bootstrap } = choice
    const ended = (outcome: 'ok' | 'failed' | 'deferred'): void => {
      this.safeDispatchEvent('sample:exchange', { detail: { type, partner: partner.id, bootstrap, outcome } })
    }
    try {
      await this.withPartner(partner, async (peer, signal) => { await initiateSampleExchange(this.wire, peer, type, this.samples.side(type), signal) })
      this.metrics?.sampleExchange(type, 'initiator', 'ok')
      ended('ok')
    } catch (err: any) {
      if (err instanceof DialBudgetError) {
        ended('deferred')
        return
      }
      this.log('%s sample exchange with %s failed (%s): it leaves the sampler', type, partner.id, err?.name)
      this.samples.forget(type, partner.id)
      this.metrics?.sampleExchange(type, 'initiator', 'failed')
      ended('failed')
    }
  }

  /**
   * The configured bootstrap peers this node is connected to that were
   * admitted as `type`. Their entry names only the peer: a connected
   * partner is not dialled, and the exchange observes its evidence.
   */
  private configuredBootstrap (type: PeerType): PeerEntry[] {
    return this.bootstrapIds
      .filter(id => this.state.admitted.get(id)?.claims.typ === type && this.components.connectionManager.getConnections(peerIdFromString(id)).length > 0)
      .map(id => ({ id, age: 0, type, token: '', keyCertificate: '', record: new Uint8Array(0), addrs: [] }))
  }

  /** Run `fn` with `partner` (shuffle-wire.ts): dialled if need be, within the deadline. */
  private async withPartner<T> (partner: PeerEntry, fn: (peer: PeerId, signal: AbortSignal) => Promise<T>): Promise<T> {
    return await withPartner(this.wire, partner, { timeoutMs: this.init.timeoutMs ?? SHUFFLE_TIMEOUT_MS, closer: this.closer }, fn)
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
        this.samples.observe(type, admissible)
        await this.refreshOwnRecord()
        this.evidence.dropLapsing(type)
        // Handed over before the merge, so the merge replaces only what went.
        // A swap: a member gets no more descriptors than it gave. Each one
        // handed on leaves this node for good, so without the bound a liar
        // pushing empty shuffles would drain l honest entries a push into a
        // sink, while its own fresh ones come at most one per period. An
        // observer (another type) pulls: it gives nothing and hands nothing on.
        const observer = this.state.admitted.get(sender)?.claims.typ !== type
        const reply = this.views[type].respond(admissible, reply => { this.handOver(type, reply, sender, observer ? Infinity : admissible.length) })
        // a descriptor of this node's goes out only once its mint time is kept
        await this.mintWrites
        return reply
      },
      answered: () => { this.changed(type) }
    }, type, stream, connection)
  }

  private async handleSample (type: PeerType, stream: Stream, connection: Connection): Promise<void> {
    await answerSampleExchange({
      state: this.state,
      log: this.log,
      metrics: this.metrics,
      limiter: this.sampleLimiters[type],
      timeoutMs: this.init.timeoutMs ?? SHUFFLE_TIMEOUT_MS,
      side: this.samples.side(type)
    }, type, stream, connection)
  }

  private onRevoked (evt: CustomEvent<string[]>): void {
    this.samples.forgetEverywhere(evt.detail)
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

/** the PeerId a bootstrap address ends in (/p2p/<peer id>), if any */
function peerIdOfAddress (address: string): string | undefined {
  return /\/p2p\/([^/]+)$/.exec(address)?.[1]
}

function publicEntry (e: PeerEntry): ViewEntry {
  return { peerId: e.id, type: e.type, age: e.age, addrs: [...e.addrs] }
}

export function sampler (init: SamplerInit = {}): (components: SamplerComponents) => Sampler {
  return (components) => new Sampler(components, init)
}

/**
 * The gossip service: the tempus topics on gossipsub, each message in the
 * shared frame (origin, evidence of admission, body, origin signature) and
 * validated before gossipsub forwards it; anomalies stored, delivered to the
 * application once, and caught up from a peer after a node was cut off.
 *
 * - `tempus/anomaly/1`: anomaly signatures (`publish`, `anomaly` events);
 * - `tempus/crl/1`: the issuer's root-signed revocation lists, spread by the
 *   nodes that fetched them;
 * - `tempus/keys/1`: a new signing key's certificate, spread with a token
 *   of that key (proof that the issuer signs with it now).
 *
 * This file is the libp2p service: options, start and stop, timers,
 * publishing and delivery. The checks are `validation.ts`'s, catch-up is
 * `catch-up.ts`'s, and `verdicts.ts` carries a validator's verdict to the
 * message event that follows it.
 */
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { serviceDependencies } from '@libp2p/interface'
import { repeatingTask } from '@libp2p/utils'
import { TypedEventEmitter } from 'main-event'
import { encodeAnomalyBody } from './anomaly.ts'
import { bindAnomaly, deriveAnomalyId } from './anomaly-id.ts'
import { CatchUp } from './catch-up.ts'
import { ANOMALY_TOPIC, CATCH_UP_MIN_INTERVAL_MS, CATCH_UP_PROTOCOLS, CRL_TOPIC, DEFAULT_ANOMALY_LIFETIME_MS, EXPIRY_SWEEP_MS, GOSSIP_TOPICS, KEYS_TOPIC } from './constants.ts'
import { GossipError, IGNORED } from './errors.ts'
import { sealFrame } from './frame.ts'
import { GossipValidator, signerOf, verdictOn } from './validation.ts'
import { PendingVerdicts } from './verdicts.ts'
import { rescoreNow } from './rescore.ts'
import { forgetSeen } from './forget-seen.ts'
import { MeshStarvation } from './mesh-starvation.ts'
import type { TopicMesh } from './mesh-starvation.ts'
import { SourceGate } from './source-gate.ts'
import { INVALID_MESSAGE_DECAY, INVALID_MESSAGE_WEIGHT, SCORE_THRESHOLDS } from './scoring.ts'
import { GossipStreamKeeper } from './stream-keeper.ts'
import { KeyAnnouncer } from './key-announcer.ts'
import { admissionDependencies, admissionStateOf } from '../admission/provider.ts'
import { GossipMetrics } from './metrics.ts'
import type { Anomaly, AnomalyInput, Provenance } from './anomaly.ts'
import type { BoundAnomaly } from './anomaly-id.ts'
import type { GossipTopic } from './constants.ts'
import type { GossipRefusal } from './errors.ts'
import { AnomalyStore } from './store.ts'
import type { ListOptions, StoredAnomaly } from './store.ts'
import type { Checked } from './validation.ts'
import type { AdmissionState, OwnToken } from '../admission/state.ts'
import type { TokenManager } from '../admission/token-manager.ts'
import type { GossipSub, Message } from '@libp2p/gossipsub'
import type { ComponentLogger, Connection, Libp2pEvents, Logger, PeerId, PeerStore, PrivateKey, Startable } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { RepeatingTask } from '@libp2p/utils'
import type { TypedEventTarget } from 'main-event'
import type { Registry } from 'prom-client'

/** Every field optional. */
export interface GossipServiceInit {
  /**
   * whose verdicts admit senders and take their offences
   * @default the admission service's (src/admission/provider.ts)
   */
  state?: AdmissionState
  /**
   * where anomalies are kept until they expire, for catch-up
   * @default an in-memory store (lost with the process; the node passes its `anomalies.db`)
   */
  store?: AnomalyStore
  /** this node's token manager: a new key epoch on our token is announced on the keys topic; none, none announced */
  tokens?: TokenManager
  /** @default Date.now */
  now?: () => number
  /** the application hook: called once per new anomaly (errors are logged, not fatal) */
  onAnomaly?: (anomaly: DeliveredAnomaly) => void | Promise<void>
  /** the node's Prometheus registry: messages, latency and catch-up go there (see `metrics.ts`); none without it */
  registry?: Registry
}

export interface GossipServiceComponents {
  peerId: PeerId
  peerStore: PeerStore
  privateKey: PrivateKey
  registrar: Registrar
  connectionManager: ConnectionManager
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
  pubsub: GossipSub
  /** connection-settling.ts: gossipsub's streams are repaired only on a connection that has settled (absent: on any) */
  settling?: { isSettled: (connection: Connection) => boolean }
}

export interface DeliveredAnomaly extends StoredAnomaly {
  /** how it arrived: published here, over gossipsub, by catching up, or re-published here from another overlay */
  via: 'self' | 'gossip' | 'catch-up' | 'federation'
}

export interface GossipRefused {
  topic: GossipTopic
  /** the peer that sent it (the propagation source, or the catch-up peer) */
  peer: string
  reason: GossipRefusal
}

/** `mesh:starved`: the node's mesh of these topics is stuck thin (mesh-starvation.ts) */
export interface MeshStarved {
  topics: string[]
}

export interface GossipEvents {
  anomaly: CustomEvent<DeliveredAnomaly>
  refused: CustomEvent<GossipRefused>
  /**
   * the gossipsub mesh of a topic has fewer than D_lo peers and no connected
   * peer left to graft (mesh-starvation.ts): connect to one more peer (the
   * node calls its peer keeper's `addNeighbour`); at most every few heartbeats
   */
  'mesh:starved': CustomEvent<MeshStarved>
}

export interface GossipStats {
  published: number
  delivered: number
  caughtUp: number
  rejected: Partial<Record<GossipRefusal, number>>
  /** live messages dropped without charging anyone (a duplicate, a stale copy, lapsed evidence, a late one), by reason */
  ignored: Partial<Record<GossipRefusal, number>>
  /** heartbeats at which the mesh was stuck thin and one more neighbour was asked for (`mesh:starved`) */
  starved: number
}

const encoder = new TextEncoder()

/**
 * What the mesh watch reads of gossipsub beyond its interface: its options
 * and mesh (public on its class), and the backoff and outbound streams its
 * heartbeat grafts by (private: if a version renames them every subscriber
 * counts as graftable, nothing is ever stuck, and the live-path test of a
 * refused node fails).
 */
interface MeshReadable {
  opts: { Dlo: number }
  getMeshPeers: (topic: string) => string[]
  backoff?: Map<string, Map<string, number>>
  streamsOutbound?: Map<string, unknown>
}

export class GossipService extends TypedEventEmitter<GossipEvents> implements Startable {
  readonly store: AnomalyStore
  private readonly components: GossipServiceComponents
  private readonly init: GossipServiceInit
  private readonly state: AdmissionState
  private readonly log: Logger
  private readonly now: () => number
  private readonly validator: GossipValidator
  /** what the validator concluded, for the `message` event that follows an Accept */
  private readonly accepted = new PendingVerdicts<Checked>()
  private readonly catchUps: CatchUp
  private readonly stats: GossipStats = { published: 0, delivered: 0, caughtUp: 0, rejected: {}, ignored: {}, starved: 0 }
  private readonly metrics?: GossipMetrics
  private readonly sweep: RepeatingTask
  private readonly periodicCatchUp: RepeatingTask
  private readonly keys: KeyAnnouncer
  /** gossipsub's streams back on the connection left when the one carrying them closed (stream-keeper.ts) */
  readonly streams: GossipStreamKeeper
  private starvation?: MeshStarvation
  /** a few frames of one sender checked at once, none once it is past the graylist (source-gate.ts) */
  private readonly gate: SourceGate

  constructor (components: GossipServiceComponents, init: GossipServiceInit = {}) {
    super()
    this.components = components
    this.init = init
    this.state = admissionStateOf(components, init.state, 'the gossip service')
    this[serviceDependencies] = ['@libp2p/pubsub', ...admissionDependencies(init.state)]
    this.store = init.store ?? new AnomalyStore(':memory:')
    this.now = init.now ?? Date.now
    this.log = components.logger.forComponent('tempus:gossip')
    this.metrics = init.registry == null ? undefined : new GossipMetrics(init.registry, this)
    this.gate = new SourceGate({
      // the refusals that take a peer under gossipsub's graylist on P4 alone (weight·n² ≤ threshold)
      cutoff: Math.sqrt(SCORE_THRESHOLDS.graylistThreshold / INVALID_MESSAGE_WEIGHT),
      decay: INVALID_MESSAGE_DECAY,
      now: this.now
    })
    this.keys = new KeyAnnouncer(certificate => { this.publishFrame(KEYS_TOPIC, encoder.encode(certificate)) })
    this.validator = new GossipValidator({
      state: this.state,
      store: this.store,
      now: this.now,
      sawKeyEpoch: epoch => { this.keys.saw(epoch) }
    })
    this.catchUps = new CatchUp({
      state: this.state,
      store: this.store,
      connectionManager: components.connectionManager,
      now: this.now,
      log: this.log,
      check: async (data, decoded) => await this.validator.check(ANOMALY_TOPIC, data, false, decoded),
      deliver: (anomaly, data) => {
        if (this.deliver(anomaly, data, 'catch-up') == null) {
          return false
        }
        this.stats.caughtUp++
        return true
      },
      refused: (peer, reason) => { this.refused(ANOMALY_TOPIC, peer, reason) },
      onPage: role => { this.metrics?.page(role) }
    })
    this.streams = new GossipStreamKeeper(components.pubsub, () => components.connectionManager.getConnections().filter(c => components.settling?.isSettled(c) ?? true), async peer => await this.speaksGossip(peer as PeerId))
    this.sweep = repeatingTask(() => { this.expire() }, EXPIRY_SWEEP_MS)
    // gossip is best effort: a message lost in a mesh change is fetched from
    // a random peer within one period, even without a reconnection
    this.periodicCatchUp = repeatingTask(() => { this.catchUps.periodic() }, CATCH_UP_MIN_INTERVAL_MS)
    this.onMessage = this.onMessage.bind(this)
    this.onConnect = this.onConnect.bind(this)
    this.onDisconnect = this.onDisconnect.bind(this)
    this.onRevocationList = this.onRevocationList.bind(this)
    this.onRevoked = this.onRevoked.bind(this)
    this.onToken = this.onToken.bind(this)
    this.onHeartbeat = this.onHeartbeat.bind(this)
  }

  readonly [Symbol.toStringTag] = 'tempus/gossip'

  /** the topics and their validators are gossipsub's */
  /** gossipsub, found as `components.pubsub`; and the admission service unless Init.state was given */
  readonly [serviceDependencies]: string[]

  async start (): Promise<void> {
    for (const protocol of CATCH_UP_PROTOCOLS) {
      await this.components.registrar.handle(protocol, async (stream, connection) => { await this.catchUps.serve(stream, connection) }, { maxInboundStreams: 2, maxOutboundStreams: 2 })
    }
  }

  afterStart (): void {
    const pubsub = this.components.pubsub
    for (const topic of GOSSIP_TOPICS) {
      pubsub.topicValidators.set(topic, async (peer, message) => await this.validate(topic, peer, message))
      pubsub.subscribe(topic)
    }
    pubsub.addEventListener('message', this.onMessage)
    this.starvation = new MeshStarvation({ dLo: (pubsub as unknown as MeshReadable).opts.Dlo })
    pubsub.addEventListener('gossipsub:heartbeat', this.onHeartbeat)
    this.components.events.addEventListener('peer:connect', this.onConnect)
    this.components.events.addEventListener('peer:disconnect', this.onDisconnect)
    this.state.addEventListener('revocation-list', this.onRevocationList)
    this.state.addEventListener('revoked', this.onRevoked)
    this.init.tokens?.addEventListener('token', this.onToken)
    this.keys.start(this.state.ownToken?.claims.ep ?? -1)
    this.sweep.start()
    this.periodicCatchUp.start()
    for (const connection of this.components.connectionManager.getConnections()) {
      void this.catchUps.catchUp(connection.remotePeer)
      break
    }
  }

  async stop (): Promise<void> {
    this.sweep.stop()
    this.periodicCatchUp.stop()
    this.keys.stop()
    const pubsub = this.components.pubsub
    pubsub.removeEventListener('message', this.onMessage)
    pubsub.removeEventListener('gossipsub:heartbeat', this.onHeartbeat)
    for (const topic of GOSSIP_TOPICS) {
      pubsub.topicValidators.delete(topic)
    }
    this.accepted.clear()
    this.components.events.removeEventListener('peer:connect', this.onConnect)
    this.components.events.removeEventListener('peer:disconnect', this.onDisconnect)
    this.state.removeEventListener('revocation-list', this.onRevocationList)
    this.state.removeEventListener('revoked', this.onRevoked)
    this.init.tokens?.removeEventListener('token', this.onToken)
    for (const protocol of CATCH_UP_PROTOCOLS) {
      await this.components.registrar.unhandle(protocol)
    }
  }

  /**
   * Sign, store, deliver here and publish an anomaly; returns it. Its id is
   * derived from this overlay, this node and the content (anomaly-id.ts):
   * publishing the very same content twice in one millisecond is one anomaly.
   */
  async publish (input: AnomalyInput): Promise<DeliveredAnomaly> {
    const now = this.now()
    this.mustHoldLiveToken(now)
    const origin = this.components.peerId.toString()
    const content = {
      kind: input.kind,
      digest: input.digest.toLowerCase(),
      severity: input.severity,
      metadata: input.metadata ?? {},
      timestamp: now,
      expires: now + (input.lifetimeMs ?? DEFAULT_ANOMALY_LIFETIME_MS)
    }
    const anomaly = bindAnomaly({ id: deriveAnomalyId(this.overlay, origin, content), origin, ...content }, this.overlay)
    const data = this.seal(ANOMALY_TOPIC, encodeAnomalyBody(anomaly))
    const delivered = this.deliver(anomaly, data, 'self')
    if (delivered == null) {
      // held already (the same content published twice in one millisecond): one anomaly, sent once
      return { ...unbound(anomaly), receivedAt: now, via: 'self' }
    }
    this.stats.published++
    await this.components.pubsub.publish(ANOMALY_TOPIC, data)
    return delivered
  }

  /**
   * Re-publish an anomaly of another overlay (a federated bridge does): the
   * same id, kind, digest and times, signed by this node as origin, with the
   * original origin's signature kept as provenance. Nothing if it is held
   * already (an anomaly crosses once, whichever bridge brings it first).
   * The id stays bound to the original overlay and origin: throws
   * `GossipError('bad-id')` if it is not their derivation.
   */
  async republish (anomaly: Omit<Anomaly, 'origin'> & { provenance: Provenance }): Promise<DeliveredAnomaly | undefined> {
    const a = bindAnomaly({ ...anomaly, origin: this.components.peerId.toString() }, this.overlay)
    if (this.store.holds(a.id, a.binding) !== 'none') {
      return undefined
    }
    const data = this.seal(ANOMALY_TOPIC, encodeAnomalyBody(a))
    const delivered = this.deliver(a, data, 'federation')
    if (delivered != null) {
      await this.components.pubsub.publish(ANOMALY_TOPIC, data)
    }
    return delivered
  }

  /** this node's overlay: every anomaly id is derived under it (or under a relayed one's own) */
  private get overlay (): string {
    return this.state.verifier.overlay
  }

  list (options: ListOptions = {}): StoredAnomaly[] {
    return this.store.list(this.now(), options)
  }

  status (): GossipStats & { held: number, topics: Record<string, number> } {
    const pubsub = this.components.pubsub
    return {
      ...this.stats,
      rejected: { ...this.stats.rejected },
      ignored: { ...this.stats.ignored },
      held: this.store.count(this.now()),
      topics: Object.fromEntries(GOSSIP_TOPICS.map(t => [t, pubsub.getSubscribers(t).length]))
    }
  }

  /** gossipsub's score of a peer (the bench and the API show it) */
  score (peer: string): number {
    return (this.components.pubsub as unknown as { getScore(peer: string): number }).getScore(peer)
  }

  /** Catch up from `peer` now (catch-up.ts); resolves with how many anomalies were new. */
  async catchUp (peer: PeerId): Promise<number> {
    return await this.catchUps.catchUp(peer)
  }

  // ---- validation (validation.ts) and delivery --------------------------------

  /** gossipsub's topic validator: the verdict, and on an Accept what was checked, parked for the message event. */
  private async validate (topic: GossipTopic, peer: PeerId, message: Message): Promise<TopicValidatorResult> {
    const source = peer.toString()
    if (!await this.gate.enter(source)) {
      // unchecked: it may be an honest anomaly the flooder passed on, whose next copy must not be a "duplicate"
      forgetSeen(this.components.pubsub, message)
      this.ignored(topic, 'cut-off')
      return TopicValidatorResult.Ignore
    }
    let refused = false
    try {
      this.accepted.park(message, await this.validator.check(topic, message.data, true))
      return TopicValidatorResult.Accept
    } catch (err) {
      const verdict = verdictOn(err, source, this.state.mayNotKnowRevoked.bind(this.state))
      if (verdict.blame != null || !IGNORED.has(verdict.reason)) {
        this.refused(topic, verdict.blame, verdict.reason)
      } else if (verdict.reason !== 'duplicate') {
        this.ignored(topic, verdict.reason)
      }
      if (verdict.result === TopicValidatorResult.Reject) {
        refused = verdict.blame === source
        // its next RPC is weighed with this refusal counted (rescore.ts)
        rescoreNow(this.components.pubsub, source)
      }
      return verdict.result
    } finally {
      // its frames waiting for a check are dropped unchecked once it is past the cutoff (source-gate.ts)
      this.gate.leave(source, refused)
    }
  }

  /** a live frame dropped without charging anyone, counted where an operator sees it (many `late` ones: a loaded node or path) */
  private ignored (topic: GossipTopic, reason: GossipRefusal): void {
    this.stats.ignored[reason] = (this.stats.ignored[reason] ?? 0) + 1
    this.metrics?.refused(topic, reason)
  }

  /** A frame refused, charged to `peer`; none: an honest peer may have passed it on (a revocation it has not heard of yet), counted only. */
  private refused (topic: GossipTopic, peer: string | undefined, reason: GossipRefusal): void {
    this.stats.rejected[reason] = (this.stats.rejected[reason] ?? 0) + 1
    this.metrics?.refused(topic, reason)
    if (peer == null) {
      this.log('%s message refused: %s (nobody charged)', topic, reason)
      return
    }
    this.log('%s message from %s refused: %s', topic, peer, reason)
    this.state.raise(peer, 'bad-gossip')
    this.safeDispatchEvent('refused', { detail: { topic, peer, reason } })
  }

  /** An accepted message, after its validator: act on what the validator concluded. */
  private onMessage (evt: CustomEvent<Message>): void {
    const msg = evt.detail
    const checked = this.accepted.take(msg)
    if (checked == null) {
      return
    }
    this.metrics?.accepted(msg.topic)
    if (checked.anomaly != null) {
      this.deliver(checked.anomaly, msg.data, 'gossip')
    } else if (checked.crl != null) {
      this.state.applyRevocationList(checked.crl, 'gossip').catch(err => { this.log('revocation list from gossip not applied - %e', err) })
    }
  }

  /** Store; if new, tell the application. Returns what was delivered, if anything. */
  private deliver (anomaly: BoundAnomaly, frame: Uint8Array, via: DeliveredAnomaly['via']): DeliveredAnomaly | undefined {
    const receivedAt = this.now()
    const stored = this.store.insert(anomaly, frame, receivedAt)
    if (stored === 'conflict') {
      // another copy got in between the check and now
      this.refused(ANOMALY_TOPIC, signerOf(anomaly), 'equivocation')
    }
    if (stored !== 'new') {
      return undefined
    }
    this.stats.delivered++
    const delivered: DeliveredAnomaly = { ...unbound(anomaly), receivedAt, via }
    this.metrics?.delivered(delivered)
    this.safeDispatchEvent('anomaly', { detail: delivered })
    if (this.init.onAnomaly != null) {
      Promise.resolve().then(async () => { await this.init.onAnomaly?.(delivered) }).catch(err => { this.log.error('the anomaly hook failed - %e', err) })
    }
    return delivered
  }

  /**
   * An anomaly is evidence of its moment: its origin's token must be valid
   * at its timestamp, or every peer refuses it (`lapsed-evidence`, nobody
   * charged), live and caught up alike, for good. So nothing is published,
   * and nothing acknowledged, under a lapsed token: the caller is told, and
   * publishes again once the token manager has a fresh one. (The 100-node
   * chaos run: a starved sentinel, 50 s without a token, acknowledged an
   * anomaly that no other node ever took.)
   */
  private mustHoldLiveToken (now: number): void {
    const own = this.state.ownToken
    if (own == null) {
      throw new GossipError('no-admission', 'this node holds no token yet: nothing was published; publish again once it is admitted')
    }
    if (own.claims.exp * 1000 <= now) {
      throw new GossipError('no-admission', `this node's token lapsed at ${new Date(own.claims.exp * 1000).toISOString()} and no fresh one has come yet: nothing was published (every peer would refuse it); publish again once the node holds a fresh token (GET /v1/health says when)`)
    }
  }

  private seal (topic: GossipTopic, body: Uint8Array): Uint8Array {
    const own = this.state.ownToken
    if (own == null) {
      throw new GossipError('no-admission', 'this node holds no token yet')
    }
    return sealFrame(topic, this.components.privateKey, this.components.peerId.toString(), own, body)
  }

  private expire (): void {
    try {
      this.store.expire(this.now())
    } catch (err) {
      this.log.error('expiring anomalies failed - %e', err)
    }
  }

  private onHeartbeat (): void {
    this.streams.tick().catch(err => { this.log('repairing gossipsub streams failed - %e', err) })
    const starved = this.starvation?.beat(GOSSIP_TOPICS.map(topic => this.meshOf(topic))) ?? []
    if (starved.length > 0) {
      this.log('gossip mesh stuck thin on %s', starved.join(', '))
      this.stats.starved++
      this.safeDispatchEvent('mesh:starved', { detail: { topics: starved } })
    }
  }

  /** a topic's mesh as gossipsub's heartbeat sees it: whom it could graft, by its own rules */
  private meshOf (topic: GossipTopic): TopicMesh {
    const pubsub = this.components.pubsub as unknown as MeshReadable & GossipSub
    const mesh = new Set(pubsub.getMeshPeers(topic))
    const backoff = pubsub.backoff?.get(topic)
    const subscribers = pubsub.getSubscribers(topic).map(p => p.toString())
    const graftable = subscribers.filter(p => !mesh.has(p) && backoff?.has(p) !== true && (pubsub.streamsOutbound?.has(p) ?? true) && this.score(p) >= 0)
    return { topic, mesh: mesh.size, subscribers: subscribers.length, graftable: graftable.length }
  }

  /** does the peer speak gossipsub (identify told the peer store)? */
  private async speaksGossip (peer: PeerId): Promise<boolean> {
    try {
      return (await this.components.peerStore.get(peer)).protocols.some(p => p.startsWith('/meshsub/'))
    } catch {
      return false
    }
  }

  private onConnect (evt: CustomEvent<PeerId>): void {
    this.catchUps.onConnect(evt.detail)
  }

  private onDisconnect (): void {
    this.catchUps.onDisconnect()
  }

  // ---- revocation lists and keys -----------------------------------------

  private onRevocationList (evt: CustomEvent<{ jws: string, from: 'http' | 'gossip' }>): void {
    if (evt.detail.from !== 'http') {
      return
    }
    this.publishFrame(CRL_TOPIC, encoder.encode(evt.detail.jws))
  }

  /**
   * A revoked origin's anomalies are carried no further, as DTN does with
   * its bundles: forgotten here, so this node never serves them to a peer
   * catching up (which would refuse them, and charge it, once past the
   * grace in which it may not have heard of the revocation).
   */
  private onRevoked (evt: CustomEvent<string[]>): void {
    try {
      const n = this.store.forgetOrigins(evt.detail)
      if (n > 0) {
        this.log('forgot %d anomalies of %d revoked origins', n, evt.detail.length)
      }
    } catch (err) {
      this.log.error('forgetting the anomalies of revoked origins failed - %e', err)
    }
  }

  private onToken (evt: CustomEvent<OwnToken>): void {
    this.keys.ownToken(evt.detail.claims.ep, evt.detail.keyCertificate)
  }

  private publishFrame (topic: GossipTopic, body: Uint8Array): void {
    try {
      this.components.pubsub.publish(topic, this.seal(topic, body)).catch(err => { this.log('could not publish on %s - %e', topic, err) })
    } catch (err) {
      this.log('could not publish on %s - %e', topic, err)
    }
  }
}

/** The anomaly as the application sees it (the binding is the store's business). */
function unbound (a: BoundAnomaly): Anomaly {
  const { binding: _, ...plain } = a
  return plain
}

export function gossipService (init: GossipServiceInit = {}): (components: GossipServiceComponents) => GossipService {
  return (components) => new GossipService(components, init)
}

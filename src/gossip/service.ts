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
 */
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { RateLimiter, lpStream } from '@libp2p/utils'
import { TypedEventEmitter } from 'main-event'
import { isCutRead } from '../admission/cut-read.ts'
import { AdmissionError } from '../admission/errors.ts'
import { verifyKeyCertificate } from '../admission/key-certificate.ts'
import { verifyRevocationList } from '../admission/revocation.ts'
import { tokenKid } from '../admission/token.ts'
import { decodeAnomalyBody, encodeAnomalyBody } from './anomaly.ts'
import { bindAnomaly, deriveAnomalyId } from './anomaly-id.ts'
import {
  ANOMALY_TOPIC, CATCH_UP_MAX_PAGES, CATCH_UP_MIN_INTERVAL_MS, CATCH_UP_OVERLAP_MS, CATCH_UP_PAGE, CATCH_UP_PER_PEER_PER_MINUTE,
  CATCH_UP_PROTOCOL, CATCH_UP_TIMEOUT_MS, CRL_TOPIC, DEFAULT_ANOMALY_LIFETIME_MS, EXPIRY_SWEEP_MS, GOSSIP_SKEW_MS, GOSSIP_TOPICS,
  KEYS_TOPIC, MAX_CATCH_UP_RESPONSE_BYTES
} from './constants.ts'
import { GossipError, IGNORED } from './errors.ts'
import { openFrame, sealFrame } from './frame.ts'
import { GossipMetrics } from './metrics.ts'
import { CatchUpRequest, CatchUpResponse } from './pb/gossip.ts'
import type { Anomaly, AnomalyInput, Provenance } from './anomaly.ts'
import type { BoundAnomaly } from './anomaly-id.ts'
import type { GossipTopic } from './constants.ts'
import type { GossipRefusal } from './errors.ts'
import type { Frame } from './frame.ts'
import type { AnomalyStore, ListOptions, StoredAnomaly } from './store.ts'
import type { AdmissionState, OwnToken } from '../admission/state.ts'
import type { TokenClaims } from '../admission/token.ts'
import type { TokenManager } from '../admission/token-manager.ts'
import type { GossipSub, Message } from '@libp2p/gossipsub'
import type { ComponentLogger, Connection, Libp2pEvents, Logger, PeerId, PrivateKey, Startable, Stream } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { TypedEventTarget } from 'main-event'
import type { Registry } from 'prom-client'

export interface GossipServiceInit {
  state: AdmissionState
  store: AnomalyStore
  tokens?: TokenManager
  now?: () => number
  /** the application hook: called once per new anomaly (errors are logged, not fatal) */
  onAnomaly?: (anomaly: DeliveredAnomaly) => void | Promise<void>
  /** the node's Prometheus registry: messages, latency and catch-up go there (see `metrics.ts`); none without it */
  registry?: Registry
}

export interface GossipServiceComponents {
  peerId: PeerId
  privateKey: PrivateKey
  registrar: Registrar
  connectionManager: ConnectionManager
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
  pubsub: GossipSub
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

export interface GossipEvents {
  anomaly: CustomEvent<DeliveredAnomaly>
  refused: CustomEvent<GossipRefused>
}

export interface GossipStats {
  published: number
  delivered: number
  caughtUp: number
  rejected: Partial<Record<GossipRefusal, number>>
}

interface Checked {
  frame: Frame
  anomaly?: BoundAnomaly
  crl?: string
}

const decoder = new TextDecoder()
const encoder = new TextEncoder()

export class GossipService extends TypedEventEmitter<GossipEvents> implements Startable {
  readonly store: AnomalyStore
  private readonly components: GossipServiceComponents
  private readonly init: GossipServiceInit
  private readonly log: Logger
  private readonly now: () => number
  private readonly limiter = new RateLimiter({ points: CATCH_UP_PER_PEER_PER_MINUTE, duration: 60 })
  /** what the validator concluded, for the `message` event that follows an Accept */
  private readonly accepted = new WeakMap<Uint8Array, Checked>()
  private readonly stats: GossipStats = { published: 0, delivered: 0, caughtUp: 0, rejected: {} }
  private readonly metrics?: GossipMetrics
  private sweepTimer?: ReturnType<typeof setInterval>
  private catchUpTimer?: ReturnType<typeof setInterval>
  private lastCatchUp = -Infinity
  /** where the last catch-up started, if a responder broke it off (see `catchUp`) */
  private resumeFrom?: number
  private isolated = true
  private keysEpochSeen = -1
  /** the epoch of this node's own newest token (-1 before the first) */
  private ownEpoch = -1
  private keysTimer?: ReturnType<typeof setTimeout>

  constructor (components: GossipServiceComponents, init: GossipServiceInit) {
    super()
    this.components = components
    this.init = init
    this.store = init.store
    this.now = init.now ?? Date.now
    this.log = components.logger.forComponent('tempus:gossip')
    this.metrics = init.registry == null ? undefined : new GossipMetrics(init.registry, this)
    this.onMessage = this.onMessage.bind(this)
    this.onConnect = this.onConnect.bind(this)
    this.onDisconnect = this.onDisconnect.bind(this)
    this.onRevocationList = this.onRevocationList.bind(this)
    this.onToken = this.onToken.bind(this)
  }

  readonly [Symbol.toStringTag] = 'tempus/gossip'

  async start (): Promise<void> {
    await this.components.registrar.handle(CATCH_UP_PROTOCOL, async (stream, connection) => { await this.serveCatchUp(stream, connection) }, { maxInboundStreams: 2, maxOutboundStreams: 2 })
  }

  afterStart (): void {
    const pubsub = this.components.pubsub
    for (const topic of GOSSIP_TOPICS) {
      pubsub.topicValidators.set(topic, async (peer, message) => await this.validate(topic, peer, message))
      pubsub.subscribe(topic)
    }
    pubsub.addEventListener('message', this.onMessage)
    this.components.events.addEventListener('peer:connect', this.onConnect)
    this.components.events.addEventListener('peer:disconnect', this.onDisconnect)
    this.init.state.addEventListener('revocation-list', this.onRevocationList)
    this.init.tokens?.addEventListener('token', this.onToken)
    this.ownEpoch = this.init.state.ownToken?.claims.ep ?? -1
    this.sweepTimer = setInterval(() => { this.expire() }, EXPIRY_SWEEP_MS)
    this.sweepTimer.unref?.()
    // gossip is best effort: a message lost in a mesh change is fetched from
    // a random peer within one period, even without a reconnection
    this.catchUpTimer = setInterval(() => { this.periodicCatchUp() }, CATCH_UP_MIN_INTERVAL_MS)
    this.catchUpTimer.unref?.()
    for (const connection of this.components.connectionManager.getConnections()) {
      void this.catchUp(connection.remotePeer)
      break
    }
  }

  async stop (): Promise<void> {
    clearInterval(this.sweepTimer)
    clearInterval(this.catchUpTimer)
    clearTimeout(this.keysTimer)
    const pubsub = this.components.pubsub
    pubsub.removeEventListener('message', this.onMessage)
    for (const topic of GOSSIP_TOPICS) {
      pubsub.topicValidators.delete(topic)
    }
    this.components.events.removeEventListener('peer:connect', this.onConnect)
    this.components.events.removeEventListener('peer:disconnect', this.onDisconnect)
    this.init.state.removeEventListener('revocation-list', this.onRevocationList)
    this.init.tokens?.removeEventListener('token', this.onToken)
    await this.components.registrar.unhandle(CATCH_UP_PROTOCOL)
  }

  /**
   * Sign, store, deliver here and publish an anomaly; returns it. Its id is
   * derived from this overlay, this node and the content (anomaly-id.ts):
   * publishing the very same content twice in one millisecond is one anomaly.
   */
  async publish (input: AnomalyInput): Promise<DeliveredAnomaly> {
    const now = this.now()
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
    return this.init.state.verifier.overlay
  }

  list (options: ListOptions = {}): StoredAnomaly[] {
    return this.store.list(this.now(), options)
  }

  status (): GossipStats & { held: number, topics: Record<string, number> } {
    const pubsub = this.components.pubsub
    return {
      ...this.stats,
      rejected: { ...this.stats.rejected },
      held: this.store.count(this.now()),
      topics: Object.fromEntries(GOSSIP_TOPICS.map(t => [t, pubsub.getSubscribers(t).length]))
    }
  }

  /** gossipsub's score of a peer (the bench and the API show it) */
  score (peer: string): number {
    return (this.components.pubsub as unknown as { getScore(peer: string): number }).getScore(peer)
  }

  /**
   * Ask one peer for the unexpired anomalies published since the newest
   * one held (less an overlap for late arrivals), a page at a time, at most
   * `CATCH_UP_MAX_PAGES` pages. Each frame is checked like a live one, and
   * must come in order after the one before. A frame that fails stops the
   * catch-up and charges the peer, and the next catch-up (from another peer)
   * starts where this one started: what the failed one stored, however new,
   * must not move the window past what it withheld or forged.
   */
  async catchUp (peer: PeerId): Promise<number> {
    this.lastCatchUp = this.now()
    this.isolated = false
    const newest = this.store.newest()
    const start = Math.min(newest == null ? 0 : Math.max(0, newest - CATCH_UP_OVERLAP_MS), this.resumeFrom ?? Number.POSITIVE_INFINITY)
    let since = start
    let afterId = new Uint8Array(0)
    let got = 0
    let brokenOff = true
    try {
      for (let page = 0; page < CATCH_UP_MAX_PAGES; page++) {
        const signal = AbortSignal.timeout(CATCH_UP_TIMEOUT_MS)
        const stream = await this.components.connectionManager.openStream(peer, CATCH_UP_PROTOCOL, { signal })
        let response: CatchUpResponse
        try {
          const lp = lpStream(stream, { maxDataLength: MAX_CATCH_UP_RESPONSE_BYTES })
          await lp.write(CatchUpRequest.encode({ since: BigInt(since), afterId, limit: CATCH_UP_PAGE }), { signal })
          response = CatchUpResponse.decode(await lp.read({ signal }), { limits: { frames: CATCH_UP_PAGE } })
          await stream.close({ signal })
        } catch (err) {
          stream.abort(err as Error)
          throw err
        }
        this.metrics?.page('fetched')
        // the cursor moves past every frame that decodes, taken or not; an
        // honest responder pages in (timestamp, id) order after the request's
        // cursor, so a frame at or before it is the responder's doing
        const cursor = (a: Anomaly): void => {
          const previous = Buffer.from(afterId).toString('hex')
          if (a.timestamp < since || (a.timestamp === since && a.id <= previous)) {
            throw new GossipError('malformed', 'catch-up frames out of order')
          }
          since = a.timestamp
          afterId = Uint8Array.from(Buffer.from(a.id, 'hex'))
        }
        for (const data of response.frames) {
          let checked: Checked
          try {
            checked = await this.check(ANOMALY_TOPIC, data, undefined, cursor)
          } catch (err) {
            const reason = err instanceof GossipError ? err.reason : 'malformed'
            if (IGNORED.has(reason)) {
              continue
            }
            if (err instanceof GossipError && err.signer != null) {
              // an honest responder may hold the other copy (it met that one
              // first): the signer pays, the catch-up goes on
              this.refused(ANOMALY_TOPIC, err.signer, reason)
              continue
            }
            this.refused(ANOMALY_TOPIC, peer.toString(), reason)
            throw err
          }
          if (this.deliver(checked.anomaly as BoundAnomaly, data, 'catch-up') != null) {
            got++
            this.stats.caughtUp++
          }
        }
        if (!response.more) {
          break
        }
      }
      // done, or at the page limit (the next catch-up pages on from the newest)
      brokenOff = false
      if (got > 0) {
        this.log('caught up %d anomalies from %p', got, peer)
      }
    } catch (err: any) {
      this.log('catch-up from %p stopped - %s', peer, err?.reason ?? err?.name)
    }
    // catch-ups may overlap (on connect, periodic): the earliest broken-off
    // start stands until a complete one covers it
    if (brokenOff) {
      this.resumeFrom = Math.min(this.resumeFrom ?? start, start)
    } else if (this.resumeFrom != null && start <= this.resumeFrom) {
      this.resumeFrom = undefined
    }
    return got
  }

  // ---- validation ---------------------------------------------------------

  private async validate (topic: GossipTopic, peer: PeerId, message: Message): Promise<TopicValidatorResult> {
    const source = peer.toString()
    try {
      if (message.type !== 'signed') {
        throw new GossipError('origin-mismatch', 'unsigned message')
      }
      this.accepted.set(message.data, await this.check(topic, message.data, message.from.toString()))
      return TopicValidatorResult.Accept
    } catch (err) {
      const reason: GossipRefusal = err instanceof GossipError ? err.reason : 'malformed'
      if (IGNORED.has(reason)) {
        return TopicValidatorResult.Ignore
      }
      if (err instanceof GossipError && err.signer != null && err.signer !== source) {
        // equivocation: a relay that met this copy first forwarded it
        // honestly; the evidence is against the one who signed it
        this.refused(topic, err.signer, reason)
        return TopicValidatorResult.Ignore
      }
      this.refused(topic, source, reason)
      return TopicValidatorResult.Reject
    }
  }

  /**
   * Every check, in order of cost: size and shape, the origin's signature,
   * the topic's body, the origin's evidence of admission at publication,
   * freshness. `from` is gossipsub's signed author (live messages), which
   * must be the origin; without it (catch-up), old anomalies are welcome.
   * `decoded` sees an anomaly as soon as its body decodes.
   */
  private async check (topic: GossipTopic, data: Uint8Array, from: string | undefined, decoded?: (a: Anomaly) => void): Promise<Checked> {
    const frame = openFrame(topic, data)
    if (from != null && from !== frame.origin) {
      throw new GossipError('origin-mismatch')
    }
    const now = this.now()
    const live = from != null
    let at = now
    let anomaly: BoundAnomaly | undefined
    if (topic === ANOMALY_TOPIC) {
      const a = decodeAnomalyBody(frame.body, frame.origin)
      decoded?.(a)
      // the id must be its origin's and content's (cheap: one hash, before the token's check)
      anomaly = bindAnomaly(a, this.overlay)
      // a re-published anomaly keeps its origin's time, which may be older
      if (live && anomaly.provenance == null && Math.abs(anomaly.timestamp - now) > GOSSIP_SKEW_MS) {
        throw new GossipError('skew')
      }
      if (anomaly.expires <= now) {
        throw new GossipError(live ? 'expired' : 'stale')
      }
      at = anomaly.timestamp
    }
    const epochBefore = this.init.state.verifier.current?.epoch ?? -1
    const claims = await this.checkEvidence(frame, at)
    if (anomaly != null) {
      // only a bridge re-publishes another overlay's anomaly (anomaly-relay.ts);
      // anyone else holding such a frame would take the slot its bridges fill
      if (anomaly.provenance != null && claims.typ !== 'bridge') {
        throw new GossipError('bad-body', 'a relayed anomaly from a node that is not a bridge')
      }
      const held = this.store.holds(anomaly.id, anomaly.binding)
      if (held === 'same') {
        throw new GossipError('duplicate')
      }
      if (held === 'conflict') {
        throw new GossipError('equivocation', 'another anomaly is held under this id', signerOf(anomaly))
      }
      return { frame, anomaly }
    }
    if (topic === CRL_TOPIC) {
      const jws = decoder.decode(frame.body)
      let n: number
      try {
        n = (await verifyRevocationList(jws, this.init.state.verifier.rootKey, this.init.state.verifier.overlay)).n
      } catch {
        throw new GossipError('bad-body', 'the revocation list does not verify')
      }
      if (n <= this.init.state.revocations.number) {
        throw new GossipError('stale')
      }
      return { frame, crl: jws }
    }
    // KEYS_TOPIC: a key certificate for the key that signed the frame's token
    let epoch: number
    try {
      const cert = await verifyKeyCertificate(decoder.decode(frame.body), this.init.state.verifier.rootKey, this.init.state.verifier.overlay)
      if (cert.kid !== tokenKid(frame.token)) {
        throw new Error('another key')
      }
      epoch = cert.epoch
    } catch {
      throw new GossipError('bad-body', 'the key certificate does not verify for the token\'s key')
    }
    this.keysEpochSeen = Math.max(this.keysEpochSeen, epoch)
    if (epoch <= epochBefore) {
      throw new GossipError('stale')
    }
    return { frame }
  }

  /** The origin's token was valid at `at`, for the origin, and the origin is not revoked. */
  private async checkEvidence (frame: Frame, at: number): Promise<TokenClaims> {
    if (frame.token === '') {
      throw new GossipError('no-admission')
    }
    try {
      return await this.init.state.verifier.verify(frame.token, { sub: frame.origin, keyCertificate: frame.keyCertificate === '' ? undefined : frame.keyCertificate, at })
    } catch (err) {
      if (err instanceof AdmissionError && err.reason === 'revoked') {
        throw new GossipError('revoked-origin')
      }
      if (err instanceof AdmissionError && err.reason === 'rotated-key') {
        // published before a key rotation: an honest relay may still hold it
        throw new GossipError('stale', 'evidence of a rotated key')
      }
      throw new GossipError('no-admission', err instanceof AdmissionError ? err.reason : 'the token does not verify')
    }
  }

  private refused (topic: GossipTopic, peer: string, reason: GossipRefusal): void {
    this.stats.rejected[reason] = (this.stats.rejected[reason] ?? 0) + 1
    this.log('%s message from %s refused: %s', topic, peer, reason)
    this.metrics?.refused(topic, reason)
    this.init.state.raise(peer, 'bad-gossip')
    this.safeDispatchEvent('refused', { detail: { topic, peer, reason } })
  }

  // ---- delivery -----------------------------------------------------------

  private onMessage (evt: CustomEvent<Message>): void {
    const msg = evt.detail
    const checked = this.accepted.get(msg.data)
    if (checked == null) {
      return
    }
    this.accepted.delete(msg.data)
    this.metrics?.accepted(msg.topic)
    if (checked.anomaly != null) {
      this.deliver(checked.anomaly, msg.data, 'gossip')
    } else if (checked.crl != null) {
      this.init.state.applyRevocationList(checked.crl, 'gossip').catch(err => { this.log('revocation list from gossip not applied - %e', err) })
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

  private seal (topic: GossipTopic, body: Uint8Array): Uint8Array {
    const own = this.init.state.ownToken
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

  // ---- revocation lists and keys -----------------------------------------

  private onRevocationList (evt: CustomEvent<{ jws: string, from: 'http' | 'gossip' }>): void {
    if (evt.detail.from !== 'http') {
      return
    }
    this.publishFrame(CRL_TOPIC, encoder.encode(evt.detail.jws))
  }

  /**
   * A token of a newer epoch than this node's previous one: tell the mesh
   * about the new key, unless a peer already did (a short random delay lets
   * one node speak for all). The first token at start-up announces nothing.
   */
  private onToken (evt: CustomEvent<OwnToken>): void {
    const epoch = evt.detail.claims.ep
    const previous = this.ownEpoch
    this.ownEpoch = Math.max(this.ownEpoch, epoch)
    if (previous < 0 || epoch <= previous || epoch <= this.keysEpochSeen || evt.detail.keyCertificate === '') {
      return
    }
    clearTimeout(this.keysTimer)
    this.keysTimer = setTimeout(() => {
      if (epoch > this.keysEpochSeen) {
        this.keysEpochSeen = epoch
        this.publishFrame(KEYS_TOPIC, encoder.encode(evt.detail.keyCertificate))
      }
    }, Math.floor(Math.random() * 2_000))
    this.keysTimer.unref?.()
  }

  private publishFrame (topic: GossipTopic, body: Uint8Array): void {
    try {
      this.components.pubsub.publish(topic, this.seal(topic, body)).catch(err => { this.log('could not publish on %s - %e', topic, err) })
    } catch (err) {
      this.log('could not publish on %s - %e', topic, err)
    }
  }

  // ---- catch-up -------------------------------------------------------------

  private onConnect (evt: CustomEvent<PeerId>): void {
    if (this.isolated || this.now() - this.lastCatchUp >= CATCH_UP_MIN_INTERVAL_MS) {
      void this.catchUp(evt.detail)
    }
  }

  private periodicCatchUp (): void {
    if (this.now() - this.lastCatchUp < CATCH_UP_MIN_INTERVAL_MS / 2) {
      return
    }
    const connections = this.components.connectionManager.getConnections()
    const pick = connections[Math.floor(Math.random() * connections.length)]
    if (pick != null) {
      void this.catchUp(pick.remotePeer)
    }
  }

  private onDisconnect (): void {
    if (this.components.connectionManager.getConnections().length === 0) {
      this.isolated = true
    }
  }

  private async serveCatchUp (stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString()
    const signal = AbortSignal.timeout(CATCH_UP_TIMEOUT_MS)
    try {
      try {
        this.limiter.consume(peer, 1)
      } catch {
        this.init.state.raise(peer, 'timeout', 'gossip:catch-up-rate')
        stream.abort(new Error('catch-up rate limited'))
        return
      }
      const lp = lpStream(stream, { maxDataLength: 256 })
      let request: CatchUpRequest
      try {
        request = CatchUpRequest.decode(await lp.read({ signal }))
      } catch (err: any) {
        if (!isCutRead(err)) this.init.state.raise(peer, 'malformed-frame') // a cut read is nobody's offence
        stream.abort(new Error('malformed catch-up request'))
        return
      }
      const limit = Math.min(Math.max(request.limit, 1), CATCH_UP_PAGE)
      const since = request.since > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(request.since)
      const page = this.store.page(this.now(), since, Buffer.from(request.afterId).toString('hex'), limit)
      this.metrics?.page('served')
      await lp.write(CatchUpResponse.encode({ frames: page.frames as Array<Uint8Array<ArrayBuffer>>, more: page.frames.length === limit }), { signal })
      await stream.close({ signal })
    } catch (err: any) {
      this.log('catch-up for %s failed - %s', peer, err?.name)
      stream.abort(err)
    }
  }
}

/**
 * Who vouched for an anomaly's content under its id: its origin, or for a
 * relayed one the original origin (whose signature the provenance carries).
 */
function signerOf (a: Anomaly): string {
  return a.provenance?.origin ?? a.origin
}

/** The anomaly as the application sees it (the binding is the store's business). */
function unbound (a: BoundAnomaly): Anomaly {
  const { binding: _, ...plain } = a
  return plain
}

export function gossipService (init: GossipServiceInit): (components: GossipServiceComponents) => GossipService {
  return (components) => new GossipService(components, init)
}


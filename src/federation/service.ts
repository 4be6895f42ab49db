/**
 * The federation service, on a bridge's federation endpoint: the handshake
 * of `/tempus/federation/1.0.0` with the remote bridges connected there
 * (each admitted already, by a token a trust anchor vouches for), and the
 * pins it produces. The dialer starts the handshake; the other side
 * answers with its own envelope or a refusal; both pin. A pin that went
 * stale is re-established only by a new, complete handshake.
 */
import { RateLimiter, repeatingTask } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { TypedEventEmitter } from 'main-event'
import { buildEnvelope, NonceCache, verifyEnvelope } from './challenge.ts'
import { answerCrossing, answerEnvelope, exchangeEnvelopes, readRelayFrame, sendCrossing, sendRelayFrame } from './wire.ts'
import {
  CROSSING_PROTOCOL, CROSSINGS_PER_PEER_PER_MINUTE, FEDERATION_PROTOCOL, HANDSHAKE_TIMEOUT_MS,
  PIN_CHECK_INTERVAL_MS, RELAY_PROTOCOL, RELAYS_PER_PEER_PER_MINUTE
} from './constants.ts'
import { FederationError } from './errors.ts'
import type { Crossing, Envelope } from './pb/federation.ts'
import type { RepeatingTask } from '@libp2p/utils'
import { TrustAnchors } from './anchors.ts'
import type { LocalBridge } from './challenge.ts'
import type { FederationRefusal } from './errors.ts'
import { Pins } from './pins.ts'
import type { Pin } from './pins.ts'
import type { ComponentLogger, Connection, Libp2pEvents, Logger, PeerId, Startable, Stream } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { TypedEventTarget } from 'main-event'

/** Takes an anomaly frame a pinned remote bridge relayed (the taker checks it). */
export type AnomalyReceiver = (frame: Uint8Array, from: Pin) => Promise<void>
/** Takes a bundle fragment or receipts a pinned remote bridge handed across (the taker checks it); whether the fragment is stored. */
export type CrossingReceiver = (crossing: Crossing, from: Pin) => Promise<boolean>

/** Every field optional: with none, the service federates with nobody (default deny). */
export interface FederationServiceInit {
  /** this bridge: overlay, id, key and its current token; @default none: not a bridge yet, every handshake refused */
  local?: () => LocalBridge | undefined
  /** the overlays this bridge federates with; @default none */
  anchors?: TrustAnchors
  /** remote bridges pinned by a handshake; @default in memory (the node keeps them in `federation.db`) */
  pins?: Pins
  /** @default Date.now */
  now?: () => number
  /** clock skew tolerated on remote tokens and handshakes; @default DEFAULT_FEDERATION_SKEW_MS (5 min) */
  skewMs?: number
  /** how often connected remotes without a fresh pin get a new handshake; @default PIN_CHECK_INTERVAL_MS (30 s) */
  checkIntervalMs?: number
  /** this overlay's newest revocation list (JWS), handed to pinned remote bridges */
  ownRevocationList?: () => string | undefined
}

export interface FederationServiceComponents {
  peerId: PeerId
  registrar: Registrar
  connectionManager: ConnectionManager
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
}

export interface FederationEvents {
  pinned: CustomEvent<Pin>
  relayed: CustomEvent<{ peer: string, direction: 'in' | 'out' }>
  refused: CustomEvent<{ peer: string, reason: FederationRefusal, by: 'us' | 'them' }>
  /** members of an anchored overlay newly revoked, by its revocation list handed across */
  revoked: CustomEvent<{ overlay: string, peers: string[] }>
}

export class FederationService extends TypedEventEmitter<FederationEvents> implements Startable {
  readonly pins: Pins
  readonly anchors: TrustAnchors
  private readonly components: FederationServiceComponents
  private readonly init: FederationServiceInit
  private readonly log: Logger
  private readonly now: () => number
  private readonly nonces = new NonceCache()
  private readonly running = new Map<string, Promise<Pin>>()
  private readonly relayLimiter = new RateLimiter({ points: RELAYS_PER_PEER_PER_MINUTE, duration: 60 })
  private readonly crossingLimiter = new RateLimiter({ points: CROSSINGS_PER_PEER_PER_MINUTE, duration: 60 })
  /** the revocation list each remote bridge was handed last (told again when it changes or the pin is new) */
  private readonly revocationsTold = new Map<string, string>()
  private checkTask?: RepeatingTask
  /** who takes what pinned remote bridges hand over (`receiveAnomalies`, `receiveCrossings`): nobody, by default */
  private anomalyReceiver?: AnomalyReceiver
  private crossingReceiver?: CrossingReceiver

  constructor (components: FederationServiceComponents, init: FederationServiceInit = {}) {
    super()
    this.components = components
    this.init = init
    this.now = init.now ?? Date.now
    this.pins = init.pins ?? new Pins({ now: this.now })
    this.anchors = init.anchors ?? new TrustAnchors([], this.now)
    this.log = components.logger.forComponent('tempus:federation')
    this.onConnection = this.onConnection.bind(this)
  }

  readonly [Symbol.toStringTag] = 'tempus/federation'

  /**
   * The anomaly relay takes the frames pinned remote bridges relay (it
   * checks them); without one they are dropped. One receiver: a second
   * replaces the first.
   */
  receiveAnomalies (receiver: AnomalyReceiver): void {
    this.anomalyReceiver = receiver
  }

  /**
   * The bundle relay takes the fragments and receipts pinned remote bridges
   * hand across (it checks them, and says whether a fragment is stored);
   * without one every crossing is answered "not stored".
   */
  receiveCrossings (receiver: CrossingReceiver): void {
    this.crossingReceiver = receiver
  }

  async start (): Promise<void> {
    await this.components.registrar.handle(FEDERATION_PROTOCOL, async (stream, connection) => { await this.answer(stream, connection) }, { maxInboundStreams: 2, maxOutboundStreams: 2 })
    await this.components.registrar.handle(RELAY_PROTOCOL, async (stream, connection) => { await this.receiveRelay(stream, connection) }, { maxInboundStreams: 8, maxOutboundStreams: 8 })
    await this.components.registrar.handle(CROSSING_PROTOCOL, async (stream, connection) => { await this.receiveCrossing(stream, connection) }, { maxInboundStreams: 8, maxOutboundStreams: 8 })
  }

  /**
   * A remote overlay's revocation list, handed across by one of its bridges:
   * checked under that overlay's anchor, applied if newer. Its newly revoked
   * bridges lose their pins and connections here; listeners (the bundle
   * relay) drop what its revoked members sent.
   */
  private async takeRevocations (jws: string, from: Pin): Promise<void> {
    let revoked: string[] | undefined
    try {
      revoked = await this.anchors.applyRevocations(from.overlay, jws)
    } catch (err: any) {
      this.log('revocation list from %s refused - %s', from.remoteId, err?.reason ?? err?.message)
      return
    }
    if (revoked == null || revoked.length === 0) {
      return
    }
    this.log('%d members of overlay %s revoked', revoked.length, from.overlay)
    for (const peer of revoked) {
      if (this.pins.fresh(peer)?.overlay === from.overlay || this.pins.state(peer) === 'stale') {
        await this.forget(peer)
      }
    }
    this.safeDispatchEvent('revoked', { detail: { overlay: from.overlay, peers: revoked } })
  }

  /**
   * Hand this overlay's newest revocation list to every remote bridge with a
   * fresh pin that has not had it (on a new pin, on a new list, and every
   * check until it was taken).
   */
  async pushRevocations (): Promise<void> {
    const jws = this.init.ownRevocationList?.()
    if (jws == null || jws === '') {
      return
    }
    await Promise.all(this.components.connectionManager.getConnections().map(async c => {
      const peer = c.remotePeer.toString()
      const pin = this.pins.fresh(peer)
      if (pin == null || this.revocationsTold.get(peer) === jws) {
        return
      }
      this.revocationsTold.set(peer, jws)
      try {
        await this.cross(c.remotePeer, { revocationList: jws })
      } catch (err: any) {
        // told again at the next check
        this.revocationsTold.delete(peer)
        this.log('revocation list to %s failed - %s', peer, err?.reason ?? err?.name)
      }
    }))
  }

  /** Connected remote bridges of `overlay` whose pin is fresh. */
  freshRemotes (overlay: string): PeerId[] {
    const seen = new Set<string>()
    const out: PeerId[] = []
    for (const c of this.components.connectionManager.getConnections()) {
      const id = c.remotePeer.toString()
      if (!seen.has(id) && this.pins.fresh(id)?.overlay === overlay) {
        seen.add(id)
        out.push(c.remotePeer)
      }
    }
    return out
  }

  /** Hand a remote bridge with a fresh pin a fragment, receipts or a revocation list; whether it stored the fragment. */
  async cross (peer: PeerId, crossing: Partial<Crossing>): Promise<boolean> {
    if (this.pins.fresh(peer.toString()) == null) {
      throw new FederationError('no-pin', 'nothing crosses without a fresh pin')
    }
    return await sendCrossing(this.components.connectionManager, peer, crossing)
  }

  private async receiveCrossing (stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString()
    const signal = AbortSignal.timeout(HANDSHAKE_TIMEOUT_MS)
    try {
      const pin = this.pins.fresh(peer)
      if (pin == null) {
        this.safeDispatchEvent('refused', { detail: { peer, reason: this.pins.state(peer) === 'stale' ? 'stale-pin' : 'no-pin', by: 'us' } })
        stream.abort(new FederationError('no-pin'))
        return
      }
      this.crossingLimiter.consume(peer, 1)
      await answerCrossing(stream, signal, async crossing => {
        if (crossing.revocationList !== '') {
          await this.takeRevocations(crossing.revocationList, pin)
        }
        return crossing.bundle == null && crossing.receipts.length === 0
          ? false
          : await (this.crossingReceiver?.(crossing, pin) ?? Promise.resolve(false))
      })
    } catch (err: any) {
      this.log('crossing from %s refused - %s', peer, err?.reason ?? err?.message ?? err?.name)
      stream.abort(err)
    }
  }

  /**
   * Hand an anomaly frame to every connected remote bridge with a fresh pin.
   * Returns how many took it.
   */
  async relayAnomaly (frame: Uint8Array): Promise<number> {
    const sent = await Promise.all(this.components.connectionManager.getConnections().map(async c => {
      const peer = c.remotePeer.toString()
      if (this.pins.fresh(peer) == null) {
        return false
      }
      try {
        await sendRelayFrame(c, frame)
        this.safeDispatchEvent('relayed', { detail: { peer, direction: 'out' } })
        return true
      } catch (err: any) {
        this.log('relay to %s failed - %s', peer, err?.name)
        return false
      }
    }))
    return sent.filter(Boolean).length
  }

  private async receiveRelay (stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString()
    try {
      const pin = this.pins.fresh(peer)
      if (pin == null) {
        // nothing crosses without a fresh pin
        this.safeDispatchEvent('refused', { detail: { peer, reason: this.pins.state(peer) === 'stale' ? 'stale-pin' : 'no-pin', by: 'us' } })
        stream.abort(new FederationError('no-pin'))
        return
      }
      this.relayLimiter.consume(peer, 1)
      const frame = await readRelayFrame(stream)
      this.safeDispatchEvent('relayed', { detail: { peer, direction: 'in' } })
      await this.anomalyReceiver?.(frame, pin)
    } catch (err: any) {
      this.log('relay from %s refused - %s', peer, err?.reason ?? err?.message ?? err?.name)
      stream.abort(err)
    }
  }

  afterStart (): void {
    this.components.events.addEventListener('connection:open', this.onConnection)
    this.checkTask = repeatingTask(() => { this.check() }, this.init.checkIntervalMs ?? PIN_CHECK_INTERVAL_MS)
    this.checkTask.start()
  }

  async stop (): Promise<void> {
    this.checkTask?.stop()
    this.components.events.removeEventListener('connection:open', this.onConnection)
    await this.components.registrar.unhandle(FEDERATION_PROTOCOL)
    await this.components.registrar.unhandle(RELAY_PROTOCOL)
    await this.components.registrar.unhandle(CROSSING_PROTOCOL)
  }

  /** Run a handshake with a connected remote bridge; resolves with the pin, or throws a `FederationError`. */
  async handshake (peer: PeerId): Promise<Pin> {
    const id = peer.toString()
    const running = this.running.get(id)
    if (running != null) {
      return await running
    }
    const attempt = this.initiate(peer).finally(() => { this.running.delete(id) })
    this.running.set(id, attempt)
    return await attempt
  }

  /** Connect to a remote bridge's federation endpoint now (the handshake follows); its PeerId. */
  async connect (addr: string): Promise<PeerId> {
    const connection = await this.components.connectionManager.openConnection(multiaddr(addr), { signal: AbortSignal.timeout(HANDSHAKE_TIMEOUT_MS) })
    return connection.remotePeer
  }

  /** Pins with their state, and the anchors configured. */
  status (): { anchors: Array<{ overlay: string, root: string }>, pins: ReturnType<Pins['snapshot']> } {
    return { anchors: this.anchors.list().map(a => ({ overlay: a.overlay, root: a.root })), pins: this.pins.snapshot() }
  }

  /** Forget a remote's pin and close its connections: it must handshake again to come back. */
  async forget (remoteId: string): Promise<boolean> {
    const had = this.pins.forget(remoteId)
    this.revocationsTold.delete(remoteId)
    for (const c of this.components.connectionManager.getConnections()) {
      if (c.remotePeer.toString() === remoteId) {
        await c.close().catch(() => {})
      }
    }
    return had
  }

  private async initiate (peer: PeerId): Promise<Pin> {
    const local = this.local()
    let pin: Pin | undefined
    const signal = AbortSignal.timeout(HANDSHAKE_TIMEOUT_MS)
    const stream = await this.components.connectionManager.openStream(peer, FEDERATION_PROTOCOL, { signal })
    await exchangeEnvelopes(stream, buildEnvelope(local, peer.toString(), this.now()), async reply => {
      if (reply.envelope == null) {
        const reason = (reply.refused !== '' ? reply.refused : 'malformed') as FederationRefusal
        this.safeDispatchEvent('refused', { detail: { peer: peer.toString(), reason, by: 'them' } })
        throw new FederationError(reason, `the remote bridge refused: ${reason}`)
      }
      pin = await this.accept(reply.envelope, peer.toString())
    }, signal)
    return pin as Pin
  }

  private async answer (stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString()
    try {
      await answerEnvelope(stream, async envelope => {
        await this.accept(envelope, peer)
        return buildEnvelope(this.local(), peer, this.now())
      })
    } catch (err: any) {
      this.log('handshake from %s failed - %s', peer, err?.reason ?? err?.name)
      stream.abort(err)
    }
  }

  /** Check a remote's envelope and pin it; a refusal is logged and raised. */
  private async accept (envelope: Envelope, peer: string): Promise<Pin> {
    try {
      const verified = await verifyEnvelope(envelope, {
        self: { overlay: this.local().overlay, peerId: this.components.peerId.toString() },
        expectedRemote: peer,
        now: this.now(),
        skewMs: this.init.skewMs,
        nonces: this.nonces,
        trust: {
          vouches: async (overlay, remoteId, evidence) => await this.anchors.vouches(overlay, remoteId, evidence),
          pinnedKey: remoteId => this.pins.pinnedKey(remoteId)
        }
      })
      const pin = this.pins.pin(verified)
      this.log('pinned bridge %s of overlay %s until %s', pin.remoteId, pin.overlay, new Date(pin.rotationDue).toISOString())
      this.revocationsTold.delete(pin.remoteId)
      this.safeDispatchEvent('pinned', { detail: pin })
      // once the remote pinned us too (it answers, or reads our answer): soon, not at once
      const soon = setTimeout(() => { void this.pushRevocations() }, 1_000)
      soon.unref?.()
      return pin
    } catch (err) {
      const reason: FederationRefusal = err instanceof FederationError ? err.reason : 'malformed'
      this.log('handshake with %s refused: %s', peer, reason)
      this.safeDispatchEvent('refused', { detail: { peer, reason, by: 'us' } })
      throw err instanceof FederationError ? err : new FederationError('malformed')
    }
  }

  private local (): LocalBridge {
    const local = this.init.local?.()
    if (local == null) {
      throw new FederationError('untrusted-key', 'this bridge holds no token yet')
    }
    return local
  }

  private onConnection (evt: CustomEvent<Connection>): void {
    if (evt.detail.direction === 'outbound') {
      this.handshake(evt.detail.remotePeer).catch(err => { this.log('handshake with %p failed - %s', evt.detail.remotePeer, err?.reason ?? err?.name) })
    }
  }

  /** Remotes we dialled whose pin is missing or stale get a new handshake; remotes that missed our revocation list get it. */
  private check (): void {
    void this.pushRevocations()
    for (const c of this.components.connectionManager.getConnections()) {
      if (c.direction === 'outbound' && this.pins.state(c.remotePeer.toString()) !== 'fresh') {
        this.handshake(c.remotePeer).catch(() => {})
      }
    }
  }
}

export function federationService (init: FederationServiceInit = {}): (components: FederationServiceComponents) => FederationService {
  return (components) => new FederationService(components, init)
}

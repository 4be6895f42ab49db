/**
 * The admission service around the pure parts: re-presents the node's fresh
 * token to connected peers, closes connections whose peer's token ran out
 * without a refresh (unless the issuer-outage policy keeps it: see
 * outage-policy.ts), polls the issuer's revocation list (the gossip service
 * spreads it on `tempus/crl/1`), acts on suspicion thresholds and persists
 * bans.
 */
import { lengthPrefixed } from '../core/length-prefix.ts'
import { Key } from 'interface-datastore'
import { serviceCapabilities } from '@libp2p/interface'
import { ADMISSION_DEFAULTS, CLOCK_SKEW_MS, MAX_TOKEN_BYTES, REFRESH_PROTOCOL } from './constants.ts'
import { pollWhileHeld } from '../issuer-client/held-poll-loop.ts'
import { ADMISSION_CAPABILITY } from './provider.ts'
import { isPeerFault, peerDecoded } from './cut-read.ts'
import { AdmissionError, refusalDetailOf } from './errors.ts'
import { keepsLapsed, nextWindow, OUTAGE_HEAL_MS } from './outage-policy.ts'
import { registerAdmissionMetrics } from './metrics.ts'
import { SecurityLog, SECURITY_LOG_WINDOW_MS } from './security-log.ts'
import { TokenRefresh } from './pb/admission.ts'
import { onceMoreIfInterrupted } from '../issuer-client/client.ts'
import type { TokenClaims } from './token.ts'
import { pbStream, repeatingTask } from '@libp2p/utils'
import type { RepeatingTask } from '@libp2p/utils'
import type { OutagePolicy, OutageWindow } from './outage-policy.ts'
import type { AdmissionState, OwnToken } from './state.ts'
import type { SuspicionChange } from './suspicion.ts'
import type { Logger as PinoLogger } from 'pino'
import type { TokenManager } from './token-manager.ts'
import type { IssuerApi } from '../issuer-client/replicas.ts'
import type { ComponentLogger, Connection, Libp2pEvents, Logger, PeerId, PeerStore, Startable, Stream } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { Datastore } from 'interface-datastore'
import type { TypedEventTarget } from 'main-event'
import type { Registry } from 'prom-client'

const BAN_PREFIX = '/tempus/ban/'

/**
 * Every field optional; the defaults are ADMISSION_DEFAULTS (constants.ts),
 * the same the node's config schema fills in.
 */
export interface AdmissionServiceInit {
  /** this node's token manager: its fresh tokens are re-presented to connected peers; none, none re-presented */
  tokens?: TokenManager
  /** the issuer (every replica) the revocation list is polled from */
  client?: Pick<IssuerApi, 'awaitRevocationList'>
  /**
   * how long the issuer may hold a poll of the revocation list until a
   * newer one exists (a long poll, `Prefer: wait`), in ms; 0: never held
   * @default ADMISSION_DEFAULTS.pollWaitMs (25 s)
   */
  crlWaitMs?: number
  /**
   * how often to poll the issuer's revocation list, in ms, when the
   * issuer did not hold the poll (an issuer that does not, or a failure);
   * held polls follow one another
   * @default ADMISSION_DEFAULTS.crlPollIntervalMs (5 s)
   */
  crlPollIntervalMs?: number
  /**
   * how often to look for connections whose peer's token expired, in ms
   * @default ADMISSION_DEFAULTS.sweepIntervalMs (5 s)
   */
  sweepIntervalMs?: number
  /**
   * what established connections do while no issuer answers this node
   * @default { mode: ADMISSION_DEFAULTS.issuerOutage (keep-established), graceMs: ADMISSION_DEFAULTS.outageGraceMs (30 min), healMs: OUTAGE_HEAL_MS (30 s) }
   */
  outage?: Partial<OutagePolicy>
  /**
   * the operator's log: security events (refusals, offences, quarantines,
   * bans, revocations: `security-log.ts`) and kept connections are told
   * there at info/warn level; none without it
   */
  log?: PinoLogger
  /**
   * the security log's window: one line per peer and reason per window, in ms
   * @default SECURITY_LOG_WINDOW_MS (60 s)
   */
  securityLogWindowMs?: number
  /** the node's Prometheus registry: admission, suspicion and token figures go there (see `metrics.ts`); none without it */
  registry?: Registry
}

export interface AdmissionServiceComponents {
  peerId: PeerId
  connectionManager: ConnectionManager
  registrar: Registrar
  peerStore: PeerStore
  datastore: Datastore
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
}

export class AdmissionService implements Startable {
  readonly state: AdmissionState
  private readonly components: AdmissionServiceComponents
  private readonly init: AdmissionServiceInit
  private readonly log: Logger
  private sweepTask?: RepeatingTask
  private crlTask?: RepeatingTask
  private readonly outagePolicy: OutagePolicy
  /** this node's current (or just ended) issuer outage */
  private outage?: OutageWindow
  /** connections kept through the outage so far (their ids), to tell the operator once each */
  private readonly kept = new Set<string>()
  private readonly security?: SecurityLog
  private securityFlush?: RepeatingTask

  constructor (components: AdmissionServiceComponents, state: AdmissionState, init: AdmissionServiceInit = {}) {
    this.components = components
    this.init = init
    this.state = state
    this.log = components.logger.forComponent('tempus:admission')
    this.outagePolicy = {
      mode: init.outage?.mode ?? ADMISSION_DEFAULTS.issuerOutage,
      graceMs: init.outage?.graceMs ?? ADMISSION_DEFAULTS.outageGraceMs,
      healMs: init.outage?.healMs ?? OUTAGE_HEAL_MS
    }
    if (init.registry != null) {
      registerAdmissionMetrics({ registry: init.registry, state, tokens: init.tokens })
    }
    if (init.log != null) {
      this.security = new SecurityLog({ log: init.log, state, windowMs: init.securityLogWindowMs, now: state.now })
    }
    this.onSuspicion = this.onSuspicion.bind(this)
    this.onRevoked = this.onRevoked.bind(this)
    this.onToken = this.onToken.bind(this)
    this.onDisconnect = this.onDisconnect.bind(this)
    this.onOpen = this.onOpen.bind(this)
  }

  readonly [Symbol.toStringTag] = 'tempus/admission'
  /** the services that take their admission state from this one depend on it (provider.ts) */
  readonly [serviceCapabilities]: string[] = [ADMISSION_CAPABILITY]

  async start (): Promise<void> {
    await this.loadBans()
    this.security?.start()
    await this.components.registrar.handle(REFRESH_PROTOCOL, async (stream, connection) => { await this.handleRefresh(stream, connection) }, { maxInboundStreams: 2, maxOutboundStreams: 2 })
    this.state.addEventListener('suspicion', this.onSuspicion)
    this.state.addEventListener('revoked', this.onRevoked)
    this.init.tokens?.addEventListener('token', this.onToken)
    this.components.events.addEventListener('peer:disconnect', this.onDisconnect)
    this.components.events.addEventListener('connection:open', this.onOpen)
  }

  afterStart (): void {
    this.sweepTask = repeatingTask(() => { this.sweep() }, this.init.sweepIntervalMs ?? ADMISSION_DEFAULTS.sweepIntervalMs)
    this.sweepTask.start()
    if (this.security != null) {
      const security = this.security
      this.securityFlush = repeatingTask(() => { security.flush() }, this.init.securityLogWindowMs ?? SECURITY_LOG_WINDOW_MS)
      this.securityFlush.start()
    }
    if (this.init.client != null) {
      // at once, then one poll at a time
      this.crlTask = repeatingTask(async (options) => { await this.pollRevocations(options?.signal ?? new AbortController().signal) }, this.init.crlPollIntervalMs ?? ADMISSION_DEFAULTS.crlPollIntervalMs, { runImmediately: true })
      this.crlTask.start()
    }
  }

  async stop (): Promise<void> {
    this.sweepTask?.stop()
    this.crlTask?.stop()
    this.securityFlush?.stop()
    this.security?.stop()
    this.state.removeEventListener('suspicion', this.onSuspicion)
    this.state.removeEventListener('revoked', this.onRevoked)
    this.init.tokens?.removeEventListener('token', this.onToken)
    this.components.events.removeEventListener('peer:disconnect', this.onDisconnect)
    this.components.events.removeEventListener('connection:open', this.onOpen)
    await this.components.registrar.unhandle(REFRESH_PROTOCOL)
  }

  /** Clear a peer's suspicion and any ban (an operator's decision). */
  async clear (peer: PeerId): Promise<void> {
    this.state.suspicion.clear(peer.toString())
    await Promise.resolve(this.components.datastore.delete(new Key(BAN_PREFIX + peer.toString()))).catch(() => {})
  }

  /** Clear every peer's suspicion, quarantine and ban, stored bans included; returns the peers cleared. */
  async clearAll (): Promise<string[]> {
    const cleared = new Set(this.state.suspicion.clearAll())
    for (const peer of await this.storedBans()) {
      cleared.add(peer)
      await Promise.resolve(this.components.datastore.delete(new Key(BAN_PREFIX + peer))).catch(() => {})
    }
    return [...cleared]
  }

  /**
   * The host's network changed (an interface came back): the revocation
   * list is asked for now, not at the next poll, since revocations issued
   * while this node was cut off are what it most needs. A poll in flight was
   * ended by the caller (`IssuerApi.interrupt`) and is sent again at once.
   */
  networkChanged (): void {
    this.crlTask?.run()
  }

  /**
   * Poll the revocation list until the issuer answers without holding the
   * poll (then the task's interval passes before the next): a held poll
   * (answered when a newer list exists, or with 304 after the wait) is
   * followed by the next at once, so a node always has one waiting, and a
   * list reaches it as soon as the issuer has it (`pollWhileHeld`).
   */
  private async pollRevocations (signal: AbortSignal): Promise<void> {
    const waitMs = this.init.crlWaitMs ?? ADMISSION_DEFAULTS.pollWaitMs
    await pollWhileHeld(async () => await this.pollRevocationsOnce(waitMs, signal), signal)
  }

  /** One poll; true when the issuer held it or sent a newer list (the next may follow at once). */
  private async pollRevocationsOnce (waitMs: number, signal: AbortSignal): Promise<boolean> {
    try {
      const known = this.state.revocations.number
      const answer = await onceMoreIfInterrupted(async () => await this.init.client?.awaitRevocationList(known < 0 ? undefined : known, { waitMs, signal }), signal)
      const crl = answer?.list
      if (crl != null) {
        const list = await this.state.applyRevocationList(crl.jws, 'http')
        if (list != null) {
          this.log('revocation list %d applied from the issuer (%d entries)', list.n, list.revoked.length)
        }
      }
      return answer != null && (answer.held || crl != null)
    } catch (err: any) {
      if (!signal.aborted) {
        this.log('revocation poll failed - %s', err?.code ?? err?.message)
      }
      return false
    }
  }

  /** A peer with no connection left is admitted no more (unless a connection admitted since is opening). */
  private onDisconnect (evt: CustomEvent<PeerId>): void {
    this.state.forgetUnlessOpening(evt.detail.toString())
  }

  private onOpen (evt: CustomEvent<Connection>): void {
    const peer = evt.detail.remotePeer.toString()
    this.state.connectionOpened(peer)
    const own = this.state.ownToken
    if (own != null && this.state.takeOwedToken(peer)) {
      // resumed on a ticket that vouched for an older token of ours: show the current one
      this.present(evt.detail, { token: own.token, keyCertificate: own.keyCertificate })
    }
  }

  private onSuspicion (evt: CustomEvent<SuspicionChange>): void {
    const { peer, state, previous } = evt.detail
    if (state === 'quarantined' || state === 'banned') {
      // the operator's line is the security log's (security-log.ts)
      this.log('peer %s %s (suspicion %d, was %s): closing its connections', peer, state, evt.detail.score, previous)
      this.closeConnections(peer, state)
      if (state === 'banned') {
        void Promise.resolve(this.components.datastore.put(new Key(BAN_PREFIX + peer), new TextEncoder().encode(String(Date.now())))).catch(() => {})
      }
    }
  }

  private onRevoked (evt: CustomEvent<string[]>): void {
    for (const peer of evt.detail) {
      this.closeConnections(peer, 'revoked')
    }
  }

  private closeConnections (peer: string, why: string): void {
    for (const c of this.components.connectionManager.getConnections()) {
      if (c.remotePeer.toString() === peer) {
        c.abort(new AdmissionError('refused', why))
      }
    }
  }

  /**
   * Connections whose peer's token expired (past the skew) without a
   * refresh are closed, but for those the issuer-outage policy keeps.
   */
  sweep (): void {
    const now = this.state.now()
    this.state.dropStaleOpenings()
    this.outage = nextWindow(this.outage, this.init.tokens?.outageSince(), this.outagePolicy.healMs, now)
    if (this.outage == null) {
      this.kept.clear()
    }
    for (const c of this.components.connectionManager.getConnections()) {
      const peer = c.remotePeer.toString()
      if (this.state.denies(peer)) {
        c.abort(new AdmissionError('refused'))
      } else if (this.state.isExpired(peer, CLOCK_SKEW_MS)) {
        if (keepsLapsed(this.outagePolicy, this.outage, { openedAt: c.timeline.open, revoked: this.state.revocations.isRevoked(peer) }, now)) {
          if (!this.kept.has(c.id)) {
            this.kept.add(c.id)
            this.init.log?.info({ peer, outageSince: new Date(this.outage?.since ?? now).toISOString() }, 'keeping an established connection whose peer\'s token lapsed during the issuer outage (admission.issuerOutage: keep-established)')
          }
          continue
        }
        this.log('closing the connection to %s: its admission lapsed', peer)
        c.abort(new AdmissionError('expired'))
      }
    }
  }

  /** Connection ids kept through this node's issuer outage (and not closed since). */
  keptConnections (): string[] {
    const open = new Set(this.components.connectionManager.getConnections().map(c => c.id))
    return [...this.kept].filter(id => open.has(id))
  }

  /**
   * Our token was refreshed: show it to every connected peer before the old
   * one lapses; after an outage that is what the kept peers wait for.
   */
  private onToken (evt: CustomEvent<OwnToken>): void {
    // the outage (if any) ended now: kept peers get the heal bound from here
    this.outage = nextWindow(this.outage, this.init.tokens?.outageSince(), this.outagePolicy.healMs, this.state.now())
    const message: TokenRefresh = { token: evt.detail.token, keyCertificate: evt.detail.keyCertificate }
    for (const c of this.components.connectionManager.getConnections()) {
      this.present(c, message)
    }
  }

  /** Re-present our token on one connection (`/tempus/admit/refresh/1.0.0`). */
  private present (c: Connection, message: TokenRefresh): void {
    void (async () => {
      const stream = await c.newStream(REFRESH_PROTOCOL, { signal: AbortSignal.timeout(5_000) })
      await pbStream(stream, lengthPrefixed({ maxDataLength: MAX_TOKEN_BYTES * 3 })).write(message, TokenRefresh, { signal: AbortSignal.timeout(5_000) })
      await stream.close()
    })().catch(err => { this.log('could not re-present the token to %p - %s', c.remotePeer, err?.name) })
  }

  private async handleRefresh (stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString()
    let refresh: TokenRefresh
    try {
      refresh = await pbStream(stream, lengthPrefixed({ maxDataLength: MAX_TOKEN_BYTES * 3 })).read(peerDecoded(TokenRefresh), { signal: AbortSignal.timeout(5_000) })
    } catch (err: any) {
      // only the peer's bytes are its offence: a read cut, timed out or aborted by our side (with
      // whatever error, an AdmissionError of our sweep included) is nobody's
      if (isPeerFault(err)) {
        this.state.recordRefused(peer, 'malformed', 'inbound')
      }
      stream.abort(err)
      return
    }
    let claims: TokenClaims
    try {
      // the connection is already Noise-authenticated as `peer`: a token
      // naming it is its own proof of possession here
      claims = await this.state.verifier.verify(refresh.token, { sub: peer, keyCertificate: refresh.keyCertificate === '' ? undefined : refresh.keyCertificate })
    } catch (err: any) {
      const reason = err instanceof AdmissionError ? err.reason : 'malformed'
      if (reason === 'rotated-key') {
        // a genuine token of the epoch we just left, fetched before the
        // peer learned of the rotation: no refusal and no offence. Its
        // admission stands as it was; its token of our epoch follows
        // once it catches up (or the sweep closes it when this one lapses)
        this.log('%s re-presented a token of a rotated epoch; waiting for its next one', peer)
        await stream.close().catch(() => {})
        return
      }
      // what the token it showed is: the verifier's verdict on the peer's bytes
      this.state.recordRefused(peer, reason, 'inbound', refusalDetailOf(err))
      stream.abort(new AdmissionError(reason))
      return
    }
    this.state.recordAdmitted(peer, claims, true, refresh.token, refresh.keyCertificate)
    // a close cut by the network or by our own sweep changes nothing the peer did
    await stream.close().catch(err => { stream.abort(err) })
  }


  /** PeerIds whose ban is stored (and so survives a restart). */
  async storedBans (): Promise<string[]> {
    const out: string[] = []
    for await (const { key } of this.components.datastore.query({ prefix: BAN_PREFIX })) {
      out.push(key.toString().slice(BAN_PREFIX.length))
    }
    return out
  }

  private async loadBans (): Promise<void> {
    for await (const { key } of this.components.datastore.query({ prefix: BAN_PREFIX })) {
      this.state.suspicion.ban(key.toString().slice(BAN_PREFIX.length))
    }
  }
}

/**
 * The admission service over `state`, the one the node's admitting
 * encrypter and gater share (it is the trust root of every connection, so
 * it is passed, never defaulted).
 */
export function admissionService (state: AdmissionState, init: AdmissionServiceInit = {}): (components: AdmissionServiceComponents) => AdmissionService {
  return (components) => new AdmissionService(components, state, init)
}

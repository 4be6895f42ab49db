/**
 * Whitelisted RPC over `/tempus/rpc/session/1.0.0` (many calls on one
 * long-lived stream per connection and direction), or, with a peer that
 * does not speak it, `/tempus/rpc/1.0.0` (one stream per call). Default
 * deny: a call runs only if the policy (or the exposure's own `authorize`)
 * grants the method to the caller. Anything refused — not granted, no such
 * method, malformed, oversize, over the rate — gets no answer at all: the
 * server logs the reason, raises the caller's suspicion and resets the
 * stream, so the caller cannot tell "denied" from "no such method".
 *
 * Only the caller's own doing is charged, and each cause once per episode
 * (see `SuspicionScores.charge`): a refusal names its cause (the method, the
 * protocol, the limit); a read cut by a reset, a close, our deadline or our
 * shutdown is nobody's offence, only bytes that do not decode are; and a
 * call to a grant a reload removed, or to a method just unexposed, is
 * refused but not charged for one call deadline.
 *
 * On a session a refused call gets one uniform answer, `refused`, the same
 * for every cause (the per-stream protocol's reset, as a frame, so other
 * calls on the session go on); bytes that break the protocol (a frame that
 * does not decode, an id already in flight) end the whole session, charged.
 */
import { lengthPrefixed } from '../core/length-prefix.ts'
import { serviceDependencies } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { RateLimiter, pbStream } from '@libp2p/utils'
import { decodeValue, encodeValue } from './codec.ts'
import { openOptimistically } from '../core/optimistic-select.ts'
import { CALLS_PER_SECOND_PER_PEER, DEFAULT_CALL_TIMEOUT_MS, MAX_INBOUND_CALLS_PER_PEER, MAX_RPC_FRAME_BYTES, MAX_SESSIONS_PER_CONNECTION, RPC_PROTOCOL, RPC_SESSION_PROTOCOL, SESSION_IDLE_MS } from './constants.ts'
import { FrameDecoder, frame } from './frames.ts'
import { RpcSession, UNSENT } from './session.ts'
import { EncodingError, RpcError } from './errors.ts'
import { RpcRequest, RpcResponse } from './pb/rpc.ts'
import { isMethodName, RpcPolicy } from './policy.ts'
import { RpcMetrics } from './metrics.ts'
import { isFramingFault } from '../admission/cut-read.ts'
import { admissionDependencies, admissionStateOf } from '../admission/provider.ts'
import { decodeFailsWith } from '../core/pb-codec.ts'
import type { RpcValue } from './codec.ts'
import type { Chunk } from './frames.ts'
import type { RpcRule } from './policy.ts'
import type { AdmissionState } from '../admission/state.ts'
import type { Offence } from '../admission/suspicion.ts'
import type { PeerType } from '../core/peer-type.ts'
import type { ComponentLogger, Connection, Logger, Metrics, PeerId, Startable, Stream, StreamHandler } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { Registry } from 'prom-client'

/** a request that does not decode is the caller's crafted bytes, charged like a malformed value */
const REQUEST = decodeFailsWith(RpcRequest, err => new EncodingError(`the request does not decode (${(err as Error | undefined)?.name})`))

export interface Caller {
  peer: string
  /** from the caller's verified token */
  type: PeerType | undefined
  /** set for a bridge of another overlay calling over the federation endpoint */
  overlay?: string
}

export type RpcHandler = (args: RpcValue, caller: Caller, options: { signal: AbortSignal }) => RpcValue | Promise<RpcValue>

export interface ExposeOptions {
  /** an extra grant in code, e.g. only one named peer may call `admin.*` */
  authorize?: (caller: Caller) => boolean
}

export interface CallOptions {
  timeout?: number
  signal?: AbortSignal
}

export interface HandleOptions {
  /** who may open this protocol: PeerIds and/or types; nobody by default */
  allow: { peers?: string[], types?: PeerType[] }
}

/** Every field optional: a service with no rules and no exposures answers nobody (default deny). */
export interface RpcInit {
  /**
   * whose verdicts name callers' types and take their offences
   * @default the admission service's (src/admission/provider.ts)
   */
  state?: AdmissionState
  /** who may call what; @default none: every call is refused */
  rules?: RpcRule[]
  /**
   * Who may call what, instead of the rules and the exposures' own
   * `authorize` (the federation endpoint: grants to federated bridges)
   */
  allows?: (caller: Caller, method: string) => boolean
  /** serve the methods another `Rpc` exposes (the federation endpoint serves the node's) */
  exposures?: Rpc
  /** the overlay of a caller from another overlay */
  overlayOf?: (peer: string) => string | undefined
  /** calls one peer may have running at once; @default MAX_INBOUND_CALLS_PER_PEER (64) */
  maxInboundPerPeer?: number
  /** a peer's call rate (token bucket); @default CALLS_PER_SECOND_PER_PEER (1,000/s) */
  callsPerSecondPerPeer?: number
  /** the node's Prometheus registry: calls and their latency go there (see `metrics.ts`); none without it */
  registry?: Registry
  /**
   * serve and use `/tempus/rpc/session/1.0.0`; false: one stream per call only (as before the session)
   * @default true
   */
  sessions?: boolean
  /** close a session of ours after this long without a call (ms); @default SESSION_IDLE_MS (2 s) */
  sessionIdleMs?: number
}

export interface RpcComponents {
  connectionManager: ConnectionManager
  registrar: Registrar
  logger: ComponentLogger
  /** libp2p's metrics: a stream opened past `newStream` is tracked per protocol as libp2p's own are */
  metrics?: Metrics
}

interface Exposure {
  handler: RpcHandler
  options: ExposeOptions
}

/** What to do with a request, decided before any handler runs. */
type Verdict =
  | { run: Exposure, label: string }
  | { refuse: string, offence: Offence, cause?: string, label?: string }
  | { drop: string, label?: string }

const NO_BYTES = new Uint8Array(0)

export class Rpc implements Startable {
  readonly policy: RpcPolicy
  private readonly components: RpcComponents
  private readonly init: RpcInit
  private readonly state: AdmissionState
  readonly [serviceDependencies]: string[]
  private readonly log: Logger
  private readonly exposed = new Map<string, Exposure>()
  private readonly inflight = new Map<string, number>()
  /** methods unexposed lately, and until when their callers are graced */
  private readonly unexposed = new Map<string, number>()
  private readonly rate: RateLimiter
  private nextId = 1n
  private readonly metrics?: RpcMetrics
  private readonly useSessions: boolean
  /** our sessions, by the remote PeerId */
  private readonly sessions = new Map<string, RpcSession>()
  private readonly opening = new Map<string, Promise<RpcSession | undefined>>()
  /** connections whose remote does not speak the session protocol */
  private readonly noSession = new WeakSet<Connection>()

  constructor (components: RpcComponents, init: RpcInit = {}) {
    this.components = components
    this.init = init
    this.state = admissionStateOf(components, init.state, 'the RPC service')
    this[serviceDependencies] = admissionDependencies(init.state)
    this.policy = new RpcPolicy(init.rules ?? [], { now: this.state.now })
    this.log = components.logger.forComponent('tempus:rpc')
    this.rate = new RateLimiter({ points: init.callsPerSecondPerPeer ?? CALLS_PER_SECOND_PER_PEER, duration: 1 })
    this.metrics = init.registry == null ? undefined : new RpcMetrics(init.registry)
    this.useSessions = init.sessions !== false
  }

  readonly [Symbol.toStringTag] = 'tempus/rpc'

  async start (): Promise<void> {
    await this.components.registrar.handle(RPC_PROTOCOL, async (stream, connection) => { await this.serve(stream, connection) }, { maxInboundStreams: 256, maxOutboundStreams: 256 })
    if (this.useSessions) {
      await this.components.registrar.handle(RPC_SESSION_PROTOCOL, (stream, connection) => { this.serveSession(stream, connection) }, { maxInboundStreams: MAX_SESSIONS_PER_CONNECTION, maxOutboundStreams: MAX_SESSIONS_PER_CONNECTION })
    }
  }

  async stop (): Promise<void> {
    await this.components.registrar.unhandle(RPC_PROTOCOL)
    if (this.useSessions) {
      await this.components.registrar.unhandle(RPC_SESSION_PROTOCOL)
    }
    for (const session of [...this.sessions.values()]) {
      session.abort(new Error('the RPC service stopped'))
    }
    this.sessions.clear()
  }

  expose (method: string, handler: RpcHandler, options: ExposeOptions = {}): void {
    if (!isMethodName(method)) {
      throw new RpcError('bad-method', `not a module.function name: ${JSON.stringify(method)}`)
    }
    this.exposed.set(method, { handler, options })
  }

  /** Exposed methods, and whether each has a code-level grant. */
  exposedMethods (): Array<{ method: string, authorize: boolean }> {
    return [...this.exposed].map(([method, e]) => ({ method, authorize: e.options.authorize != null })).sort((a, b) => a.method.localeCompare(b.method))
  }

  unexpose (method: string): void {
    if (this.exposed.delete(method)) {
      const now = this.state.now()
      for (const [m, until] of this.unexposed) {
        if (until <= now) this.unexposed.delete(m)
      }
      this.unexposed.set(method, now + DEFAULT_CALL_TIMEOUT_MS)
    }
  }

  /** Was `method` unexposed less than a call deadline ago? (calls sent before the caller could know) */
  private unexposedLately (method: string): boolean {
    if (this.init.exposures != null) {
      return this.init.exposures.unexposedLately(method)
    }
    const until = this.unexposed.get(method)
    if (until != null && until <= this.state.now()) {
      this.unexposed.delete(method)
      return false
    }
    return until != null
  }

  private exposureOf (method: string): Exposure | undefined {
    return this.init.exposures != null ? this.init.exposures.exposureOf(method) : this.exposed.get(method)
  }

  /** Call `method` on `peer`; resolves with its result or rejects with an `RpcError`. */
  async call (peer: PeerId | string, method: string, args: unknown = null, options: CallOptions = {}): Promise<RpcValue> {
    return await this.request(peer, method, args, options, false) as RpcValue
  }

  /** Fire and forget, only to a peer connected now (no queue); false when it was dropped. */
  async send (peer: PeerId | string, method: string, args: unknown = null): Promise<boolean> {
    const id = typeof peer === 'string' ? peerIdFromString(peer) : peer
    if (this.components.connectionManager.getConnections(id).length === 0) {
      return false
    }
    try {
      await this.request(id, method, args, {}, true)
      return true
    } catch {
      return false
    }
  }

  private async request (peer: PeerId | string, method: string, args: unknown, options: CallOptions, oneway: boolean): Promise<RpcValue | undefined> {
    if (this.metrics == null) {
      return await this.exchange(peer, method, args, options, oneway)
    }
    const started = performance.now()
    try {
      const result = await this.exchange(peer, method, args, options, oneway)
      this.metrics.called('ok', (performance.now() - started) / 1000)
      return result
    } catch (err: any) {
      this.metrics.called(err instanceof RpcError ? err.code : 'unavailable', (performance.now() - started) / 1000)
      throw err
    }
  }

  /**
   * A stream for one call. The connection it picks can be closing: the
   * other side closes a connection it dialled only for a shuffle once no
   * stream uses it (src/sampling/idle-connection.ts), and it cannot see
   * this call's stream before it arrives. A closing connection still
   * looks open to libp2p until its streams have closed, so asking libp2p
   * again would hand out the same one: the one more try goes to another
   * open connection, else a new one. Nothing was sent on the first, so no
   * call runs twice.
   */
  private async openStream (target: PeerId, signal: AbortSignal): Promise<Stream> {
    const cm = this.components.connectionManager
    let first: Connection | undefined
    try {
      first = await cm.openConnection(target, { signal })
      return await first.newStream(RPC_PROTOCOL, { signal })
    } catch (err) {
      if (signal.aborted) {
        throw err
      }
      const other = cm.getConnections(target).find(c => c !== first && c.status === 'open')
      const next = other ?? await cm.openConnection(target, { signal, force: true })
      return await next.newStream(RPC_PROTOCOL, { signal })
    }
  }

  private async exchange (peer: PeerId | string, method: string, args: unknown, options: CallOptions, oneway: boolean): Promise<RpcValue | undefined> {
    if (!isMethodName(method)) {
      throw new RpcError('bad-method', `not a module.function name: ${JSON.stringify(method)}`)
    }
    let encoded: Uint8Array<ArrayBuffer>
    try {
      encoded = encodeValue(args)
    } catch (err: any) {
      throw new RpcError('bad-arguments', err.message)
    }
    const timeout = options.timeout ?? DEFAULT_CALL_TIMEOUT_MS
    const deadline = AbortSignal.timeout(timeout)
    const signal = options.signal != null ? AbortSignal.any([deadline, options.signal]) : deadline
    const id = this.nextId++
    const target = typeof peer === 'string' ? peerIdFromString(peer) : peer
    const request: RpcRequest = { id, method, args: encoded, deadlineMs: timeout, oneway }
    if (this.useSessions) {
      const session = await this.sessionWith(target, signal)
      if (signal.aborted) {
        throw this.failure(signal, options.signal)
      }
      if (session != null) {
        const response = await session.send(request, signal, () => this.failure(signal, options.signal))
        if (response !== UNSENT) {
          return response == null ? undefined : this.outcome(response, id)
        }
        // never written: it may go the per-stream way, it cannot run twice
      }
    }
    let stream: Stream
    try {
      stream = await this.openStream(target, signal)
    } catch {
      throw this.failure(signal, options.signal)
    }
    try {
      const pb = pbStream(stream, lengthPrefixed({ maxDataLength: MAX_RPC_FRAME_BYTES }))
      await pb.write(request, RpcRequest, { signal })
      if (oneway) {
        await stream.close({ signal })
        return undefined
      }
      const response = await pb.read(RpcResponse, { signal })
      await stream.close({ signal }).catch(() => {})
      return this.outcome(response, id)
    } catch (err: any) {
      stream.abort(err)
      if (err instanceof RpcError) {
        throw err
      }
      throw this.failure(signal, options.signal)
    }
  }

  /** A response as the caller sees it: the result, or one of the few codes that say nothing about why. */
  private outcome (response: RpcResponse, id: bigint): RpcValue {
    if (response.id !== id || response.refused) {
      throw new RpcError('unavailable')
    }
    if (!response.ok) {
      throw new RpcError('remote-failure')
    }
    try {
      return decodeValue(response.result)
    } catch {
      throw new RpcError('unavailable')
    }
  }

  /**
   * Our session with `target`, opened on first use (one open shared by
   * every call waiting for it); undefined when the remote does not speak
   * it or it could not be opened: the call then goes per stream. Nothing
   * of a call is sent before it has its session, so a failed open never
   * makes a call run twice.
   */
  private async sessionWith (target: PeerId, signal: AbortSignal): Promise<RpcSession | undefined> {
    const key = target.toString()
    const live = this.sessions.get(key)
    if (live?.open === true) {
      return live
    }
    let opening = this.opening.get(key)
    if (opening == null) {
      opening = this.openSession(target, key).finally(() => { this.opening.delete(key) })
      this.opening.set(key, opening)
    }
    return await untilAborted(opening, signal)
  }

  private async openSession (target: PeerId, key: string): Promise<RpcSession | undefined> {
    // a deadline for the open only, cleared once open: libp2p keeps listening to a
    // stream's open signal, and a long-lived stream must not be cut when it fires
    const controller = new AbortController()
    const timer = setTimeout(() => { controller.abort(new RpcError('timeout')) }, DEFAULT_CALL_TIMEOUT_MS)
    const signal = controller.signal
    let stream: Stream
    let selected: Promise<void> | undefined
    try {
      const connection = await this.components.connectionManager.openConnection(target, { signal })
      if (this.noSession.has(connection)) {
        return undefined
      }
      try {
        // the session's selection goes out with its first call (no round trip
        // of its own): a new connection's first call costs one round trip, as
        // every later one does
        const optimistic = await openOptimistically(connection, RPC_SESSION_PROTOCOL, { timeoutMs: DEFAULT_CALL_TIMEOUT_MS, maxOutboundStreams: MAX_SESSIONS_PER_CONNECTION })
        if (optimistic != null) {
          stream = optimistic.stream
          this.components.metrics?.trackProtocolStream(stream)
          selected = optimistic.selected
          selected.catch((err: any) => {
            if (err?.name === 'UnsupportedProtocolError') this.noSession.add(connection)
          })
        } else {
          stream = await connection.newStream(RPC_SESSION_PROTOCOL, { signal, maxOutboundStreams: MAX_SESSIONS_PER_CONNECTION })
        }
      } catch (err: any) {
        if (err?.name === 'UnsupportedProtocolError') {
          // an older node, or one with sessions off: per stream on this connection from now on
          this.noSession.add(connection)
        }
        return undefined
      }
    } catch {
      return undefined
    } finally {
      clearTimeout(timer)
    }
    const session: RpcSession = new RpcSession(stream, {
      maxFrameBytes: MAX_RPC_FRAME_BYTES,
      idleMs: this.init.sessionIdleMs ?? SESSION_IDLE_MS,
      onMisbehaviour: (reason) => {
        this.log('ended the RPC session with %s: %s', key, reason)
        this.state.raise(key, 'malformed-frame')
      },
      onEnd: () => {
        if (this.sessions.get(key) === session) this.sessions.delete(key)
      },
      ...(selected != null ? { selected } : {})
    })
    this.sessions.set(key, session)
    return session
  }

  /** One error for every refusal: the caller learns nothing about why. */
  private failure (signal: AbortSignal, callerSignal?: AbortSignal): RpcError {
    if (callerSignal?.aborted === true) {
      return new RpcError('aborted')
    }
    if (signal.aborted) {
      return new RpcError('timeout')
    }
    return new RpcError('unavailable')
  }

  /**
   * Refuse and charge: `cause` names what exactly was refused (a method, a
   * protocol, a limit), so a burst of one cause is one offence; without one
   * every refusal costs in full (bytes that do not decode).
   */
  private refuse (stream: Stream, caller: string, reason: string, offence: Offence, cause?: string, method?: string): void {
    this.log('refused a call from %s: %s', caller, reason)
    this.metrics?.servedCall('refused', method)
    this.state.raise(caller, offence, cause)
    stream.abort(new Error('refused'))
  }

  /** Refuse without charging: the same reset, for a call that is nobody's offence. */
  private drop (stream: Stream, caller: string, reason: string, method?: string): void {
    this.log('refused a call from %s (not charged): %s', caller, reason)
    this.metrics?.servedCall('dropped', method)
    stream.abort(new Error('refused'))
  }

  private callerOf (connection: Connection): Caller {
    const peer = connection.remotePeer.toString()
    const overlay = this.init.overlayOf?.(peer)
    return { peer, type: this.state.admitted.get(peer)?.claims.typ, ...(overlay != null ? { overlay } : {}) }
  }

  /** Not granted now, but a reload removed a grant that covered it less than a call deadline ago? */
  private graced (caller: Caller, method: string): boolean {
    return this.init.allows == null && this.policy.graced(caller.peer, caller.type, method)
  }

  private grants (caller: Caller, method: string, exposure: Exposure | undefined): boolean {
    if (!isMethodName(method)) {
      return false
    }
    if (this.init.allows != null) {
      return this.init.allows(caller, method)
    }
    return this.policy.allows(caller.peer, caller.type, method) || exposure?.options.authorize?.(caller) === true
  }

  private async serve (stream: Stream, connection: Connection): Promise<void> {
    const caller = this.callerOf(connection)
    const running = this.inflight.get(caller.peer) ?? 0
    try {
      this.rate.consume(caller.peer, 1)
    } catch {
      this.refuse(stream, caller.peer, 'over the rate limit', 'rpc-over-rate', 'rate')
      return
    }
    if (running >= (this.init.maxInboundPerPeer ?? MAX_INBOUND_CALLS_PER_PEER)) {
      this.refuse(stream, caller.peer, 'too many calls in flight', 'rpc-over-rate', 'concurrency')
      return
    }
    this.inflight.set(caller.peer, running + 1)
    try {
      const pb = pbStream(stream, lengthPrefixed({ maxDataLength: MAX_RPC_FRAME_BYTES }))
      let request: RpcRequest
      let args: RpcValue
      // one deadline for the whole call: reading, the handler, the answer
      const signal = AbortSignal.timeout(DEFAULT_CALL_TIMEOUT_MS)
      try {
        request = await pb.read(REQUEST, { signal })
        args = decodeValue(request.args)
        if (!isMethodName(request.method)) {
          // our client never sends one: a crafted frame
          throw new EncodingError('not a module.function name')
        }
      } catch (err: any) {
        if (isFramingFault(err) || err instanceof EncodingError) {
          this.refuse(stream, caller.peer, `malformed: ${err instanceof EncodingError ? err.message : err?.name}`, 'malformed-frame')
        } else {
          // reset or closed by the caller (it gave up), cut by our deadline, our close or our
          // shutdown, or its connection went: the request never came whole, nobody's offence
          this.drop(stream, caller.peer, `no whole request - ${err?.name}`)
        }
        return
      }
      const verdict = this.verdict(caller, request.method)
      // the same reset whether it is not granted or does not exist, charged or not
      if ('refuse' in verdict) {
        this.refuse(stream, caller.peer, verdict.refuse, verdict.offence, verdict.cause, verdict.label)
        return
      }
      if ('drop' in verdict) {
        this.drop(stream, caller.peer, verdict.drop, verdict.label)
        return
      }
      const handlerSignal = request.deadlineMs > 0 && request.deadlineMs < DEFAULT_CALL_TIMEOUT_MS ? AbortSignal.timeout(request.deadlineMs) : signal
      const response = await this.run(verdict, request, args, caller, handlerSignal)
      if (request.oneway) {
        await stream.close().catch(() => {})
        return
      }
      await pb.write(response, RpcResponse, { signal })
      await stream.close({ signal }).catch(() => {})
    } catch (err: any) {
      this.log('call from %s failed - %s', caller.peer, err?.name)
      stream.abort(err)
    } finally {
      this.release(caller.peer)
    }
  }

  /** Grant and exposure, for one request: run it, refuse it (charged) or drop it (not charged). */
  private verdict (caller: Caller, method: string): Verdict {
    const exposure = this.exposureOf(method)
    // the metrics' method label: only names this node exposes, so callers cannot add labels
    const label = exposure == null ? 'other' : method
    if (!this.grants(caller, method, exposure)) {
      return this.graced(caller, method)
        ? { drop: `${method} not granted since a reload`, label }
        : { refuse: `${method} not granted`, offence: 'rpc-denied', cause: method, label }
    }
    if (exposure == null) {
      return this.unexposedLately(method)
        ? { drop: `${method} unexposed lately`, label }
        : { refuse: `no such method ${method}`, offence: 'rpc-denied', cause: method, label }
    }
    return { run: exposure, label }
  }

  /** Run a granted call's handler; its answer (a throw is `ok: false`, no detail). */
  private async run (verdict: { run: Exposure, label: string }, request: RpcRequest, args: RpcValue, caller: Caller, signal: AbortSignal): Promise<RpcResponse> {
    try {
      const result = await verdict.run.handler(args, caller, { signal })
      const response = { id: request.id, ok: true, result: encodeValue(result), refused: false }
      this.metrics?.servedCall('ok', verdict.label)
      return response
    } catch (err: any) {
      this.log('handler %s failed for %s: %s', request.method, caller.peer, err?.message)
      this.metrics?.servedCall('handler-failed', verdict.label)
      return { id: request.id, ok: false, result: NO_BYTES, refused: false }
    }
  }

  private release (peer: string): void {
    const n = (this.inflight.get(peer) ?? 1) - 1
    if (n <= 0) this.inflight.delete(peer)
    else this.inflight.set(peer, n)
  }

  /**
   * Serve a session: requests arrive as frames on one stream, each is
   * checked as a per-stream call is (rate, concurrency, decode, grant,
   * exposure) and answered on the same stream when its handler is done, in
   * any order. A refusal is the uniform `refused` answer (charged or not,
   * as per stream); bytes that break the protocol end the session, charged.
   * When the caller closes its side, the session closes once every call
   * it holds has been answered.
   */
  private serveSession (stream: Stream, connection: Connection): void {
    const decoder = new FrameDecoder(MAX_RPC_FRAME_BYTES)
    /** ids of this session's calls being run: a second one with the same id is a crafted frame */
    const running = new Set<bigint>()
    let broken = false
    let callerDone = false
    let paused = false
    const answer = (response: RpcResponse): void => {
      if (stream.writeStatus !== 'writable') {
        return
      }
      let more: boolean
      try {
        more = stream.send(frame(RpcResponse.encode(response)))
      } catch {
        return
      }
      if (!more && !paused && stream.readStatus === 'readable') {
        // a caller that does not read its answers gets no more requests read
        paused = true
        stream.pause()
        stream.addEventListener('drain', () => {
          paused = false
          if (stream.readStatus === 'paused') stream.resume()
        }, { once: true })
      }
    }
    const finish = (): void => {
      if (callerDone && running.size === 0 && stream.writeStatus === 'writable') {
        stream.close().catch(err => { stream.abort(err) })
      }
    }
    const breakSession = (peer: string, reason: string): void => {
      broken = true
      this.log('refused an RPC session of %s: %s', peer, reason)
      this.metrics?.servedCall('refused')
      this.state.raise(peer, 'malformed-frame')
      stream.abort(new Error('refused'))
    }
    stream.addEventListener('remoteCloseWrite', () => {
      callerDone = true
      finish()
    })
    stream.addEventListener('message', (evt) => {
      if (broken) {
        return
      }
      const peer = connection.remotePeer.toString()
      let frames: Uint8Array[]
      try {
        frames = decoder.push((evt as unknown as { data: Chunk }).data)
      } catch (err: any) {
        breakSession(peer, `malformed: ${(err as Error).message}`)
        return
      }
      for (const bytes of frames) {
        let request: RpcRequest
        let args: RpcValue
        try {
          request = REQUEST.decode(bytes)
          args = decodeValue(request.args)
          if (!isMethodName(request.method)) {
            throw new EncodingError('not a module.function name')
          }
        } catch (err: any) {
          breakSession(peer, `malformed: ${err instanceof EncodingError ? err.message : err?.name}`)
          return
        }
        if (running.has(request.id)) {
          breakSession(peer, `malformed: id ${request.id} already in flight`)
          return
        }
        this.serveOnSession(request, args, connection, running, answer, finish)
      }
    })
  }

  private serveOnSession (request: RpcRequest, args: RpcValue, connection: Connection, running: Set<bigint>, answer: (response: RpcResponse) => void, finish: () => void): void {
    const caller = this.callerOf(connection)
    const refused = (reason: string, charge?: { offence: Offence, cause?: string }, label?: string): void => {
      if (charge != null) {
        this.log('refused a call from %s: %s', caller.peer, reason)
        this.metrics?.servedCall('refused', label)
        this.state.raise(caller.peer, charge.offence, charge.cause)
      } else {
        this.log('refused a call from %s (not charged): %s', caller.peer, reason)
        this.metrics?.servedCall('dropped', label)
      }
      if (!request.oneway) {
        answer({ id: request.id, ok: false, result: NO_BYTES, refused: true })
      }
    }
    try {
      this.rate.consume(caller.peer, 1)
    } catch {
      refused('over the rate limit', { offence: 'rpc-over-rate', cause: 'rate' })
      return
    }
    const inflight = this.inflight.get(caller.peer) ?? 0
    if (inflight >= (this.init.maxInboundPerPeer ?? MAX_INBOUND_CALLS_PER_PEER)) {
      refused('too many calls in flight', { offence: 'rpc-over-rate', cause: 'concurrency' })
      return
    }
    const verdict = this.verdict(caller, request.method)
    if ('refuse' in verdict) {
      refused(verdict.refuse, { offence: verdict.offence, cause: verdict.cause }, verdict.label)
      return
    }
    if ('drop' in verdict) {
      refused(verdict.drop, undefined, verdict.label)
      return
    }
    this.inflight.set(caller.peer, inflight + 1)
    running.add(request.id)
    const deadlineMs = request.deadlineMs > 0 && request.deadlineMs < DEFAULT_CALL_TIMEOUT_MS ? request.deadlineMs : DEFAULT_CALL_TIMEOUT_MS
    const signal = AbortSignal.timeout(deadlineMs)
    void this.run(verdict, request, args, caller, signal).then(response => {
      // past the caller's deadline it no longer waits: no late answer (it would drop it)
      if (!request.oneway && !signal.aborted) {
        answer(response)
      }
    }).finally(() => {
      running.delete(request.id)
      this.release(caller.peer)
      finish()
    })
  }

  /**
   * Register an application protocol under the same default deny: only the
   * allowed PeerIds and types reach `handler`; anyone else gets a reset
   * stream and rising suspicion.
   */
  async handle (protocol: string, handler: StreamHandler, options: HandleOptions): Promise<void> {
    const peers = new Set(options.allow.peers ?? [])
    const types = new Set(options.allow.types ?? [])
    await this.components.registrar.handle(protocol, async (stream, connection) => {
      const caller = this.callerOf(connection)
      if (!peers.has(caller.peer) && (caller.type == null || !types.has(caller.type))) {
        this.refuse(stream, caller.peer, `${protocol} not allowed`, 'rpc-denied', protocol)
        return
      }
      await handler(stream, connection)
    })
  }
}

/** `promise`, or undefined once `signal` aborts first (the promise goes on for others waiting on it). */
async function untilAborted<T> (promise: Promise<T | undefined>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) {
    return undefined
  }
  let onAbort: (() => void) | undefined
  try {
    return await Promise.race([promise, new Promise<undefined>(resolve => {
      onAbort = () => { resolve(undefined) }
      signal.addEventListener('abort', onAbort, { once: true })
    })])
  } finally {
    if (onAbort != null) signal.removeEventListener('abort', onAbort)
  }
}

export function rpc (init: RpcInit = {}): (components: RpcComponents) => Rpc {
  return (components) => new Rpc(components, init)
}

/**
 * Whitelisted RPC over `/tempus/rpc/1.0.0`, one stream per call. Default
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
 */
import { serviceDependencies } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { RateLimiter, pbStream } from '@libp2p/utils'
import { decodeValue, encodeValue } from './codec.ts'
import { CALLS_PER_SECOND_PER_PEER, DEFAULT_CALL_TIMEOUT_MS, MAX_INBOUND_CALLS_PER_PEER, MAX_RPC_FRAME_BYTES, RPC_PROTOCOL } from './constants.ts'
import { EncodingError, RpcError } from './errors.ts'
import { RpcRequest, RpcResponse } from './pb/rpc.ts'
import { isMethodName, RpcPolicy } from './policy.ts'
import { RpcMetrics } from './metrics.ts'
import { isFramingFault } from '../admission/cut-read.ts'
import { admissionDependencies, admissionStateOf } from '../admission/provider.ts'
import { decodeFailsWith } from '../core/pb-codec.ts'
import type { RpcValue } from './codec.ts'
import type { RpcRule } from './policy.ts'
import type { AdmissionState } from '../admission/state.ts'
import type { Offence } from '../admission/suspicion.ts'
import type { PeerType } from '../core/peer-type.ts'
import type { ComponentLogger, Connection, Logger, PeerId, Startable, Stream, StreamHandler } from '@libp2p/interface'
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
}

export interface RpcComponents {
  connectionManager: ConnectionManager
  registrar: Registrar
  logger: ComponentLogger
}

interface Exposure {
  handler: RpcHandler
  options: ExposeOptions
}

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

  constructor (components: RpcComponents, init: RpcInit = {}) {
    this.components = components
    this.init = init
    this.state = admissionStateOf(components, init.state, 'the RPC service')
    this[serviceDependencies] = admissionDependencies(init.state)
    this.policy = new RpcPolicy(init.rules ?? [], { now: this.state.now })
    this.log = components.logger.forComponent('tempus:rpc')
    this.rate = new RateLimiter({ points: init.callsPerSecondPerPeer ?? CALLS_PER_SECOND_PER_PEER, duration: 1 })
    this.metrics = init.registry == null ? undefined : new RpcMetrics(init.registry)
  }

  readonly [Symbol.toStringTag] = 'tempus/rpc'

  async start (): Promise<void> {
    await this.components.registrar.handle(RPC_PROTOCOL, async (stream, connection) => { await this.serve(stream, connection) }, { maxInboundStreams: 256, maxOutboundStreams: 256 })
  }

  async stop (): Promise<void> {
    await this.components.registrar.unhandle(RPC_PROTOCOL)
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
    let stream: Stream
    try {
      stream = await this.openStream(target, signal)
    } catch {
      throw this.failure(signal, options.signal)
    }
    try {
      const pb = pbStream(stream, { maxDataLength: MAX_RPC_FRAME_BYTES })
      await pb.write({ id, method, args: encoded, deadlineMs: timeout, oneway }, RpcRequest, { signal })
      if (oneway) {
        await stream.close({ signal })
        return undefined
      }
      const response = await pb.read(RpcResponse, { signal })
      await stream.close({ signal }).catch(() => {})
      if (response.id !== id) {
        throw new RpcError('unavailable')
      }
      if (!response.ok) {
        throw new RpcError('remote-failure')
      }
      return decodeValue(response.result)
    } catch (err: any) {
      stream.abort(err)
      if (err instanceof RpcError) {
        throw err
      }
      throw this.failure(signal, options.signal)
    }
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
      const pb = pbStream(stream, { maxDataLength: MAX_RPC_FRAME_BYTES })
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
      const exposure = this.exposureOf(request.method)
      // the metrics' method label: only names this node exposes, so callers cannot add labels
      const label = exposure == null ? 'other' : request.method
      const granted = this.grants(caller, request.method, exposure)
      // the same reset whether it is not granted or does not exist, charged or not
      if (!granted) {
        if (this.graced(caller, request.method)) {
          this.drop(stream, caller.peer, `${request.method} not granted since a reload`, label)
        } else {
          this.refuse(stream, caller.peer, `${request.method} not granted`, 'rpc-denied', request.method, label)
        }
        return
      }
      if (exposure == null) {
        if (this.unexposedLately(request.method)) {
          this.drop(stream, caller.peer, `${request.method} unexposed lately`, label)
        } else {
          this.refuse(stream, caller.peer, `no such method ${request.method}`, 'rpc-denied', request.method, label)
        }
        return
      }
      const handlerSignal = request.deadlineMs > 0 && request.deadlineMs < DEFAULT_CALL_TIMEOUT_MS ? AbortSignal.timeout(request.deadlineMs) : signal
      let response: RpcResponse
      try {
        const result = await exposure.handler(args, caller, { signal: handlerSignal })
        response = { id: request.id, ok: true, result: encodeValue(result) }
        this.metrics?.servedCall('ok', label)
      } catch (err: any) {
        this.log('handler %s failed for %s: %s', request.method, caller.peer, err?.message)
        response = { id: request.id, ok: false, result: new Uint8Array(0) }
        this.metrics?.servedCall('handler-failed', label)
      }
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
      const n = (this.inflight.get(caller.peer) ?? 1) - 1
      if (n <= 0) this.inflight.delete(caller.peer)
      else this.inflight.set(caller.peer, n)
    }
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

export function rpc (init: RpcInit = {}): (components: RpcComponents) => Rpc {
  return (components) => new Rpc(components, init)
}

/**
 * The caller's side of an RPC session (`/tempus/rpc/session/1.0.0`): one
 * stream, opened once per connection with multistream-select, carrying
 * many calls at once. A call is one request frame out and one response
 * frame back, matched by `id`, answered in any order. Per-call streams
 * cost, per call, a yamux stream open and close, multistream-select on
 * both sides (a round trip) and libp2p's per-stream bookkeeping (the peer
 * store merge, the metrics wrappers): most of a call's CPU (protocols/rpc.md).
 *
 * A call's fate once its request was handed to the stream is the remote's:
 * if the session breaks before the answer, the call fails `unavailable`
 * and is never sent again (it may have run). Only a call that was never
 * written (`send` returns `'unsent'`) may go another way.
 *
 * A session that carries nothing for `idleMs` is closed, so it never keeps
 * a connection open that nothing else uses (src/sampling/idle-connection.ts).
 */
import { FrameDecoder, frame } from './frames.ts'
import { EncodingError, RpcError } from './errors.ts'
import { RpcRequest, RpcResponse } from './pb/rpc.ts'
import type { Chunk } from './frames.ts'
import type { Stream } from '@libp2p/interface'

export interface SessionOptions {
  /** the largest frame accepted (bytes) */
  maxFrameBytes: number
  /** close the session after this long without a call (ms) */
  idleMs: number
  /** the remote broke the protocol (a frame that does not decode, an id never sent): charge it */
  onMisbehaviour: (reason: string) => void
  /** the session ended (closed, reset, broken): forget it */
  onEnd: () => void
  /**
   * The stream was opened optimistically (src/core/optimistic-select.ts):
   * resolves once the remote acknowledged the protocol. Calls may be
   * written before; the session reads nothing before it. When it rejects
   * with `UnsupportedProtocolError`, the remote ran nothing: calls still
   * waiting come back `'unsent'`, free to go another way.
   */
  selected?: Promise<void>
}

interface Pending {
  resolve: (response: RpcResponse | typeof UNSENT) => void
  reject: (err: RpcError) => void
}

/** calls given up (their deadline) whose late answer is still expected, at most */
const MAX_ABANDONED = 4096

/** what `send` gives back for a request that never left: the caller may try another way */
export const UNSENT = 'unsent'

export class RpcSession {
  readonly stream: Stream
  private readonly options: SessionOptions
  private readonly decoder: FrameDecoder
  private readonly pending = new Map<bigint, Pending>()
  /** the highest id this session sent: an answer above it answers nothing we asked */
  private highestSent = 0n
  /** calls given up whose answer may still come, once, late: nobody's offence */
  private readonly abandoned = new Set<bigint>()
  /** ids of given-up calls forgotten (past MAX_ABANDONED): an answer to one is let pass, never charged */
  private forgottenUpTo = 0n
  private ended = false
  private idle: ReturnType<typeof setTimeout> | undefined
  /** the protocol's acknowledgement, while it is still awaited */
  private selecting: Promise<void> | undefined

  constructor (stream: Stream, options: SessionOptions) {
    this.stream = stream
    this.options = options
    this.decoder = new FrameDecoder(options.maxFrameBytes)
    const read = (): void => { stream.addEventListener('message', (evt) => { this.onData((evt as unknown as { data: Chunk }).data) }) }
    if (options.selected == null) {
      read()
    } else {
      this.selecting = options.selected
      options.selected.then(() => {
        this.selecting = undefined
        read()
        // after what came with the acknowledgement was read (its dispatch is queued first)
        queueMicrotask(() => {
          if (stream.status !== 'open' || stream.remoteWriteStatus !== 'writable') {
            // it ended, or the remote stopped writing, while the acknowledgement was awaited
            this.end()
            stream.close().catch(err => { stream.abort(err) })
          }
        })
      }, (err: Error) => {
        this.selecting = undefined
        this.end(err?.name === 'UnsupportedProtocolError')
        stream.abort(err)
      })
    }
    // while the acknowledgement is awaited, its outcome decides how the calls end:
    // a refusal and the reset after it can come in one read
    stream.addEventListener('close', () => { if (this.selecting == null) this.end() })
    // the remote ended the session: answers still owed will not come
    stream.addEventListener('remoteCloseWrite', () => {
      if (this.selecting != null) return
      this.end()
      stream.close().catch(err => { stream.abort(err) })
    })
    this.armIdle()
  }

  /** Still usable for a new call? */
  get open (): boolean {
    return !this.ended && this.stream.status === 'open' && this.stream.writeStatus === 'writable'
  }

  /** calls waiting for their answer */
  get inFlight (): number {
    return this.pending.size
  }

  /**
   * Send one request; resolves with its response (a call) or undefined (a
   * send), rejects with an `RpcError`. `'unsent'`: nothing was written, the
   * request may go another way. `signal` ends the wait (the caller's
   * deadline): the call then fails, and a late answer is dropped.
   */
  async send (request: RpcRequest, signal: AbortSignal, failure: () => RpcError): Promise<RpcResponse | undefined | typeof UNSENT> {
    if (!this.open) {
      return UNSENT
    }
    const bytes = frame(RpcRequest.encode(request))
    if (request.oneway) {
      if (this.selecting != null) {
        // nothing answers a send: it goes only once the protocol is known to be spoken, within the caller's deadline
        let gaveUp: (() => void) | undefined
        await Promise.race([this.selecting.catch(() => {}), new Promise<void>(resolve => {
          gaveUp = () => { resolve() }
          if (signal.aborted) resolve(); else signal.addEventListener('abort', gaveUp, { once: true })
        })])
        if (gaveUp != null) signal.removeEventListener('abort', gaveUp)
        if (signal.aborted || !this.open) {
          return UNSENT
        }
      }
      try {
        this.stream.send(bytes)
      } catch {
        return UNSENT
      }
      if (request.id > this.highestSent) this.highestSent = request.id
      this.armIdle()
      return undefined
    }
    let pending!: Pending
    const answer = new Promise<RpcResponse | typeof UNSENT>((resolve, reject) => { pending = { resolve, reject } })
    this.pending.set(request.id, pending)
    try {
      this.stream.send(bytes)
    } catch {
      this.pending.delete(request.id)
      return UNSENT
    }
    if (request.id > this.highestSent) this.highestSent = request.id
    if (this.idle != null) {
      clearTimeout(this.idle)
      this.idle = undefined
    }
    const onAbort = (): void => {
      if (this.pending.delete(request.id)) {
        this.abandon(request.id)
        pending.reject(failure())
        this.armIdle()
      }
    }
    if (signal.aborted) {
      onAbort()
    } else {
      signal.addEventListener('abort', onAbort, { once: true })
    }
    try {
      return await answer
    } finally {
      signal.removeEventListener('abort', onAbort)
    }
  }

  private onData (chunk: Chunk): void {
    if (this.ended) {
      return
    }
    let frames: Uint8Array[]
    try {
      frames = this.decoder.push(chunk)
    } catch (err: any) {
      this.misbehaved(`a broken frame: ${err.message}`)
      return
    }
    for (const bytes of frames) {
      let response: RpcResponse
      try {
        response = RpcResponse.decode(bytes)
      } catch (err: any) {
        this.misbehaved(`a response that does not decode (${new EncodingError(err?.name ?? 'error').message})`)
        return
      }
      const pending = this.pending.get(response.id)
      if (pending == null) {
        // an answer that came after its caller gave up (its deadline): nobody's offence, once
        if (this.abandoned.delete(response.id) || (response.id <= this.forgottenUpTo && response.id > 0n)) {
          continue
        }
        this.misbehaved(response.id > this.highestSent || response.id === 0n ? `an answer to id ${response.id}, never asked` : `a second answer to id ${response.id}`)
        return
      }
      this.pending.delete(response.id)
      pending.resolve(response)
    }
    if (this.pending.size === 0) {
      this.armIdle()
    }
  }

  private abandon (id: bigint): void {
    this.abandoned.add(id)
    if (this.abandoned.size > MAX_ABANDONED) {
      const oldest = this.abandoned.values().next().value as bigint
      this.abandoned.delete(oldest)
      if (oldest > this.forgottenUpTo) this.forgottenUpTo = oldest
    }
  }

  private misbehaved (reason: string): void {
    this.options.onMisbehaviour(reason)
    this.stream.abort(new EncodingError(reason))
    this.end()
  }

  private armIdle (): void {
    if (this.ended || this.pending.size > 0) {
      return
    }
    if (this.idle != null) {
      this.idle.refresh()
      return
    }
    this.idle = setTimeout(() => {
      this.idle = undefined
      if (this.pending.size === 0) this.close()
    }, this.options.idleMs)
    this.idle.unref?.()
  }

  /** Close, idle: nothing is waiting (the remote closes its side when it sees ours closed). */
  private close (): void {
    if (this.ended) {
      return
    }
    this.end()
    this.stream.close().catch(err => { this.stream.abort(err) })
  }

  /**
   * The stream ended: every call still waiting failed (it may have run:
   * never resent), or, when the remote refused the protocol (`notRun`),
   * comes back unsent.
   */
  private end (notRun = false): void {
    if (this.idle != null) {
      clearTimeout(this.idle)
      this.idle = undefined
    }
    if (!this.ended) {
      this.ended = true
      this.options.onEnd()
    }
    for (const [id, p] of this.pending) {
      this.pending.delete(id)
      if (notRun) {
        p.resolve(UNSENT)
      } else {
        p.reject(new RpcError('unavailable'))
      }
    }
  }

  /** End now (the node stops): calls waiting fail `unavailable`. */
  abort (err: Error): void {
    this.stream.abort(err)
    this.end()
  }
}

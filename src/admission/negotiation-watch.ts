/**
 * The negotiation guard (src/core/negotiation-guard.ts) on a live
 * connection or stream: its bytes judged where they come in, and the
 * connection or stream cut at the first out of bounds; on a stream of a
 * protocol whose frames libp2p's own reader takes, the frame guard
 * (src/core/frame-guard.ts) after it.
 */
import { FrameGuard } from '../core/frame-guard.ts'
import { MULTISTREAM_HEADER, NegotiationGuard } from '../core/negotiation-guard.ts'
import { TempusError } from '../core/tempus-error.ts'
import type { FrameViolation } from '../core/frame-guard.ts'
import type { NegotiationGuardInit, NegotiationViolation } from '../core/negotiation-guard.ts'
import type { MessageStream } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'

/** A connection or stream cut during its protocol negotiation: the remote broke the bounds an honest one keeps (negotiation-guard.ts). */
export class NegotiationError extends TempusError {
  readonly code: NegotiationViolation
  override readonly name = 'NegotiationError'
  constructor (reason: NegotiationViolation) {
    super(`the remote's side of a protocol negotiation broke its bounds (${reason}): cut`)
    this.code = reason
  }
}

/** A stream cut for its frames after the negotiation: a length prefix of a protocol libp2p reads broke the protocol's bounds (frame-guard.ts). */
export class FramingError extends TempusError {
  readonly code: FrameViolation
  override readonly name = 'FramingError'
  constructor (protocol: string, reason: FrameViolation) {
    super(`the remote's frames on ${protocol} broke its bounds (${reason}): stream cut`)
    this.code = reason
  }
}

/** why a connection or stream was cut, for whoever charges its peer */
export type GuardCut =
  | { phase: 'negotiation', reason: NegotiationViolation, afterUnspokenProposal: boolean }
  | { phase: 'frames', reason: FrameViolation, protocol: string }

export interface StreamWatchInit extends NegotiationGuardInit {
  /**
   * the longest frame (bytes) of a protocol whose frames libp2p's own
   * `lpStream` reads, which has no bound of its own on a length that does
   * not end (frame-guard.ts): once the negotiation names such a protocol,
   * its frames are watched for the rest of the stream. `undefined`: not
   * watched after the negotiation
   */
  framing?: (protocol: string) => number | undefined
}

/** what the guard reaches of an inbound connection (@libp2p/tcp's) or stream (Yamux's): where its bytes come in, and what it holds already */
type Guarded = MessageStream & { onData?: (data: Uint8Array | Uint8ArrayList) => void, readBuffer?: Uint8ArrayList }

/**
 * An outbound negotiation's end: the listener's answer names a protocol
 * (ours, echoed), not the header and not `na`.
 */
export function answered (protocol: string): boolean {
  return protocol !== MULTISTREAM_HEADER && protocol !== 'na'
}

/**
 * Watch the bytes a connection (or stream) receives while it negotiates
 * its protocol: a dialler's proposals inbound, a listener's answers
 * outbound (negotiation-guard.ts), at the point where they
 * come in: a listener of its `message` event would take them from
 * libp2p's own reader. Cut at the first byte out of bounds; let alone
 * once a protocol of `init.protocols` is proposed, unless `init.framing`
 * bounds its frames, which are then watched the same way; `onCut` hears
 * why it was cut, and whether a proposal this node does not speak came
 * first (a caller that knows the peer charges it only if none did). One of
 * another shape (another transport or muxer, a changed libp2p) is left
 * alone; `test/admission/negotiation-guard.test.ts` fails if that happens.
 */
export function guardNegotiation (stream: MessageStream, init: StreamWatchInit, onCut?: (cut: GuardCut) => void): void {
  const conn = stream as Guarded
  const inner = conn.onData
  if (typeof inner !== 'function') {
    return
  }
  const negotiation = new NegotiationGuard(init)
  let frames: { guard: FrameGuard, protocol: string } | undefined
  /** `watching` while there is more to judge, `done` when nothing is left to (the bytes go on), `cut` */
  const judgeBytes = (bytes: Uint8Array): 'watching' | 'done' | 'cut' => {
    if (frames == null) {
      const verdict = negotiation.feed(bytes)
      if (verdict === 'watching') {
        return 'watching'
      }
      if (verdict !== 'done') {
        conn.abort(new NegotiationError(verdict))
        onCut?.({ phase: 'negotiation', reason: verdict, afterUnspokenProposal: negotiation.unspokenProposal })
        return 'cut'
      }
      const protocol = negotiation.protocol ?? ''
      const maxDataLength = init.framing?.(protocol)
      if (maxDataLength == null) {
        return 'done'
      }
      frames = { guard: new FrameGuard(maxDataLength), protocol }
      // the protocol's first bytes may share the chunk that ended the negotiation
      bytes = bytes.subarray(negotiation.endedAt)
    }
    const verdict = frames.guard.feed(bytes)
    if (verdict === 'watching') {
      return 'watching'
    }
    conn.abort(new FramingError(frames.protocol, verdict))
    onCut?.({ phase: 'frames', reason: verdict, protocol: frames.protocol })
    return 'cut'
  }
  // a list's parts in turn, not copied into one
  const judge = (data: Uint8Array | Uint8ArrayList): 'watching' | 'done' | 'cut' => {
    if (data instanceof Uint8Array) {
      return judgeBytes(data)
    }
    for (const part of data) {
      const verdict = judgeBytes(part)
      if (verdict !== 'watching') {
        return verdict
      }
    }
    return 'watching'
  }
  // bytes that came before this hook ran wait in the connection's buffer
  if (conn.readBuffer != null && conn.readBuffer.byteLength > 0 && judge(conn.readBuffer) !== 'watching') {
    return
  }
  conn.onData = function (this: Guarded, data: Uint8Array | Uint8ArrayList) {
    const verdict = judge(data)
    if (verdict !== 'watching') {
      conn.onData = inner // its own again: what follows is the protocol's
    }
    if (verdict !== 'cut') {
      inner.call(this, data)
    }
  }
}

/**
 * Whose fault is a failed read? A length-prefixed read fails either because
 * of the bytes the peer sent (an oversize or broken length prefix: its
 * doing) or because the stream was cut: reset or closed by the peer (it gave
 * up, as it may), cut by our own deadline, close or shutdown, or its
 * connection went. A cut is nobody's offence, and a service charges
 * suspicion only for the first kind: charging cut reads as malformed had
 * honest nodes throttled and banned for what our side did (issue #13).
 * Pure: it reads error names and codes only (libp2p's errors are matched by
 * `name`, Node's socket errors by `code`).
 *
 * A cut does not always arrive as a named libp2p error: when the socket
 * under a message stream is reset (a peer that refuses us aborts its end),
 * a read can reject with the stream's `close` event itself (a
 * StreamCloseEvent carrying the socket's ECONNRESET), or with the socket's
 * own error. Both are cuts. The chaos harness (issue #20) found the first:
 * a revoked node charged every honest peer that hung up on it with
 * `malformed-frame`.
 */

import { TempusError } from '../core/tempus-error.ts'
import type { Uint8ArrayList } from 'uint8arraylist'

/** the peer's bytes are wrong: charge it */
const FRAMING_FAULTS = new Set(['InvalidDataLengthError', 'InvalidDataLengthLengthError', 'InvalidMessageLengthError', 'LengthPrefixError'])

/** the stream was cut, by either side or by the network: charge nobody */
const CUTS = new Set([
  'UnexpectedEOFError', 'StreamResetError', 'StreamAbortedError', 'StreamClosedError', 'StreamStateError',
  'ConnectionClosedError', 'ConnectionClosingError', 'MuxerClosedError', 'AbortError', 'TimeoutError'
])

/** a socket cut from under the stream (reset, broken pipe, the network gone) */
const SOCKET_CUTS = new Set([
  'ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN',
  'ERR_STREAM_PREMATURE_CLOSE', 'ERR_STREAM_DESTROYED', 'ERR_SOCKET_CLOSED'
])

/** Did a read fail because of the peer's framing (an oversize or broken length prefix)? */
export function isFramingFault (err: unknown): boolean {
  return FRAMING_FAULTS.has((err as { name?: unknown } | null)?.name as string)
}

/** A whole frame arrived and did not decode: the peer's bytes. */
export class UndecodableFrameError extends TempusError {
  override readonly name = 'UndecodableFrameError'
  readonly code = 'undecodable-frame'
  constructor (cause: unknown) {
    super(`the frame does not decode: ${String((cause as { message?: unknown } | null)?.message ?? cause)}`)
  }
}

/**
 * The codec with its decode failures marked as the peer's: a protobuf
 * decoder throws plain `Error`s and `RangeError`s, which a read cut by our
 * own side (a connection aborted with a plain `Error`) can throw as well, so
 * only a mark set at the decoder tells them apart.
 */
export function peerDecoded<T, O = any> (codec: { decode: (buf: Uint8Array | Uint8ArrayList, opts?: O) => T }): { decode: (buf: Uint8Array | Uint8ArrayList, opts?: O) => T } {
  return {
    decode: (buf, opts) => {
      try {
        return codec.decode(buf, opts)
      } catch (err) {
        throw new UndecodableFrameError(err)
      }
    }
  }
}

/**
 * Did a read fail because of the peer's bytes, positively: its framing, or a
 * whole frame that did not decode (`peerDecoded`)? Anything else — a reset,
 * a deadline, a connection this side aborted for its own reasons with
 * whatever error — is nobody's offence. The chaos harness (issue #20) found
 * a catch-up read aborted by this side's own connection close, with a plain
 * `Error`, charged to an honest peer as `malformed-frame`.
 */
export function isPeerFault (err: unknown): boolean {
  return isFramingFault(err) || (err as { name?: unknown } | null)?.name === 'UndecodableFrameError'
}

/** Did a read (or a decode right after it) fail because the stream was cut rather than because of the bytes? */
export function isCutRead (err: unknown): boolean {
  if (err == null || typeof err !== 'object') {
    return false
  }
  // a stream's close event (StreamCloseEvent, StreamAbortEvent, StreamResetEvent): the stream is gone, whatever its `error` says
  if ((err as { type?: unknown }).type === 'close' && 'local' in err) {
    return true
  }
  const e = err as { name?: unknown, code?: unknown }
  return CUTS.has(e.name as string) || SOCKET_CUTS.has(e.code as string)
}

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

/** the peer's bytes are wrong: charge it */
const FRAMING_FAULTS = new Set(['InvalidDataLengthError', 'InvalidDataLengthLengthError', 'InvalidMessageLengthError'])

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

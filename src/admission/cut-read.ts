/**
 * Whose fault is a failed read? A length-prefixed read fails either because
 * of the bytes the peer sent (an oversize or broken length prefix: its
 * doing) or because the stream was cut: reset or closed by the peer (it gave
 * up, as it may), cut by our own deadline, close or shutdown, or its
 * connection went. A cut is nobody's offence, and a service charges
 * suspicion only for the first kind: charging cut reads as malformed had
 * honest nodes throttled and banned for what our side did (issue #13).
 * Pure: it reads error names only (libp2p's errors are matched by `name`).
 */

/** the peer's bytes are wrong: charge it */
const FRAMING_FAULTS = new Set(['InvalidDataLengthError', 'InvalidDataLengthLengthError', 'InvalidMessageLengthError'])

/** the stream was cut, by either side or by the network: charge nobody */
const CUTS = new Set([
  'UnexpectedEOFError', 'StreamResetError', 'StreamAbortedError', 'StreamClosedError', 'StreamStateError',
  'ConnectionClosedError', 'ConnectionClosingError', 'MuxerClosedError', 'AbortError', 'TimeoutError'
])

/** Did a read fail because of the peer's framing (an oversize or broken length prefix)? */
export function isFramingFault (err: unknown): boolean {
  return FRAMING_FAULTS.has((err as { name?: unknown } | null)?.name as string)
}

/** Did a read (or a decode right after it) fail because the stream was cut rather than because of the bytes? */
export function isCutRead (err: unknown): boolean {
  return CUTS.has((err as { name?: unknown } | null)?.name as string)
}

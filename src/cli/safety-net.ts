/**
 * The last line of defence for a node process: a socket error, reset or
 * malformed frame that some library failed to handle must not kill the node.
 * Network-class errors are logged and the process carries on; anything else
 * is a bug, logged as fatal, and the process exits so a supervisor restarts it
 * in a clean state. Tests run without this net, so such leaks fail them.
 */
import type { PinoLogger } from '../logging/logger.ts'

const NETWORK_CODES = new Set([
  'ECONNRESET', 'EPIPE', 'ECONNREFUSED', 'ECONNABORTED', 'ETIMEDOUT', 'EHOSTUNREACH',
  'ENETUNREACH', 'ENETDOWN', 'EADDRNOTAVAIL', 'ERR_STREAM_DESTROYED', 'ERR_STREAM_WRITE_AFTER_END',
  'ERR_STREAM_PREMATURE_CLOSE', 'ERR_SOCKET_CLOSED', 'ABORT_ERR'
])
const NETWORK_NAMES = new Set([
  'AbortError', 'TimeoutError', 'StreamResetError', 'StreamStateError', 'MuxerClosedError',
  'ConnectionClosedError', 'StreamClosedError', 'InvalidFrameError', 'UnexpectedEOFError',
  'InvalidMessageError', 'ProtocolError', 'EncryptionFailedError', 'InvalidCryptoExchangeError'
])

export function isNetworkError (err: unknown): boolean {
  if (err == null || typeof err !== 'object') {
    return false
  }
  const e = err as { code?: unknown, name?: unknown }
  return (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) ||
    (typeof e.name === 'string' && NETWORK_NAMES.has(e.name))
}

export function installSafetyNet (log: PinoLogger, onFatal: (err: unknown) => void): () => void {
  const onError = (err: unknown, origin: string): void => {
    if (isNetworkError(err)) {
      log.warn({ origin, code: (err as any).code, name: (err as any).name, msg: (err as any).message }, 'network error escaped its handler; the node carries on')
      return
    }
    log.fatal({ origin, err }, 'unexpected error; stopping')
    onFatal(err)
  }
  const onException = (err: Error): void => { onError(err, 'uncaughtException') }
  const onRejection = (reason: unknown): void => { onError(reason, 'unhandledRejection') }
  process.on('uncaughtException', onException)
  process.on('unhandledRejection', onRejection)
  return () => {
    process.off('uncaughtException', onException)
    process.off('unhandledRejection', onRejection)
  }
}

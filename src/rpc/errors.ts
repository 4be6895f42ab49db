/**
 * RPC errors. A caller sees only `RpcError` with a code that never tells
 * "denied" from "no such method": `unavailable` for both (and for a reset,
 * an over-rate, a malformed call), `remote-failure` when the handler threw,
 * `timeout`, `aborted`. The server logs the real reason.
 */
import { TempusError } from '../core/tempus-error.ts'
export type RpcErrorCode = 'unavailable' | 'remote-failure' | 'timeout' | 'aborted' | 'bad-arguments' | 'bad-method'

export class RpcError extends TempusError {
  override readonly name = 'RpcError'
  readonly code: RpcErrorCode

  constructor (code: RpcErrorCode, message?: string) {
    super(message ?? code)
    this.code = code
  }
}

/** A value that does not fit the bounded encoding. */
export class EncodingError extends TempusError {
  readonly code = 'encoding'
  override readonly name = 'EncodingError'
}

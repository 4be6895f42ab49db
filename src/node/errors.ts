/**
 * Typed errors with a stable `name`. Their text is for the operator's log and
 * CLI; none of it is ever sent to a remote peer.
 */
import { TempusError } from '../core/tempus-error.ts'
export { ConfigError } from '../core/config-error.ts'
export { DataDirError } from '../core/data-dir-error.ts'

export class NodeNotRunningError extends TempusError {
  readonly code = 'not-running'
  override readonly name = 'NodeNotRunningError'
}

export class NotEnrolledError extends TempusError {
  readonly code = 'not-enrolled'
  override readonly name = 'NotEnrolledError'
}

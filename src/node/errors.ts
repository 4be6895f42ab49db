/**
 * Typed errors with a stable `name`. Their text is for the operator's log and
 * CLI; none of it is ever sent to a remote peer.
 */
export { ConfigError } from '../core/config-error.ts'
export { DataDirError } from '../core/data-dir-error.ts'

export class NodeNotRunningError extends Error {
  override readonly name = 'NodeNotRunningError'
}

export class NotEnrolledError extends Error {
  override readonly name = 'NotEnrolledError'
}

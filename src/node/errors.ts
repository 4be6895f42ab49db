/**
 * Typed errors with a stable `name`. Their text is for the operator's log and
 * CLI; none of it is ever sent to a remote peer.
 */

export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  /** dotted path of the offending field, e.g. `connections.maxConnections` */
  readonly field: string

  constructor (message: string, field: string = '') {
    super(message)
    this.field = field
  }
}

export class DataDirError extends Error {
  override readonly name = 'DataDirError'
}

export class NodeNotRunningError extends Error {
  override readonly name = 'NodeNotRunningError'
}

export class NotEnrolledError extends Error {
  override readonly name = 'NotEnrolledError'
}

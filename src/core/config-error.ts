/**
 * A bad value in configuration or any other operator input (a duration, a
 * field of the config file): the message names the field and what was
 * expected; the text is for the operator, never sent to a peer.
 */
import { TempusError } from './tempus-error.ts'
export class ConfigError extends TempusError {
  readonly code = 'config'
  override readonly name = 'ConfigError'
  /** dotted path of the offending field, e.g. `connections.maxConnections` */
  readonly field: string

  constructor (message: string, field: string = '') {
    super(message)
    this.field = field
  }
}

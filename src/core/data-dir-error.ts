/**
 * A file of a node's data directory is missing, unreadable or damaged; the
 * message names the file and what to do.
 */
import { TempusError } from './tempus-error.ts'
export class DataDirError extends TempusError {
  readonly code = 'data-dir'
  override readonly name = 'DataDirError'
}

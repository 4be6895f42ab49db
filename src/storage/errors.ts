/**
 * Typed storage errors with a stable `name`. Every message names the file
 * and what the operator can do; none of it is ever sent to a remote peer.
 */
import { TempusError } from '../core/tempus-error.ts'

/**
 * - `vanished`: the marker says the store existed, its file is gone
 * - `emptied`: the marker says the store existed, its file shrank to 0 bytes
 * - `missing`: the store must exist (a command that only reads) and does not
 * - `wal-lost`: committed transactions in the write-ahead log are gone
 *   (`-wal` deleted or truncated after an unclean stop)
 * - `corrupt`: SQLite reports a malformed database, or it is not a database
 * - `io`: the disk refused (full, permissions, I/O error)
 * - `marker`: the marker file itself cannot be read
 * - `unknown-store`: `--reset-store` named a store that does not exist
 */
export type StorageFault = 'vanished' | 'emptied' | 'missing' | 'wal-lost' | 'corrupt' | 'io' | 'marker' | 'unknown-store'

export class StorageError extends TempusError {
  /** the same as `fault`: the one field every project error has */
  get code (): string { return this.fault }
  override readonly name = 'StorageError'
  readonly fault: StorageFault
  /** the file (or directory) concerned */
  readonly file: string

  constructor (fault: StorageFault, file: string, message: string) {
    super(message)
    this.fault = fault
    this.file = file
  }
}

/** Another live process holds the data directory. */
export class DataDirLockedError extends TempusError {
  readonly code = 'locked'
  override readonly name = 'DataDirLockedError'
  readonly pid: number

  constructor (pid: number, message: string) {
    super(message)
    this.pid = pid
  }
}

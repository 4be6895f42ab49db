/**
 * Storage guards shared by every store: the marker that makes a lost store
 * visible, the SQLite open that names its file in every error, the data
 * directory's lock, the reset an operator chooses, the events log.
 *
 * @example
 * ```ts
 * const lock = acquireDataLock(dir)
 * const db = openSqliteStore(join(dir, 'bundles.db'), {
 *   recovery: `restore it from a backup, or run: tempus start --data ${dir} --reset-store bundles`,
 *   setup: db => { db.exec('PRAGMA journal_mode = WAL') }
 * })
 * ```
 */
export { DataDirLockedError, StorageError } from './errors.ts'
export type { StorageFault } from './errors.ts'
export { DIR_MODE, EVENTS_FILE, FILE_MODE, LOCK_FILE, MARKER_FILE } from './constants.ts'
export { openSqliteStore, storageErrorFrom, faultMessage } from './sqlite-store.ts'
export type { SqliteStoreOptions } from './sqlite-store.ts'
export { readMarker, recordStore, forgetStore, verdictFor } from './store-marker.ts'
export type { Marker, StoreRecord, StoreKind, Verdict, OnDisk } from './store-marker.ts'
export { acquireDataLock, isAlive } from './data-lock.ts'
export type { DataLock, LockHolder } from './data-lock.ts'
export { resetStore } from './store-reset.ts'
export type { ResetResult } from './store-reset.ts'
export { appendEvent, eventsPath } from './events-log.ts'
export { walFramesLost, parseWalIndex, lostFrames } from './wal-loss.ts'
export { ExpiryBound } from './expiry-bound.ts'

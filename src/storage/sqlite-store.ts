/**
 * Open a node:sqlite store so that no loss is silent and every failure
 * names its file.
 *
 * SQLite opens a missing or 0-byte file as a new empty database, and reports
 * damage as a bare "database disk image is malformed" / "file is not a
 * database". Here, at open: the marker (`store-marker.ts`) decides whether
 * the file may be created; a lost write-ahead log is detected
 * (`wal-loss.ts`); `PRAGMA quick_check` looks at every page (51 ms for a
 * 97 MiB bundle store in the page cache, plus the disk's read time when
 * cold: `npm run bench:storage`); a new file is created 0600 before SQLite touches
 * it, so its `-wal` and `-shm` (which SQLite creates with the database's
 * mode) are 0600 too. During operation, every error SQLite raises for this
 * database is mapped the same way, by wrapping the handle and its
 * statements, so no caller can forget to.
 */
import { closeSync, mkdirSync, openSync, statSync } from 'node:fs'
import { basename, dirname } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { DIR_MODE, FILE_MODE } from './constants.ts'
import { StorageError } from './errors.ts'
import { readMarker, recordStore, verdictFor } from './store-marker.ts'
import { walFramesLost } from './wal-loss.ts'
import type { OnDisk } from './store-marker.ts'

export interface SqliteStoreOptions {
  /** refuse to create the database: a command that only reads a store never creates one */
  mustExist?: boolean
  /**
   * what the operator can do about a lost or damaged store, appended to
   * every error, e.g. "restore it from a backup, or accept the loss with:
   * tempus start --data D --reset-store bundles"
   */
  recovery?: string
  /** pragmas and schema; runs at every open, before the store is recorded in the marker */
  setup?: (db: DatabaseSync) => void
  /** run `PRAGMA quick_check` at open (default true) */
  quickCheck?: boolean
  /** injected clock, ms since the epoch (the marker's creation time) */
  now?: () => number
}

const DEFAULT_RECOVERY = 'restore it from a backup, or move it aside (with its -wal and -shm) to accept the loss'

/** primary result codes (sqlite.org/rescode.html) that mean the file, not the caller */
const CORRUPT = new Set([11, 26]) // SQLITE_CORRUPT, SQLITE_NOTADB
const DISK = new Set([3, 8, 10, 13, 14]) // SQLITE_PERM, SQLITE_READONLY, SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN

/**
 * Map an error SQLite raised for `file` to a StorageError naming the file and
 * the recovery; anything else (constraints, busy, misuse) is returned as is.
 */
export function storageErrorFrom (err: unknown, file: string, recovery: string = DEFAULT_RECOVERY): unknown {
  if (err instanceof StorageError) {
    return err
  }
  const code = typeof (err as any)?.errcode === 'number' ? (err as any).errcode & 0xff : undefined
  const what = String((err as any)?.errstr ?? (err as any)?.message ?? 'unknown error')
  if (code != null && CORRUPT.has(code)) {
    return new StorageError('corrupt', file, `${file} is damaged (SQLite: ${what}); stop the node and ${recovery}`)
  }
  if (code != null && DISK.has(code)) {
    return new StorageError('io', file, `${file} cannot be used (SQLite: ${what}); check the disk's free space and the file's owner and permissions`)
  }
  return err
}

function onDisk (path: string): OnDisk {
  try {
    return { state: 'present', size: statSync(path).size }
  } catch (err: any) {
    if (err.code === 'ENOENT') {
      return { state: 'missing' }
    }
    throw new StorageError('io', path, `cannot read ${path}: ${err.code ?? 'unreadable'}; check its owner and permissions`)
  }
}

/** The refusal's text: what happened to the file, and the choice. */
export function faultMessage (fault: 'vanished' | 'emptied' | 'missing' | 'wal-lost', file: string, recovery: string, detail = ''): string {
  switch (fault) {
    case 'vanished': return `${file} is gone, but this directory had it (see stores.json); its data is lost; nothing was recreated. ${capitalise(recovery)}`
    case 'emptied': return `${file} was truncated to 0 bytes; its data is lost; nothing was recreated. ${capitalise(recovery)}`
    case 'missing': return `${file} does not exist, and this command does not create it; check the data directory (--data)`
    case 'wal-lost': return `${file}-wal lost ${detail} committed pages (deleted or truncated after an unclean stop; the database alone is older than what was committed); nothing was opened. ${capitalise(recovery)}`
  }
}

function capitalise (s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1)
}

/** Open (or create) the sqlite store at `path` (':memory:' opens a throwaway one). */
export function openSqliteStore (path: string, options: SqliteStoreOptions = {}): DatabaseSync {
  if (path === ':memory:') {
    const db = new DatabaseSync(':memory:')
    options.setup?.(db)
    return db
  }
  const recovery = options.recovery ?? DEFAULT_RECOVERY
  const dir = dirname(path)
  const file = basename(path)
  mkdirSync(dir, { recursive: true, mode: DIR_MODE })
  const verdict = verdictFor(readMarker(dir).stores[file], onDisk(path), 'sqlite', options.mustExist)
  if (verdict.action === 'refuse') {
    throw new StorageError(verdict.fault, path, faultMessage(verdict.fault, path, recovery))
  }
  if (verdict.action === 'create') {
    try {
      closeSync(openSync(path, 'wx', FILE_MODE))
    } catch (err: any) {
      // a 0-byte file left by a crashed creation is reused as it is
      if (err.code !== 'EEXIST') {
        throw storageErrorFrom(err, path, recovery)
      }
    }
  } else {
    const lost = walFramesLost(path, options.now)
    if (lost > 0) {
      throw new StorageError('wal-lost', path, faultMessage('wal-lost', path, recovery, String(lost)))
    }
  }
  let raw: DatabaseSync | undefined
  try {
    raw = new DatabaseSync(path)
    if (options.quickCheck !== false && verdict.action === 'open') {
      const rows = raw.prepare('PRAGMA quick_check(1)').all() as Array<{ quick_check: string }>
      if (rows[0]?.quick_check !== 'ok') {
        throw new StorageError('corrupt', path, `${path} is damaged (SQLite quick_check: ${rows[0]?.quick_check ?? 'no answer'}); stop the node and ${recovery}`)
      }
    }
    options.setup?.(raw)
    if (verdict.action === 'create' || verdict.adopt) {
      // the schema into the database file itself (not only the -wal), then
      // the marker: a recorded store is never a 0-byte file
      raw.exec('PRAGMA wal_checkpoint(TRUNCATE)')
      recordStore(dir, file, 'sqlite', options.now ?? Date.now)
    }
  } catch (err) {
    if (raw?.isOpen === true) {
      raw.close()
    }
    throw storageErrorFrom(err, path, recovery)
  }
  return withNamedErrors(raw, path, recovery)
}

/**
 * The same handle, but every error SQLite raises through it or its
 * statements is mapped by `storageErrorFrom`. Native methods are called on
 * the real objects (they check their receiver).
 */
function withNamedErrors (db: DatabaseSync, file: string, recovery: string): DatabaseSync {
  const wrap = <T extends object>(target: T, special: (prop: PropertyKey, result: unknown) => unknown): T => {
    const cache = new Map<PropertyKey, unknown>()
    return new Proxy(target, {
      get (t, prop) {
        const value = Reflect.get(t, prop, t)
        if (typeof value !== 'function') {
          return value
        }
        let wrapped = cache.get(prop)
        if (wrapped == null) {
          wrapped = (...args: unknown[]) => {
            try {
              return special(prop, value.apply(t, args))
            } catch (err) {
              throw storageErrorFrom(err, file, recovery)
            }
          }
          cache.set(prop, wrapped)
        }
        return wrapped
      }
    })
  }
  const iterator = (it: IterableIterator<unknown>): IterableIterator<unknown> => {
    const next = (): IteratorResult<unknown> => {
      try {
        return it.next()
      } catch (err) {
        throw storageErrorFrom(err, file, recovery)
      }
    }
    const mapped: IterableIterator<unknown> = { next, [Symbol.iterator]: () => mapped, return: (v?: unknown) => it.return?.(v) ?? { done: true, value: v } }
    return mapped
  }
  const statement = (stmt: object): object => wrap(stmt, (prop, result) => prop === 'iterate' ? iterator(result as IterableIterator<unknown>) : result)
  return wrap(db, (prop, result) => prop === 'prepare' ? statement(result as object) : result)
}

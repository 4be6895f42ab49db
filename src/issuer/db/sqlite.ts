/**
 * The issuer's embedded backend: node:sqlite in WAL mode, one file beside
 * the store marker. A transaction resolves only after SQLite committed it,
 * so what a client was told survives `kill -9`.
 *
 * One connection serves the process, so transactions are queued here (a
 * transaction spans awaits, and another request's statements must not land
 * inside it); other processes on the same file (the CLI's short commands)
 * queue on SQLite's own lock (BEGIN IMMEDIATE, busy_timeout).
 */
import { basename, dirname, resolve } from 'node:path'
import { openSqliteStore } from '../../storage/index.ts'
import { issuerSchema } from './schema.ts'
import type { IssuerDb, SqlTx, SqlValue } from './sql.ts'
import type { DatabaseSync, StatementSync } from 'node:sqlite'


export interface OpenIssuerDbOptions {
  /** a command that only reads an issuer never creates its database: refuse a missing one */
  mustExist?: boolean
  /** injected clock (the store marker's creation time) */
  now?: () => number
}

/**
 * Open the issuer's database, 0600, refusing one that vanished or was
 * emptied (the marker `stores.json` beside it remembers that it existed);
 * its errors name the file and the recovery (src/storage).
 */
export function openIssuerDb (path: string, options: OpenIssuerDbOptions = {}): DatabaseSync {
  return openSqliteStore(path, {
    mustExist: options.mustExist,
    now: options.now,
    // no reset: the root key is in it, and a new issuer means enrolling every node again
    recovery: `restore ${basename(path)} (with its -wal if there is one) from a backup of ${dirname(path)}; it holds the root key, so a new issuer would mean enrolling every node again`,
    setup: db => {
      db.exec('PRAGMA journal_mode = WAL')
      // NORMAL in WAL mode: a commit is in the WAL before the call returns, so a
      // killed process loses nothing; only a power cut can lose the last commits
      db.exec('PRAGMA synchronous = NORMAL')
      db.exec('PRAGMA busy_timeout = 5000')
      db.exec('PRAGMA foreign_keys = ON')
      db.exec(issuerSchema('sqlite').join(';\n'))
      addSubtreesColumn(db)
    }
  })
}

/** Logs from before the stored tree have no `subtrees` column: add it (the audit log then fills it). */
function addSubtreesColumn (db: DatabaseSync): void {
  const columns = db.prepare('PRAGMA table_info(audit)').all() as Array<{ name: string }>
  if (!columns.some(c => c.name === 'subtrees')) {
    db.exec('ALTER TABLE audit ADD COLUMN subtrees BLOB')
  }
}

/** The port's `$n` parameters in SQLite's spelling (`?n`, same numbering). */
const sqliteText = (sql: string): string => sql.replace(/\$(\d+)/g, '?$1')

/**
 * Handles open in this process, by file: every issuer instance on one file
 * shares one connection and so one transaction queue. Two connections in
 * one process would deadlock: a transaction spans awaits, and the other
 * connection's BEGIN IMMEDIATE waits for its lock synchronously, blocking
 * the very event loop that would let the first one commit.
 */
const shared = new Map<string, { db: IssuerDb, refs: number }>()

/** The issuer's database in a node:sqlite file (the embedded default). */
export function openSqliteIssuerDb (path: string, options: OpenIssuerDbOptions = {}): IssuerDb {
  const key = resolve(path)
  let entry = shared.get(key)
  if (entry == null) {
    entry = { db: sqliteIssuerDb(openIssuerDb(path, options), path), refs: 0 }
    shared.set(key, entry)
  }
  entry.refs++
  const held = entry
  let closed = false
  // each opener closes its own reference, once; the last one closes the file
  return {
    ...held.db,
    close: async () => {
      if (closed) return
      closed = true
      if (--held.refs === 0) {
        shared.delete(key)
        await held.db.close()
      }
    }
  }
}

/** The port over an open node:sqlite handle. */
export function sqliteIssuerDb (db: DatabaseSync, location: string): IssuerDb {
  const statements = new Map<string, StatementSync>()
  const statement = (sql: string): StatementSync => {
    let s = statements.get(sql)
    if (s == null) {
      s = db.prepare(sqliteText(sql))
      statements.set(sql, s)
    }
    return s
  }
  const tx: SqlTx = {
    one: async <T>(sql: string, params: SqlValue[] = []) => statement(sql).get(...params) as T | undefined,
    all: async <T>(sql: string, params: SqlValue[] = []) => statement(sql).all(...params) as T[],
    run: async (sql: string, params: SqlValue[] = []) => Number(statement(sql).run(...params).changes)
  }
  // transactions one after another: the tail of the queue
  let queue: Promise<unknown> = Promise.resolve()
  return {
    kind: 'sqlite',
    location,
    one: tx.one,
    all: tx.all,
    transaction: async <T>(fn: (tx: SqlTx) => Promise<T>): Promise<T> => {
      const run = async (): Promise<T> => {
        db.exec('BEGIN IMMEDIATE')
        try {
          const result = await fn(tx)
          db.exec('COMMIT')
          return result
        } catch (err) {
          if (db.isTransaction) {
            db.exec('ROLLBACK')
          }
          throw err
        }
      }
      const result = queue.then(run, run)
      queue = result.catch(() => {})
      return await result
    },
    close: async () => {
      await queue
      if (db.isOpen) {
        db.close()
      }
    }
  }
}

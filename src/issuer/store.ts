/**
 * The issuer's state in node:sqlite, WAL mode. A write returns only after
 * SQLite committed it, so what a client was told survives `kill -9`.
 */
import { basename, dirname } from 'node:path'
import { openSqliteStore } from '../storage/index.ts'
import type { DatabaseSync } from 'node:sqlite'

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS signing_keys (
  epoch INTEGER PRIMARY KEY,
  kid TEXT NOT NULL UNIQUE,
  sealed TEXT NOT NULL,
  certificate TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('announced', 'current', 'retired')),
  announced_at INTEGER NOT NULL,
  activated_at INTEGER
);
CREATE TABLE IF NOT EXISTS codes (
  code_hash TEXT PRIMARY KEY,
  typ TEXT NOT NULL,
  uses_left INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS members (
  peer_id TEXT PRIMARY KEY,
  typ TEXT NOT NULL,
  enrolled_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS revoked (
  peer_id TEXT PRIMARY KEY,
  reason TEXT NOT NULL,
  at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS crls (
  n INTEGER PRIMARY KEY,
  jws TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS admins (
  public_key TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  added_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS revocation_requests (
  id TEXT PRIMARY KEY,
  peer_id TEXT NOT NULL,
  reason TEXT NOT NULL,
  payload TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'done')),
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS approvals (
  request_id TEXT NOT NULL,
  admin_key TEXT NOT NULL,
  signature TEXT NOT NULL,
  at INTEGER NOT NULL,
  PRIMARY KEY (request_id, admin_key)
);
-- subtrees: the audit log's Merkle tree kept incrementally, the hashes of
-- the perfect subtrees this leaf completes (levels 1.., 32 bytes each, null
-- for none): roots and proofs of any size are O(log n) reads (audit-log.ts)
CREATE TABLE IF NOT EXISTS audit (
  idx INTEGER PRIMARY KEY,
  entry TEXT NOT NULL,
  leaf_hash BLOB NOT NULL,
  subtrees BLOB
);
CREATE TABLE IF NOT EXISTS checkpoints (
  size INTEGER PRIMARY KEY,
  root BLOB NOT NULL,
  signature BLOB NOT NULL,
  at INTEGER NOT NULL
);
`

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
      db.exec(SCHEMA)
    }
  })
}

export function getMeta (db: DatabaseSync, key: string): string | undefined {
  const row = db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined
  return row?.value
}

export function setMeta (db: DatabaseSync, key: string, value: string): void {
  db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value)
}

/** Run `fn` in one transaction (BEGIN IMMEDIATE: writers queue, nobody reads half a change). */
export function transaction<T> (db: DatabaseSync, fn: () => T): T {
  db.exec('BEGIN IMMEDIATE')
  try {
    const result = fn()
    db.exec('COMMIT')
    return result
  } catch (err) {
    db.exec('ROLLBACK')
    throw err
  }
}

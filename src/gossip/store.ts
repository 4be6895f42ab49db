/**
 * The anomalies a node holds, in node:sqlite (WAL): deduplicated by id
 * (so one is delivered to the application once, across restarts), expired
 * by time, and served to peers catching up, oldest first. The frame is kept
 * as received, so a peer can check the origin's signature itself.
 *
 * Ids are bound to origin and content (anomaly-id.ts): the store takes only
 * a `BoundAnomaly` and keeps its full binding hash, so a second copy under a
 * held id is either the same anomaly (`held`) or a different one signed
 * under the same id (`conflict`: equivocation), never silently the first
 * one's substitute.
 *
 * An `expire` with nothing due touches no table (`ExpiryBound`).
 */
import { ExpiryBound, openSqliteStore } from '../storage/index.ts'
import { ANOMALY_ID_BYTES } from './constants.ts'
import { GossipError } from './errors.ts'
import type { BoundAnomaly } from './anomaly-id.ts'
import type { Anomaly } from './anomaly.ts'
import type { DatabaseSync, StatementSync } from 'node:sqlite'

/**
 * Schema versions (PRAGMA user_version):
 * 0 - ids chosen by the publisher; `provenance` added later by column check;
 * 1 - `binding`: the id's derivation hash. Rows kept from version 0 have
 *     none: they stay listed until they expire (at most 7 days), but are
 *     never served to a peer catching up, since their ids are not bound and
 *     a peer would rightly refuse them (and charge this node) as `bad-id`.
 */
const SCHEMA_VERSION = 1

const SCHEMA = `
CREATE TABLE IF NOT EXISTS anomalies (
  id TEXT PRIMARY KEY,
  origin TEXT NOT NULL,
  kind TEXT NOT NULL,
  digest TEXT NOT NULL,
  severity INTEGER NOT NULL,
  metadata TEXT NOT NULL,
  timestamp INTEGER NOT NULL,
  expires INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  frame BLOB NOT NULL,
  provenance TEXT,
  binding TEXT
);
CREATE INDEX IF NOT EXISTS anomalies_by_time ON anomalies (timestamp, id);
CREATE INDEX IF NOT EXISTS anomalies_by_expiry ON anomalies (expires);
`

/** What a second copy of an anomaly is to the store. */
export type Holding = 'none' | 'same' | 'conflict'

export interface StoredAnomaly extends Anomaly {
  receivedAt: number
}

export interface ListOptions {
  /** only anomalies published at or after this time (ms) */
  since?: number
  kind?: string
  limit?: number
}

/** every publication time a page may hold */
const EVER = { from: Number.MIN_SAFE_INTEGER, to: Number.MAX_SAFE_INTEGER }

export class AnomalyStore {
  private readonly db: DatabaseSync
  private readonly insertStmt: StatementSync
  private readonly hasStmt: StatementSync
  private readonly bindingStmt: StatementSync
  private readonly pageStmt: StatementSync
  private readonly idsStmt: StatementSync
  private readonly expireStmt: StatementSync
  private readonly newestStmt: StatementSync
  private readonly countStmt: StatementSync
  private readonly frameStmt: StatementSync
  private readonly forgetStmt: StatementSync
  private readonly expiry: ExpiryBound

  /**
   * `path` of a database file, or ':memory:'; `recovery`: what the operator
   * can do about a lost or damaged file (named in every storage error)
   */
  constructor (path: string, options: { recovery?: string } = {}) {
    // a lost or damaged file is refused, never silently recreated (src/storage)
    this.db = openSqliteStore(path, {
      recovery: options.recovery,
      setup: db => {
        db.exec('PRAGMA journal_mode = WAL')
        // an anomaly lost in a power cut comes back through catch-up; a process
        // crash loses nothing that was committed
        db.exec('PRAGMA synchronous = NORMAL')
        db.exec('PRAGMA busy_timeout = 5000')
        migrate(db, path)
      }
    })
    // a row kept from before ids were bound proves nothing about its id, so a
    // bound anomaly under that id takes its place instead of being its duplicate
    this.insertStmt = this.db.prepare(`INSERT INTO anomalies (id, origin, kind, digest, severity, metadata, timestamp, expires, received_at, frame, provenance, binding) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (id) DO UPDATE SET origin = excluded.origin, kind = excluded.kind, digest = excluded.digest, severity = excluded.severity, metadata = excluded.metadata,
        timestamp = excluded.timestamp, expires = excluded.expires, received_at = excluded.received_at, frame = excluded.frame, provenance = excluded.provenance, binding = excluded.binding
      WHERE anomalies.binding IS NULL`)
    this.frameStmt = this.db.prepare('SELECT frame FROM anomalies WHERE id = ?')
    this.hasStmt = this.db.prepare('SELECT 1 FROM anomalies WHERE id = ?')
    this.bindingStmt = this.db.prepare('SELECT binding FROM anomalies WHERE id = ?')
    this.pageStmt = this.db.prepare('SELECT frame, timestamp, id FROM anomalies WHERE expires > ? AND binding IS NOT NULL AND (timestamp > ? OR (timestamp = ? AND id > ?)) AND timestamp >= ? AND timestamp < ? ORDER BY timestamp, id LIMIT ?')
    this.idsStmt = this.db.prepare('SELECT timestamp, id FROM anomalies WHERE expires > ? AND binding IS NOT NULL AND timestamp >= ?')
    this.expireStmt = this.db.prepare('DELETE FROM anomalies WHERE expires <= ?')
    this.forgetStmt = this.db.prepare('DELETE FROM anomalies WHERE origin = ?')
    this.newestStmt = this.db.prepare('SELECT MAX(timestamp) AS t FROM anomalies')
    this.countStmt = this.db.prepare('SELECT COUNT(*) AS n FROM anomalies WHERE expires > ?')
    this.expiry = new ExpiryBound(this.db.prepare('SELECT MIN(expires) AS e FROM anomalies'))
  }

  /**
   * Bring a store of an older schema to this one, in one transaction; a
   * fresh store is created at the current version.
   */

  /**
   * Store a bound anomaly: `new` (the caller then delivers it), `held` (the
   * same anomaly, from another copy), or `conflict` (another anomaly under
   * this id: nothing is stored, the caller charges whoever signed it).
   */
  insert (a: BoundAnomaly, frame: Uint8Array, receivedAt: number): 'new' | 'held' | 'conflict' {
    // the type says it was bound; this says nobody forged the type
    if (!/^[0-9a-f]{64}$/.test(a.binding) || a.binding.slice(0, ANOMALY_ID_BYTES * 2) !== a.id) {
      throw new GossipError('bad-id', 'the id is not its binding\'s prefix')
    }
    const r = this.insertStmt.run(a.id, a.origin, a.kind, a.digest, a.severity, JSON.stringify(a.metadata), a.timestamp, a.expires, receivedAt, frame, a.provenance == null ? null : JSON.stringify(a.provenance), a.binding)
    this.expiry.lower(a.expires)
    if (Number(r.changes) === 1) {
      return 'new'
    }
    return this.holds(a.id, a.binding) === 'same' ? 'held' : 'conflict'
  }

  /**
   * Whether an anomaly with this id and binding is held: the `same`, none
   * (a row from before ids were bound counts as none: `insert` replaces it),
   * or a `conflict` (another binding under the id).
   */
  holds (id: string, binding: string): Holding {
    const row = this.bindingStmt.get(id) as { binding: string | null } | undefined
    if (row?.binding == null) {
      return 'none'
    }
    return row.binding === binding ? 'same' : 'conflict'
  }

  /** The frame an anomaly arrived in (its origin's signature inside). */
  frame (id: string): Uint8Array | undefined {
    return (this.frameStmt.get(id) as { frame: Uint8Array } | undefined)?.frame
  }

  has (id: string): boolean {
    return this.hasStmt.get(id) != null
  }

  /** The newest publication time held, if any. */
  newest (): number | undefined {
    const row = this.newestStmt.get() as { t: number | null } | undefined
    return row?.t ?? undefined
  }

  /** How many unexpired anomalies are held. */
  count (now: number): number {
    return Number((this.countStmt.get(now) as { n: number }).n)
  }

  /** Frames of unexpired anomalies after (since, afterId), oldest first; with `within`, only those published in [from, to). */
  page (now: number, since: number, afterId: string, limit: number, within = EVER): { frames: Uint8Array[], last?: { timestamp: number, id: string } } {
    const rows = this.pageStmt.all(now, since, since, afterId, Math.max(within.from, Number.MIN_SAFE_INTEGER), Math.min(within.to, Number.MAX_SAFE_INTEGER), limit) as Array<{ frame: Uint8Array, timestamp: number, id: string }>
    const last = rows.at(-1)
    return { frames: rows.map(r => r.frame), last: last == null ? undefined : { timestamp: last.timestamp, id: last.id } }
  }

  /** (timestamp, id) of the unexpired anomalies published at or after `since` that a catch-up would serve (catch-up-digest.ts). */
  servable (now: number, since: number): Array<{ timestamp: number, id: string }> {
    return this.idsStmt.all(now, since) as Array<{ timestamp: number, id: string }>
  }

  list (now: number, options: ListOptions = {}): StoredAnomaly[] {
    const limit = Math.min(Math.max(options.limit ?? 100, 1), 1000)
    const rows = this.db.prepare(`SELECT id, origin, kind, digest, severity, metadata, timestamp, expires, received_at, provenance FROM anomalies WHERE expires > ? AND timestamp >= ?${options.kind != null ? ' AND kind = ?' : ''} ORDER BY timestamp DESC, id LIMIT ?`)
      .all(...[now, options.since ?? 0, ...(options.kind != null ? [options.kind] : []), limit]) as Array<Record<string, any>>
    return rows.map(r => ({
      id: r.id,
      origin: r.origin,
      kind: r.kind,
      digest: r.digest,
      severity: r.severity,
      metadata: JSON.parse(r.metadata),
      timestamp: r.timestamp,
      expires: r.expires,
      receivedAt: r.received_at,
      ...(r.provenance != null ? { provenance: JSON.parse(r.provenance) } : {})
    }))
  }

  /** Delete every anomaly these origins signed (they were revoked), in one transaction; returns how many. */
  forgetOrigins (origins: string[]): number {
    if (origins.length === 0) {
      return 0
    }
    let n = 0
    this.db.exec('BEGIN')
    try {
      for (const origin of origins) {
        n += Number(this.forgetStmt.run(origin).changes)
      }
      this.db.exec('COMMIT')
    } catch (err) {
      this.db.exec('ROLLBACK')
      throw err
    }
    return n
  }

  /** Delete what expired; returns how many. */
  expire (now: number): number {
    if (!this.expiry.due(now)) {
      return 0
    }
    const n = Number(this.expireStmt.run(now).changes)
    this.expiry.reread()
    return n
  }

  /** open: not closed, and not failed to open (`/readyz`) */
  get isOpen (): boolean {
    return this.db.isOpen
  }

  close (): void {
    if (this.db.isOpen) {
      this.db.close()
    }
  }
}

function migrate (db: DatabaseSync, path: string): void {
  const version = Number((db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version)
  if (version > SCHEMA_VERSION) {
    throw new GossipError('malformed', `the anomaly store ${path} is of schema ${version}, newer than this version of tempus reads (${SCHEMA_VERSION}): upgrade tempus, or move the file away to start with an empty store`)
  }
  db.exec('BEGIN IMMEDIATE')
  try {
    db.exec(SCHEMA)
    const columns = new Set((db.prepare('PRAGMA table_info(anomalies)').all() as Array<{ name: string }>).map(c => c.name))
    // stores made before provenance existed gain the column
    if (!columns.has('provenance')) {
      db.exec('ALTER TABLE anomalies ADD COLUMN provenance TEXT')
    }
    // stores made before ids were bound: their rows keep a NULL binding
    if (!columns.has('binding')) {
      db.exec('ALTER TABLE anomalies ADD COLUMN binding TEXT')
    }
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`)
    db.exec('COMMIT')
  } catch (err) {
    db.exec('ROLLBACK')
    throw err
  }
}

/**
 * The anomalies a node holds, in node:sqlite (WAL): deduplicated by id
 * (so one is delivered to the application once, across restarts), expired
 * by time, and served to peers catching up, oldest first. The frame is kept
 * as received, so a peer can check the origin's signature itself.
 */
import { openSqliteStore } from '../storage/index.ts'
import type { Anomaly } from './anomaly.ts'
import type { DatabaseSync, StatementSync } from 'node:sqlite'

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
  provenance TEXT
);
CREATE INDEX IF NOT EXISTS anomalies_by_time ON anomalies (timestamp, id);
CREATE INDEX IF NOT EXISTS anomalies_by_expiry ON anomalies (expires);
`

export interface StoredAnomaly extends Anomaly {
  receivedAt: number
}

export interface ListOptions {
  /** only anomalies published at or after this time (ms) */
  since?: number
  kind?: string
  limit?: number
}

export class AnomalyStore {
  private readonly db: DatabaseSync
  private readonly insertStmt: StatementSync
  private readonly hasStmt: StatementSync
  private readonly pageStmt: StatementSync
  private readonly expireStmt: StatementSync
  private readonly newestStmt: StatementSync
  private readonly countStmt: StatementSync
  private readonly frameStmt: StatementSync

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
        db.exec(SCHEMA)
        // stores made before provenance existed gain the column
        if (!(db.prepare('PRAGMA table_info(anomalies)').all() as Array<{ name: string }>).some(c => c.name === 'provenance')) {
          db.exec('ALTER TABLE anomalies ADD COLUMN provenance TEXT')
        }
      }
    })
    this.insertStmt = this.db.prepare('INSERT OR IGNORE INTO anomalies (id, origin, kind, digest, severity, metadata, timestamp, expires, received_at, frame, provenance) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
    this.frameStmt = this.db.prepare('SELECT frame FROM anomalies WHERE id = ?')
    this.hasStmt = this.db.prepare('SELECT 1 FROM anomalies WHERE id = ?')
    this.pageStmt = this.db.prepare('SELECT frame, timestamp, id FROM anomalies WHERE expires > ? AND (timestamp > ? OR (timestamp = ? AND id > ?)) ORDER BY timestamp, id LIMIT ?')
    this.expireStmt = this.db.prepare('DELETE FROM anomalies WHERE expires <= ?')
    this.newestStmt = this.db.prepare('SELECT MAX(timestamp) AS t FROM anomalies')
    this.countStmt = this.db.prepare('SELECT COUNT(*) AS n FROM anomalies WHERE expires > ?')
  }

  /** Store; true if it was new (the caller then delivers it), false if already held. */
  insert (a: Anomaly, frame: Uint8Array, receivedAt: number): boolean {
    const r = this.insertStmt.run(a.id, a.origin, a.kind, a.digest, a.severity, JSON.stringify(a.metadata), a.timestamp, a.expires, receivedAt, frame, a.provenance == null ? null : JSON.stringify(a.provenance))
    return Number(r.changes) === 1
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

  /** Frames of unexpired anomalies after (since, afterId), oldest first. */
  page (now: number, since: number, afterId: string, limit: number): { frames: Uint8Array[], last?: { timestamp: number, id: string } } {
    const rows = this.pageStmt.all(now, since, since, afterId, limit) as Array<{ frame: Uint8Array, timestamp: number, id: string }>
    const last = rows.at(-1)
    return { frames: rows.map(r => r.frame), last: last == null ? undefined : { timestamp: last.timestamp, id: last.id } }
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

  /** Delete what expired; returns how many. */
  expire (now: number): number {
    return Number(this.expireStmt.run(now).changes)
  }

  close (): void {
    if (this.db.isOpen) {
      this.db.close()
    }
  }
}

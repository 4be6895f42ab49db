/**
 * The bundle store's tables, statements and row mapping (`store.ts` is the
 * store: quotas, transactions and the operations on them).
 */
import { decodeStoredEndorsement } from './bundle.ts'
import { MIN_FRAGMENT_COST } from './constants.ts'
import { parseDestination } from './destination.ts'
import { BundleHeader } from './pb/dtn.ts'
import type { Fragment } from './bundle.ts'
import type { Receipt } from './receipt.ts'
import type { DatabaseSync, StatementSync } from 'node:sqlite'

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS fragments (
  id TEXT NOT NULL,
  offset INTEGER NOT NULL,
  source TEXT NOT NULL,
  destination TEXT NOT NULL,
  created INTEGER NOT NULL,
  expires INTEGER NOT NULL,
  total INTEGER NOT NULL,
  length INTEGER NOT NULL,
  hops INTEGER NOT NULL,
  hop_limit INTEGER NOT NULL,
  copies INTEGER NOT NULL,
  header BLOB NOT NULL,
  payload BLOB NOT NULL,
  signature BLOB NOT NULL,
  token TEXT NOT NULL,
  key_certificate TEXT NOT NULL,
  received_from TEXT,
  received_at INTEGER NOT NULL,
  cost INTEGER NOT NULL,
  endorsement BLOB,
  PRIMARY KEY (id, offset)
);
CREATE INDEX IF NOT EXISTS fragments_by_expiry ON fragments (expires);
CREATE TABLE IF NOT EXISTS outbox (
  id TEXT PRIMARY KEY,
  destination TEXT NOT NULL,
  created INTEGER NOT NULL,
  expires INTEGER NOT NULL,
  size INTEGER NOT NULL,
  fragments INTEGER NOT NULL,
  delivered_at INTEGER
);
CREATE INDEX IF NOT EXISTS outbox_by_expiry ON outbox (expires);
CREATE TABLE IF NOT EXISTS inbox (
  id TEXT PRIMARY KEY,
  source TEXT NOT NULL,
  destination TEXT NOT NULL,
  created INTEGER NOT NULL,
  expires INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  payload BLOB NOT NULL,
  source_overlay TEXT
);
CREATE INDEX IF NOT EXISTS inbox_by_expiry ON inbox (expires);
CREATE TABLE IF NOT EXISTS receipts (
  id TEXT PRIMARY KEY,
  destination TEXT NOT NULL,
  source TEXT NOT NULL,
  delivered_at INTEGER NOT NULL,
  expires INTEGER NOT NULL,
  body BLOB NOT NULL,
  signature BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS receipts_by_expiry ON receipts (expires);
`

/** Every statement the store runs, prepared once. */
export function prepare (db: DatabaseSync) {
  const p = (sql: string): StatementSync => db.prepare(sql)
  return {
    insert: p(`INSERT OR IGNORE INTO fragments (id, offset, source, destination, created, expires, total, length, hops, hop_limit, copies, header, payload, signature, token, key_certificate, received_from, received_at, cost, endorsement)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    has: p('SELECT 1 FROM fragments WHERE id = ? AND offset = ?'),
    get: p('SELECT * FROM fragments WHERE id = ? AND offset = ? AND expires > ?'),
    ofBundle: p('SELECT * FROM fragments WHERE id = ? AND expires > ?'),
    pieces: p('SELECT offset, length, total FROM fragments WHERE id = ? AND expires > ?'),
    any: p('SELECT * FROM fragments WHERE id = ? AND expires > ? LIMIT 1'),
    held: p('SELECT id, offset, length, source, destination, expires, hops, hop_limit, copies FROM fragments WHERE expires > ? ORDER BY received_at LIMIT ?'),
    remove: p('DELETE FROM fragments WHERE id = ? AND offset = ? RETURNING source, cost AS length'),
    removeBundle: p('DELETE FROM fragments WHERE id = ? RETURNING source, cost AS length'),
    removeSource: p('DELETE FROM fragments WHERE source = ? RETURNING source, cost AS length'),
    expireFragments: p('DELETE FROM fragments WHERE expires <= ? RETURNING source, cost AS length'),
    takeCopies: p('UPDATE fragments SET copies = copies - ? WHERE id = ? AND offset = ? AND copies > ? RETURNING copies'),
    returnCopies: p('UPDATE fragments SET copies = copies + ? WHERE id = ? AND offset = ?'),
    outboxAdd: p('INSERT INTO outbox (id, destination, created, expires, size, fragments) VALUES (?, ?, ?, ?, ?, ?)'),
    outboxDelivered: p('UPDATE outbox SET delivered_at = ? WHERE id = ? AND (destination = ? OR destination LIKE ?) AND delivered_at IS NULL'),
    outboxDestination: p('SELECT destination FROM outbox WHERE id = ?'),
    outboxHas: p('SELECT 1 FROM outbox WHERE id = ?'),
    expireOutbox: p('DELETE FROM outbox WHERE expires <= ?'),
    inboxAdd: p('INSERT OR IGNORE INTO inbox (id, source, destination, created, expires, received_at, payload, source_overlay) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
    inboxHas: p('SELECT 1 FROM inbox WHERE id = ?'),
    expireInbox: p('DELETE FROM inbox WHERE expires <= ? RETURNING source, length(payload) AS length'),
    receiptAdd: p('INSERT OR IGNORE INTO receipts (id, destination, source, delivered_at, expires, body, signature) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    receiptGet: p('SELECT * FROM receipts WHERE id = ? AND expires > ?'),
    receiptsNewest: p('SELECT * FROM receipts WHERE expires > ? ORDER BY delivered_at DESC LIMIT ?'),
    /** rows inserted, updated or deleted through this connection since it opened: any write moves it */
    writes: p('SELECT total_changes() AS n'),
    expireReceipts: p('DELETE FROM receipts WHERE expires <= ?'),
    firstExpiry: p('SELECT MIN(e) AS e FROM (SELECT MIN(expires) AS e FROM fragments UNION ALL SELECT MIN(expires) FROM outbox UNION ALL SELECT MIN(expires) FROM inbox UNION ALL SELECT MIN(expires) FROM receipts)')
  }
}

export interface Row {
  id: string
  offset: number
  source: string
  destination: string
  created: number
  expires: number
  total: number
  length: number
  hops: number
  hop_limit: number
  copies: number
  header: Uint8Array
  payload: Uint8Array
  signature: Uint8Array
  token: string
  key_certificate: string
  endorsement: Uint8Array | null
}

/** Columns added since the first schema, added to a database made before them. */
export function migrate (db: DatabaseSync): void {
  const columns = (table: string): Set<string> => new Set((db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).map(c => c.name))
  if (!columns('fragments').has('endorsement')) {
    db.exec('ALTER TABLE fragments ADD COLUMN endorsement BLOB')
  }
  if (!columns('inbox').has('source_overlay')) {
    db.exec('ALTER TABLE inbox ADD COLUMN source_overlay TEXT')
  }
}

/** The bytes a fragment costs against the quotas: all it stores, at least 512. */
export function costOf (f: Pick<Fragment, 'payload' | 'header' | 'token' | 'keyCertificate' | 'signature' | 'endorsement'>): number {
  const e = f.endorsement
  const endorsement = e == null ? 0 : e.token.length + e.keyCertificate.length + e.signature.length + e.sourceOverlay.length + 48
  return Math.max(MIN_FRAGMENT_COST, f.payload.length + f.header.length + f.token.length + f.keyCertificate.length + f.signature.length + endorsement)
}

export function fromRow (r: Row): Fragment {
  const h = BundleHeader.decode(r.header)
  return {
    id: r.id,
    source: r.source,
    destination: parseDestination(r.destination),
    createdAt: r.created,
    lifetime: r.expires - r.created,
    expiresAt: r.expires,
    hopLimit: r.hop_limit,
    totalLength: r.total,
    offset: r.offset,
    // the fields without a column are read back from the signed header
    payloadDigest: h.payloadDigest,
    ephemeralKey: h.ephemeralKey,
    header: r.header,
    payload: r.payload,
    signature: r.signature,
    token: r.token,
    keyCertificate: r.key_certificate,
    hops: r.hops,
    copies: r.copies,
    ...(r.endorsement != null ? { endorsement: decodeStoredEndorsement(r.endorsement) } : {})
  }
}

export function receiptFromRow (r: Record<string, any>): Receipt {
  return { id: r.id, destination: r.destination, source: r.source, deliveredAt: r.delivered_at, expiresAt: r.expires, wire: { body: r.body, signature: r.signature } }
}

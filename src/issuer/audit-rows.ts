/**
 * The audit log's rows: how leaves, the subtree hashes they complete and
 * signed checkpoints are stored and read (the layout is explained in
 * `audit-log.ts`), shared by the log and its verification.
 */
import { TempusError } from '../core/tempus-error.ts'
import { SCAN_PAGE } from './db/sql.ts'
import type { Checkpoint } from '../issuer-client/wire.ts'
import type { SqlTx } from './db/sql.ts'
import type { Hash, TreeNode } from './merkle.ts'

/** The stored tree does not match the log's leaves (a node or a leaf is missing): `tempus issuer audit verify` says where. */
export class AuditLogDamagedError extends TempusError {
  readonly code = 'audit-log-damaged'
  override readonly name = 'AuditLogDamagedError'
}

/** Checkpoints a read returns at most (`checkpoints()`). */
export const CHECKPOINTS_PAGE_MAX = 1000

export function checkpointBytes (size: number, root: Uint8Array): Uint8Array {
  const s = Buffer.alloc(8)
  s.writeBigUInt64BE(BigInt(size))
  return Buffer.concat([s, root])
}

export const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url')
export const unb64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64url'))
export const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b))

export interface CheckpointRow { size: number | bigint, root: Uint8Array, signature: Uint8Array, at: number | bigint }
export const toCheckpoint = (r: CheckpointRow): Checkpoint => ({ size: Number(r.size), root: b64(r.root), signature: b64(r.signature), at: Number(r.at) })

/** A stored row as it is, typed as stored, not as declared: a hand-edited row may hold anything. */
export interface NodeRow { idx: number | bigint, leaf_hash: unknown, subtrees: unknown }

export function isSize (n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0
}

export const SQL = {
  insertLeaf: 'INSERT INTO audit (idx, entry, leaf_hash, subtrees) VALUES ($1, $2, $3, $4)',
  setSubtrees: 'UPDATE audit SET subtrees = $1 WHERE idx = $2',
  row: 'SELECT idx, leaf_hash, subtrees FROM audit WHERE idx = $1',
  // the last row is a walk down the primary key; COUNT(*) would scan every row
  last: 'SELECT idx, leaf_hash FROM audit ORDER BY idx DESC LIMIT 1',
  entries: 'SELECT entry FROM audit WHERE idx >= $1 ORDER BY idx LIMIT $2',
  latest: 'SELECT size, root, signature, at FROM checkpoints ORDER BY size DESC LIMIT 1',
  insertCheckpoint: 'INSERT INTO checkpoints (size, root, signature, at) VALUES ($1, $2, $3, $4) ON CONFLICT (size) DO NOTHING',
  checkpointPage: 'SELECT size, root, signature, at FROM checkpoints WHERE size >= $1 ORDER BY size LIMIT $2',
  rowPage: 'SELECT idx, entry, leaf_hash, subtrees FROM audit WHERE idx >= $1 ORDER BY idx LIMIT $2',
  leafPage: 'SELECT idx, leaf_hash FROM audit WHERE idx >= $1 ORDER BY idx LIMIT $2'
}

/** leaves one INSERT writes at most (4 parameters each: well under every driver's limit) */
export const INSERT_ROWS_MAX = 250

/** An INSERT of `count` leaves. */
export function insertLeaves (count: number): string {
  if (count === 1) {
    return SQL.insertLeaf
  }
  const values = Array.from({ length: count }, (_, r) => `($${4 * r + 1}, $${4 * r + 2}, $${4 * r + 3}, $${4 * r + 4})`)
  return `INSERT INTO audit (idx, entry, leaf_hash, subtrees) VALUES ${values.join(', ')}`
}

/** The rows at `indexes`, in one query. */
export function rowsAt (indexes: number[]): string {
  return `SELECT idx, leaf_hash, subtrees FROM audit WHERE idx IN (${indexes.map((_, i) => `$${i + 1}`).join(', ')})`
}

/** Subtree (level, index) from its completing row, or undefined if that row does not hold it. */
export function subtreeOf (row: NodeRow | undefined, level: number): Hash | undefined {
  if (level === 0) {
    return row?.leaf_hash instanceof Uint8Array ? new Uint8Array(row.leaf_hash) : undefined
  }
  const stored = row?.subtrees
  if (!(stored instanceof Uint8Array) || stored.length < level * 32) {
    return undefined
  }
  return new Uint8Array(stored.subarray((level - 1) * 32, level * 32))
}

/** The row that completes subtree (level, index): its last leaf. */
export const completingRow = (level: number, index: number): number => (index + 1) * 2 ** level - 1

export function damaged (level: number, index: number): AuditLogDamagedError {
  return new AuditLogDamagedError(`the audit log has no stored ${level === 0 ? `leaf ${index}` : `tree node (level ${level}, index ${index})`}; run \`tempus issuer audit verify\``)
}

/** Rows of a table in key order, a page per query (verification walks the whole log without holding it). */
export async function * scan<T> (db: Pick<SqlTx, 'all'>, sql: string, key: (row: T) => number): AsyncGenerator<T> {
  let from = 0
  for (;;) {
    const page = await db.all<T>(sql, [from, SCAN_PAGE])
    yield * page
    if (page.length < SCAN_PAGE) {
      return
    }
    from = key(page[page.length - 1] as T) + 1
  }
}

/** The `subtrees` column of a leaf's row: the hashes of the subtrees it completed, level 1 first (null: none). */
export function subtreesColumn (completed: TreeNode[]): Uint8Array | null {
  if (completed.length === 0) {
    return null
  }
  const out = new Uint8Array(completed.length * 32)
  completed.forEach((node, j) => { out.set(node.hash, j * 32) })
  return out
}

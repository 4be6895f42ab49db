/**
 * The append-only audit log: every issuer decision is a leaf of an RFC 6962
 * Merkle tree; signed checkpoints (size, root) let nodes and admins check
 * that history was only ever appended to.
 *
 * Cost model (anonymous clients read checkpoints and proofs, so no read may
 * cost O(n)): the log stores the hash of every perfect subtree as it
 * completes (the tree math is in `merkle.ts`), in the row of the leaf that
 * completes it: leaf i completes the subtrees of levels 1..t, t the number
 * of trailing one bits of i, and its `subtrees` column holds their hashes,
 * level 1 first. So subtree (ℓ, k) is bytes [32(ℓ−1), 32ℓ) of row
 * (k+1)·2^ℓ − 1: one primary-key lookup, and an append stays one row (one
 * b-tree, one commit; a separate node table cost a second b-tree's pages in
 * every commit and halved single appends).
 * - append: O(log n) (the right frontier, popcount(n) reads, is kept in
 *   memory between appends; ≤ log₂ n subtree hashes, one on average);
 * - `checkpoint()`: O(1), the latest stored signed checkpoint; a read never
 *   computes, signs or stores anything;
 * - `inclusion`, `consistency`, `root`: ≤ 2·⌈log₂ n⌉ stored-node reads;
 * - `verify()`, the admin's full audit: O(n) in one pass.
 *
 * When checkpoints are made: on append, never on read. After an append
 * the log asks an injected scheduler to run one checkpoint task; by default
 * `setImmediate`, so it runs once the caller's transaction has committed,
 * and one task covers every decision made in that turn of the event loop.
 * Why on append and not on a timer: a client who was answered a decision
 * sends its next request after that answer, so the issuer handles it in a
 * later turn, after the checkpoint: a checkpoint read right after a
 * decision covers it (clients and tests rely on that), and the CLI's
 * decisions are checkpointed before it exits (`close()` makes the one
 * owed). The cost follows the decisions, never the reads: at most one
 * Ed25519 signature and one row per turn that decided something, next to
 * the decisions' own signatures and rows (64 concurrent token requests in
 * process: about one checkpoint per 40 tokens, tokens/s unchanged).
 */
import { DOMAINS } from '../admission/constants.ts'
import { signDomain, verifyDomain } from '../admission/keys.ts'
import { IssuerError } from './errors.ts'
import { CompactRange, consistencyFromNodes, inclusionFromNodes, leafHash, rootFromNodes, verifyConsistency } from './merkle.ts'
import { transaction } from './store.ts'
import type { Hash, NodeReader, TreeNode } from './merkle.ts'
import type { KeyObject } from 'node:crypto'
import type { DatabaseSync, StatementSync } from 'node:sqlite'

export interface AuditEntry {
  i: number
  at: number
  kind: string
  data: Record<string, unknown>
}

export interface Checkpoint {
  size: number
  root: string
  signature: string
  at: number
}

export interface AuditVerification {
  ok: boolean
  size: number
  checkpoints: number
  problems: string[]
}

export interface AuditLogOptions {
  /**
   * Runs the checkpoint task after an append. It must run after the
   * caller's synchronous code (its transaction) is done; tests pass one
   * they run by hand.
   * @default setImmediate
   */
  schedule?: (task: () => void) => void
  /**
   * Told when a scheduled checkpoint could not be made (the database is
   * busy or failing); the next append or `close()` tries again.
   * @default ignore
   */
  onError?: (err: unknown) => void
}

/** The stored tree does not match the log's leaves (a node or a leaf is missing): `tempus issuer audit verify` says where. */
export class AuditLogDamagedError extends Error {
  override readonly name = 'AuditLogDamagedError'
}

/** Checkpoints a read returns at most (`checkpoints()`). */
export const CHECKPOINTS_PAGE_MAX = 1000
/** Problems `verify()` lists one by one before it only counts them. */
const PROBLEMS_LISTED_MAX = 100

function checkpointBytes (size: number, root: Uint8Array): Uint8Array {
  const s = Buffer.alloc(8)
  s.writeBigUInt64BE(BigInt(size))
  return Buffer.concat([s, root])
}

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url')
const unb64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64url'))
const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b))

interface CheckpointRow { size: number | bigint, root: Uint8Array, signature: Uint8Array, at: number | bigint }
const toCheckpoint = (r: CheckpointRow): Checkpoint => ({ size: Number(r.size), root: b64(r.root), signature: b64(r.signature), at: Number(r.at) })

function isSize (n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0
}

export class AuditLog {
  private readonly db: DatabaseSync
  private readonly key: KeyObject
  private readonly now: () => number
  private readonly schedule: (task: () => void) => void
  private readonly onError: (err: unknown) => void
  private readonly statements: {
    insertLeaf: StatementSync
    setSubtrees: StatementSync
    row: StatementSync
    last: StatementSync
    entries: StatementSync
    latest: StatementSync
    insertCheckpoint: StatementSync
    checkpointPage: StatementSync
  }

  /** Reads stored subtrees: level 0 is a row's leaf hash, level ℓ ≥ 1 a slice of the `subtrees` of the row that completed it. */
  private readonly reader: NodeReader
  /**
   * The frontier after the last append this process saw, with that append's
   * leaf: valid while the log's last leaf is still that one (another
   * process's append or a rolled-back transaction changes it).
   */
  private cached?: { range: CompactRange, last: Hash }
  private pending = false
  private closed = false

  constructor (db: DatabaseSync, signingKey: KeyObject, now: () => number, options: AuditLogOptions = {}) {
    this.db = db
    this.key = signingKey
    this.now = now
    this.schedule = options.schedule ?? (task => { setImmediate(task) })
    this.onError = options.onError ?? (() => {})
    addSubtreesColumn(db)
    this.statements = {
      insertLeaf: db.prepare('INSERT INTO audit (idx, entry, leaf_hash, subtrees) VALUES (?, ?, ?, ?)'),
      setSubtrees: db.prepare('UPDATE audit SET subtrees = ? WHERE idx = ?'),
      row: db.prepare('SELECT leaf_hash, subtrees FROM audit WHERE idx = ?'),
      // the last row is a walk down the primary key; COUNT(*) would scan every row
      last: db.prepare('SELECT idx, leaf_hash FROM audit ORDER BY idx DESC LIMIT 1'),
      entries: db.prepare('SELECT entry FROM audit WHERE idx >= ? ORDER BY idx LIMIT ?'),
      latest: db.prepare('SELECT size, root, signature, at FROM checkpoints ORDER BY size DESC LIMIT 1'),
      insertCheckpoint: db.prepare('INSERT INTO checkpoints (size, root, signature, at) VALUES (?, ?, ?, ?) ON CONFLICT(size) DO NOTHING'),
      checkpointPage: db.prepare('SELECT size, root, signature, at FROM checkpoints WHERE size >= ? ORDER BY size LIMIT ?')
    }
    this.reader = {
      node: (level, index) => {
        const hash = this.storedSubtree(level, index)
        if (hash == null) {
          throw new AuditLogDamagedError(`the audit log has no stored ${level === 0 ? `leaf ${index}` : `tree node (level ${level}, index ${index})`}; run \`tempus issuer audit verify\``)
        }
        return hash
      }
    }
    this.buildMissingNodes()
    const latest = this.latestRow()
    if (this.size > (latest == null ? 0 : Number(latest.size))) {
      // decisions committed without a checkpoint (a crash before the
      // scheduled one, or a log from before checkpoints were made on append)
      this.requestCheckpoint()
    }
  }

  get size (): number {
    const row = this.statements.last.get() as { idx: number | bigint } | undefined
    return row == null ? 0 : Number(row.idx) + 1
  }

  /** Append a decision; call inside the transaction that makes the decision. */
  append (kind: string, data: Record<string, unknown>): number {
    return this.appendMany([{ kind, data }])
  }

  /**
   * Append decisions in order, in one transaction (the caller's, if one is
   * open); returns the index of the first. The way to log many at once:
   * the frontier is read once and every leaf costs one row (with, on
   * average, one subtree hash).
   */
  appendMany (decisions: Array<{ kind: string, data: Record<string, unknown> }>): number {
    const run = (): number => {
      const range = this.frontier()
      const first = range.size
      // the cache is dropped until the rows are in: a failed insert must not leave it ahead of the table
      this.cached = undefined
      let last: Hash | undefined
      for (const { kind, data } of decisions) {
        const i = range.size
        const entry: AuditEntry = { i, at: this.now(), kind, data }
        const text = JSON.stringify(entry)
        last = leafHash(Buffer.from(text, 'utf8'))
        this.statements.insertLeaf.run(i, text, last, subtreesColumn(range.append(last)))
      }
      if (last != null) {
        this.cached = { range, last }
      }
      return first
    }
    // one row (a leaf with the subtrees it completes) is atomic by itself; a batch is all or nothing
    const first = this.db.isTransaction || decisions.length < 2 ? run() : transaction(this.db, run)
    if (decisions.length > 0) {
      this.requestCheckpoint()
    }
    return first
  }

  entries (from = 0, limit = 1000): AuditEntry[] {
    if (!isSize(from) || !isSize(limit) || limit < 1 || limit > 1000) {
      throw new IssuerError('bad-request', 'from ≥ 0 and 1 ≤ limit ≤ 1000')
    }
    const rows = this.statements.entries.all(from, limit) as Array<{ entry: string }>
    return rows.map(r => JSON.parse(r.entry) as AuditEntry)
  }

  /** The latest signed checkpoint. A read: it signs and stores nothing (unless the log never had one). */
  checkpoint (): Checkpoint {
    const row = this.latestRow()
    return row == null ? this.makeCheckpoint() : toCheckpoint(row)
  }

  /** Signed checkpoints of size ≥ `fromSize`, oldest first, at most `limit` (≤ 1000) per read. */
  checkpoints (fromSize = 0, limit = CHECKPOINTS_PAGE_MAX): Checkpoint[] {
    if (!isSize(fromSize) || !isSize(limit) || limit < 1 || limit > CHECKPOINTS_PAGE_MAX) {
      throw new IssuerError('bad-request', `fromSize ≥ 0 and 1 ≤ limit ≤ ${CHECKPOINTS_PAGE_MAX}`)
    }
    return (this.statements.checkpointPage.all(fromSize, limit) as unknown as CheckpointRow[]).map(toCheckpoint)
  }

  /**
   * Sign and store a checkpoint of the log as it is now, unless the latest
   * one already covers it. The scheduler calls this after appends.
   */
  makeCheckpoint (): Checkpoint {
    const range = this.frontier()
    const latest = this.latestRow()
    if (latest != null && Number(latest.size) >= range.size) {
      return toCheckpoint(latest)
    }
    const root = range.root()
    const signature = signDomain(this.key, DOMAINS.checkpoint, checkpointBytes(range.size, root))
    const at = this.now()
    this.statements.insertCheckpoint.run(range.size, root, signature, at)
    return toCheckpoint(this.latestRow() as CheckpointRow)
  }

  /** MTH of the first `size` entries (base64url): ≤ log₂ size + 1 reads. */
  root (size = this.size): string {
    this.checkSize(size, 'size')
    return b64(rootFromNodes(this.reader, size))
  }

  /** The audit path of entry `index` in the tree of the first `size` entries. */
  inclusion (index: number, size?: number): string[] {
    const n = size ?? this.size
    this.checkSize(n, 'size')
    if (!isSize(index) || index >= n) {
      throw new IssuerError('bad-request', `index must be an entry of the tree: 0 ≤ index < ${n}`)
    }
    return inclusionFromNodes(this.reader, index, n).map(b64)
  }

  /** Proof that the tree of the first `m` entries is a prefix of the tree of the first `n`. */
  consistency (m: number, n: number): string[] {
    this.checkSize(n, 'n')
    if (!isSize(m) || m < 1 || m > n) {
      throw new IssuerError('bad-request', `sizes must satisfy 1 ≤ m ≤ n, got m = ${String(m)}, n = ${n}`)
    }
    return consistencyFromNodes(this.reader, m, n).map(b64)
  }

  /** Make the checkpoint still owed to this process's appends, then stop scheduling. */
  close (): void {
    if (this.pending && this.db.isOpen && !this.db.isTransaction) {
      this.runCheckpoint()
    }
    this.closed = true
  }

  /**
   * The admin's full audit, in one pass over the entries: recompute every
   * leaf from its entry, every stored subtree from the leaves, and the root
   * at every checkpoint's size; check each checkpoint's signature. Roots
   * that all match one recomputed sequence of leaves are consistent with
   * each other by construction, so that is what "consistent" means here;
   * the served consistency proofs come from the stored subtrees, which are
   * checked node by node.
   */
  verify (publicKey: KeyObject): AuditVerification {
    const problems: string[] = []
    let unlisted = 0
    const problem = (p: string): void => {
      if (problems.length < PROBLEMS_LISTED_MAX) {
        problems.push(p)
      } else {
        unlisted++
      }
    }
    const checkpoints = this.db.prepare('SELECT size, root, signature, at FROM checkpoints ORDER BY size').iterate() as IterableIterator<CheckpointRow>
    let checkpointCount = 0
    let next = checkpoints.next()
    const checkCheckpointsUpTo = (range: CompactRange): void => {
      while (next.done !== true && Number(next.value.size) <= range.size) {
        const cp = toCheckpoint(next.value)
        checkpointCount++
        if (!verifyDomain(publicKey, unb64(cp.signature), DOMAINS.checkpoint, checkpointBytes(cp.size, unb64(cp.root)))) {
          problem(`checkpoint ${cp.size} has a bad signature`)
        }
        if (cp.size === range.size && b64(range.root()) !== cp.root) {
          problem(`checkpoint ${cp.size} root does not match the entries`)
        }
        next = checkpoints.next()
      }
    }
    const range = CompactRange.empty()
    checkCheckpointsUpTo(range)
    const rows = this.db.prepare('SELECT idx, entry, leaf_hash, subtrees FROM audit ORDER BY idx').iterate() as IterableIterator<{ idx: number | bigint, entry: string, leaf_hash: unknown, subtrees: unknown }>
    for (const row of rows) {
      const position = range.size
      const recomputed = leafHash(Buffer.from(row.entry, 'utf8'))
      if (Number(row.idx) !== position) {
        problem(`entry ${position} is stored at index ${row.idx}`)
      }
      if (!(row.leaf_hash instanceof Uint8Array) || !sameBytes(recomputed, row.leaf_hash)) {
        problem(`entry ${position} does not match its leaf hash`)
      }
      const completed = range.append(recomputed)
      const stored = row.subtrees instanceof Uint8Array ? row.subtrees : new Uint8Array(0)
      if (!sameBytes(subtreesColumn(completed) ?? new Uint8Array(0), stored)) {
        for (const node of completed) {
          this.checkStoredNode(node, problem)
        }
        if (stored.length > completed.length * 32 || (row.subtrees != null && !(row.subtrees instanceof Uint8Array))) {
          problem(`entry ${position} stores more subtrees than it completes`)
        }
      }
      checkCheckpointsUpTo(range)
    }
    for (; next.done !== true; next = checkpoints.next()) {
      checkpointCount++
      problem(`checkpoint ${Number(next.value.size)} is beyond the log (${range.size} entries)`)
    }
    if (unlisted > 0) {
      problems.push(`and ${unlisted} more problems`)
    }
    return { ok: problems.length === 0, size: range.size, checkpoints: checkpointCount, problems }
  }

  private checkStoredNode (node: TreeNode, problem: (p: string) => void): void {
    const stored = this.storedSubtree(node.level, node.index)
    if (stored == null) {
      problem(`tree node (level ${node.level}, index ${node.index}) is missing`)
    } else if (!sameBytes(stored, node.hash)) {
      problem(`tree node (level ${node.level}, index ${node.index}) does not match the entries`)
    }
  }

  /** Subtree (level, index) as stored, or undefined if it is not. */
  private storedSubtree (level: number, index: number): Hash | undefined {
    const width = 2 ** level
    // typed as stored, not as declared: a hand-edited row may hold anything
    const row = this.statements.row.get((index + 1) * width - 1) as { leaf_hash: unknown, subtrees: unknown } | undefined
    if (level === 0) {
      return row?.leaf_hash instanceof Uint8Array ? new Uint8Array(row.leaf_hash) : undefined
    }
    const stored = row?.subtrees
    if (!(stored instanceof Uint8Array) || stored.length < level * 32) {
      return undefined
    }
    return new Uint8Array(stored.subarray((level - 1) * 32, level * 32))
  }

  private checkSize (n: unknown, what: string): asserts n is number {
    const size = this.size
    if (!isSize(n) || n > size) {
      throw new IssuerError('bad-request', `${what} must be a size of the log: 0 ≤ ${what} ≤ ${size}`)
    }
  }

  private latestRow (): CheckpointRow | undefined {
    return this.statements.latest.get() as CheckpointRow | undefined
  }

  /**
   * The frontier of the log as stored now: the cached one if the log's last
   * leaf is still the one this process appended last, else read again
   * (popcount(n) reads).
   */
  private frontier (): CompactRange {
    const last = this.statements.last.get() as { idx: number | bigint, leaf_hash: Uint8Array } | undefined
    const size = last == null ? 0 : Number(last.idx) + 1
    if (this.cached != null && this.cached.range.size === size && last != null && sameBytes(this.cached.last, last.leaf_hash)) {
      return this.cached.range
    }
    this.cached = undefined
    return CompactRange.of(this.reader, size)
  }

  /**
   * A log written before the tree was stored (or by an older version after
   * it) lacks subtree hashes: build them in one pass over the leaves, in one
   * transaction. A gap in the entries stops the pass; `verify()` reports it.
   */
  private buildMissingNodes (): void {
    const complete = (): boolean => {
      try {
        this.frontier()
        return true
      } catch (err) {
        if (err instanceof AuditLogDamagedError) {
          return false
        }
        throw err
      }
    }
    if (complete()) {
      return
    }
    const build = (): void => {
      if (complete()) {
        return
      }
      const range = CompactRange.empty()
      // read the leaves first: the pass then updates rows it is not iterating over
      const leaves = (this.db.prepare('SELECT idx, leaf_hash FROM audit ORDER BY idx').all() as Array<{ idx: number | bigint, leaf_hash: Uint8Array }>)
      for (const row of leaves) {
        if (Number(row.idx) !== range.size) {
          break
        }
        const completed = range.append(new Uint8Array(row.leaf_hash))
        if (completed.length > 0) {
          this.statements.setSubtrees.run(subtreesColumn(completed), row.idx)
        }
      }
    }
    if (this.db.isTransaction) {
      build()
    } else {
      transaction(this.db, build)
    }
  }

  private requestCheckpoint (): void {
    if (this.pending || this.closed) {
      return
    }
    this.pending = true
    this.schedule(() => { this.runCheckpoint() })
  }

  private runCheckpoint (): void {
    if (this.closed || !this.db.isOpen) {
      this.pending = false
      return
    }
    if (this.db.isTransaction) {
      // someone holds a transaction across an await: sign what it commits,
      // on a later turn (a macrotask, so this never spins the microtask queue)
      setImmediate(() => { this.runCheckpoint() })
      return
    }
    this.pending = false
    try {
      this.makeCheckpoint()
    } catch (err) {
      this.onError(err)
    }
  }
}

/** The `subtrees` column of a leaf's row: the hashes of the subtrees it completed, level 1 first (null: none). */
function subtreesColumn (completed: TreeNode[]): Uint8Array | null {
  if (completed.length === 0) {
    return null
  }
  const out = new Uint8Array(completed.length * 32)
  completed.forEach((node, j) => { out.set(node.hash, j * 32) })
  return out
}

/** Logs from before the stored tree have no `subtrees` column: add it (the constructor then fills it). */
function addSubtreesColumn (db: DatabaseSync): void {
  const columns = db.prepare('PRAGMA table_info(audit)').all() as Array<{ name: string }>
  if (!columns.some(c => c.name === 'subtrees')) {
    db.exec('ALTER TABLE audit ADD COLUMN subtrees BLOB')
  }
}

/** A client's check: does checkpoint `b` extend checkpoint `a` (given the issuer's proof)? */
export function checkpointsConsistent (a: Checkpoint, b: Checkpoint, proof: string[], publicKey: KeyObject): boolean {
  const ok = (cp: Checkpoint): boolean => verifyDomain(publicKey, unb64(cp.signature), DOMAINS.checkpoint, checkpointBytes(cp.size, unb64(cp.root)))
  if (!ok(a) || !ok(b)) {
    return false
  }
  return verifyConsistency(a.size, b.size, unb64(a.root), unb64(b.root), proof.map(unb64))
}

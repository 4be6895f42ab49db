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
 * Reads go through the storage port (`db/sql.ts`) in one round trip each:
 * the tree math asks for the subtrees it needs by position alone, so the
 * positions are collected first (a dry run), fetched in one query, and the
 * math runs again on what came back (`withNodes`).
 *
 * Across replicas: appends happen inside the caller's write transaction,
 * which the backend serialises with every other writer of the database, so
 * the log stays one linear sequence whichever replica appends; the frontier
 * cached here is checked against the stored last leaf at every append.
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
import { DOMAINS } from '../core/domains.ts'
import { signDomain } from '../core/keys.ts'
import { IssuerError } from './errors.ts'
import { CompactRange, consistencyFromNodes, inclusionFromNodes, leafHash, rootFromNodes } from './merkle.ts'
import type { IssuerDb, SqlTx, SqlValue } from './db/sql.ts'
import type { AuditEntry, Checkpoint } from '../issuer-client/wire.ts'
import { AuditLogDamagedError, b64, checkpointBytes, CHECKPOINTS_PAGE_MAX, completingRow, damaged, INSERT_ROWS_MAX, insertLeaves, isSize, rowsAt, scan, SQL, sameBytes, subtreeOf, subtreesColumn, toCheckpoint } from './audit-rows.ts'
import { verifyAuditLog } from './audit-verify.ts'
import type { CheckpointRow, NodeRow } from './audit-rows.ts'
import type { AuditVerification } from './audit-verify.ts'
export { AuditLogDamagedError, CHECKPOINTS_PAGE_MAX }
export { checkpointsConsistent } from './audit-verify.ts'
export type { AuditVerification }
export type { AuditEntry, Checkpoint }
import type { Hash, NodeReader } from './merkle.ts'
import type { SignerKey } from '../core/keys.ts'
import type { KeyObject } from 'node:crypto'




export interface AuditLogOptions {
  /**
   * Runs the checkpoint task after an append. It must run after the
   * caller's transaction is done; tests pass one they run by hand.
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

export class AuditLog {
  private readonly db: IssuerDb
  private readonly key: SignerKey
  private readonly now: () => number
  private readonly schedule: (task: () => void) => void
  private readonly onError: (err: unknown) => void
  /**
   * The frontier after the last append this process saw, with that append's
   * leaf: valid while the log's last leaf is still that one (another
   * replica's append or a rolled-back transaction changes it).
   */
  private cached?: { range: CompactRange, last: Hash }
  private pending = false
  private running?: Promise<void>
  private closed = false

  private constructor (db: IssuerDb, signingKey: SignerKey, now: () => number, options: AuditLogOptions) {
    this.db = db
    this.key = signingKey
    this.now = now
    this.schedule = options.schedule ?? (task => { setImmediate(task) })
    this.onError = options.onError ?? (() => {})
  }

  /** The log in `db`, its stored tree completed if an older version left it without one. */
  static async open (db: IssuerDb, signingKey: SignerKey, now: () => number, options: AuditLogOptions = {}): Promise<AuditLog> {
    const log = new AuditLog(db, signingKey, now, options)
    await log.buildMissingNodes()
    const latest = await db.one<CheckpointRow>(SQL.latest)
    if (await log.size() > (latest == null ? 0 : Number(latest.size))) {
      // decisions committed without a checkpoint (a crash before the
      // scheduled one, or a log from before checkpoints were made on append)
      log.requestCheckpoint()
    }
    return log
  }

  async size (tx: Pick<SqlTx, 'one'> = this.db): Promise<number> {
    const row = await tx.one<{ idx: number | bigint }>(SQL.last)
    return row == null ? 0 : Number(row.idx) + 1
  }

  /** Append a decision; call inside the transaction that makes the decision. */
  async append (tx: SqlTx, kind: string, data: Record<string, unknown>): Promise<number> {
    return await this.appendMany(tx, [{ kind, data }])
  }

  /**
   * Append decisions in order, in the caller's transaction; returns the
   * index of the first. The way to log many at once: the frontier is read
   * once and every leaf costs one row (with, on average, one subtree hash).
   */
  async appendMany (tx: SqlTx, decisions: Array<{ kind: string, data: Record<string, unknown> }>): Promise<number> {
    const range = await this.frontier(tx)
    const first = range.size
    // the cache is dropped until the rows are in: a failed insert must not leave it ahead of the table
    this.cached = undefined
    let last: Hash | undefined
    // rows go in a few multi-row INSERTs: one round trip per chunk, not per
    // leaf (a group of tokens is one statement on PostgreSQL)
    let rows: SqlValue[] = []
    const flush = async (): Promise<void> => {
      if (rows.length > 0) {
        await tx.run(insertLeaves(rows.length / 4), rows)
        rows = []
      }
    }
    for (const { kind, data } of decisions) {
      const i = range.size
      const entry: AuditEntry = { i, at: this.now(), kind, data }
      const text = JSON.stringify(entry)
      last = leafHash(Buffer.from(text, 'utf8'))
      rows.push(i, text, last, subtreesColumn(range.append(last)))
      if (rows.length >= INSERT_ROWS_MAX * 4) {
        await flush()
      }
    }
    await flush()
    if (last != null) {
      this.cached = { range, last }
      this.requestCheckpoint()
    }
    return first
  }

  async entries (from = 0, limit = 1000): Promise<AuditEntry[]> {
    if (!isSize(from) || !isSize(limit) || limit < 1 || limit > 1000) {
      throw new IssuerError('bad-request', 'from ≥ 0 and 1 ≤ limit ≤ 1000')
    }
    const rows = await this.db.all<{ entry: string }>(SQL.entries, [from, limit])
    return rows.map(r => JSON.parse(r.entry) as AuditEntry)
  }

  /** The latest signed checkpoint. A read: it signs and stores nothing (unless the log never had one). */
  async checkpoint (): Promise<Checkpoint> {
    const row = await this.db.one<CheckpointRow>(SQL.latest)
    return row == null ? await this.makeCheckpoint() : toCheckpoint(row)
  }

  /** Signed checkpoints of size ≥ `fromSize`, oldest first, at most `limit` (≤ 1000) per read. */
  async checkpoints (fromSize = 0, limit = CHECKPOINTS_PAGE_MAX): Promise<Checkpoint[]> {
    if (!isSize(fromSize) || !isSize(limit) || limit < 1 || limit > CHECKPOINTS_PAGE_MAX) {
      throw new IssuerError('bad-request', `fromSize ≥ 0 and 1 ≤ limit ≤ ${CHECKPOINTS_PAGE_MAX}`)
    }
    return (await this.db.all<CheckpointRow>(SQL.checkpointPage, [fromSize, limit])).map(toCheckpoint)
  }

  /**
   * Sign and store a checkpoint of the log as it is now, unless the latest
   * one already covers it. The scheduler calls this after appends. In a
   * write transaction: the size and root it signs are those of one moment
   * of the log, whichever replica appends next.
   */
  async makeCheckpoint (): Promise<Checkpoint> {
    // covered already (a group commit signed its own, another replica one
    // of a larger size): a read, without taking the writer lock
    const [size, covering] = await Promise.all([this.size(), this.db.one<CheckpointRow>(SQL.latest)])
    if (covering != null && Number(covering.size) >= size) {
      return toCheckpoint(covering)
    }
    return await this.db.transaction(async tx => await this.checkpointIn(tx))
  }

  /**
   * Sign and store, in the caller's write transaction, a checkpoint of the
   * log as that transaction leaves it: a group commit that ends with this
   * covers its own decisions, and no separate transaction is needed for
   * them (the scheduled one then finds them covered).
   */
  async checkpointIn (tx: SqlTx): Promise<Checkpoint> {
    const range = await this.frontier(tx)
    const latest = await tx.one<CheckpointRow>(SQL.latest)
    if (latest != null && Number(latest.size) >= range.size) {
      return toCheckpoint(latest)
    }
    const root = range.root()
    const signature = signDomain(this.key, DOMAINS.checkpoint, checkpointBytes(range.size, root))
    const at = this.now()
    await tx.run(SQL.insertCheckpoint, [range.size, root, signature, at])
    return { size: range.size, root: b64(root), signature: b64(signature), at }
  }

  /** MTH of the first `size` entries (base64url): ≤ log₂ size + 1 stored nodes, one query. */
  async root (size?: number): Promise<string> {
    const n = size ?? await this.size()
    await this.checkSize(n, 'size')
    return b64(await this.withNodes(this.db, reader => rootFromNodes(reader, n)))
  }

  /** The audit path of entry `index` in the tree of the first `size` entries. */
  async inclusion (index: number, size?: number): Promise<string[]> {
    const n = size ?? await this.size()
    await this.checkSize(n, 'size')
    if (!isSize(index) || index >= n) {
      throw new IssuerError('bad-request', `index must be an entry of the tree: 0 ≤ index < ${n}`)
    }
    return (await this.withNodes(this.db, reader => inclusionFromNodes(reader, index, n))).map(b64)
  }

  /** Proof that the tree of the first `m` entries is a prefix of the tree of the first `n`. */
  async consistency (m: number, n: number): Promise<string[]> {
    await this.checkSize(n, 'n')
    if (!isSize(m) || m < 1 || m > n) {
      throw new IssuerError('bad-request', `sizes must satisfy 1 ≤ m ≤ n, got m = ${String(m)}, n = ${n}`)
    }
    return (await this.withNodes(this.db, reader => consistencyFromNodes(reader, m, n))).map(b64)
  }

  /** Make the checkpoint still owed to this process's appends, then stop scheduling. */
  async close (): Promise<void> {
    await this.running
    if (this.pending && !this.closed) {
      this.pending = false
      try {
        await this.makeCheckpoint()
      } catch (err) {
        this.onError(err)
      }
    }
    this.closed = true
  }

  /** The admin's full audit, in one pass over the entries (`audit-verify.ts`). */
  async verify (publicKey: KeyObject): Promise<AuditVerification> {
    return await verifyAuditLog(this.db, publicKey)
  }

  /**
   * Run tree math over stored subtrees in one query: a dry run collects the
   * positions it reads (they depend on sizes alone, never on hash values),
   * one query fetches their rows, and the math runs again on them.
   */
  private async withNodes<T> (tx: Pick<SqlTx, 'all'>, compute: (reader: NodeReader) => T): Promise<T> {
    const wanted = new Set<number>()
    const blank = new Uint8Array(32)
    compute({ node: (level, index) => { wanted.add(completingRow(level, index)); return blank } })
    const rows = new Map<number, NodeRow>()
    const indexes = [...wanted]
    for (let i = 0; i < indexes.length; i += 500) {
      const chunk = indexes.slice(i, i + 500)
      for (const row of await tx.all<NodeRow>(rowsAt(chunk), chunk)) {
        rows.set(Number(row.idx), row)
      }
    }
    return compute({
      node: (level, index) => {
        const hash = subtreeOf(rows.get(completingRow(level, index)), level)
        if (hash == null) {
          throw damaged(level, index)
        }
        return hash
      }
    })
  }

  private async checkSize (n: unknown, what: string): Promise<void> {
    const size = await this.size()
    if (!isSize(n) || n > size) {
      throw new IssuerError('bad-request', `${what} must be a size of the log: 0 ≤ ${what} ≤ ${size}`)
    }
  }

  /**
   * The frontier of the log as stored now: the cached one if the log's last
   * leaf is still the one this process appended last, else read again
   * (popcount(n) nodes, one query).
   */
  private async frontier (tx: Pick<SqlTx, 'one' | 'all'>): Promise<CompactRange> {
    const last = await tx.one<{ idx: number | bigint, leaf_hash: Uint8Array }>(SQL.last)
    const size = last == null ? 0 : Number(last.idx) + 1
    if (this.cached != null && this.cached.range.size === size && last != null && sameBytes(this.cached.last, last.leaf_hash)) {
      return this.cached.range
    }
    this.cached = undefined
    return await this.withNodes(tx, reader => CompactRange.of(reader, size))
  }

  /**
   * A log written before the tree was stored (or by an older version after
   * it) lacks subtree hashes: build them in one pass over the leaves, in one
   * transaction. A gap in the entries stops the pass; `verify()` reports it.
   */
  private async buildMissingNodes (): Promise<void> {
    const complete = async (tx: Pick<SqlTx, 'one' | 'all'>): Promise<boolean> => {
      try {
        await this.frontier(tx)
        return true
      } catch (err) {
        if (err instanceof AuditLogDamagedError) {
          return false
        }
        throw err
      }
    }
    if (await complete(this.db)) {
      return
    }
    await this.db.transaction(async tx => {
      if (await complete(tx)) {
        return
      }
      const range = CompactRange.empty()
      // read the leaves first: the pass then updates rows it is not reading
      const leaves: Array<{ idx: number | bigint, leaf_hash: Uint8Array }> = []
      for await (const row of scan<{ idx: number | bigint, leaf_hash: Uint8Array }>(tx, SQL.leafPage, r => Number(r.idx))) {
        leaves.push(row)
      }
      for (const row of leaves) {
        if (Number(row.idx) !== range.size) {
          break
        }
        const completed = range.append(new Uint8Array(row.leaf_hash))
        if (completed.length > 0) {
          await tx.run(SQL.setSubtrees, [subtreesColumn(completed), Number(row.idx)])
        }
      }
    })
  }

  private requestCheckpoint (): void {
    if (this.pending || this.closed) {
      return
    }
    this.pending = true
    this.schedule(() => { void this.runCheckpoint() })
  }

  private async runCheckpoint (): Promise<void> {
    if (this.closed || !this.pending) {
      return
    }
    this.pending = false
    const running = this.makeCheckpoint().then(() => {}, err => { this.onError(err) })
    this.running = running
    await running
  }
}


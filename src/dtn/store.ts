/**
 * The bundles a node holds, in node:sqlite (WAL, synchronous = FULL): a
 * bundle the caller was told is stored survives kill -9 and power loss.
 *
 * - `fragments`: what this node carries or has not finished reassembling,
 *   each with the routing state of its copy (hops, spray copies);
 * - `outbox`: the bundles sent from here, and when their receipt came;
 * - `inbox`: the bundles delivered here (the payload, until it expires; the
 *   row is also what suppresses a second delivery);
 * - `receipts`: signed delivery receipts, passed on until the bundle expires.
 *
 * Quotas (total bytes, bytes per source) are checked before every insert;
 * expired rows are deleted by `expire`, and never read before that; an
 * `expire` with nothing due touches no table (`ExpiryBound`).
 */
import { ExpiryBound, openSqliteStore } from '../storage/index.ts'
import { encodeEndorsement } from './bundle.ts'
import { formatDestination, parseDestination } from './destination.ts'
import { DtnError } from './errors.ts'
import type { Fragment } from './bundle.ts'
import type { Receipt } from './receipt.ts'
import { costOf, fromRow, migrate, prepare, receiptFromRow, SCHEMA } from './store-schema.ts'
import type { Row } from './store-schema.ts'
import type { DatabaseSync } from 'node:sqlite'
import type { CarriedEntry, HeldFragment, InboxEntry, OutboxEntry, Quota, StoreUsage } from './store-entries.ts'
export { costOf }
export type { CarriedEntry, HeldFragment, InboxEntry, OutboxEntry, Quota, StoreUsage } from './store-entries.ts'

/** how long a read's answer may stand for the same read while nothing is written, ms */
const READ_MEMO_MS = 1_000

interface ReadMemo<T> { writes: number, at: number, limit: number, rows: T[] }

/** A read's last answer, if nothing was written since and it is recent: without what expired since. */
function recall<T extends { expiresAt: number }> (memo: ReadMemo<T> | undefined, writes: number, now: number, limit: number): T[] | undefined {
  if (memo == null || memo.writes !== writes || memo.limit !== limit || now < memo.at || now - memo.at >= READ_MEMO_MS) {
    return undefined
  }
  return memo.rows.filter(r => r.expiresAt > now)
}

export class BundleStore {
  readonly quota: Quota
  private readonly db: DatabaseSync
  private readonly stmts: ReturnType<typeof prepare>
  private bytes = 0
  private readonly bySource = new Map<string, number>()
  private receiptCount = 0
  private readonly expiry: ExpiryBound
  /** counter changes of the transaction in progress */
  private pending?: { total: number, bySource: Map<string, number> }
  /**
   * A session's offer reads the held fragments and the newest receipts, and
   * a round offers to every connected peer at once (a sentinel: sixty of
   * them), each the same two queries over the same rows: the 100-process
   * chaos run's sentinels spent two thirds of their SQLite time there. Those
   * reads are answered from the last one while SQLite's count of rows
   * written (`total_changes()`) has not moved and it is under `READ_MEMO_MS`
   * old, narrowed to what has not expired by now.
   */
  private heldMemo?: ReadMemo<HeldFragment>
  private receiptsMemo?: ReadMemo<Receipt>

  /**
   * `path` of a database file, or ':memory:'; `recovery`: what the operator
   * can do about a lost or damaged file (named in every storage error)
   */
  constructor (path: string, quota: Quota, options: { synchronous?: 'FULL' | 'NORMAL', recovery?: string } = {}) {
    this.quota = quota
    // a lost or damaged file is refused, never silently recreated (src/storage)
    this.db = openSqliteStore(path, {
      recovery: options.recovery,
      setup: db => {
        db.exec('PRAGMA journal_mode = WAL')
        // FULL: a commit is on disk before the caller hears "stored"
        db.exec(`PRAGMA synchronous = ${options.synchronous ?? 'FULL'}`)
        db.exec('PRAGMA busy_timeout = 5000')
        db.exec(SCHEMA)
        migrate(db)
      }
    })
    this.stmts = prepare(this.db)
    // the quota counters start from what is on disk
    for (const row of this.db.prepare('SELECT source, SUM(n) AS n FROM (SELECT source, SUM(cost) AS n FROM fragments GROUP BY source UNION ALL SELECT source, SUM(length(payload)) AS n FROM inbox GROUP BY source) GROUP BY source').all() as Array<{ source: string, n: number }>) {
      this.account(row.source, Number(row.n))
    }
    this.receiptCount = Number((this.db.prepare('SELECT COUNT(*) AS n FROM receipts').get() as { n: number }).n)
    this.expiry = new ExpiryBound(this.stmts.firstExpiry)
  }

  // ---- writes -------------------------------------------------------------

  /**
   * Store the fragments of one or more bundles in one transaction (one
   * fsync). A bundle whose fragments do not fit the quotas is refused whole;
   * the others are stored. Returns, per fragment, whether it was new.
   * `outbox` records bundles sent from here.
   */
  add (batches: Array<{ fragments: Fragment[], receivedFrom?: string, outbox?: boolean }>, now: number): Array<boolean[] | DtnError> {
    const results: Array<boolean[] | DtnError> = []
    this.transaction(() => {
      for (const batch of batches) {
        // what is held already costs nothing more (a new send holds nothing yet)
        const size = batch.fragments.reduce((n, f) => n + (batch.outbox === true || this.stmts.has.get(f.id, f.offset) == null ? costOf(f) : 0), 0)
        const source = batch.fragments[0]?.source ?? ''
        const refusal = this.refusal(source, size)
        if (refusal != null) {
          results.push(refusal)
          continue
        }
        const stored = batch.fragments.map(f => {
          const r = this.stmts.insert.run(f.id, f.offset, f.source, formatDestination(f.destination), f.createdAt, f.expiresAt, f.totalLength, f.payload.length,
            f.hops, f.hopLimit, f.copies, f.header, f.payload, f.signature, f.token, f.keyCertificate, batch.receivedFrom ?? null, now, costOf(f),
            f.endorsement == null ? null : encodeEndorsement(f.endorsement))
          const isNew = Number(r.changes) === 1
          if (isNew) {
            this.account(f.source, costOf(f))
            this.expiry.lower(f.expiresAt)
          }
          return isNew
        })
        const first = batch.fragments[0]
        if (batch.outbox === true && first != null) {
          this.stmts.outboxAdd.run(first.id, formatDestination(first.destination), first.createdAt, first.expiresAt, first.totalLength, batch.fragments.length)
          this.expiry.lower(first.expiresAt)
        }
        results.push(stored)
      }
    })
    return results
  }

  /** Why `size` more bytes from `source` do not fit, if they do not. */
  refusal (source: string, size: number): DtnError | undefined {
    const bytes = this.bytes + (this.pending?.total ?? 0)
    if (bytes + size > this.quota.totalBytes) {
      return new DtnError('quota-full', `the store is full (${bytes} of ${this.quota.totalBytes} bytes)`)
    }
    if ((this.bySource.get(source) ?? 0) + (this.pending?.bySource.get(source) ?? 0) + size > this.quota.perSourceBytes) {
      return new DtnError('quota-full', `the quota of this source is full (${this.quota.perSourceBytes} bytes)`)
    }
    return undefined
  }

  /**
   * Take `give` spray copies from a held fragment, atomically, leaving it at
   * least one; false if it no longer has them (another session took them).
   */
  takeCopies (id: string, offset: number, give: number): boolean {
    return this.stmts.takeCopies.all(give, id, offset, give).length === 1
  }

  /** Give back copies taken for a hand-over that did not happen. */
  returnCopies (id: string, offset: number, give: number): void {
    this.stmts.returnCopies.run(give, id, offset)
  }

  /** Drop every bundle of these sources (revoked): one transaction. */
  removeSources (sources: string[]): number {
    let n = 0
    this.transaction(() => {
      for (const source of sources) {
        const rows = this.stmts.removeSource.all(source)
        this.unaccount(rows)
        n += rows.length
      }
    })
    return n
  }

  remove (id: string, offset: number): void {
    this.unaccount(this.stmts.remove.all(id, offset))
  }

  removeBundle (id: string): number {
    const rows = this.stmts.removeBundle.all(id)
    this.unaccount(rows)
    return rows.length
  }

  /**
   * Record a delivery here: the payload into the inbox and, for a bundle
   * addressed to this node alone, its fragments out of the store, in one
   * transaction. False if it had been delivered already.
   */
  deliver (entry: Omit<InboxEntry, 'size'> & { payload: Uint8Array }, removeFragments: boolean): boolean {
    let fresh = false
    this.transaction(() => {
      fresh = Number(this.stmts.inboxAdd.run(entry.id, entry.source, entry.destination, entry.createdAt, entry.expiresAt, entry.receivedAt, entry.payload, entry.sourceOverlay ?? null).changes) === 1
      if (fresh) {
        this.account(entry.source, entry.payload.length)
        this.expiry.lower(entry.expiresAt)
      }
      if (removeFragments) {
        this.unaccount(this.stmts.removeBundle.all(entry.id))
      }
    })
    return fresh
  }

  /** Keep a receipt (false if known or the table is full) and mark an own bundle delivered. */
  addReceipt (r: Receipt): boolean {
    if (this.receiptCount >= this.quota.receipts) {
      return false
    }
    const added = Number(this.stmts.receiptAdd.run(r.id, r.destination, r.source, r.deliveredAt, r.expiresAt, r.wire.body, r.wire.signature).changes) === 1
    if (added) {
      this.receiptCount++
      this.expiry.lower(r.expiresAt)
      // a bundle to another overlay names the destination `<peer>@<overlay>`
      this.stmts.outboxDelivered.run(r.deliveredAt, r.id, r.destination, `${r.destination}@%`)
    }
    return added
  }

  /** Delete what expired; returns how many rows went. Nothing due: no table is touched. */
  expire (now: number): number {
    if (!this.expiry.due(now)) {
      return 0
    }
    let n = 0
    this.transaction(() => {
      const fragments = this.stmts.expireFragments.all(now)
      const inbox = this.stmts.expireInbox.all(now)
      this.unaccount(fragments)
      this.unaccount(inbox)
      const receipts = Number(this.stmts.expireReceipts.run(now).changes)
      this.receiptCount -= receipts
      n = fragments.length + inbox.length + receipts + Number(this.stmts.expireOutbox.run(now).changes)
    })
    this.expiry.reread()
    return n
  }


  // ---- reads --------------------------------------------------------------

  has (id: string, offset: number): boolean {
    return this.stmts.has.get(id, offset) != null
  }

  delivered (id: string): boolean {
    return this.stmts.inboxHas.get(id) != null
  }

  isOwn (id: string): boolean {
    return this.stmts.outboxHas.get(id) != null
  }

  /** The destination of a bundle sent from here. */
  outboxDestination (id: string): string | undefined {
    return (this.stmts.outboxDestination.get(id) as { destination: string } | undefined)?.destination
  }

  fragment (id: string, offset: number, now: number): Fragment | undefined {
    const row = this.stmts.get.get(id, offset, now) as Row | undefined
    return row == null ? undefined : fromRow(row)
  }

  fragmentsOf (id: string, now: number): Fragment[] {
    return (this.stmts.ofBundle.all(id, now) as unknown as Row[]).map(fromRow)
  }

  /** Where the fragments held of a bundle sit, and the whole payload's length. */
  pieces (id: string, now: number): Array<{ offset: number, length: number, total: number }> {
    return this.stmts.pieces.all(id, now) as Array<{ offset: number, length: number, total: number }>
  }

  /** One fragment of a bundle, for what every fragment says alike (source, destination). */
  anyFragment (id: string, now: number): Fragment | undefined {
    const row = this.stmts.any.get(id, now) as Row | undefined
    return row == null ? undefined : fromRow(row)
  }

  /** Held fragments (no bytes), oldest first. */
  held (now: number, limit: number): HeldFragment[] {
    const writes = this.writes()
    const memo = recall(this.heldMemo, writes, now, limit)
    if (memo != null) {
      return memo
    }
    const rows = (this.stmts.held.all(now, limit) as Array<Record<string, any>>).map(r => ({
      id: r.id,
      offset: r.offset,
      length: r.length,
      source: r.source,
      destination: parseDestination(r.destination),
      expiresAt: r.expires,
      hops: r.hops,
      hopLimit: r.hop_limit,
      copies: r.copies
    }))
    this.heldMemo = { writes, at: now, limit, rows }
    return [...rows]
  }

  receipt (id: string, now: number): Receipt | undefined {
    const row = this.stmts.receiptGet.get(id, now) as Record<string, any> | undefined
    return row == null ? undefined : receiptFromRow(row)
  }

  newestReceipts (now: number, limit: number): Receipt[] {
    const writes = this.writes()
    const memo = recall(this.receiptsMemo, writes, now, limit)
    if (memo != null) {
      return memo
    }
    const rows = (this.stmts.receiptsNewest.all(now, limit) as Array<Record<string, any>>).map(receiptFromRow)
    this.receiptsMemo = { writes, at: now, limit, rows }
    return [...rows]
  }

  /** rows written through this store's connection since it opened */
  private writes (): number {
    return Number((this.stmts.writes.get() as { n: number | bigint }).n)
  }

  outbox (now: number, limit = 100): OutboxEntry[] {
    return (this.db.prepare('SELECT * FROM outbox WHERE expires > ? ORDER BY created DESC LIMIT ?').all(now, limit) as Array<Record<string, any>>).map(r => ({
      id: r.id,
      destination: r.destination,
      createdAt: r.created,
      expiresAt: r.expires,
      size: r.size,
      fragments: r.fragments,
      ...(r.delivered_at != null ? { deliveredAt: r.delivered_at } : {})
    }))
  }

  /** Delivered bundles; payloads up to `maxPayload` bytes are included. */
  inbox (now: number, limit = 100, maxPayload = 64 * 1024): InboxEntry[] {
    return (this.db.prepare('SELECT id, source, source_overlay, destination, created, expires, received_at, length(payload) AS size, CASE WHEN length(payload) <= ? THEN payload END AS payload FROM inbox WHERE expires > ? ORDER BY received_at DESC LIMIT ?')
      .all(maxPayload, now, limit) as Array<Record<string, any>>).map(r => ({
      id: r.id,
      source: r.source,
      ...(r.source_overlay != null ? { sourceOverlay: r.source_overlay } : {}),
      destination: r.destination,
      createdAt: r.created,
      expiresAt: r.expires,
      receivedAt: r.received_at,
      size: r.size,
      ...(r.payload != null ? { payload: r.payload as Uint8Array } : {})
    }))
  }

  /** The bundles held as fragments (carried, or waiting for the rest). */
  carried (now: number, limit = 100): CarriedEntry[] {
    return (this.db.prepare('SELECT id, source, destination, MAX(expires) AS expires, COUNT(*) AS fragments, SUM(length) AS bytes, MAX(copies) AS copies FROM fragments WHERE expires > ? GROUP BY id ORDER BY MIN(received_at) DESC LIMIT ?')
      .all(now, limit) as Array<Record<string, any>>).map(r => ({
      id: r.id, source: r.source, destination: r.destination, expiresAt: r.expires, fragments: r.fragments, bytes: r.bytes, copies: r.copies
    }))
  }

  usage (now: number): StoreUsage {
    const count = (sql: string): number => Number((this.db.prepare(sql).get(now) as { n: number }).n)
    return {
      bytes: this.bytes,
      fragments: count('SELECT COUNT(*) AS n FROM fragments WHERE expires > ?'),
      inbox: count('SELECT COUNT(*) AS n FROM inbox WHERE expires > ?'),
      outbox: count('SELECT COUNT(*) AS n FROM outbox WHERE expires > ?'),
      receipts: count('SELECT COUNT(*) AS n FROM receipts WHERE expires > ?')
    }
  }

  /**
   * Nothing held that an offer could name: no fragment (each costs at least
   * MIN_FRAGMENT_COST, so none is held while the byte count is 0) and no
   * receipt. From the counters, without a query: an idle node offers to
   * each peer every period.
   */
  get nothingToOffer (): boolean {
    return this.bytes === 0 && this.receiptCount === 0
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

  // ---- internals ----------------------------------------------------------

  /**
   * Run `fn` in one transaction. The quota counters follow only once it
   * committed: a rolled-back transaction leaves them as they were.
   */
  private transaction (fn: () => void): void {
    this.pending = { total: 0, bySource: new Map() }
    const pending = this.pending
    this.db.exec('BEGIN IMMEDIATE')
    try {
      fn()
      this.db.exec('COMMIT')
    } catch (err) {
      this.pending = undefined
      if (this.db.isTransaction) {
        this.db.exec('ROLLBACK')
      }
      throw err
    }
    this.pending = undefined
    for (const [source, n] of pending.bySource) {
      this.account(source, n)
    }
  }

  private account (source: string, n: number): void {
    if (this.pending != null) {
      this.pending.total += n
      this.pending.bySource.set(source, (this.pending.bySource.get(source) ?? 0) + n)
      return
    }
    this.bytes += n
    const left = (this.bySource.get(source) ?? 0) + n
    if (left > 0) {
      this.bySource.set(source, left)
    } else {
      this.bySource.delete(source)
    }
  }

  private unaccount (rows: unknown[]): void {
    for (const r of rows as Array<{ source: string, length: number }>) {
      this.account(r.source, -Number(r.length))
    }
  }
}


import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { after, before, describe, it } from 'node:test'
import { generateEd25519 } from '../../src/core/keys.ts'
import { AuditLog, checkpointsConsistent } from '../../src/issuer/audit-log.ts'
import { IssuerError } from '../../src/issuer/errors.ts'
import { consistencyProof, inclusionProof, leafHash, rootOf, verifyConsistency, verifyInclusion } from '../../src/issuer/merkle.ts'
import { openIssuerDb, sqliteIssuerDb } from '../../src/issuer/db/sqlite.ts'
import type { IssuerDb } from '../../src/issuer/db/sql.ts'
import type { Hash } from '../../src/issuer/merkle.ts'

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url')
const unb64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64url'))
const key = generateEd25519()
/** an injected clock: every reading one millisecond later */
const clock = (): () => number => { let t = 1_700_000_000_000; return () => t++ }
/** a scheduler the test runs by hand: checkpoints happen only when it says */
const manual = (): { schedule: (task: () => void) => void, run: () => Promise<number> } => {
  const tasks: Array<() => void> = []
  return {
    schedule: task => { tasks.push(task) },
    run: async () => { const n = tasks.length; for (const t of tasks.splice(0)) t(); await settled(); return n }
  }
}
/** every microtask, the scheduled checkpoint after it, and its transaction have run */
const settled = async (): Promise<void> => { for (let i = 0; i < 3; i++) await new Promise(resolve => setImmediate(resolve)) }
/** the port over a raw handle the test can also edit directly */
const open = (path: string): { raw: DatabaseSync, db: IssuerDb } => { const raw = openIssuerDb(path); return { raw, db: sqliteIssuerDb(raw, path) } }
/** appends, each in a transaction of its own */
const appendEach = async (db: IssuerDb, log: AuditLog, kind: string, count: number): Promise<void> => {
  for (let i = 0; i < count; i++) await db.transaction(async tx => await log.append(tx, kind, { i }))
}
const appendMany = async (db: IssuerDb, log: AuditLog, decisions: Array<{ kind: string, data: Record<string, unknown> }>): Promise<number> =>
  await db.transaction(async tx => await log.appendMany(tx, decisions))

/** subtree hashes stored in the leaves' rows (32 bytes each) */
const subtrees = (db: DatabaseSync): number => Number((db.prepare('SELECT COALESCE(SUM(length(subtrees)), 0) / 32 AS n FROM audit').get() as { n: number }).n)
/** rows this connection has written since it opened */
const changes = (db: DatabaseSync): number => Number((db.prepare('SELECT total_changes() AS n').get() as { n: number }).n)
const rows = (db: DatabaseSync, table: string): number => Number((db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n)
const storedLeaves = (db: DatabaseSync): Hash[] => (db.prepare('SELECT leaf_hash FROM audit ORDER BY idx').all() as Array<{ leaf_hash: Uint8Array }>).map(r => new Uint8Array(r.leaf_hash))
const popcount = (n: number): number => n.toString(2).replaceAll('0', '').length
const badRequest = (e: unknown): boolean => e instanceof IssuerError && e.code === 'bad-request'

describe('audit log (incremental Merkle tree in sqlite)', () => {
  let dir: string
  let n = 0
  const dbPath = (): string => join(dir, `issuer-${n++}.db`)
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'tempus-audit-')) })
  after(async () => { await rm(dir, { recursive: true, force: true }) })

  it('100 checkpoint reads store no checkpoint (a read returns the latest signed one); the appends\' own checkpoint comes from the scheduler', async () => {
    const { raw, db } = open(dbPath())
    const scheduler = manual()
    const log = await AuditLog.open(db, key.privateKey, clock(), { schedule: scheduler.schedule })
    await db.transaction(async tx => await log.append(tx, 'init', {}))
    await scheduler.run()
    const first = await log.checkpoint()
    for (let i = 0; i < 100; i++) {
      await db.transaction(async tx => await log.append(tx, 'token', { i }))
      const before = rows(raw, 'checkpoints')
      const read = await log.checkpoint()
      await log.checkpoints()
      await log.consistency(1, await log.size())
      assert.equal(rows(raw, 'checkpoints'), before, `read ${i} stored a checkpoint`)
      assert.deepEqual(read, first, 'a read returns the latest signed checkpoint, unchanged')
    }
    assert.equal(rows(raw, 'checkpoints'), 1)
    // the 100 appends (not the reads) owe one checkpoint, made when the scheduler runs
    assert.equal(await scheduler.run(), 1)
    assert.equal(rows(raw, 'checkpoints'), 2)
    assert.equal((await log.checkpoint()).size, 101)
    await db.close()
  })

  it('a decision\'s transaction gets one checkpoint covering it right after it commits (default scheduler)', async () => {
    const { raw, db } = open(dbPath())
    const log = await AuditLog.open(db, key.privateKey, clock())
    await db.transaction(async tx => { for (let i = 0; i < 50; i++) await log.append(tx, 'code', { i }) })
    await settled()
    assert.equal(rows(raw, 'checkpoints'), 1, 'one checkpoint for the whole transaction')
    assert.equal((await log.checkpoint()).size, 50)
    await db.transaction(async tx => await log.append(tx, 'token', {}))
    await settled()
    assert.equal((await log.checkpoint()).size, 51)
    // a transaction that rolls back owes nothing
    await assert.rejects(db.transaction(async tx => { await log.append(tx, 'code', {}); throw new Error('refused') }), /refused/)
    await settled()
    assert.equal((await log.checkpoint()).size, 51)
    assert.equal(rows(raw, 'checkpoints'), 2)
    const [a, b] = await log.checkpoints() as [any, any]
    assert.ok(checkpointsConsistent(a, b, await log.consistency(a.size, b.size), key.publicKey))
    assert.deepEqual((await log.verify(key.publicKey)).problems, [])
    await db.close()
  })

  it('roots and proofs equal the array reference at every size, however the entries were appended', async () => {
    const { raw, db } = open(dbPath())
    const log = await AuditLog.open(db, key.privateKey, clock())
    // single appends, appends in one transaction, batches, and a rolled-back one in between
    await appendEach(db, log, 'token', 37)
    await db.transaction(async tx => { for (let i = 0; i < 100; i++) await log.append(tx, 'code', { i }) })
    await assert.rejects(db.transaction(async tx => { await log.appendMany(tx, [{ kind: 'x', data: {} }, { kind: 'y', data: {} }]); throw new Error('rollback') }), /rollback/)
    await appendMany(db, log, Array.from({ length: 300 }, (_, i) => ({ kind: 'enroll', data: { i } })))
    await appendEach(db, log, 'token', 76)
    assert.equal(await log.size(), 513)
    await settled()
    const leaves = storedLeaves(raw)
    for (let size = 1; size <= leaves.length; size++) {
      const prefix = leaves.slice(0, size)
      const root = rootOf(prefix)
      assert.equal(await log.root(size), b64(root), `root ${size}`)
      if (size % 16 === 1 || size > 500) {
        for (const i of [0, size >> 1, size - 1]) {
          const proof = await log.inclusion(i, size)
          assert.deepEqual(proof, inclusionProof(i, prefix).map(b64))
          assert.ok(verifyInclusion(leaves[i] as Hash, i, size, proof.map(unb64), root))
        }
        for (const m of [1, size >> 1 || 1, size]) {
          const proof = await log.consistency(m, size)
          assert.deepEqual(proof, consistencyProof(m, prefix).map(b64))
          assert.ok(verifyConsistency(m, size, rootOf(leaves.slice(0, m)), root, proof.map(unb64)))
        }
      }
    }
    // the latest checkpoint is signed over the same root
    assert.equal((await log.checkpoint()).root, b64(rootOf(leaves)))
    assert.equal(subtrees(raw), 513 - popcount(513))
    await db.close()
  })

  it('another process\'s appends on the same file are taken into the tree', async () => {
    const path = dbPath()
    const { raw, db } = open(path)
    const server = await AuditLog.open(db, key.privateKey, clock(), { schedule: () => {} })
    await appendEach(db, server, 'token', 10)
    // the CLI opens the same issuer.db and makes decisions of its own
    const cliDb = open(path).db
    const cli = await AuditLog.open(cliDb, key.privateKey, clock(), { schedule: () => {} })
    await appendMany(cliDb, cli, Array.from({ length: 7 }, (_, i) => ({ kind: 'code', data: { i } })))
    await cli.close()
    await cliDb.close()
    await db.transaction(async tx => await server.append(tx, 'token', { i: 10 }))
    const leaves = storedLeaves(raw)
    assert.equal(leaves.length, 18)
    assert.equal(await server.root(), b64(rootOf(leaves)))
    assert.equal((await server.checkpoint()).size, 17, 'the CLI left a checkpoint of its decisions when it closed')
    assert.deepEqual((await server.verify(key.publicKey)).problems, [])
    await db.close()
  })

  it('a reopened log keeps its roots and checkpoints and appends on from the stored frontier; close() makes the owed checkpoint', async () => {
    const path = dbPath()
    let { raw, db } = open(path)
    let log = await AuditLog.open(db, key.privateKey, clock(), { schedule: () => {} })
    await appendMany(db, log, Array.from({ length: 1000 }, (_, i) => ({ kind: 'token', data: { i } })))
    await log.close()
    await db.close();
    ({ raw, db } = open(path))
    log = await AuditLog.open(db, key.privateKey, clock(), { schedule: () => {} })
    assert.equal((await log.checkpoint()).size, 1000, 'close() made the checkpoint the appends owed')
    const sizes = [1, 2, 999, 1000]
    const roots = await Promise.all(sizes.map(async s => await log.root(s)))
    await log.close()
    await db.close();
    ({ raw, db } = open(path))
    log = await AuditLog.open(db, key.privateKey, clock(), { schedule: () => {} })
    assert.equal(changes(raw), 0, 'nothing rebuilt or written at open')
    assert.deepEqual(await Promise.all(sizes.map(async s => await log.root(s))), roots)
    await appendEach(db, log, 'token', 24)
    assert.equal(await log.root(), b64(rootOf(storedLeaves(raw))))
    assert.equal(subtrees(raw), 1024 - 1)
    await db.close()
  })

  it('an issuer.db from before the stored tree gets its nodes built once at open', async () => {
    const path = dbPath()
    // the old schema: entries and leaf hashes, checkpoints, no node table
    const old = new DatabaseSync(path)
    old.exec('CREATE TABLE audit (idx INTEGER PRIMARY KEY, entry TEXT NOT NULL, leaf_hash BLOB NOT NULL); CREATE TABLE checkpoints (size INTEGER PRIMARY KEY, root BLOB NOT NULL, signature BLOB NOT NULL, at INTEGER NOT NULL)')
    const insert = old.prepare('INSERT INTO audit (idx, entry, leaf_hash) VALUES (?, ?, ?)')
    const leaves: Hash[] = []
    old.exec('BEGIN')
    for (let i = 0; i < 3000; i++) {
      const entry = JSON.stringify({ i, at: 1_700_000_000_000 + i, kind: 'token', data: { i } })
      const leaf = leafHash(Buffer.from(entry, 'utf8'))
      leaves.push(leaf)
      insert.run(i, entry, leaf)
    }
    old.exec('COMMIT')
    old.close()
    const { raw, db } = open(path)
    const log = await AuditLog.open(db, key.privateKey, clock(), { schedule: () => {} })
    assert.equal(subtrees(raw), 3000 - popcount(3000))
    assert.equal(await log.root(), b64(rootOf(leaves)))
    assert.deepEqual(await log.consistency(1234, 3000), consistencyProof(1234, leaves).map(b64))
    assert.deepEqual(await log.inclusion(2999), inclusionProof(2999, leaves).map(b64))
    // the entries it had were never checkpointed: the first read finds one made at open's request
    await log.close()
    const reopened = await AuditLog.open(db, key.privateKey, clock(), { schedule: () => {} })
    assert.equal((await reopened.checkpoint()).size, 3000)
    await db.transaction(async tx => await reopened.append(tx, 'key-activated', {}))
    assert.equal(await reopened.root(), b64(rootOf(storedLeaves(raw))))
    assert.deepEqual((await reopened.verify(key.publicKey)).problems, [])
    await db.close()
  })

  it('verify() catches an edited entry, an edited leaf hash, an edited or missing tree node and a forged checkpoint', async () => {
    const { raw, db } = open(dbPath())
    const log = await AuditLog.open(db, key.privateKey, clock())
    await appendMany(db, log, Array.from({ length: 200 }, (_, i) => ({ kind: i === 77 ? 'enroll' : 'token', data: { typ: 'sentinel', i } })))
    await settled()
    assert.deepEqual(await log.verify(key.publicKey), { ok: true, size: 200, checkpoints: 1, problems: [] })
    const problems = async (): Promise<string[]> => (await log.verify(key.publicKey)).problems
    raw.prepare('UPDATE audit SET entry = replace(entry, \'"typ":"sentinel"\', \'"typ":"edge"\') WHERE idx = 77').run()
    // recomputed from the entries, everything above the edit differs too
    assert.deepEqual(await problems(), ['entry 77 does not match its leaf hash', ...[1, 2, 3, 4, 5, 6, 7].map(l => `tree node (level ${l}, index ${77 >> l}) does not match the entries`), 'checkpoint 200 root does not match the entries'])
    raw.prepare('UPDATE audit SET leaf_hash = ? WHERE idx = 77').run(leafHash(Buffer.from((raw.prepare('SELECT entry FROM audit WHERE idx = 77').get() as { entry: string }).entry)))
    // an edit that rewrote the leaf hash too is caught by the stored subtrees above it and the checkpoint
    assert.deepEqual(await problems(), [...[1, 2, 3, 4, 5, 6, 7].map(l => `tree node (level ${l}, index ${77 >> l}) does not match the entries`), 'checkpoint 200 root does not match the entries'])
    const fresh = open(dbPath())
    const good = await AuditLog.open(fresh.db, key.privateKey, clock())
    await appendMany(fresh.db, good, Array.from({ length: 200 }, (_, i) => ({ kind: 'token', data: { i } })))
    await settled()
    // subtree (3, 5) is the third hash of row 47; (2, 40) the second of row 163
    const edit = (idx: number, change: (b: Uint8Array) => Uint8Array): void => {
      const { subtrees } = fresh.raw.prepare('SELECT subtrees FROM audit WHERE idx = ?').get(idx) as { subtrees: Uint8Array }
      fresh.raw.prepare('UPDATE audit SET subtrees = ? WHERE idx = ?').run(change(subtrees), idx)
    }
    edit(47, b => { const c = new Uint8Array(b); c.fill(0, 64, 96); return c })
    edit(163, b => b.subarray(0, 32))
    fresh.raw.prepare('INSERT INTO checkpoints (size, root, signature, at) VALUES (100, zeroblob(32), zeroblob(64), 0)').run()
    // in the order of the sweep: a node when its last leaf is reached, a checkpoint at its size
    assert.deepEqual((await good.verify(key.publicKey)).problems, [
      'tree node (level 3, index 5) does not match the entries',
      'checkpoint 100 has a bad signature',
      'checkpoint 100 root does not match the entries',
      'tree node (level 2, index 40) is missing'
    ])
    // a proof that needs the missing node is refused, not made up
    await assert.rejects(good.inclusion(165, 200), (e: Error) => e.name === 'AuditLogDamagedError')
    await fresh.db.close()
    await db.close()
  })

  it('refuses sizes, indexes and pages outside the log with a bad-request IssuerError', async () => {
    const { db } = open(dbPath())
    const log = await AuditLog.open(db, key.privateKey, clock(), { schedule: () => {} })
    await appendMany(db, log, Array.from({ length: 10 }, () => ({ kind: 'token', data: {} })))
    for (const call of [
      async () => await log.inclusion(10),
      async () => await log.inclusion(-1),
      async () => await log.inclusion(0.5),
      async () => await log.inclusion(0, 11),
      async () => await log.consistency(0, 10),
      async () => await log.consistency(3, 2),
      async () => await log.consistency(2, 11),
      async () => await log.consistency(Number.NaN, 10),
      async () => await log.consistency(1, Number.POSITIVE_INFINITY),
      async () => await log.root(11),
      async () => await log.checkpoints(0, 1001),
      async () => await log.checkpoints(-1),
      async () => await log.entries(0, 0)
    ]) {
      await assert.rejects(call(), badRequest)
    }
    assert.deepEqual(await log.consistency(10, 10), [])
    await db.close()
  })
})

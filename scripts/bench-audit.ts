/**
 * The audit log, measured against its baseline in the same run:
 * - appends per second: batched (`appendMany`, one transaction per batch),
 *   single appends inside one transaction, and single appends that commit
 *   each (what a lone decision costs; tokens are group-committed);
 * - at 10⁴, 10⁵ and 10⁶ entries: latency (p50/p99) of the checkpoint read,
 *   a root, an inclusion proof and a consistency proof at random positions,
 *   all from the stored subtrees;
 * - baseline: the recomputation over the array of all leaves that every
 *   audit read cost before (`rootOf`, `inclusionProof`, `consistencyProof`
 *   of `merkle.ts`), with the leaves already in memory as the old log kept
 *   them; a few iterations only, it takes seconds at 10⁶.
 *
 *   npm run bench:audit -- [--sizes 10000,100000,1000000] [--iterations 2000] [--baseline 3] [--batch 10000] [--json]
 */
import { randomUUID } from 'node:crypto'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateEd25519 } from '../src/core/keys.ts'
import { AuditLog } from '../src/issuer/audit-log.ts'
import { consistencyProof, inclusionProof, rootOf } from '../src/issuer/merkle.ts'
import { openSqliteIssuerDb } from '../src/issuer/db/sqlite.ts'
import { benchArgs, intArg } from './lib/args.ts'
import { round, summarise } from './lib/stats.ts'
import type { Hash } from '../src/issuer/merkle.ts'
import type { SqlTx } from '../src/issuer/db/sql.ts'

const args = benchArgs({
  sizes: { type: 'string', default: '10000,100000,1000000' },
  iterations: { type: 'string', default: '2000' },
  baseline: { type: 'string', default: '3' },
  batch: { type: 'string', default: '10000' },
  json: { type: 'boolean', default: false }
})
const sizes = String(args.sizes).split(',').map(s => intArg(s, 'sizes', 10, 10_000_000))
const iterations = intArg(args.iterations, 'iterations', 10, 1_000_000)
const baselineIterations = intArg(args.baseline, 'baseline', 1, 100)
const batch = intArg(args.batch, 'batch', 1, 1_000_000)
const json = args.json === true
const say = (line: string): void => { if (!json) process.stdout.write(line + '\n') }
for (let i = 1; i < sizes.length; i++) {
  if ((sizes[i] as number) <= (sizes[i - 1] as number)) {
    process.stderr.write('--sizes must increase\n')
    process.exit(2)
  }
}

const dir = await mkdtemp(join(tmpdir(), 'tempus-bench-audit-'))
const db = openSqliteIssuerDb(join(dir, 'issuer.db'))
const key = generateEd25519()
const log = await AuditLog.open(db, key.privateKey, Date.now)
const settled = async (): Promise<void> => { await new Promise(resolve => setImmediate(resolve)) }
// a token decision, the most frequent entry
const peerId = '12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf'
const decision = (): { kind: string, data: Record<string, unknown> } => ({ kind: 'token', data: { peerId, jti: randomUUID(), epoch: 1, exp: 1_800_000_000 } })
const timeMs = async (fn: () => Promise<unknown>): Promise<number> => { const t = performance.now(); await fn(); return performance.now() - t }
let random = 0x2545f491
const below = (n: number): number => { random = (Math.imul(random, 1103515245) + 12345) >>> 0; return random % n }

say(`bench:audit — sizes ${sizes.join(', ')}; ${iterations} reads of each kind per size; baseline ${baselineIterations} iterations; batches of ${batch}`)

// appends: the three ways a log grows, measured on the way to the first size
const singleTx = Math.min(20_000, Math.floor((sizes[0] as number) / 2))
const singleCommit = Math.min(2_000, Math.floor((sizes[0] as number) / 4))
const appendOne = async (tx: SqlTx): Promise<void> => { const d = decision(); await log.append(tx, d.kind, d.data) }
const commitMs = await timeMs(async () => { for (let i = 0; i < singleCommit; i++) await db.transaction(appendOne) })
const txMs = await timeMs(async () => { await db.transaction(async tx => { for (let i = 0; i < singleTx; i++) await appendOne(tx) }) })
const commitPerSec = singleCommit / (commitMs / 1000)
const txPerSec = singleTx / (txMs / 1000)
say(`appends: ${round(commitPerSec, 0)}/s one commit each (${singleCommit}), ${round(txPerSec, 0)}/s single appends in one transaction (${singleTx})`)

let batchedMs = 0
let batchedCount = 0
const figures: Array<Record<string, number>> = []
for (const size of sizes) {
  for (let have = await log.size(); have < size; have = await log.size()) {
    const n = Math.min(batch, size - have)
    const decisions = Array.from({ length: n }, decision)
    batchedMs += await timeMs(async () => await db.transaction(async tx => await log.appendMany(tx, decisions)))
    batchedCount += n
  }
  await settled()
  const checkpoint = await log.makeCheckpoint()
  if (checkpoint.size !== size) {
    throw new Error(`the checkpoint covers ${checkpoint.size}, not ${size}`)
  }
  const sample = async (fn: () => Promise<unknown>): Promise<{ p50: number, p99: number }> => {
    const t: number[] = []
    for (let i = 0; i < iterations; i++) {
      const start = performance.now()
      await fn()
      t.push((performance.now() - start) * 1000)
    }
    const s = summarise(t)
    return { p50: s.p50, p99: s.p99 }
  }
  const read = await sample(async () => await log.checkpoint())
  const root = await sample(async () => await log.root(size))
  const inclusion = await sample(async () => await log.inclusion(below(size), size))
  const consistency = await sample(async () => await log.consistency(1 + below(size), size))

  // baseline: the old log's per-read recomputation over all leaves in memory
  const leaves = (await db.all<{ leaf_hash: Uint8Array }>('SELECT leaf_hash FROM audit ORDER BY idx')).map(r => r.leaf_hash as Hash)
  const base = (fn: () => void): number => {
    const t: number[] = []
    for (let i = 0; i < baselineIterations; i++) { const s = performance.now(); fn(); t.push(performance.now() - s) }
    return summarise(t).p50
  }
  const baseRoot = base(() => rootOf(leaves))
  const baseInclusion = base(() => inclusionProof(below(size), leaves))
  const baseConsistency = base(() => consistencyProof(1 + below(size), leaves))
  const us = (x: number): string => `${round(x, 1)} µs`
  const bytes = (await stat(join(dir, 'issuer.db'))).size + (await stat(join(dir, 'issuer.db-wal')).catch(() => ({ size: 0 }))).size
  say(`${size} entries (issuer.db and its WAL: ${round(bytes / 1e6, 1)} MB):`)
  say(`  checkpoint read p50 ${us(read.p50)} p99 ${us(read.p99)} | root p50 ${us(root.p50)} p99 ${us(root.p99)} | inclusion p50 ${us(inclusion.p50)} p99 ${us(inclusion.p99)} | consistency p50 ${us(consistency.p50)} p99 ${us(consistency.p99)}`)
  say(`  baseline (array recomputation, p50 of ${baselineIterations}): root ${round(baseRoot, 1)} ms, inclusion ${round(baseInclusion, 1)} ms, consistency ${round(baseConsistency, 1)} ms → stored tree ${round(baseRoot * 1000 / root.p50, 0)}× / ${round(baseInclusion * 1000 / inclusion.p50, 0)}× / ${round(baseConsistency * 1000 / consistency.p50, 0)}× faster at p50`)
  figures.push({
    size,
    checkpointReadP50Us: round(read.p50, 1),
    checkpointReadP99Us: round(read.p99, 1),
    rootP50Us: round(root.p50, 1),
    rootP99Us: round(root.p99, 1),
    inclusionP50Us: round(inclusion.p50, 1),
    inclusionP99Us: round(inclusion.p99, 1),
    consistencyP50Us: round(consistency.p50, 1),
    consistencyP99Us: round(consistency.p99, 1),
    baselineRootMs: round(baseRoot, 1),
    baselineInclusionMs: round(baseInclusion, 1),
    baselineConsistencyMs: round(baseConsistency, 1)
  })
}
const batchedPerSec = batchedCount / (batchedMs / 1000)
say(`appends batched (appendMany, ${batch} a transaction): ${round(batchedPerSec, 0)}/s over ${batchedCount} (goal ≥ 10,000/s)`)

await log.close()
await db.close()
await rm(dir, { recursive: true, force: true })
if (json) {
  process.stdout.write(JSON.stringify({
    appendsBatchedPerSec: round(batchedPerSec, 0),
    appendsInOneTransactionPerSec: round(txPerSec, 0),
    appendsOneCommitEachPerSec: round(commitPerSec, 0),
    sizes: figures
  }) + '\n')
}
process.exit(0)

/**
 * Storage: what the guards at open cost. `PRAGMA quick_check` reads every
 * page of a store each time the node starts (src/storage/sqlite-store.ts);
 * this measures it on a bundle store of a given size, next to a bare open.
 *
 *   npm run bench:storage -- [--mb 100] [--repeats 3] [--json]
 *
 * The store is a real `BundleStore` (WAL, synchronous = FULL) filled with
 * signed bundles, half of the bytes in 2 KiB fragments (many rows, as the
 * kill -9 test writes) and half in 256 KiB fragments (the default size,
 * mostly overflow pages), on a fresh file under os.tmpdir(). Each round
 * drops nothing from the OS page cache (no root needed, so a warm cache):
 * the figure is the CPU and memory-bandwidth cost, the floor of a start;
 * a cold disk adds its read time for the file's size.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { DatabaseSync } from 'node:sqlite'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { createBundle } from '../src/dtn/bundle.ts'
import { BundleStore } from '../src/dtn/store.ts'

function arg (name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`)
  const v = i < 0 ? fallback : Number(process.argv[i + 1])
  if (!Number.isFinite(v) || v <= 0) {
    throw new Error(`--${name} must be a positive number`)
  }
  return v
}

const mb = arg('mb', 100)
const repeats = arg('repeats', 3)
const quota = { totalBytes: 1e12, perSourceBytes: 1e12, receipts: 1000 }
const NOW = Date.now()

const dir = await mkdtemp(join(tmpdir(), 'tempus-bench-storage-'))
try {
  const path = join(dir, 'bundles.db')
  const store = new BundleStore(path, quota, { synchronous: 'NORMAL' })
  const privateKey = await generateKeyPair('Ed25519')
  const who = { privateKey, peerId: peerIdFromPrivateKey(privateKey).toString(), evidence: { token: 'bench', keyCertificate: '' } }
  const target = mb * 1024 * 1024
  const bundle = (fragmentSize: number, fragments: number): void => {
    store.add([{ fragments: createBundle(who, { kind: 'everyone' }, randomBytes(fragmentSize * fragments), { lifetimeMs: 3_600_000, hopLimit: 4, copies: 2, fragmentSize }, NOW) }], NOW)
  }
  const onDisk = async (): Promise<number> => (await stat(path)).size + (await stat(`${path}-wal`).catch(() => ({ size: 0 }))).size
  // 2 MiB of each kind per round, until the files reach the size asked for
  for (let round = 0; round < 100_000 && await onDisk() < target; round++) {
    for (let i = 0; i < 16; i++) {
      bundle(2048, 64)
    }
    bundle(256 * 1024, 8)
  }
  const rows = store.usage(NOW).fragments
  store.close()
  const size = (await stat(path)).size
  const bare: number[] = []
  const checked: number[] = []
  for (let r = 0; r < repeats; r++) {
    let t = performance.now()
    const db = new DatabaseSync(path)
    db.prepare('SELECT COUNT(*) FROM sqlite_master').get()
    db.close()
    bare.push(performance.now() - t)
    t = performance.now()
    const q = new DatabaseSync(path)
    const answer = q.prepare('PRAGMA quick_check(1)').get() as { quick_check: string }
    q.close()
    checked.push(performance.now() - t)
    if (answer.quick_check !== 'ok') {
      throw new Error(`quick_check: ${answer.quick_check}`)
    }
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0
  process.stdout.write(`bundle store ${(size / 1048576).toFixed(1)} MiB, ${rows} fragments\n`)
  process.stdout.write(`  open, bare:              median ${median(bare).toFixed(1)} ms (${bare.map(x => x.toFixed(1)).join(', ')})\n`)
  process.stdout.write(`  open + PRAGMA quick_check: median ${median(checked).toFixed(1)} ms (${checked.map(x => x.toFixed(1)).join(', ')})\n`)
  if (process.argv.includes('--json')) {
    process.stdout.write(JSON.stringify({ bytes: size, fragments: rows, bareOpenMs: median(bare), quickCheckOpenMs: median(checked) }) + '\n')
  }
} finally {
  await rm(dir, { recursive: true, force: true })
}

/**
 * Memory settings for the long-lived commands: `tempus start` (one node)
 * and `tempus dev` (a local mesh in one process): V8's heap, and Node's
 * Buffer pool (below).
 *
 * The young generation. Node 24 lets the new space grow to 64 MB (two 32 MB
 * semi-spaces; 128 MB in a 50-node dev mesh); loading the node's ~1,250
 * modules grows it to the top, and its pages stay resident for the life of
 * the process: 25–30 MB of RSS per node process that a node idling at a few
 * kilobytes of allocation a second never needs again. `--max-semi-space-size`
 * is read once, when the heap is set up, so the launcher (bin.ts, already
 * running) cannot lower it; V8 reads the growth factor each time it would
 * grow the new space, so a factor of 1 keeps it at its initial size (two
 * 1 MB semi-spaces). The price is more scavenges, each over a small live
 * set: measured with scripts/bench-process.ts (README "Benchmarks").
 *
 * The old generation. With a small young generation more objects live long
 * enough to be promoted, and V8 grows the old space by a factor of up to 4
 * of what survived its last full collection, keeping what it committed long
 * after: a 50-node dev mesh with the young generation bounded alone held
 * 428 MB of heap in use (15.4 MB RSS per node). Growing by a half
 * (`--heap-growing-percent=50`) collects sooner: 8.3 MB per node at 19–20 %
 * of a core (`bench:idle`, 2026-12-07, two runs); by a quarter 7.9–8.5 MB at
 * 22–23 % (three runs, the full collections' marking the difference: V8's
 * helper threads and the main thread both), by 100 % 9.1 MB at 18 %; V8's
 * defaults 12–14.5 MB at 16–23 %; `--optimize-for-size` 6.9 MB at 33 %.
 * For the dev mesh only: for 8 `tempus start` processes a quarter saved 6
 * MB of 143 each (`bench:process`),
 * and the first 100-process chaos run with it set could not start its
 * nodes within 120 s each (the start is CPU-bound, and collecting sooner
 * costs there): not worth the risk until measured apart.
 *
 * An operator's own setting of either, on the command line or in
 * NODE_OPTIONS, wins.
 */
import { setFlagsFromString } from 'node:v8'

/**
 * Node's Buffer pool. Every small Buffer (under half the pool: what
 * `Buffer.allocUnsafe`, `Buffer.from`, uint8arrays' `allocUnsafe` and so
 * protons, multiformats and libp2p allocate) is a view of a shared slab,
 * and a slab stays allocated while any view of it lives. Node 24 made the
 * slab 64 KiB (Node 20's was 8 KiB), and a node keeps thousands of small
 * views for minutes (the digests of PeerIds, connections' addresses, the
 * DHT's distances, records, tickets), each pinning the slab it was cut
 * from: in a settled 50-node dev mesh, 533 slabs of 64 KiB (33 MB) held
 * by 5,168 views (a heap snapshot, 2026-12-07), and 56–60 MB of memory
 * outside V8's heap in all. With 8 KiB slabs, 38 MB; with this project's
 * own copies too, 25–28 MB (README, "An idle mesh"); with no pool at all,
 * 13 MB, but every small Buffer then costs a backing store of its own
 * (about 700 ns against 60–80 ns). Set for the long-lived commands; an
 * embedder's process keeps its own (this project's own long-lived bytes
 * are copied out of the frames they came in: see `ownBytes`).
 */
export const BUFFER_POOL_BYTES = 8 * 1024

/** The long-lived command of this command line (after any global flags), if it is one. */
function longLivedCommand (argv: readonly string[]): 'start' | 'dev' | undefined {
  const command = argv.find(a => !a.startsWith('-'))
  return command === 'start' || command === 'dev' ? command : undefined
}

/** The Buffer pool size for this command line (undefined: Node's). */
export function bufferPoolBytes (argv: readonly string[]): number | undefined {
  return longLivedCommand(argv) == null ? undefined : BUFFER_POOL_BYTES
}

/**
 * Set the Buffer pool for this command line, as early as can be: the slab
 * in use when it is set is cut to its end first, so what was allocated
 * before stays in a 64 KiB one.
 */
export function useBufferPool (argv: readonly string[]): void {
  const bytes = bufferPoolBytes(argv)
  if (bytes != null) {
    Buffer.poolSize = bytes
  }
}

/**
 * Every memory setting of this command line, applied in this process
 * before the node's modules load (the launcher, and the benches that
 * stand for `tempus dev`): V8's flags, then the Buffer pool.
 */
export function useMemorySettings (argv: readonly string[], execArgv: readonly string[], nodeOptions: string | undefined): void {
  for (const flag of heapFlags(argv, execArgv, nodeOptions)) {
    setFlagsFromString(flag)
  }
  useBufferPool(argv)
}

export const YOUNG_GENERATION_FLAG = '--semi-space-growth-factor=1'
export const OLD_GENERATION_FLAG = '--heap-growing-percent=50'

/** The V8 flags to set for this command line (none: V8's defaults). */
export function heapFlags (argv: readonly string[], execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  const command = longLivedCommand(argv)
  if (command == null) {
    return []
  }
  const operator = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)]
  const set = (pattern: RegExp): boolean => operator.some(a => pattern.test(a))
  const flags: string[] = []
  if (!set(/^--(max|min)[-_]semi[-_]space[-_]size\b|^--semi[-_]space[-_]growth[-_]factor\b/)) {
    flags.push(YOUNG_GENERATION_FLAG)
  }
  if (command === 'dev' && !set(/^--heap[-_]growing[-_]percent\b|^--optimize[-_]for[-_]size\b/)) {
    flags.push(OLD_GENERATION_FLAG)
  }
  return flags
}

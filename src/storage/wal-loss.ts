/**
 * Did the write-ahead log lose committed transactions?
 *
 * In WAL mode a commit lives in `<db>-wal` until a checkpoint copies it into
 * the database. After a clean close SQLite checkpoints and deletes both the
 * `-wal` and the `-shm`; after a crash (kill -9, power cut) both stay and the
 * next open replays the log. If the `-wal` is deleted or truncated in
 * between, SQLite opens the database as last checkpointed and says nothing:
 * the commits since are gone. The `-shm` (the WAL index) still records how
 * many frames the log held (`mxFrame`) and how many of them the database
 * already has (`nBackfill`), so the loss can be seen before SQLite opens.
 *
 * Layout (sqlite.org/walformat.html, native byte order): two copies of the
 * 48-byte WalIndexHdr at 0 and 48 (isInit at 12, szPage u16 at 14, mxFrame
 * u32 at 16), then WalCkptInfo at 96 (nBackfill u32 at 96). A frame is a
 * 24-byte header plus one page; the log starts with a 32-byte header.
 *
 * Only an index written since this machine booted is believed. Within one
 * boot the page cache is coherent: the log holds every frame the index
 * counts, even after kill -9. Across a power cut it is not: a store with
 * `synchronous = NORMAL` may honestly lose its last commits (the log is not
 * fsynced per commit, the index never is), and refusing it would punish an
 * honest fault; SQLite itself rebuilds the index from the log then.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs'
import { uptime } from 'node:os'

const HEADER_COPY = 48
const WAL_HEADER_BYTES = 32
const FRAME_HEADER_BYTES = 24
const SHM_BYTES_READ = 100
/** the boot time is known to the second (os.uptime); an index this close to it is not judged */
const BOOT_SLACK_MS = 5_000

export interface WalIndex {
  pageSize: number
  /** frames the log holds */
  mxFrame: number
  /** frames already copied into the database */
  nBackfill: number
}

/** Pure: the WAL index header, or undefined when it is not initialised or its two copies differ (a write in progress). */
export function parseWalIndex (shm: Uint8Array): WalIndex | undefined {
  if (shm.length < SHM_BYTES_READ) {
    return undefined
  }
  const first = shm.subarray(0, HEADER_COPY)
  const second = shm.subarray(HEADER_COPY, 2 * HEADER_COPY)
  if (first[12] !== 1 || !Buffer.from(first).equals(second)) {
    return undefined
  }
  const view = new DataView(shm.buffer, shm.byteOffset, shm.byteLength)
  const little = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1
  const sz = view.getUint16(14, little)
  return {
    pageSize: sz === 1 ? 65536 : sz,
    mxFrame: view.getUint32(16, little),
    nBackfill: view.getUint32(96, little)
  }
}

/** Pure: how many committed frames not yet in the database are missing from a log of `walBytes` (undefined: no log). */
export function lostFrames (index: WalIndex, walBytes: number | undefined): number {
  if (index.mxFrame <= index.nBackfill || index.pageSize === 0) {
    return 0
  }
  const frameBytes = FRAME_HEADER_BYTES + index.pageSize
  const held = walBytes == null || walBytes < WAL_HEADER_BYTES ? 0 : Math.floor((walBytes - WAL_HEADER_BYTES) / frameBytes)
  return Math.max(0, index.mxFrame - Math.max(held, index.nBackfill))
}

/** Pure: was a file last written before the machine booted? */
export function writtenBeforeBoot (mtimeMs: number, nowMs: number, uptimeSeconds: number): boolean {
  return mtimeMs < nowMs - uptimeSeconds * 1000 + BOOT_SLACK_MS
}

function readShm (path: string): Uint8Array | undefined {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch {
    return undefined
  }
  try {
    const buf = new Uint8Array(SHM_BYTES_READ)
    const n = readSync(fd, buf, 0, SHM_BYTES_READ, 0)
    return buf.subarray(0, n)
  } finally {
    closeSync(fd)
  }
}

function sizeOf (path: string): number | undefined {
  try {
    return statSync(path).size
  } catch {
    return undefined
  }
}

/**
 * Frames lost from `<db>-wal`, read from the disk twice: a live writer in
 * another process (the issuer's CLI beside its server) may move the log
 * between the two reads, and only a loss seen both times is reported.
 */
export function walFramesLost (dbPath: string, now: () => number = Date.now): number {
  let mtimeMs: number
  try {
    mtimeMs = statSync(`${dbPath}-shm`).mtimeMs
  } catch {
    return 0 // no index: a clean close, or a first open
  }
  if (writtenBeforeBoot(mtimeMs, now(), uptime())) {
    return 0
  }
  const once = (): number => {
    const shm = readShm(`${dbPath}-shm`)
    const index = shm == null ? undefined : parseWalIndex(shm)
    return index == null ? 0 : lostFrames(index, sizeOf(`${dbPath}-wal`))
  }
  const first = once()
  return first === 0 ? 0 : Math.min(first, once())
}

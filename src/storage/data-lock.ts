/**
 * The exclusive lock of a data directory, as a repository lock: `<dir>/LOCK`
 * created with O_EXCL, holding the pid and the start time of its holder,
 * removed at stop. Two processes on one directory would run one identity
 * twice over one set of databases; the second is refused at once, naming
 * the first.
 *
 * A lock whose holder is gone (kill -9, power cut) is stale and taken over
 * with a warning and an events.log line. "Gone" is: no process with that
 * pid, or a process with that pid that started at another time (the pid
 * was reused), read from /proc/<pid>/stat and the boot id where Linux has
 * them. A lock does not stop a copy of the directory on another machine.
 */
import { closeSync, fsyncSync, linkSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { FILE_MODE, LOCK_FILE } from './constants.ts'
import { syncDir } from './durable.ts'
import { appendEvent } from './events-log.ts'
import { DataDirLockedError, StorageError } from './errors.ts'

export interface LockHolder {
  pid: number
  /** ISO time the holder took the lock */
  startedAt: string
  /** the kernel's boot id, when readable */
  bootId?: string
  /** the holder's start time in clock ticks since boot (/proc/<pid>/stat field 22), when readable */
  procStart?: string
}

export interface DataLock {
  readonly path: string
  readonly holder: LockHolder
  /** remove the lock if it is still this one's (idempotent) */
  release(): void
}

export interface AcquireOptions {
  now?: () => number
  /** told when a stale lock is taken over */
  onStale?: (stale: LockHolder | undefined) => void
}

/** how many times a lost race for the lock is retried before giving up */
const MAX_ATTEMPTS = 3

function readText (path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}

/** This machine's boot id (Linux), so a pid from before a reboot is never taken as alive. */
export function bootId (): string | undefined {
  return readText('/proc/sys/kernel/random/boot_id')?.trim()
}

/** A process's start time in clock ticks since boot (Linux), or undefined. */
export function processStart (pid: number): string | undefined {
  const stat = readText(`/proc/${pid}/stat`)
  if (stat == null) {
    return undefined
  }
  // the command name (field 2) may hold spaces and parentheses: count from the last ')'
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return fields[19]
}

/** Is the process that wrote `holder` still running? */
export function isAlive (holder: LockHolder): boolean {
  try {
    process.kill(holder.pid, 0)
  } catch (err: any) {
    if (err.code === 'ESRCH') {
      return false
    }
    // EPERM: a process of another user has that pid; look further below
  }
  const boot = bootId()
  if (holder.bootId != null && boot != null && holder.bootId !== boot) {
    return false
  }
  const start = processStart(holder.pid)
  if (holder.procStart != null && start != null && holder.procStart !== start) {
    return false
  }
  return true
}

export function parseHolder (text: string | undefined): LockHolder | undefined {
  try {
    const h = JSON.parse(text ?? '')
    if (Number.isSafeInteger(h?.pid) && h.pid > 0 && typeof h.startedAt === 'string') {
      return h as LockHolder
    }
  } catch {}
  return undefined
}

/**
 * Take the data directory's lock, or throw DataDirLockedError naming the
 * live holder. A stale lock (holder gone, or unreadable: a crash while it
 * was being written) is taken over.
 */
export function acquireDataLock (dir: string, options: AcquireOptions = {}): DataLock {
  const path = join(dir, LOCK_FILE)
  const now = options.now ?? Date.now
  const holder: LockHolder = { pid: process.pid, startedAt: new Date(now()).toISOString(), bootId: bootId(), procStart: processStart(process.pid) }
  const contents = JSON.stringify(holder) + '\n'
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    // written whole to a file of our own, then linked into place: a lock
    // is never seen half-written, and link() fails if one exists
    const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`
    let fd: number
    try {
      fd = openSync(tmp, 'wx', FILE_MODE)
    } catch (err: any) {
      throw new StorageError(err.code === 'ENOENT' ? 'missing' : 'io', dir, err.code === 'ENOENT'
        ? `data directory ${dir} does not exist; check --data`
        : `cannot write in data directory ${dir}: ${err.code ?? 'failed'}; check its owner and permissions`)
    }
    try {
      writeSync(fd, contents)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    let linked = false
    try {
      linkSync(tmp, path)
      linked = true
    } catch (err: any) {
      if (err.code !== 'EEXIST') {
        unlinkSync(tmp)
        throw new StorageError('io', path, `cannot create the lock ${path}: ${err.code ?? 'failed'}; check the data directory's owner and permissions`)
      }
    }
    unlinkSync(tmp)
    if (linked) {
      syncDir(dir)
      return lockOf(path, holder, contents)
    }
    const text = readText(path)
    if (text == null) {
      continue // released between our create and our read: try again
    }
    const other = parseHolder(text)
    if (other != null && isAlive(other)) {
      throw new DataDirLockedError(other.pid, `data directory ${dir} is in use by pid ${other.pid} (started ${other.startedAt}); stop it first (its lock is ${path})`)
    }
    takeOverStale(dir, path, text, other)
    options.onStale?.(other)
    appendEvent(dir, { event: 'stale-lock-taken-over', stale: other ?? null }, now)
  }
  throw new DataDirLockedError(0, `data directory ${dir}: another process keeps taking its lock ${path}; stop the other process first`)
}

/**
 * Move a stale lock away. Two processes may both judge it stale; each
 * renames it to a name of its own and checks it moved the stale one, not a
 * fresh lock the other just made (put back if it did).
 */
function takeOverStale (dir: string, path: string, staleText: string, stale: LockHolder | undefined): void {
  const aside = `${path}.stale-${randomBytes(4).toString('hex')}`
  try {
    renameSync(path, aside)
  } catch (err: any) {
    if (err.code === 'ENOENT') {
      return // someone else moved it; the next attempt sees what is there now
    }
    throw err
  }
  if (readText(aside) !== staleText) {
    // a live lock taken by another process after our read: give it back
    try { linkSync(aside, path) } catch {}
    try { unlinkSync(aside) } catch {}
    const live = parseHolder(readText(path))
    throw new DataDirLockedError(live?.pid ?? 0, `data directory ${dir} is in use by pid ${live?.pid ?? 'unknown'}; stop it first (its lock is ${path}; a stale lock of pid ${stale?.pid ?? 'unknown'} was taken over by it)`)
  }
  unlinkSync(aside)
}

function lockOf (path: string, holder: LockHolder, contents: string): DataLock {
  let held = true
  return {
    path,
    holder,
    release () {
      if (!held) {
        return
      }
      held = false
      // only our own lock: never remove one that a later holder took over
      if (readText(path) === contents) {
        try { unlinkSync(path) } catch {}
      }
    }
  }
}

import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { acquireDataLock, bootId, processStart } from '../../src/storage/data-lock.ts'
import type { LockHolder } from '../../src/storage/data-lock.ts'

describe('data directory lock', () => {
  const dirs: string[] = []
  const children: Array<ReturnType<typeof spawn>> = []
  after(async () => {
    for (const c of children) {
      if (c.exitCode == null && c.signalCode == null) {
        c.kill('SIGKILL')
      }
    }
    await Promise.all(dirs.map(async d => rm(d, { recursive: true, force: true })))
  })
  const dir = async (): Promise<string> => { const d = await mkdtemp(join(tmpdir(), 'tempus-lock-')); dirs.push(d); return d }
  const lockWith = async (d: string, holder: Partial<LockHolder> & { pid: number }): Promise<void> => {
    await writeFile(join(d, 'LOCK'), JSON.stringify({ startedAt: '2026-01-01T00:00:00.000Z', ...holder }) + '\n', { mode: 0o600 })
  }
  /** a real process that lives until killed, and its pid */
  const live = async (): Promise<number> => {
    const child = spawn(process.execPath, ['-e', 'process.stdout.write("up\\n"); setInterval(() => {}, 1 << 30)'], { stdio: ['ignore', 'pipe', 'ignore'] })
    children.push(child)
    await new Promise(resolve => child.stdout?.once('data', resolve))
    return child.pid ?? 0
  }
  const dead = async (): Promise<number> => {
    const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
    await new Promise(resolve => child.once('exit', resolve))
    return child.pid ?? 0
  }

  it('one holder at a time; the lock is 0600 and names its holder; release frees it', async () => {
    const d = await dir()
    const lock = acquireDataLock(d, { now: () => Date.UTC(2026, 11, 3) })
    assert.equal((await stat(lock.path)).mode & 0o777, 0o600)
    assert.deepEqual(JSON.parse(await readFile(lock.path, 'utf8')).pid, process.pid)
    assert.throws(() => acquireDataLock(d), (err: any) => err.name === 'DataDirLockedError' && err.pid === process.pid &&
      err.message === `data directory ${d} is in use by pid ${process.pid} (started 2026-12-03T00:00:00.000Z); stop it first (its lock is ${lock.path})`)
    lock.release()
    lock.release()
    await assert.rejects(stat(lock.path), { code: 'ENOENT' })
    acquireDataLock(d).release()
  })

  it('a live process of another pid holds it', async () => {
    const d = await dir()
    const pid = await live()
    await lockWith(d, { pid, bootId: bootId(), procStart: processStart(pid) })
    assert.throws(() => acquireDataLock(d), (err: any) => err.name === 'DataDirLockedError' && err.pid === pid && err.message.includes(`in use by pid ${pid}`))
  })

  it('stale locks are taken over, told and audited: a dead pid, a reused pid, another boot, a half-written lock', async () => {
    const d = await dir()
    const stale: Array<number | undefined> = []
    const onStale = (h: LockHolder | undefined): void => { stale.push(h?.pid) }
    const gone = await dead()
    await lockWith(d, { pid: gone })
    acquireDataLock(d, { onStale }).release()
    // the pid is alive, but it is another process than the one that locked (its start time differs)
    await lockWith(d, { pid: process.pid, bootId: bootId(), procStart: '1' })
    acquireDataLock(d, { onStale }).release()
    await lockWith(d, { pid: process.pid, bootId: 'another-boot' })
    acquireDataLock(d, { onStale }).release()
    await writeFile(join(d, 'LOCK'), '{"pid": 12')
    acquireDataLock(d, { onStale }).release()
    assert.deepEqual(stale, [gone, process.pid, process.pid, undefined])
    const events = (await readFile(join(d, 'events.log'), 'utf8')).trim().split('\n').map(l => JSON.parse(l))
    assert.deepEqual(events.map(e => [e.event, e.stale?.pid ?? null]), [['stale-lock-taken-over', gone], ['stale-lock-taken-over', process.pid], ['stale-lock-taken-over', process.pid], ['stale-lock-taken-over', null]])
  })

  it('release never removes a lock that someone else holds now', async () => {
    const d = await dir()
    const lock = acquireDataLock(d)
    const pid = await live()
    await lockWith(d, { pid })
    lock.release()
    assert.equal(JSON.parse(await readFile(join(d, 'LOCK'), 'utf8')).pid, pid)
  })

  it('a directory that does not exist is a typed error', async () => {
    const d = join(await dir(), 'nope')
    assert.throws(() => acquireDataLock(d), (err: any) => err.name === 'StorageError' && err.fault === 'missing' && err.message.includes(d))
  })
})

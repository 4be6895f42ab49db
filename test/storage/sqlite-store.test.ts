import assert from 'node:assert/strict'
import { copyFile, mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises'
import { uptime } from 'node:os'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { openSqliteStore } from '../../src/storage/sqlite-store.ts'
import { readMarker, verdictFor } from '../../src/storage/store-marker.ts'
import { lostFrames, parseWalIndex, walFramesLost, writtenBeforeBoot } from '../../src/storage/wal-loss.ts'
import { readFileSync } from 'node:fs'

const setup = (db: any): void => {
  db.exec('PRAGMA journal_mode = WAL')
  db.exec('CREATE TABLE IF NOT EXISTS t (x BLOB)')
}

describe('sqlite store open', () => {
  const dirs: string[] = []
  after(async () => { await Promise.all(dirs.map(async d => rm(d, { recursive: true, force: true }))) })
  const dir = async (): Promise<string> => { const d = await mkdtemp(join(tmpdir(), 'tempus-sqlite-')); dirs.push(d); return d }

  it('verdicts: the marker and the disk decide', () => {
    const rec = { kind: 'sqlite' as const, createdAt: 'x' }
    assert.deepEqual(verdictFor(undefined, { state: 'missing' }, 'sqlite'), { action: 'create' })
    assert.deepEqual(verdictFor(undefined, { state: 'missing' }, 'sqlite', true), { action: 'refuse', fault: 'missing' })
    assert.deepEqual(verdictFor(rec, { state: 'missing' }, 'sqlite'), { action: 'refuse', fault: 'vanished' })
    assert.deepEqual(verdictFor(rec, { state: 'present', size: 0 }, 'sqlite'), { action: 'refuse', fault: 'emptied' })
    assert.deepEqual(verdictFor(undefined, { state: 'present', size: 0 }, 'sqlite'), { action: 'create' })
    assert.deepEqual(verdictFor(undefined, { state: 'present', size: 4096 }, 'sqlite'), { action: 'open', adopt: true })
    assert.deepEqual(verdictFor(rec, { state: 'present', size: 4096 }, 'sqlite'), { action: 'open', adopt: false })
    assert.deepEqual(verdictFor(rec, { state: 'present', size: 0 }, 'directory'), { action: 'open', adopt: false })
  })

  it('a new store is 0600 with its -wal and -shm, whatever the umask, and recorded only once it is on disk', async () => {
    const d = await dir()
    const old = process.umask(0)
    try {
      const db = openSqliteStore(join(d, 'a.db'), { setup, now: () => 0 })
      db.prepare('INSERT INTO t VALUES (?)').run(Buffer.alloc(100))
      for (const f of await readdir(d)) {
        assert.equal((await stat(join(d, f))).mode & 0o777, 0o600, f)
      }
      assert.ok((await stat(join(d, 'a.db'))).size > 0, 'the schema is in the database file, not only in the -wal')
      assert.deepEqual(readMarker(d).stores['a.db'], { kind: 'sqlite', createdAt: '1970-01-01T00:00:00.000Z' })
      db.close()
    } finally {
      process.umask(old)
    }
  })

  it('mustExist creates nothing; a pre-marker store is adopted; a creation that crashed at 0 bytes is not punished', async () => {
    const d = await dir()
    assert.throws(() => openSqliteStore(join(d, 'issuer.db'), { mustExist: true, setup }), (err: any) => err.name === 'StorageError' && err.fault === 'missing' && err.message.includes(join(d, 'issuer.db')))
    assert.deepEqual(await readdir(d), [])
    // a store from before the marker existed
    const e = await dir()
    const first = openSqliteStore(join(e, 'old.db'), { setup })
    first.close()
    await rm(join(e, 'stores.json'))
    openSqliteStore(join(e, 'old.db'), { setup }).close()
    assert.ok(readMarker(e).stores['old.db'] != null, 'adopted')
    // a crash between creating the file and recording it
    await writeFile(join(e, 'new.db'), '', { mode: 0o600 })
    openSqliteStore(join(e, 'new.db'), { setup }).close()
    assert.ok(readMarker(e).stores['new.db'] != null)
  })

  it('a damaged marker is a typed error naming it', async () => {
    const d = await dir()
    await writeFile(join(d, 'stores.json'), '{"version": 1, "stores": [')
    assert.throws(() => openSqliteStore(join(d, 'a.db'), { setup }), (err: any) => err.name === 'StorageError' && err.fault === 'marker' && err.message.includes(join(d, 'stores.json')))
  })

  it('the WAL index tells a lost log from one already checkpointed (nothing lost: not refused)', async () => {
    const d = await dir()
    const path = join(d, 'w.db')
    const db = openSqliteStore(path, { setup })
    const insert = db.prepare('INSERT INTO t VALUES (?)')
    for (let i = 0; i < 20; i++) {
      insert.run(Buffer.alloc(1000, i))
    }
    const index = parseWalIndex(readFileSync(`${path}-shm`))
    assert.ok(index != null && index.mxFrame > 0 && index.nBackfill === 0 && index.pageSize === 4096, JSON.stringify(index))
    assert.equal(lostFrames(index, (await stat(`${path}-wal`)).size), 0)
    assert.equal(lostFrames(index, undefined), index.mxFrame)
    assert.equal(lostFrames(index, 32 + 24 + 4096), index.mxFrame - 1)
    assert.equal(walFramesLost(path), 0)
    // a crash, then the -wal lost: seen; but an index from before a reboot
    // is not believed (a power cut may honestly lose a NORMAL store's last
    // commits, which is not a refusal)
    await mkdir(join(d, 'reboot'))
    for (const f of ['w.db', 'w.db-shm', 'stores.json']) {
      await copyFile(join(d, f), join(d, 'reboot', f))
    }
    assert.equal(walFramesLost(join(d, 'reboot', 'w.db')), index.mxFrame)
    // every frame copied into the database: a log lost now loses nothing
    db.exec('PRAGMA wal_checkpoint(PASSIVE)')
    await mkdir(join(d, 'crash'))
    for (const f of ['w.db', 'w.db-shm', 'stores.json']) {
      await copyFile(join(d, f), join(d, 'crash', f))
    }
    db.close()
    assert.equal(walFramesLost(join(d, 'crash', 'w.db')), 0)
    assert.ok(writtenBeforeBoot(0, Date.now(), uptime()) && !writtenBeforeBoot(Date.now(), Date.now(), uptime()))
    const beforeBoot = (Date.now() - uptime() * 1000 - 60_000) / 1000
    await utimes(join(d, 'reboot', 'w.db-shm'), beforeBoot, beforeBoot)
    assert.equal(walFramesLost(join(d, 'reboot', 'w.db')), 0)
    const reopened = openSqliteStore(join(d, 'crash', 'w.db'), { setup })
    assert.equal((reopened.prepare('SELECT COUNT(*) AS n FROM t').get() as { n: number }).n, 20)
    reopened.close()
  })

  it('errors at open and during operation name the file; logic errors pass through unchanged', async () => {
    const d = await dir()
    const db = openSqliteStore(join(d, 'a.db'), { setup, recovery: 'do the thing' })
    db.exec('CREATE TABLE u (k TEXT PRIMARY KEY)')
    db.prepare('INSERT INTO u VALUES (?)').run('x')
    assert.throws(() => db.prepare('INSERT INTO u VALUES (?)').run('x'), (err: any) => err.name !== 'StorageError' && /UNIQUE/.test(err.message))
    assert.throws(() => db.exec('SELEC'), (err: any) => err.name !== 'StorageError')
    // iterate() is wrapped too, and a closed handle still reports as closed
    assert.deepEqual([...db.prepare('SELECT k FROM u').iterate()].map(r => ({ ...(r as object) })), [{ k: 'x' }])
    db.close()
    assert.equal(db.isOpen, false)
    await writeFile(join(d, 'b.db'), Buffer.alloc(4096, 0x41))
    assert.throws(() => openSqliteStore(join(d, 'b.db'), { setup, recovery: 'do the thing' }), (err: any) => err.name === 'StorageError' && err.fault === 'corrupt' && err.message.includes(join(d, 'b.db')) && err.message.endsWith('do the thing'))
  })
})

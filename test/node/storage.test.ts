/**
 * Issue #13 items 9 and 10 (the lock) on the real stores and real nodes: a
 * store that vanished, shrank to nothing, lost its write-ahead log or holds
 * garbage is refused with an error naming the file and the choice; the
 * operator's `resetStores` keeps the damaged file aside and is audited; a
 * data directory runs one node at a time.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { copyFile, mkdir, open, readdir, readFile, rm, stat, truncate, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { loadEnrollment } from '../../src/admission/enrollment.ts'
import { createBundle } from '../../src/dtn/bundle.ts'
import { BundleStore } from '../../src/dtn/store.ts'
import { SqlitePinStore } from '../../src/federation/pins.ts'
import { AnomalyStore } from '../../src/gossip/store.ts'
import { openIssuerDb } from '../../src/issuer/db/sqlite.ts'
import { createLogger } from '../../src/logging/logger.ts'
import { createTempusNode } from '../../src/node/tempus-node.ts'
import { TestNet, TEST_SCRYPT_N } from '../fixtures/nodes.ts'
import type { Fragment } from '../../src/dtn/bundle.ts'

const NOW = 1_800_000_000_000
const quota = { totalBytes: 1e9, perSourceBytes: 1e9, receipts: 100 }

/** one bundle of `n` fragments of `size` bytes */
async function fragments (n: number, size = 1024): Promise<Fragment[]> {
  const privateKey = await generateKeyPair('Ed25519')
  const who = { privateKey, peerId: peerIdFromPrivateKey(privateKey).toString(), evidence: { token: 't', keyCertificate: '' } }
  return createBundle(who, { kind: 'everyone' }, randomBytes(n * size), { lifetimeMs: 3_600_000, hopLimit: 4, copies: 2, fragmentSize: size }, NOW)
}

/** A storage error: typed, names the file, says what to do. */
function assertStorageError (err: any, file: string, what: RegExp, recovery: RegExp): true {
  assert.equal(err?.name, 'StorageError', `a StorageError, not ${err?.name}: ${err?.message}`)
  assert.ok(String(err.message).includes(file), `names ${file}: ${err.message}`)
  assert.match(err.message, what)
  assert.match(err.message, recovery)
  return true
}

describe('storage: lost and damaged stores are refused, named and recoverable', () => {
  const net = new TestNet()
  after(async () => { await net.stop() })

  it('a store truncated to 0 bytes or deleted is refused, naming the file; the store is not recreated', async () => {
    const dir = await net.tempDir()
    const cases: Array<{ file: string, open: (path: string) => { close: () => void }, fill: (s: any) => void }> = [
      { file: 'bundles.db', open: p => new BundleStore(p, quota), fill: () => {} },
      { file: 'anomalies.db', open: p => new AnomalyStore(p), fill: () => {} },
      { file: 'federation.db', open: p => new SqlitePinStore(p), fill: (s: SqlitePinStore) => { s.put({ remoteId: 'r', overlay: 'o', publicKey: 'k', establishedAt: 1, rotationDue: 2 }) } },
      { file: 'issuer.db', open: p => openIssuerDb(p), fill: () => {} }
    ]
    for (const c of cases) {
      const path = join(dir, c.file)
      const store = c.open(path)
      c.fill(store)
      store.close()
      await truncate(path, 0)
      assert.throws(() => c.open(path), (err: any) => assertStorageError(err, path, /truncated to 0 bytes/, /backup/))
      assert.equal((await stat(path)).size, 0, 'the emptied file is left as it is')
      await unlink(path)
      assert.throws(() => c.open(path), (err: any) => assertStorageError(err, path, /is gone/, /backup/))
      await assert.rejects(stat(path), { code: 'ENOENT' }, `${c.file} was not recreated`)
    }
  })

  it('garbage and half-truncated databases are refused at open with a StorageError naming the file', async () => {
    const dir = await net.tempDir()
    const garbage = join(dir, 'anomalies.db')
    await writeFile(garbage, randomBytes(8192))
    assert.throws(() => new AnomalyStore(garbage), (err: any) => assertStorageError(err, garbage, /damaged/, /backup/))

    const half = join(dir, 'bundles.db')
    let store = new BundleStore(half, quota)
    store.add([{ fragments: await fragments(600) }], NOW)
    store.close()
    await truncate(half, Math.floor((await stat(half)).size / 2))
    assert.throws(() => new BundleStore(half, quota), (err: any) => assertStorageError(err, half, /damaged/, /backup/))

    // damage inside a page that the header does not reveal: quick_check finds it
    const pages = join(dir, 'federation.db')
    const pins = new SqlitePinStore(pages)
    for (let i = 0; i < 200; i++) {
      pins.put({ remoteId: `r${i}`.padEnd(200, 'x'), overlay: 'o', publicKey: 'k'.repeat(200), establishedAt: i, rotationDue: i })
    }
    pins.close()
    const bytes = await readFile(pages)
    bytes.fill(0xff, 4096, 4096 + 8) // page 2's b-tree header
    await writeFile(pages, bytes)
    assert.throws(() => new SqlitePinStore(pages), (err: any) => assertStorageError(err, pages, /damaged/, /backup/))
    store = new BundleStore(join(dir, 'fresh.db'), quota)
    store.close()
  })

  it('committed transactions lost with the -wal after a crash are refused', async () => {
    const dir = await net.tempDir()
    const path = join(dir, 'bundles.db')
    const crashed = join(dir, 'crashed', 'bundles.db')
    const store = new BundleStore(path, quota)
    store.add([{ fragments: await fragments(40) }], NOW)
    // the files of an open store, copied as they are: the state kill -9 leaves
    await mkdir(join(dir, 'crashed'))
    for (const suffix of ['', '-wal', '-shm']) {
      await copyFile(path + suffix, crashed + suffix)
    }
    await copyFile(join(dir, 'stores.json'), join(dir, 'crashed', 'stores.json')).catch(() => {})
    store.close()
    // with its log the crashed copy opens and holds every bundle
    await copyFile(crashed + '-wal', crashed + '-wal.kept')
    await copyFile(crashed + '-shm', crashed + '-shm.kept')
    const whole = new BundleStore(crashed, quota)
    assert.equal(whole.usage(NOW).fragments, 40)
    whole.close()
    // the same crash, but the -wal deleted
    await copyFile(crashed + '-wal.kept', crashed + '-wal')
    await copyFile(crashed + '-shm.kept', crashed + '-shm')
    await rm(crashed + '-wal')
    assert.throws(() => new BundleStore(crashed, quota), (err: any) => assertStorageError(err, crashed, /-wal lost \d+ committed pages/, /backup/))
  })

  it('a store error during operation names the file and the recovery', async () => {
    const dir = await net.tempDir()
    const path = join(dir, 'bundles.db')
    const store = new BundleStore(path, quota)
    // 24 MiB, well over SQLite's 2 MiB page cache: reads below go to the disk
    const ids: string[] = []
    for (let i = 0; i < 24; i++) {
      const bundle = await fragments(16, 64 * 1024)
      store.add([{ fragments: bundle }], NOW)
      ids.push(bundle[0]?.id ?? '')
    }
    store.close()
    const running = new BundleStore(path, quota, { recovery: 'restore it from a backup' })
    // the disk damages every page's b-tree header under the running store
    const handle = await open(path, 'r+')
    const size = (await handle.stat()).size
    for (let offset = 4096; offset < size; offset += 4096) {
      await handle.write(Buffer.alloc(8, 0xff), 0, 8, offset)
    }
    await handle.close()
    assert.throws(() => { for (const id of ids) running.fragmentsOf(id, NOW) }, (err: any) => assertStorageError(err, path, /damaged/, /restore it from a backup/))
    running.close()
  })

  it('a node refuses a lost store with the choice; resetStores keeps the damaged file aside, logs and audits it', async () => {
    const dir = await net.tempDir()
    // a bridge with federation on: all three of its sqlite stores exist
    const bridge = { type: 'bridge' as const, federation: { enabled: true, listen: ['/ip4/127.0.0.1/tcp/0'] } }
    const first = await net.node({ ...bridge, options: { dataDir: dir, passphrase: 'p' } } as any)
    await first.dtn.send('edge', randomBytes(3000), { lifetimeMs: 3_600_000 })
    assert.ok(first.dtn.status().outbox > 0)
    await first.stop()
    for (const name of ['anomalies', 'federation', 'bundles']) {
      const path = join(dir, `${name}.db`)
      const kept = await readFile(path)
      await truncate(path, 0)
      await assert.rejects(net.node({ ...bridge, options: { dataDir: dir, passphrase: 'p' } } as any), (err: any) => assertStorageError(err, path, /truncated to 0 bytes/, new RegExp(`--reset-store ${name} `)))
      // the refusal released the directory and created nothing
      assert.equal((await stat(path)).size, 0)
      if (name !== 'bundles') {
        await writeFile(path, kept)
      }
    }
    const path = join(dir, 'bundles.db')

    const lines: string[] = []
    const logger = createLogger({ level: 'warn', destination: { write: (l: string) => { lines.push(l) } } as any })
    const second = await net.node({ ...bridge, options: { dataDir: dir, passphrase: 'p', resetStores: ['bundles'], logger } } as any)
    assert.equal(second.dtn.status().outbox, 0, 'a new, empty store')
    const files = await readdir(dir)
    const aside = files.find(f => /^bundles\.db\.damaged-/.test(f) && !f.endsWith('-wal') && !f.endsWith('-shm'))
    assert.ok(aside != null, `the damaged file is kept aside: ${files.join(' ')}`)
    const events = (await readFile(join(dir, 'events.log'), 'utf8')).trim().split('\n').map(l => JSON.parse(l))
    assert.ok(events.some(e => e.event === 'store-reset' && e.store === 'bundles' && e.movedAside.some((p: string) => p.endsWith(aside))), 'events.log records the reset')
    assert.equal((await stat(join(dir, 'events.log'))).mode & 0o777, 0o600)
    assert.ok(lines.some(l => /store reset by the operator/.test(l) && /"store":"bundles"/.test(l)), 'a warning is logged')
    assert.ok(aside.length > 0 && path.length > 0)
    await second.stop()
    // an unknown store name is refused with the list of names
    await assert.rejects(net.node({ ...bridge, options: { dataDir: dir, passphrase: 'p', resetStores: ['bundle'] } } as any), (err: any) => err?.name === 'StorageError' && /no such store; the stores are bundles, anomalies, federation, datastore/.test(err.message))
  })

  it('a node whose identity key or datastore vanished refuses to start and makes no new identity', async () => {
    const dir = await net.tempDir()
    const node = await net.node({ options: { dataDir: dir, passphrase: 'p' } })
    const peerId = node.peerId.toString()
    await node.stop()
    const enrollment = await loadEnrollment(dir)
    assert.equal(enrollment?.peerId, peerId)
    const key = join(dir, 'identity.key')
    const saved = await readFile(key)
    await unlink(key)
    await assert.rejects(createTempusNode({ type: 'edge', listen: ['/ip4/127.0.0.1/tcp/0'], mdns: { enabled: false }, api: { enabled: false }, log: { level: 'silent' } },
      { dataDir: dir, passphrase: 'p', scryptN: TEST_SCRYPT_N, enrollment, logger: createLogger({ level: 'silent' }) }),
    (err: any) => assertStorageError(err, key, /is gone/, /Restore identity\.key from a backup/))
    await assert.rejects(stat(key), { code: 'ENOENT' }, 'no new key was made')
    await writeFile(key, saved, { mode: 0o600 })

    const datastore = join(dir, 'datastore')
    await rm(datastore, { recursive: true })
    await assert.rejects(net.node({ options: { dataDir: dir, passphrase: 'p' } }), (err: any) => assertStorageError(err, datastore, /is gone/, /--reset-store datastore/))
    const again = await net.node({ options: { dataDir: dir, passphrase: 'p', resetStores: ['datastore'] } })
    assert.equal(again.peerId.toString(), peerId)
    await again.stop()
  })

  it('a second node on a data directory in use is refused at once, naming the pid; after stop it starts', async () => {
    const dir = await net.tempDir()
    const first = await net.node({ options: { dataDir: dir, passphrase: 'p' } })
    await assert.rejects(net.node({ options: { dataDir: dir, passphrase: 'p' } }), (err: any) => {
      assert.equal(err?.name, 'DataDirLockedError', `${err?.name}: ${err?.message}`)
      assert.match(err.message, new RegExp(`data directory ${dir} is in use by pid ${process.pid} \\(started .+\\); stop it first`))
      return true
    })
    // the refused one did not disturb the running one's files
    assert.equal(first.status().status, 'started')
    await first.stop()
    const second = await net.node({ options: { dataDir: dir, passphrase: 'p' } })
    assert.equal(second.peerId.toString(), first.peerId.toString())
    await second.stop()
  })
})

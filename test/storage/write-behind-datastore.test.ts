/**
 * The peer store held in memory and written behind: reads and rewrites of
 * `/peers/` never reach the disk between flushes, every other key is
 * written through, and a stop writes the latest records.
 */
import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { MemoryDatastore } from 'datastore-core'
import { Key } from 'interface-datastore'
import { WriteBehindDatastore } from '../../src/storage/write-behind-datastore.ts'
import { TestNet } from '../fixtures/nodes.ts'
import type { Datastore } from 'interface-datastore'

/** A real MemoryDatastore that counts what reaches it. */
function counted (): { store: Datastore, calls: Record<string, number> } {
  const inner = new MemoryDatastore()
  const calls: Record<string, number> = { put: 0, get: 0, delete: 0 }
  const store = new Proxy(inner, {
    get (target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver)
      if (typeof prop === 'string' && prop in calls && typeof value === 'function') {
        return (...a: unknown[]) => { calls[prop] = (calls[prop] ?? 0) + 1; return value.apply(target, a) }
      }
      return typeof value === 'function' ? value.bind(target) : value
    }
  })
  return { store, calls }
}

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s)
const text = (b: Uint8Array): string => new TextDecoder().decode(b)

async function keysOf (store: Datastore, prefix: string): Promise<string[]> {
  const keys: string[] = []
  for await (const { key } of store.query({ prefix })) keys.push(key.toString())
  return keys.sort()
}

describe('write-behind datastore', () => {
  it('holds /peers/ in memory between flushes and writes other keys through', async () => {
    const { store, calls } = counted()
    await store.put(new Key('/peers/a'), bytes('a0'))
    await store.put(new Key('/peers/gone'), bytes('x'))
    const ds = new WriteBehindDatastore(store, { prefix: '/peers/', flushIntervalMs: 3_600_000 })
    await ds.open()
    const before = { ...calls }
    for (let i = 1; i <= 50; i++) {
      assert.ok(text(await ds.get(new Key('/peers/a'))).startsWith('a'))
      await ds.put(new Key('/peers/a'), bytes(`a${i}`))
    }
    await ds.put(new Key('/peers/b'), bytes('b1'))
    await ds.delete(new Key('/peers/gone'))
    assert.deepEqual(calls, before, 'nothing under /peers/ reached the store below before a flush')
    assert.equal(ds.pending, 3)
    assert.equal(text(await ds.get(new Key('/peers/a'))), 'a50')
    assert.equal(await ds.has(new Key('/peers/gone')), false)
    await assert.rejects(ds.get(new Key('/peers/gone')), (err: any) => err.name === 'NotFoundError')
    assert.deepEqual(await keysOf(ds, '/peers/'), ['/peers/a', '/peers/b'], 'a query sees what is held, flushed or not')

    await ds.put(new Key('/tempus/ban/x'), bytes('ban'))
    assert.equal(calls.put, (before.put ?? 0) + 1, 'a key outside the prefix is written through at once')
    assert.deepEqual(await keysOf(ds, '/'), ['/peers/a', '/peers/b', '/tempus/ban/x'])

    await ds.close()
    assert.equal(ds.pending, 0)
    assert.equal(text(await store.get(new Key('/peers/a'))), 'a50', 'the latest record, written once')
    assert.equal(text(await store.get(new Key('/peers/b'))), 'b1')
    assert.equal(await store.has(new Key('/peers/gone')), false, 'a deletion reaches the store below')
    assert.equal(calls.put, (before.put ?? 0) + 3, 'one write per changed key, not one per change')
  })

  it('keeps a change whose write failed for the next flush', async () => {
    const { store } = counted()
    let fail = true
    const errors: unknown[] = []
    const flaky = new Proxy(store, {
      get (target, prop, receiver) {
        if (prop === 'put') return async (k: Key, v: Uint8Array) => { if (fail) throw Object.assign(new Error('disk full'), { name: 'PutFailedError' }); return await target.put(k, v) }
        const value = Reflect.get(target, prop, receiver)
        return typeof value === 'function' ? value.bind(target) : value
      }
    })
    const ds = new WriteBehindDatastore(flaky, { prefix: '/peers/', flushIntervalMs: 3_600_000, onFlushError: err => { errors.push(err) } })
    await ds.open()
    await ds.put(new Key('/peers/a'), bytes('a1'))
    await ds.flush()
    assert.equal(errors.length, 1)
    assert.equal(ds.pending, 1, 'still to be written')
    fail = false
    await ds.close()
    assert.equal(ds.pending, 0)
    assert.equal(text(await store.get(new Key('/peers/a'))), 'a1')
  })
})

describe('a node with a data directory', () => {
  const net = new TestNet()
  after(async () => { await net.stop() })

  /** every file of the peer store on disk, with its bytes */
  async function peerFiles (dataDir: string): Promise<Map<string, string>> {
    const root = join(dataDir, 'datastore', 'peers')
    const files = new Map<string, string>()
    for (const entry of await readdir(root, { recursive: true, withFileTypes: true }).catch(() => [])) {
      if (entry.isFile() && entry.name.endsWith('.data')) {
        const path = join(entry.parentPath, entry.name)
        files.set(path, (await readFile(path)).toString('hex'))
      }
    }
    return files
  }

  it('does not rewrite a peer\'s record on disk for every stream, and writes the latest at stop', async () => {
    const dir = await net.tempDir()
    const a = await net.node({ type: 'bridge', options: { dataDir: dir, passphrase: 'p' } })
    const b = await net.node({ type: 'bridge' })
    await a.libp2p.dial(b.libp2p.getMultiaddrs()[0] as any)
    // the connection's own streams (identify, admission, gossipsub, sampling) first
    await a.libp2p.services.ping.ping(b.peerId)
    const seen = new Set<string>()
    let last = await peerFiles(dir)
    let rewrites = 0
    for (let i = 0; i < 10; i++) {
      // one stream each: libp2p merges the protocol into the peer's record and writes it
      await a.libp2p.services.ping.ping(b.peerId)
      const now = await peerFiles(dir)
      for (const [path, content] of now) {
        if (last.get(path) !== content) rewrites++
        seen.add(path)
      }
      last = now
    }
    // one flush may fall inside the loop on a slow machine; a write per stream is ten
    assert.ok(rewrites <= 1, `the peer store was rewritten on disk ${rewrites} times for 10 streams`)
    const held = await a.libp2p.peerStore.get(b.peerId)
    assert.ok(held.protocols.includes('/ipfs/ping/1.0.0'))
    await a.stop()
    const stopped = await peerFiles(dir)
    assert.ok(stopped.size > 0, 'the peer store is on disk after stop')
    // the record on disk after stop is the one the peer store held
    const again = await net.node({ type: 'bridge', options: { dataDir: dir, passphrase: 'p' } })
    const reloaded = await again.libp2p.peerStore.get(b.peerId)
    assert.ok(reloaded.protocols.includes('/ipfs/ping/1.0.0'), 'the record written at stop comes back at the next start')
  })
})

/**
 * The peer store's read cache (src/node/peer-store-cache.ts) on real libp2p
 * nodes (TCP + Noise + Yamux, identify) over loopback: a stream of a
 * protocol the peer's record has writes nothing (libp2p's connection merges
 * it again on every stream), a new protocol is written, what changes through
 * any reference is read at once, a held record leaves after its time and
 * callers cannot change what is held.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { MemoryDatastore } from 'datastore-core'
import { createLibp2p } from 'libp2p'
import { PeerStoreCache, peerStoreCache, useCachedPeerStore } from '../../src/node/peer-store-cache.ts'
import type { Libp2p, PeerStore } from '@libp2p/interface'
import type { Key } from 'interface-datastore'

const ECHO = '/cache-test/echo/1.0.0'
const LATER = '/cache-test/later/1.0.0'

/** a datastore that counts the writes of each key */
class CountingDatastore extends MemoryDatastore {
  readonly writes = new Map<string, number>()
  override put (key: Key, value: Uint8Array): ReturnType<MemoryDatastore['put']> {
    this.writes.set(key.toString(), (this.writes.get(key.toString()) ?? 0) + 1)
    return super.put(key, value)
  }

  writesOf (peer: Libp2p): number {
    // the peer store's key for a peer (@libp2p/peer-store: /peers/<CID in base32>)
    return this.writes.get(`/peers/${peer.peerId.toCID().toString()}`) ?? 0
  }
}

interface Node { libp2p: Libp2p, store: CountingDatastore, cache?: PeerStoreCache }

describe('the peer store cache', () => {
  const nodes: Node[] = []
  let clock = 1_000_000
  const node = async (cached: boolean): Promise<Node> => {
    const store = new CountingDatastore()
    const libp2p = await createLibp2p({ start: false, datastore: store, addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()], services: { identify: identify() } })
    const cache = cached ? useCachedPeerStore(libp2p, { now: () => clock, ttlMs: 60_000 }) : undefined
    await libp2p.start()
    await libp2p.handle([ECHO, LATER], async (stream) => { await stream.close() })
    const n = { libp2p, store, cache }
    nodes.push(n)
    return n
  }
  /** `count` streams of `protocol` from a to b over one connection, after identify told a b's protocols */
  const streams = async (a: Libp2p, b: Libp2p, protocol: string, count: number): Promise<void> => {
    for (let i = 0; i < count; i++) {
      const stream = await a.dialProtocol(b.peerId, protocol)
      await stream.close()
    }
  }
  const identified = async (a: Libp2p, b: Libp2p): Promise<void> => {
    await a.dial(b.getMultiaddrs())
    for (let i = 0; i < 200; i++) {
      if ((await a.peerStore.get(b.peerId).catch(() => undefined))?.protocols.includes(ECHO) === true) return
      await new Promise<void>(resolve => { a.addEventListener('peer:update', () => { resolve() }, { once: true }) })
    }
    throw new Error('identify never told the peer store the remote protocols')
  }

  let plain: [Node, Node]
  let cached: [Node, Node]
  before(async () => {
    plain = [await node(false), await node(false)]
    cached = [await node(true), await node(true)]
    await identified(plain[0].libp2p, plain[1].libp2p)
    await identified(cached[0].libp2p, cached[1].libp2p)
  })
  after(async () => {
    await Promise.all(nodes.map(async n => { await n.libp2p.stop() }))
  })

  it('is what libp2p and its connections read', () => {
    const [a] = cached
    assert.ok(a.libp2p.peerStore instanceof PeerStoreCache)
    assert.ok((a.libp2p as unknown as { components: { peerStore: PeerStore } }).components.peerStore instanceof PeerStoreCache, 'libp2p keeps its peer store where its connections read it')
    assert.equal(useCachedPeerStore(a.libp2p), a.cache, 'installed once')
  })

  it('writes nothing for streams of a protocol the record has, where the plain store writes each time', async () => {
    const plainBefore = plain[0].store.writesOf(plain[1].libp2p)
    const cachedBefore = cached[0].store.writesOf(cached[1].libp2p)
    const hitsBefore = cached[0].cache?.stats.hits ?? 0
    await streams(plain[0].libp2p, plain[1].libp2p, ECHO, 20)
    await streams(cached[0].libp2p, cached[1].libp2p, ECHO, 20)
    assert.ok(plain[0].store.writesOf(plain[1].libp2p) - plainBefore >= 20, 'the plain store rewrote the record for every stream')
    assert.ok(cached[0].store.writesOf(cached[1].libp2p) - cachedBefore <= 1, `with the cache at most one write (${cached[0].store.writesOf(cached[1].libp2p) - cachedBefore})`)
    assert.ok((cached[0].cache?.stats.hits ?? 0) - hitsBefore >= 19)
    const missesBefore = cached[0].cache?.stats.misses ?? 0
    await cached[0].cache?.get(plain[0].libp2p.peerId).catch(() => undefined)
    assert.equal((cached[0].cache?.stats.misses ?? 0) - missesBefore, 1, 'a get the store answered is counted')
    // and the answering side, whose connection merges inbound streams, alike
    assert.ok(cached[1].store.writesOf(cached[0].libp2p) <= plain[1].store.writesOf(plain[0].libp2p) - 19)
  })

  it('writes a protocol the record does not have, and reads it back', async () => {
    const [a, b] = cached
    const cache = a.cache as PeerStoreCache
    await cache.patch(b.libp2p.peerId, { protocols: [ECHO] }) // forget LATER, as identify would
    assert.deepEqual((await a.libp2p.peerStore.get(b.libp2p.peerId)).protocols, [ECHO])
    const before = a.store.writesOf(b.libp2p)
    await streams(a.libp2p, b.libp2p, LATER, 1)
    assert.equal(a.store.writesOf(b.libp2p), before + 1)
    assert.deepEqual((await a.libp2p.peerStore.get(b.libp2p.peerId)).protocols.sort(), [ECHO, LATER].sort())
  })

  it('sees at once a change made through another reference to the store', async () => {
    const [a, b] = cached
    const cache = a.cache as PeerStoreCache
    const inner = (cache as unknown as { inner: PeerStore }).inner
    await a.libp2p.peerStore.get(b.libp2p.peerId) // held
    await inner.patch(b.libp2p.peerId, { protocols: [ECHO, '/elsewhere/1'] })
    assert.deepEqual((await a.libp2p.peerStore.get(b.libp2p.peerId)).protocols.sort(), [ECHO, '/elsewhere/1'].sort())
    // a read under way while another reference changes the record ends with the change held
    const reading = a.libp2p.peerStore.get(b.libp2p.peerId)
    const changing = inner.patch(b.libp2p.peerId, { protocols: [ECHO, LATER] })
    await Promise.all([reading, changing])
    assert.deepEqual((await a.libp2p.peerStore.get(b.libp2p.peerId)).protocols.sort(), [ECHO, LATER].sort())
  })

  it('holds what the last of several writes under way made, metadata too', async () => {
    const [a, b] = cached
    const colour = async (): Promise<string> => new TextDecoder().decode((await a.libp2p.peerStore.get(b.libp2p.peerId)).metadata.get('colour'))
    const writes = ['red', 'green', 'blue'].map(async c => await a.libp2p.peerStore.merge(b.libp2p.peerId, { metadata: { colour: new TextEncoder().encode(c) } }))
    const reading = a.libp2p.peerStore.get(b.libp2p.peerId)
    await Promise.all([...writes, reading])
    assert.equal(await colour(), 'blue')
    const inner = (a.cache as unknown as { inner: PeerStore }).inner
    assert.equal(new TextDecoder().decode((await inner.get(b.libp2p.peerId)).metadata.get('colour')), 'blue')
  })

  it('does not hold what a read or write returns late, after a later change', async () => {
    const [a, b] = cached
    const real = (a.cache as unknown as { inner: PeerStore }).inner
    // the real store, whose answers to this cache wait at a gate: the
    // interleaving a busy event loop makes now and then, made every time
    let open: () => void = () => {}
    let gate = Promise.resolve()
    const close = (): void => { gate = new Promise<void>(resolve => { open = resolve }) }
    const late = new Proxy(real, {
      get (t, prop) {
        const value = Reflect.get(t, prop, t)
        if (typeof value !== 'function') return value
        return prop === 'get' || prop === 'merge' ? async (...args: unknown[]) => { const waitFor = gate; const answer = await value.apply(t, args); await waitFor; return answer } : value.bind(t)
      }
    })
    const events = (a.libp2p as unknown as { components: { events: ConstructorParameters<typeof PeerStoreCache>[2] } }).components.events
    const cache = new PeerStoreCache(late, a.libp2p.peerId, events, { now: () => clock })
    try {
      await real.patch(b.libp2p.peerId, { protocols: [ECHO] })
      close()
      const reading = cache.get(b.libp2p.peerId) // reads [ECHO], held at the gate
      await real.patch(b.libp2p.peerId, { protocols: [ECHO, LATER] }) // announced meanwhile
      open()
      assert.deepEqual((await reading).protocols, [ECHO])
      assert.deepEqual((await cache.get(b.libp2p.peerId)).protocols.sort(), [ECHO, LATER].sort(), 'the announced change is held, not the late read')

      close()
      const first = cache.merge(b.libp2p.peerId, { metadata: { colour: new TextEncoder().encode('red') } }) // written, held at the gate
      const opening = open
      gate = Promise.resolve()
      await new Promise<void>(resolve => { setImmediate(resolve) })
      // begun later, done first; a merge of metadata the store does not announce
      await cache.merge(b.libp2p.peerId, { metadata: { colour: new TextEncoder().encode('blue') } })
      opening()
      await first
      assert.equal(new TextDecoder().decode((await cache.get(b.libp2p.peerId)).metadata.get('colour')), 'blue', 'the later write is held')
    } finally {
      cache.close()
    }
  })

  it('forgets a deleted peer', async () => {
    const [a] = cached
    const stranger = (nodes[0] as Node).libp2p.peerId
    await a.libp2p.peerStore.merge(stranger, { protocols: [ECHO] })
    assert.ok(await a.libp2p.peerStore.has(stranger))
    await a.libp2p.peerStore.delete(stranger)
    assert.equal(await a.libp2p.peerStore.has(stranger), false)
    await assert.rejects(a.libp2p.peerStore.get(stranger), { name: 'NotFoundError' })
  })

  it('is built before the services that keep the peer store they were built with', async () => {
    const libp2p = await createLibp2p({ start: false, services: { cache: peerStoreCache(), keeper: (components: { peerStore: PeerStore }) => ({ kept: components.peerStore }) } })
    try {
      assert.ok(libp2p.services.keeper.kept instanceof PeerStoreCache)
      assert.equal(useCachedPeerStore(libp2p), libp2p.services.cache, 'found, not built twice')
      assert.equal(libp2p.peerStore, libp2p.services.cache)
    } finally {
      await libp2p.stop()
    }
  })

  it('lets a held record go after its time: the next merge reaches the store', async () => {
    const [a, b] = cached
    await a.libp2p.peerStore.get(b.libp2p.peerId)
    const before = a.store.writesOf(b.libp2p)
    await a.libp2p.peerStore.merge(b.libp2p.peerId, { protocols: [ECHO] })
    assert.equal(a.store.writesOf(b.libp2p), before, 'held: nothing written')
    clock += 60_000
    await a.libp2p.peerStore.merge(b.libp2p.peerId, { protocols: [ECHO] })
    assert.equal(a.store.writesOf(b.libp2p), before + 1, 'its time past, the merge restamps the record')
  })

  it('hands every caller its own copy', async () => {
    const [a, b] = cached
    const first = await a.libp2p.peerStore.get(b.libp2p.peerId)
    first.protocols.length = 0
    first.addresses.length = 0
    first.metadata.clear()
    const second = await a.libp2p.peerStore.get(b.libp2p.peerId)
    assert.ok(second.protocols.includes(ECHO))
    assert.ok(second.addresses.length > 0)
  })
})

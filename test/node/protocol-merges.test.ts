/**
 * Known protocols are not merged into the peer store again at every stream
 * (src/node/protocol-merges.ts): real libp2p nodes over TCP + Noise +
 * Yamux, with and without the wrapper, the same streams, the datastore's
 * writes counted; then libp2p's own peer store for the cases a stale
 * memory would get wrong (a write that removed the protocol, a write that
 * overlapped, a peer record, the refresh, the bound).
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { RecordEnvelope, PeerRecord } from '@libp2p/peer-record'
import { persistentPeerStore } from '@libp2p/peer-store'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { MemoryDatastore } from 'datastore-core'
import { Key } from 'interface-datastore'
import { createLibp2p } from 'libp2p'
import { TypedEventEmitter } from 'main-event'
import { Registry } from 'prom-client'
import { elideKnownProtocolMerges } from '../../src/node/protocol-merges.ts'
import type { Libp2p, PeerId, PeerStore } from '@libp2p/interface'

const ECHO = '/merges/echo/1.0.0'

/** a datastore that counts the writes of each key */
class CountingDatastore extends MemoryDatastore {
  readonly puts = new Map<string, number>()
  override put (key: Key, value: Uint8Array, options?: any): any {
    this.puts.set(key.toString(), (this.puts.get(key.toString()) ?? 0) + 1)
    return super.put(key, value, options)
  }

  /** writes of the peer-store record of `peer` */
  peerWrites (peer: PeerId): number {
    let n = 0
    for (const [key, count] of this.puts) {
      if (key.startsWith('/peers/') && key.endsWith(peer.toCID().toString())) n += count
    }
    return n
  }
}

describe('protocol merges into the peer store', () => {
  const nodes: Libp2p[] = []
  after(async () => { await Promise.all(nodes.map(async n => { await n.stop() })) })
  /** streams each node's handler took (libp2p merges the protocol before it calls the handler) */
  const handled = new Map<Libp2p, { n: number, waiters: Array<() => void> }>()
  const handledBy = async (n: Libp2p, count: number): Promise<void> => {
    const h = handled.get(n) as { n: number, waiters: Array<() => void> }
    while (h.n < count) await new Promise<void>(resolve => { h.waiters.push(resolve) })
  }

  const node = async (datastore: CountingDatastore): Promise<Libp2p> => {
    const n = await createLibp2p({ datastore, addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] })
    const h = { n: 0, waiters: [] as Array<() => void> }
    handled.set(n, h)
    await n.handle(ECHO, async (stream) => {
      h.n++
      for (const w of h.waiters.splice(0)) w()
      await stream.close()
    })
    nodes.push(n)
    return n
  }

  /** `count` streams of ECHO from a to b over one connection; the writes of each side's record of the other meanwhile */
  const streams = async (a: Libp2p, b: Libp2p, da: CountingDatastore, db: CountingDatastore, count: number): Promise<{ a: number, b: number }> => {
    const connection = await a.dial(b.getMultiaddrs())
    const first = await connection.newStream(ECHO) // the first stream of the protocol is written: what is measured is the rest
    await first.close()
    await handledBy(b, 1)
    const before = { a: da.peerWrites(b.peerId), b: db.peerWrites(a.peerId) }
    for (let i = 0; i < count; i++) {
      const s = await connection.newStream(ECHO)
      await s.close()
    }
    await handledBy(b, count + 1)
    return { a: da.peerWrites(b.peerId) - before.a, b: db.peerWrites(a.peerId) - before.b }
  }

  it('writes a known protocol once, not at every stream, on both sides (and libp2p writes it at every stream without)', async () => {
    const [dA, dB, dC, dD] = [new CountingDatastore(), new CountingDatastore(), new CountingDatastore(), new CountingDatastore()]
    const [a, b, c, d] = [await node(dA), await node(dB), await node(dC), await node(dD)]
    const registry = new Registry()
    const sa = elideKnownProtocolMerges(a.peerStore, { registry })
    const sb = elideKnownProtocolMerges(b.peerStore)
    assert.equal(elideKnownProtocolMerges(a.peerStore), sa, 'wrapping again changes nothing')

    const wrapped = await streams(a, b, dA, dB, 10)
    const plain = await streams(c, d, dC, dD, 10)
    assert.ok(plain.a >= 10 && plain.b >= 10, `without the wrapper libp2p writes the record at every stream (${plain.a}, ${plain.b}); if not, this wrapper has nothing left to do`)
    assert.deepEqual(wrapped, { a: 0, b: 0 }, 'with it, ten more streams of a known protocol write nothing on either side')
    assert.ok(sa.elided >= 10 && sb.elided >= 10, `the merges went through the wrapper (libp2p reaches the peer store through libp2p.peerStore): ${sa.elided}, ${sb.elided}`)
    assert.ok((await a.peerStore.get(b.peerId)).protocols.includes(ECHO))
    assert.ok((await b.peerStore.get(a.peerId)).protocols.includes(ECHO))
    const metric = await registry.getSingleMetricAsString('tempus_peer_store_protocol_merges_total')
    assert.match(metric, /outcome="elided"} ([1-9]\d*)/)
  })

  describe('libp2p\'s peer store, wrapped', () => {
    const store = async (now?: () => number): Promise<{ store: PeerStore, datastore: CountingDatastore, stats: ReturnType<typeof elideKnownProtocolMerges>, peer: PeerId }> => {
      const self = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
      const datastore = new CountingDatastore()
      const s = persistentPeerStore({ peerId: self, datastore, events: new TypedEventEmitter(), logger: defaultLogger() })
      const stats = elideKnownProtocolMerges(s, { now, maxPeers: 4 })
      const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
      await s.merge(peer, { multiaddrs: [multiaddr('/ip4/10.0.0.1/tcp/4001')], protocols: ['/a/1', '/b/1'] })
      return { store: s, datastore, stats, peer }
    }

    it('answers a merge of listed protocols from memory; any other merge goes through', async () => {
      const { store: s, datastore, stats, peer } = await store()
      const writes = datastore.peerWrites(peer)
      assert.deepEqual((await s.merge(peer, { protocols: ['/a/1'] })).protocols, ['/a/1', '/b/1'])
      assert.equal(datastore.peerWrites(peer), writes)
      await s.merge(peer, { protocols: ['/c/1'] })
      await s.merge(peer, { protocols: ['/a/1'], multiaddrs: [multiaddr('/ip4/10.0.0.2/tcp/4001')] })
      assert.equal(datastore.peerWrites(peer), writes + 2, 'a new protocol, and a merge of anything else, are written')
      assert.deepEqual((await s.get(peer)).protocols, ['/a/1', '/b/1', '/c/1'])
      assert.equal(stats.elided, 1)
    })

    it('a write that removed a protocol is not hidden: the next merge of it writes it back', async () => {
      const { store: s, peer } = await store()
      await s.merge(peer, { protocols: ['/a/1'] }) // remembered
      await s.patch(peer, { protocols: ['/b/1'] }) // identify's kind of write: the list replaced
      await s.merge(peer, { protocols: ['/a/1'] })
      assert.deepEqual((await s.get(peer)).protocols, ['/a/1', '/b/1'])
      await s.delete(peer)
      await s.merge(peer, { protocols: ['/a/1'] })
      assert.deepEqual((await s.get(peer)).protocols, ['/a/1'], 'a deleted peer is written anew')
    })

    it('a merge that overlapped another write leaves nothing remembered', async () => {
      const { store: s, datastore, peer } = await store()
      await s.patch(peer, { protocols: ['/a/1'] }) // forgets
      const overlapped = s.merge(peer, { protocols: ['/a/1'] })
      const patched = s.patch(peer, { protocols: ['/b/1'] })
      await Promise.all([overlapped, patched])
      const writes = datastore.peerWrites(peer)
      await s.merge(peer, { protocols: ['/a/1'] })
      assert.equal(datastore.peerWrites(peer), writes + 1, 'the merge after them went to the store')
      assert.deepEqual((await s.get(peer)).protocols, ['/a/1', '/b/1'])
    })

    it('a peer record whose peer is not named forgets every peer; one that names it forgets that peer', async () => {
      const { store: s, datastore, peer } = await store()
      await s.merge(peer, { protocols: ['/a/1'] })
      const key = await generateKeyPair('Ed25519')
      const other = peerIdFromPrivateKey(key)
      await s.merge(other, { protocols: ['/x/1'] })
      const envelope = await RecordEnvelope.seal(new PeerRecord({ peerId: other, multiaddrs: [multiaddr('/ip4/10.0.0.9/tcp/4001')] }), key)
      await s.consumePeerRecord(envelope.marshal())
      const writes = datastore.peerWrites(peer) + datastore.peerWrites(other)
      await s.merge(peer, { protocols: ['/a/1'] })
      await s.merge(other, { protocols: ['/x/1'] })
      assert.equal(datastore.peerWrites(peer) + datastore.peerWrites(other), writes + 2)
    })

    it('writes again once the refresh is due (the record\'s updated time moves), and remembers a bounded number of peers', async () => {
      let t = 1_000_000
      const { store: s, datastore, peer } = await store(() => t)
      await s.merge(peer, { protocols: ['/a/1'] })
      const writes = datastore.peerWrites(peer)
      t += 299_000
      await s.merge(peer, { protocols: ['/a/1'] })
      assert.equal(datastore.peerWrites(peer), writes)
      t += 2_000
      await s.merge(peer, { protocols: ['/a/1'] })
      assert.equal(datastore.peerWrites(peer), writes + 1)

      // four remembered at most: the fifth pushes out the least recently written
      const others = await Promise.all([1, 2, 3, 4].map(async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))))
      for (const o of others) await s.merge(o, { protocols: ['/a/1'] })
      const before = datastore.peerWrites(peer)
      await s.merge(peer, { protocols: ['/a/1'] })
      assert.equal(datastore.peerWrites(peer), before + 1, 'the first peer was forgotten')
    })
  })
})

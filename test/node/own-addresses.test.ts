import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { multiaddr } from '@multiformats/multiaddr'
import { OwnAddresses } from '../../src/core/own-addresses.ts'
import { withoutRedundantLoopback } from '../../src/node/announce-filter.ts'
import { NetnsLab, canUseNetns } from '../fixtures/netns.ts'
import { TestNet } from '../fixtures/nodes.ts'
import type { Multiaddr } from '@multiformats/multiaddr'

const m = (s: string): Multiaddr => multiaddr(s)

/** a listener as libp2p announces it: its addresses as it expands them */
const listener = (addrs: string[]): { getAddrs: () => Multiaddr[] } => ({ getAddrs: () => addrs.map(m) })

describe('the addresses a node announces and the ones it never dials', () => {
  it('announces a loopback address only when its listener is reachable on no other', () => {
    const lan = m('/ip4/10.1.2.3/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN')
    const lo4 = m('/ip4/127.0.0.1/tcp/4001')
    const lo6 = m('/ip6/::1/tcp/4001')
    const lo4b = m('/ip4/127.0.1.1/tcp/4001')
    assert.deepEqual(withoutRedundantLoopback([lo4, lan, lo6, lo4b]).map(String), [lan.toString()])
    assert.deepEqual(withoutRedundantLoopback([lo4, lo6]).map(String), [lo4.toString(), lo6.toString()])
    assert.deepEqual(withoutRedundantLoopback([]), [])
    // a listener on loopback alone, beside an address observed on another port: still the way to it
    const observed = m('/ip4/10.77.0.1/tcp/4002')
    assert.deepEqual(withoutRedundantLoopback([lo4, observed]).map(String), [lo4.toString(), observed.toString()])
    // a link-local address is not loopback, and a name is not judged (its owner resolves it)
    const linkLocal = m('/ip6/fe80::1/tcp/4001')
    const named = m('/dns4/localhost/tcp/4001')
    assert.deepEqual(withoutRedundantLoopback([linkLocal, named, lo4]).map(String), [linkLocal, named].map(String))
    assert.deepEqual(withoutRedundantLoopback([named, lo4]).map(String), [named.toString()], 'a name on the port counts as another address of the listener')
  })

  it('an address is its own when a listener is bound to its port on that host, or on the unspecified host', () => {
    let now = 0
    const own = new OwnAddresses({ now: () => now })
    const events = new EventTarget()
    own.watch(events as any)
    const wildcard = listener(['/ip4/127.0.0.1/tcp/4001', '/ip4/10.9.0.5/tcp/4001'])
    assert.equal(own.isOwn(m('/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN')), false, 'no listener yet')
    events.dispatchEvent(new CustomEvent('transport:listening', { detail: wildcard }))
    for (const s of ['/ip4/127.0.0.1/tcp/4001', '/ip4/10.9.0.5/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN', '/ip4/0.0.0.0/tcp/4001']) {
      assert.equal(own.isOwn(m(s)), true, s)
    }
    for (const s of ['/ip4/127.0.0.1/tcp/4002', '/ip4/10.9.0.6/tcp/4001', '/ip6/::1/tcp/4001', '/dns4/localhost/tcp/4001', '/ip4/127.0.0.1/udp/4001/quic-v1']) {
      assert.equal(own.isOwn(m(s)), false, s)
    }
    // an interface that comes up is seen within the cache's life
    const addrs = ['/ip4/127.0.0.1/tcp/4001', '/ip4/10.9.0.5/tcp/4001']
    const growing = { getAddrs: () => addrs.map(m) }
    events.dispatchEvent(new CustomEvent('transport:listening', { detail: growing }))
    assert.equal(own.isOwn(m('/ip4/10.9.0.7/tcp/4001')), false)
    addrs.push('/ip4/10.9.0.7/tcp/4001')
    now = 4_999
    assert.equal(own.isOwn(m('/ip4/10.9.0.7/tcp/4001')), false, 'read at most every 5 s')
    now = 5_000
    assert.equal(own.isOwn(m('/ip4/10.9.0.7/tcp/4001')), true)
    events.dispatchEvent(new CustomEvent('transport:close', { detail: wildcard }))
    events.dispatchEvent(new CustomEvent('transport:close', { detail: growing }))
    assert.equal(own.isOwn(m('/ip4/127.0.0.1/tcp/4001')), false, 'the listeners closed')
  })

  describe('on real nodes', () => {
    const net = new TestNet()
    after(async () => { await net.stop() })

    it('a peer record naming this node\'s own address is not dialled: no handshake with itself (chaos: 5,700 of them)', async () => {
      // loopback-only nodes: they announce loopback, their only way in
      const a = await net.node({ type: 'edge', connections: { minConnections: 0 } })
      const b = await net.node({ type: 'sentinel', connections: { minConnections: 0 } })
      assert.ok(a.getMultiaddrs().length > 0 && a.getMultiaddrs().every(s => s.startsWith('/ip4/127.')), 'a loopback-only node still announces loopback')
      const mine = a.getMultiaddrs()[0]?.replace(/\/p2p\/.*$/, '') ?? ''
      // what a stale or hostile record (or another host's loopback on a shared port) gives: b "at" a's own address
      await a.libp2p.peerStore.patch(b.peerId, { multiaddrs: [multiaddr(mine)] })
      await assert.rejects(a.libp2p.dial(b.peerId, { signal: AbortSignal.timeout(10_000) }), (err: Error) => {
        // before: an EncryptionFailedError, a's Noise handshake with itself failing the identity check
        assert.equal(err.name, 'DialDeniedError', `${err.name}: ${err.message}`)
        return true
      })
      // with b's real address too, the dial goes straight there
      await a.libp2p.peerStore.patch(b.peerId, { multiaddrs: [multiaddr(mine), ...b.libp2p.getMultiaddrs()] })
      const connection = await a.libp2p.dial(b.peerId, { signal: AbortSignal.timeout(10_000) })
      assert.equal(connection.remotePeer.toString(), b.peerId.toString())
    })
  })
})

const unavailable = await canUseNetns()

describe('a node on every interface, across namespaces', { skip: unavailable }, () => {
  const lab = new NetnsLab()
  const net = new TestNet()
  after(async () => { await lab.destroy(); await net.stop() })

  it('announces its host\'s address and not loopback, so a peer on another host never dials its own port', async () => {
    const [h1, h2] = await lab.create(2)
    assert.ok(h1 != null && h2 != null)
    const quiet = { mdns: { enabled: false }, api: { enabled: false }, log: { level: 'silent' } }
    // both on port 4001, as a fleet with a fixed port: the sentinel's 127.0.0.1:4001, dialled from the edge's host, is the edge
    const sentinel = await lab.startNode(h2, { type: 'sentinel', listen: ['/ip4/0.0.0.0/tcp/4001'], ...quiet }, net)
    const started = await sentinel.waitFor(e => e.event === 'started', 'the sentinel to start')
    assert.deepEqual(started.addrs.map((a: string) => a.replace(/\/p2p\/.*$/, '')), [`/ip4/${h2.ip}/tcp/4001`], 'its one address off the host')
    const edge = await lab.startNode(h1, { type: 'edge', listen: ['/ip4/0.0.0.0/tcp/4001'], bootstrap: started.addrs, ...quiet }, net)
    const edgeId = (await edge.waitFor(e => e.event === 'started', 'the edge to start')).peerId
    await edge.waitFor(e => e.event === 'connect' && e.peer === started.peerId, 'the edge to reach the sentinel')
    // what each learnt of the other: the host's address only
    const heard = await sentinel.waitFor(e => e.event === 'identify' && e.peer === edgeId, 'the sentinel to identify the edge')
    assert.deepEqual(heard.listenAddrs.map((a: string) => a.replace(/\/p2p\/.*$/, '')), [`/ip4/${h1.ip}/tcp/4001`])
    const told = await edge.waitFor(e => e.event === 'identify' && e.peer === started.peerId, 'the edge to identify the sentinel')
    assert.deepEqual(told.listenAddrs.map((a: string) => a.replace(/\/p2p\/.*$/, '')), [`/ip4/${h2.ip}/tcp/4001`])
  })
})

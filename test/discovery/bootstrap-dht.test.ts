import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { EventTypes } from '@libp2p/kad-dht'
import { TestNet } from '../fixtures/nodes.ts'
import { eventually } from '../fixtures/wait.ts'

describe('discovery', () => {
  const net = new TestNet()
  after(async () => { await net.stop() })

  it('joins through the bootstrap list', async () => {
    const s1 = await net.node({ type: 'sentinel' })
    const s2 = await net.node({ type: 'sentinel', bootstrap: s1.getMultiaddrs() })
    const edge = await net.node({ type: 'edge', bootstrap: [...s1.getMultiaddrs(), ...s2.getMultiaddrs()] })
    await eventually(() => [s1, s2].every(s => edge.libp2p.getPeers().some(p => p.equals(s.peerId))), 'edge connected to both sentinels')
    await eventually(() => s2.libp2p.getPeers().some(p => p.equals(s1.peerId)), 'sentinels connected')
  })

  it('finds a peer\'s addresses through the private DHT when only a sentinel is shared', async () => {
    const sentinel = await net.node({ type: 'sentinel' })
    // minConnections 1: A and C stay on the sentinel and never dial each other
    const a = await net.node({ type: 'edge', bootstrap: sentinel.getMultiaddrs(), connections: { minConnections: 1 } })
    const c = await net.node({ type: 'edge', bootstrap: sentinel.getMultiaddrs(), connections: { minConnections: 1 } })
    await eventually(() => sentinel.libp2p.getPeers().some(p => p.equals(c.peerId)) && a.libp2p.getPeers().some(p => p.equals(sentinel.peerId)), 'A and C on the sentinel')
    assert.equal(a.libp2p.getConnections(c.peerId).length, 0)
    // make sure A's answer cannot come from its own peer store
    await a.libp2p.peerStore.delete(c.peerId)

    let found: string[] | undefined
    for await (const event of a.libp2p.services.dht.findPeer(c.peerId, { useCache: false, signal: AbortSignal.timeout(15_000) })) {
      if (event.type === EventTypes.FINAL_PEER && event.peer.id.equals(c.peerId)) {
        assert.ok(event.from.equals(sentinel.peerId), 'the answer came from the sentinel')
        found = event.peer.multiaddrs.map(ma => ma.toString())
        break
      }
    }
    assert.ok(found != null && found.length > 0, 'DHT returned C\'s addresses')
    const cAddrs = c.getMultiaddrs().map(ma => ma.replace(/\/p2p\/.*$/, ''))
    assert.ok(found.some(addr => cAddrs.includes(addr)), `found ${found.join(',')} among ${cAddrs.join(',')}`)

    // and those addresses work
    await a.libp2p.dial(c.peerId, { signal: AbortSignal.timeout(10_000) })
    assert.ok(a.libp2p.getConnections(c.peerId).length > 0)
  })
})

/**
 * A node keeps a few sentinels, not all (issue #20: every node kept every
 * sentinel it knew, so at 100 nodes each sentinel held 60–95 connections
 * and starved first on a loaded host). Real nodes: an edge that knows six
 * sentinels from its bootstrap list connects to the three of its own
 * rendezvous ranking, stands the next one in for a chosen sentinel that
 * stops, and does not dial the rest.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { rendezvousOrder } from '../../src/liveness/sentinel-choice.ts'
import { KEPT_TAG } from '../../src/core/peer-tags.ts'
import { TestNet } from '../fixtures/nodes.ts'
import { eventually } from '../fixtures/wait.ts'
import type { TempusNode } from '../../src/node/tempus-node.ts'

const QUIET = { sampling: { edge: { period: '1h' }, bridge: { period: '1h' }, sentinel: { period: '1h' } } }

describe('the sentinels a node keeps', () => {
  const net = new TestNet()
  after(async () => { await net.stop() })

  it('an edge that knows six sentinels keeps the three it ranks first, and the fourth in place of one that stops', async () => {
    const sentinels: TempusNode[] = []
    for (let i = 0; i < 6; i++) {
      sentinels.push(await net.node({ type: 'sentinel', ...QUIET }))
    }
    const edge = await net.node({
      type: 'edge',
      ...QUIET,
      bootstrap: sentinels.flatMap(s => s.getMultiaddrs()),
      redial: { initialDelay: '100ms', maxDelay: '2s', factor: 2, jitter: 0 }
    })
    const byId = new Map(sentinels.map(s => [s.peerId.toString(), s]))
    const order = rendezvousOrder(edge.peerId.toString(), [...byId.keys()])
    const connectedTo = (): string[] => order.filter(id => edge.libp2p.getConnections().some(c => c.remotePeer.toString() === id))
    const keeper = edge.libp2p.services.keeper

    // its own three, though it is short of its eight connections and knows no other peer
    await eventually(() => connectedTo().length === 3 && order.slice(0, 3).every(id => connectedTo().includes(id)), 'the edge connected to its first three sentinels', 30_000)
    assert.deepEqual([...keeper.keptSentinels].sort(), order.slice(0, 3).sort())
    for (const id of order.slice(0, 3)) {
      const peer = await edge.libp2p.peerStore.get((byId.get(id) as TempusNode).peerId)
      assert.ok(peer.tags.has(KEPT_TAG), 'a kept sentinel is tagged, so an idle-connection close leaves it')
    }
    for (const id of order.slice(3)) {
      const peer = await edge.libp2p.peerStore.get((byId.get(id) as TempusNode).peerId)
      assert.ok(!peer.tags.has(KEPT_TAG))
    }

    // the first one stops: redialled (it is the one to come back to), and the fourth stands in
    await (byId.get(order[0] as string) as TempusNode).stop()
    await eventually(() => connectedTo().includes(order[3] as string), 'the fourth sentinel dialled in place of the first', 30_000)
    assert.ok(keeper.keptSentinels.has(order[0] as string), 'the stopped one is still kept')
    assert.ok((keeper.redialOf((byId.get(order[0] as string) as TempusNode).peerId)?.failures ?? 0) >= 1, 'and redialled')
    assert.deepEqual(connectedTo().sort(), order.slice(1, 4).sort(), 'the fifth and sixth were never dialled')
    assert.equal(keeper.keptSentinels.size, 4)

    // the DHT tags its closest peers, but does not keep them: libp2p would dial every peer tagged keep-alive at each start and disconnect
    await eventually(async () => (await edge.libp2p.peerStore.all()).some(p => p.tags.has('kad-close')), 'the DHT to tag its closest peers', 30_000)
    const keptAlive = (await edge.libp2p.peerStore.all()).filter(p => [...p.tags.keys()].some(t => t.startsWith('keep-alive')))
    assert.deepEqual(keptAlive.map(p => p.id.toString()), [], 'no keep-alive tag from the DHT')
  })

  it('a peer store persisted with the DHT\'s keep-alive tags (an earlier version) has them cleared at the next start', async () => {
    const dataDir = await net.tempDir()
    const opts = { dataDir, passphrase: 'p', scryptN: 1 << 10 }
    const sentinel = await net.node({ type: 'sentinel', ...QUIET })
    const first = await net.node({ type: 'edge', ...QUIET, options: opts })
    // as kad-dht wrote it before (straight into the peer store, not through the node's DHT)
    await first.libp2p.peerStore.merge(sentinel.peerId, { multiaddrs: sentinel.libp2p.getMultiaddrs(), tags: { 'keep-alive-kad-dht': { value: 1 } } })
    await first.stop()
    const second = await net.node({ type: 'edge', ...QUIET, options: opts })
    assert.ok(second.peerId.equals(first.peerId), 'the same node, from its data directory')
    const peer = await second.libp2p.peerStore.get(sentinel.peerId)
    assert.ok(peer.addresses.length > 0, 'the peer store was kept')
    assert.ok(!peer.tags.has('keep-alive-kad-dht'), 'the keep-alive tag is gone')
  })
})

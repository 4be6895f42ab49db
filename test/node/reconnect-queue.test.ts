/**
 * libp2p's reconnect queue is stopped on a tempus node
 * (src/node/reconnect-queue.ts): a peer's disconnect no longer costs a
 * peer-store read looking for a keep-alive tag no tempus node sets. Real
 * nodes on 127.0.0.1; fails when libp2p keeps the queue where the stop
 * cannot reach it (the reads come back).
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import { stopReconnectQueue } from '../../src/node/reconnect-queue.ts'
import { TestNet } from '../fixtures/nodes.ts'
import type { TempusNode } from '../../src/node/tempus-node.ts'

/** peer-store reads made by libp2p's reconnect queue on `node`, counted from their call stacks */
function readsByReconnectQueue (node: TempusNode): () => number {
  let reads = 0
  const store = node.libp2p.peerStore
  const get = store.get.bind(store)
  store.get = async (...args) => {
    // the caller's frame: the line after this wrapper's own
    if (new Error().stack?.split('\n')[2]?.includes('reconnect-queue') === true) reads++
    return await get(...args)
  }
  return () => reads
}

describe('libp2p\'s reconnect queue', () => {
  const net = new TestNet()
  after(async () => { await net.stop() })

  it('reads nothing from the peer store when a peer disconnects', async () => {
    const a = await net.node({ type: 'sentinel' })
    const b = await net.node({ type: 'edge' })
    const readsA = readsByReconnectQueue(a)
    const readsB = readsByReconnectQueue(b)
    for (let i = 0; i < 3; i++) {
      const gone = new Promise(resolve => { a.libp2p.addEventListener('peer:disconnect', resolve, { once: true }) })
      const connection = await b.libp2p.dial(multiaddr(a.getMultiaddrs()[0] ?? ''))
      await connection.close()
      await gone
    }
    // the queue's read starts in the disconnect's own dispatch, before any listener added later runs
    assert.equal(readsA(), 0)
    assert.equal(readsB(), 0)
    assert.equal(stopReconnectQueue(a.libp2p), true, 'the queue is where the node stops it')
  })
})

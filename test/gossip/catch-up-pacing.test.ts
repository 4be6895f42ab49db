/**
 * A node asks a peer for catch-up pages no faster than that peer serves
 * them (src/gossip/catch-up.ts, `asking`). A responder charges every
 * request over its rate (12 a minute per peer) as an offence; a node whose
 * only connection comes and goes (an RPC client that connects, calls and
 * closes) was isolated at each connect and asked every time: 220 such
 * cycles of `bench:admission` left it at a score of 7.9 at the sentinel it
 * called (throttled at 10), for doing nothing but reconnect.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import { anomalyFrame, scriptedOrigin } from '../fixtures/anomaly-frame.ts'
import { TestNet } from '../fixtures/nodes.ts'
import { eventually, waitForEvent } from '../fixtures/wait.ts'

const QUIET = { sampling: { edge: { period: '1h' }, bridge: { period: '1h' }, sentinel: { period: '1h' } }, connections: { minConnections: 0, allow: ['127.0.0.0/8'] } }

describe('catch-up pacing', () => {
  const net = new TestNet()
  after(async () => { await net.stop() })

  it('a node that reconnects again and again asks no more than its peer serves, and is never charged for it', async () => {
    const sentinel = await net.node({ type: 'sentinel', ...QUIET })
    const edge = await net.node({ type: 'edge', ...QUIET })
    const origin = await scriptedOrigin(net)
    const held = anomalyFrame(sentinel.admission.verifier.overlay, origin.peerId, origin.key, origin.token, { kind: 'paced' })
    assert.equal(sentinel.gossip.store.insert(held.anomaly, held.frame, Date.now()), 'new')
    const addr = multiaddr(sentinel.getMultiaddrs()[0] ?? '')
    const id = edge.peerId.toString()

    // connect, catch up, close: twenty times, the edge isolated at each connect
    for (let i = 0; i < 20; i++) {
      const connection = await edge.libp2p.dial(addr)
      await edge.gossip.catchUp(sentinel.peerId)
      const gone = waitForEvent(sentinel.libp2p, 'peer:disconnect', evt => evt.detail.toString() === id)
      await connection.close()
      await gone
    }
    assert.ok(edge.gossip.list().some(a => a.id === held.id), 'the anomaly the sentinel held was caught up')
    // the catch-ups the edge's own connects started ran on those connections too: all of them are over
    await eventually(() => sentinel.libp2p.getConnections().length === 0, 'no connection left')
    const offences = sentinel.admission.suspicion.recentOffences(id)
    assert.deepEqual(offences.map(o => o.cause), [], 'the sentinel charged the edge nothing')
    assert.equal(sentinel.admission.suspicion.score(id), 0)
  })
})

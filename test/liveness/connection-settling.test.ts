import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { TestNet } from '../fixtures/nodes.ts'
import { eventually, waitForEvent } from '../fixtures/wait.ts'
import { ConnectionSettling } from '../../src/liveness/connection-settling.ts'
import type { TempusNode } from '../../src/node/tempus-node.ts'
import type { Connection } from '@libp2p/interface'

/** every protocol a stream on this connection was opened for, either way, as long as the connection lives */
function protocolsSeenOn (node: TempusNode, connection: Connection): Set<string> {
  const seen = new Set<string>()
  const look = (): void => { for (const s of connection.streams) seen.add(s.protocol ?? '') }
  // a stream's protocol is known once negotiated: look at each turn the node's streams change
  node.libp2p.addEventListener('peer:update', look)
  const timer = setInterval(look, 5)
  connection.addEventListener('close', () => { clearInterval(timer); node.libp2p.removeEventListener('peer:update', look) }, { once: true })
  return seen
}

describe('connection settling: upkeep starts on connections that stay', () => {
  const net = new TestNet()
  after(async () => { await net.stop() })

  it('a connection closed before it settles costs neither side an identify or a gossipsub stream', async () => {
    // the Cyclon case: dialled for one exchange, closed after it
    const a = await net.node({ connections: { minConnections: 1 }, liveness: { settleDelay: '30s' } })
    const b = await net.node({ connections: { minConnections: 1 }, liveness: { settleDelay: '30s' } })
    let identified = 0
    for (const n of [a, b]) {
      n.libp2p.addEventListener('peer:identify', () => { identified++ })
    }
    const connection = await a.libp2p.dial(b.libp2p.getMultiaddrs())
    const seen = protocolsSeenOn(a, connection)
    const rtt = await a.libp2p.services.ping.ping(b.libp2p.getMultiaddrs())
    assert.ok(rtt >= 0, 'the connection carried an exchange')
    assert.equal(a.libp2p.services.settling.isSettled(connection), false, 'not settled while the delay runs')
    const closed = waitForEvent(b.libp2p, 'peer:disconnect', evt => evt.detail.equals(a.peerId))
    await connection.close()
    await closed
    assert.equal(identified, 0, 'no identify either way')
    assert.deepEqual([...seen].filter(p => p.startsWith('/meshsub/') || p.startsWith('/ipfs/id/') || p.startsWith('/tempus/kad/')), [], `only the exchange's streams: ${[...seen].join(', ')}`)
    assert.equal(a.libp2p.services.settling.stats().closedUnsettled, 1)
    assert.equal(b.libp2p.services.settling.stats().closedUnsettled, 1)
    assert.equal(a.libp2p.services.settling.stats().waiting, 0, 'no timer left behind')
    const scraped = await a.metricsRegistry.metrics()
    assert.match(scraped, /tempus_connection_upkeep_total\{outcome="closed_before"\} 1/, 'the operator sees it')
  })

  it('a connection that stays open settles by its clock: identify both ways, then gossipsub streams both ways', async () => {
    const a = await net.node({ connections: { minConnections: 1 }, liveness: { settleDelay: '300ms' } })
    const b = await net.node({ connections: { minConnections: 1 }, liveness: { settleDelay: '300ms' } })
    const identifiedByA = waitForEvent(a.libp2p, 'peer:identify', evt => evt.detail.peerId.equals(b.peerId))
    const identifiedByB = waitForEvent(b.libp2p, 'peer:identify', evt => evt.detail.peerId.equals(a.peerId))
    const connection = await a.libp2p.dial(b.libp2p.getMultiaddrs())
    await Promise.all([identifiedByA, identifiedByB])
    assert.equal(a.libp2p.services.settling.isSettled(connection), true)
    const stats = [a, b].map(n => n.libp2p.services.settling.stats())
    assert.equal(stats.reduce((sum, s) => sum + s.settledByTime + s.settledByPeer, 0), 2, `each side settled once, by its clock or when the other identified it: ${JSON.stringify(stats)}`)
    // gossipsub learnt of each peer from identify (its topology) and opened its stream
    await eventually(() => a.libp2p.services.pubsub.getPeers().some(p => p.equals(b.peerId)) && b.libp2p.services.pubsub.getPeers().some(p => p.equals(a.peerId)), 'gossipsub peers both ways')
  })

  it('a connection the node means to keep settles at once, and its peer settles when identified', async () => {
    // both clocks far longer than the test's wait for the events: only the
    // keeper's settle and the peer's answer to it can start the upkeep in time
    const a = await net.node({ connections: { minConnections: 1 }, liveness: { settleDelay: '10m' } })
    const b = await net.node({ connections: { minConnections: 1 }, liveness: { settleDelay: '10m' } })
    await a.libp2p.peerStore.merge(b.peerId, { multiaddrs: b.libp2p.getMultiaddrs() })
    const identifiedByA = waitForEvent(a.libp2p, 'peer:identify', evt => evt.detail.peerId.equals(b.peerId))
    const identifiedByB = waitForEvent(b.libp2p, 'peer:identify', evt => evt.detail.peerId.equals(a.peerId))
    const keeper = a.libp2p.services.keeper
    keeper.keep(b.peerId)
    await keeper.redialKept()
    await Promise.all([identifiedByA, identifiedByB])
    assert.equal(a.libp2p.services.settling.stats().settledAsked, 1, 'the keeper asked')
    assert.equal(b.libp2p.services.settling.stats().settledByPeer, 1, 'the peer settled as it answered identify')
    assert.equal(a.libp2p.services.settling.stats().settledByTime + b.libp2p.services.settling.stats().settledByTime, 0)
  })

  it('refuses a negative or non-numeric delay', () => {
    const components = { events: new EventTarget(), logger: { forComponent: () => Object.assign(() => {}, { error: () => {}, trace: () => {} }) }, registrar: {}, identify: { identify: async () => {} } } as any
    assert.throws(() => new ConnectionSettling(components, { settleMs: -1 }), /settleMs must be a number of milliseconds ≥ 0, not -1/)
    assert.throws(() => new ConnectionSettling(components, { settleMs: Number.NaN }), /settleMs/)
  })
})

/**
 * Issue #19, item 3: every anomaly reaches every node on the live path.
 *
 * The mechanism (protocols/gossip.md, "Live path"): two nodes may hold two
 * connections at once (both dialled at the same moment, or a sampling
 * exchange beside a kept connection), and gossipsub runs its streams on
 * one of them. When that one closes (the sampler's idle closer releases
 * connections dialled for an exchange) while the other stays open, libp2p
 * tells gossipsub nothing (the peer is still connected), and gossipsub
 * neither reopens its streams nor drops the peer: the peer stays in its
 * mesh, counted towards D, and every message "sent" to it goes nowhere.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, describe, it } from 'node:test'
import { ANOMALY_TOPIC } from '../../src/gossip/constants.ts'
import { TestNet } from '../fixtures/nodes.ts'
import { eventually, waitForEvent } from '../fixtures/wait.ts'
import type { TempusNode } from '../../src/node/tempus-node.ts'
import { multiaddr } from '@multiformats/multiaddr'
import type { Connection } from '@libp2p/interface'

async function heartbeats (node: TempusNode, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await waitForEvent(node.libp2p.services.pubsub, 'gossipsub:heartbeat', () => true, 10_000)
  }
}

const QUIET = { sampling: { edge: { period: '1h' }, bridge: { period: '1h' }, sentinel: { period: '1h' } } }

/** the connection of `node` that carries its gossipsub streams to `peer` */
function gossipConnection (node: TempusNode, peer: TempusNode): Connection | undefined {
  return node.libp2p.getConnections(peer.peerId).find(c => c.streams.some(s => (s.protocol ?? '').startsWith('/meshsub/')))
}

/** does `node`'s gossipsub hold an open outbound stream to `peer` (what it sends on) */
function outboundTo (node: TempusNode, peer: TempusNode): boolean {
  const streams = (node.libp2p.services.pubsub as unknown as { streamsOutbound?: Map<string, unknown> }).streamsOutbound
  return streams?.has(peer.peerId.toString()) === true
}

describe('the live path survives connection churn (issue #19, item 3)', () => {
  const net = new TestNet()
  after(async () => { await net.stop() })

  it('when the connection carrying gossipsub\'s streams closes and another to the same peer stays open, the next anomaly still arrives live', async () => {
    const a = await net.node({ type: 'sentinel', ...QUIET })
    const b = await net.node({ type: 'edge', bootstrap: a.getMultiaddrs(), ...QUIET })
    const sees = (x: TempusNode, y: TempusNode): boolean => x.libp2p.services.pubsub.getSubscribers(ANOMALY_TOPIC).some(p => p.equals(y.peerId))
    await eventually(() => sees(a, b) && sees(b, a) && gossipConnection(b, a) != null, 'gossipsub streams between a and b')
    // a second connection, as a simultaneous dial or an exchange makes
    const second = await b.libp2p.dial(multiaddr(String(a.getMultiaddrs()[0])), { force: true })
    await eventually(() => a.libp2p.getConnections(b.peerId).length === 2, 'a sees both connections')
    const carrying = gossipConnection(b, a)
    assert.ok(carrying != null && carrying.id !== second.id, 'gossipsub runs on the first connection')
    // the one carrying gossipsub is released; the other stays
    await carrying.close()
    await eventually(() => b.libp2p.getConnections(a.peerId).length === 1 && a.libp2p.getConnections(b.peerId).length === 1, 'one connection left')
    // gossipsub's streams are back on the connection left within a few heartbeats (the old
    // code left them closed, the peer in the mesh, and every message to it went nowhere)
    await eventually(() => gossipConnection(a, b) != null && gossipConnection(b, a) != null, 'gossipsub streams on the connection left', 10_000)
    await eventually(() => sees(a, b) && sees(b, a), 'each on the topic at the other')
    // a's own stream to b reopened too (the condition above holds as soon as b's stream to a is
    // back; a message published before a's is, goes to nobody live and waits for catch-up)
    await eventually(() => outboundTo(a, b) && outboundTo(b, a), 'gossipsub\'s outbound stream each way', 10_000)
    const digest = randomBytes(32).toString('hex')
    const arrived = waitForEvent(b.gossip, 'anomaly', evt => evt.detail.digest === digest, 25_000)
    await a.gossip.publish({ kind: 'churn', digest, severity: 4 })
    const got = await arrived
    // not fetched by the periodic catch-up (30 s), which is what the old code waited for
    assert.equal(got.detail.via, 'gossip')
  })

  it('a neighbour that holds honest faults against a node (admission timeouts) still tells it of every anomaly', async () => {
    const a = await net.node({ type: 'sentinel', ...QUIET })
    const lone = { ...QUIET, connections: { minConnections: 0 } }
    const p = await net.node({ type: 'edge', bootstrap: a.getMultiaddrs(), ...lone })
    const x = await net.node({ type: 'edge', bootstrap: a.getMultiaddrs(), ...lone })
    const sees = (m: TempusNode, n: TempusNode): boolean => m.libp2p.services.pubsub.getSubscribers(ANOMALY_TOPIC).some(q => q.equals(n.peerId))
    await eventually(() => sees(a, p) && sees(p, a) && sees(a, x) && sees(x, a), 'p and x on the topic at a, and a at each')
    // six admission timeouts of x at a, as a loaded machine makes them: suspicion 12, an honest fault
    const xId = x.peerId.toString()
    for (let i = 0; i < 6; i++) {
      a.admission.raise(xId, 'timeout')
    }
    assert.ok(a.admission.suspicion.score(xId) >= 11.9)
    // p reaches x only through a
    assert.equal(p.libp2p.getConnections(x.peerId).length, 0, 'p and x are not connected')
    await heartbeats(a, 2)
    const digest = randomBytes(32).toString('hex')
    const arrived = waitForEvent(x.gossip, 'anomaly', evt => evt.detail.digest === digest, 25_000)
    await p.gossip.publish({ kind: 'suspected-neighbour', digest, severity: 2 })
    const got = await arrived
    // by gossip (a's IHAVE, x's IWANT), not by the periodic catch-up: suspicion alone takes x out of
    // a's mesh, not out of its gossip (the old P5, −12, put x under the gossip threshold, −10)
    assert.equal(got.detail.via, 'gossip')
    assert.ok(a.gossip.score(xId) >= -10, `x's score at a: ${a.gossip.score(xId)}`)
  })

  it('a node that every connected peer refuses in its mesh connects to one more peer of its own and gets a mesh (issue #19, item 4)', async () => {
    const a = await net.node({ type: 'sentinel', ...QUIET })
    // minConnections 0: the peer keeper would never dial y on its own
    const lone = { ...QUIET, connections: { minConnections: 0 } }
    const x = await net.node({ type: 'edge', bootstrap: a.getMultiaddrs(), ...lone })
    const y = await net.node({ type: 'edge', ...lone })
    const sees = (m: TempusNode, n: TempusNode): boolean => m.libp2p.services.pubsub.getSubscribers(ANOMALY_TOPIC).some(q => q.equals(n.peerId))
    await eventually(() => sees(a, x) && sees(x, a), 'x and a on the topic at each other')
    // a refuses x in its mesh (a hub's full mesh does the same; here a negative score: honest
    // faults charged at a), so x's mesh is empty with no one left to graft
    for (let i = 0; i < 6; i++) {
      a.admission.raise(x.peerId.toString(), 'timeout')
    }
    const mesh = (n: TempusNode): string[] => (n.libp2p.services.pubsub as unknown as { getMeshPeers: (t: string) => string[] }).getMeshPeers(ANOMALY_TOPIC)
    // x and a may have grafted each other before the charges: a prunes x at its next heartbeat
    await eventually(() => !mesh(x).includes(a.peerId.toString()) && !mesh(a).includes(x.peerId.toString()), 'a to have x out of its mesh', 20_000)
    // y is known to x as a sampled peer is: in its peer store, with the addresses y signed
    await x.libp2p.peerStore.merge(y.peerId, { multiaddrs: y.libp2p.getMultiaddrs() })
    assert.equal(x.libp2p.getConnections(y.peerId).length, 0)
    const starved = waitForEvent(x.gossip, 'mesh:starved', evt => evt.detail.topics.includes(ANOMALY_TOPIC), 30_000)
    await starved
    await eventually(() => x.libp2p.getConnections(y.peerId).length > 0, 'x dialled y', 20_000)
    await eventually(() => mesh(x).includes(y.peerId.toString()), 'y in x\'s mesh', 20_000)
    assert.ok(!mesh(x).includes(a.peerId.toString()), 'a still refuses x')
    assert.ok(x.gossip.status().starved >= 1)
  })
})


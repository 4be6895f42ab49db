/**
 * A node with no route to the issuer (a partition, its link down) retries
 * its token within NO_ROUTE_RETRY_MS, not on the 15 s backoff: nothing
 * reaches the issuer until the route is back, and the first retry after
 * that gets the token (issue #20: a healed partition's nodes waited up to
 * 26 s for a token of the epoch rotated while they were cut off). An
 * issuer that is reachable but refuses connections keeps the backoff. Real
 * network stacks: a token manager in a network namespace of its own, whose
 * only route is its bridge.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { NO_ROUTE_RETRY_MS } from '../../src/admission/token-manager.ts'
import { NetnsLab, canUseNetns } from '../fixtures/netns.ts'
import { TestNet } from '../fixtures/nodes.ts'

const unavailable = await canUseNetns()

describe('token retries with no route to the issuer', { skip: unavailable }, () => {
  const lab = new NetnsLab()
  const net = new TestNet()
  before(async () => { await lab.create(1) })
  after(async () => { await lab.destroy(); await net.stop() })

  it('retry within NO_ROUTE_RETRY_MS while no packet can reach the issuer, on the backoff once it is reachable but refusing', async () => {
    const [host] = lab.hosts
    assert.ok(host != null)
    const key = await generateKeyPair('Ed25519')
    const enrollment = await net.enroll(key, 'edge')
    const subnet = host.ip.split('.').slice(0, 3).join('.')
    const targets = [
      // no route at all: the namespace routes only its bridge's subnet
      { url: 'http://192.0.2.1:7400', refreshes: 8 },
      // on the bridge's subnet, where nobody answers for the address (as across a partition)
      { url: `http://${subnet}.250:7400`, refreshes: 1 },
      // the host itself, where nothing listens: reachable, and refusing
      { url: `http://${host.ip}:7400`, refreshes: 8 },
      // no route for six requests, then the route is back and the issuer refuses connections:
      // the backoff starts at its first step, not at the seventh
      { url: 'http://192.0.2.1:7400', refreshes: 9, then: { url: `http://${host.ip}:7400`, after: 6 } }
    ]
    const probe = lab.startScript(host, 'no-route-probe.js', JSON.stringify({ key: Buffer.from(privateKeyToProtobuf(key)).toString('base64'), enrollment, targets, keysUrl: 'http://192.0.2.1:7400' }))
    // a node whose keys poll is an hour apart asks again and again while there is no route: it
    // learns of a rotation made meanwhile as soon as the route is back, not at the next poll
    await probe.waitFor(e => e.event === 'keys-retried', 'three keys syncs with the poll an hour apart', 30_000)
    probe.send({ stop: true })
    await probe.waitFor(e => e.event === 'done', 'the probe to finish', 60_000)
    const [noRoute, noNeighbour, refusing, healed] = probe.events.filter(e => e.event === 'probed')
    assert.deepEqual([noRoute?.noRoute, noRoute?.reason], [true, 'ENETUNREACH'])
    assert.deepEqual([noNeighbour?.noRoute, noNeighbour?.reason], [true, 'EHOSTUNREACH'])
    assert.deepEqual([refusing?.noRoute, refusing?.reason], [false, 'ECONNREFUSED'])
    assert.equal(noRoute?.delays.length, 8)
    assert.ok(noRoute?.delays.every((d: number) => d <= NO_ROUTE_RETRY_MS), `no route: ${JSON.stringify(noRoute?.delays)}`)
    assert.ok(Math.max(...refusing?.delays) > 5_000, `refusing: the backoff grows (${JSON.stringify(refusing?.delays)})`)
    // after the route came back: the first delays as the refusing issuer's own first ones, not the
    // seventh step's (15 s at most, 7.5 s at least with this jitter)
    assert.equal(healed?.delays.length, 9)
    assert.deepEqual(healed?.delays.slice(6), refusing?.delays.slice(0, 3), `after the heal: ${JSON.stringify(healed?.delays)}`)
    await probe.stop()
  })
})

/**
 * A new member's introductions on real nodes (protocols/cyclon.md, "Roles"
 * and "One descriptor per spacing"): an empty view asks three introducers,
 * and each of them must end up holding the new node's entry, though it has
 * one descriptor of its own per spacing. Without that, only the first
 * introducer learnt it (review 16, finding 7), and nodes that each asked
 * one of two sentinels could form two overlays. Nobody is charged for it:
 * each introducer gets a descriptor of its own, a spacing apart.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { handOn, mintDescriptor } from '../../src/core/descriptor.ts'
import { keyObjectOf } from '../../src/core/keys.ts'
import { TEST_DESCRIPTOR_SPACING_MS, TestNet } from '../fixtures/nodes.ts'
import { eventually } from '../fixtures/wait.ts'
import { recordOf, sendShuffle } from './entries.ts'
import type { TempusNode } from '../../src/node/tempus-node.ts'

/** nothing ticks unless the test says so */
const MANUAL = { sampling: { edge: { period: '1h' }, bridge: { period: '1h' }, sentinel: { period: '1h' } }, liveness: { maintainInterval: '1h' } }
const SPACING = TEST_DESCRIPTOR_SPACING_MS.edge

describe('introductions of a new member', () => {
  const net = new TestNet()
  after(async () => { await net.stop() })

  it('each of three introducers ends up holding the new node\'s entry, and nobody is charged for it', async () => {
    const sentinels: TempusNode[] = []
    for (let i = 0; i < 3; i++) {
      sentinels.push(await net.node({ type: 'sentinel', ...MANUAL }))
    }
    const addrs = sentinels.flatMap(s => s.getMultiaddrs())
    // an edge every introducer already holds, with a descriptor it may hand
    // on: the new node's first introduction fills its view, so it has no
    // reason to introduce itself again
    const xKey = await generateKeyPair('Ed25519')
    const x = await net.node({ type: 'edge', bootstrap: addrs, ...MANUAL, liveness: {}, options: { privateKey: xKey } })
    const xId = x.peerId.toString()
    await eventually(() => sentinels.every(s => s.admission.admitted.has(xId)), 'x admitted by every sentinel')
    const own = x.admission.ownToken
    assert.ok(own != null)
    const record = await recordOf(xKey, x.getMultiaddrs().map(String))
    for (const [i, s] of sentinels.entries()) {
      // three descriptors of x, a spacing apart and in the past (handable at once), each handed by x to one sentinel
      const minted = mintDescriptor(keyObjectOf(xKey), 'edge', xId, Date.now() - (i + 1) * SPACING)
      const descriptor = handOn(minted, keyObjectOf(xKey), s.peerId.toString())
      await sendShuffle(x, s, [{ id: xId, token: own.token, keyCertificate: own.keyCertificate, record, descriptor }], 'edge')
    }
    assert.ok(sentinels.every(s => s.sampling.view('edge').some(e => e.peerId === xId)), 'every introducer holds x')

    // the new member: connected to the three sentinels only, its clock
    // moved one spacing before each of its ticks (it may then mint one
    // descriptor of its own each tick)
    let ahead = 0
    const node = await net.node({ type: 'edge', bootstrap: addrs, ...MANUAL, liveness: {}, options: { now: () => Date.now() + ahead } })
    const id = node.peerId.toString()
    await eventually(() => sentinels.every(s => s.admission.admitted.has(id) && node.admission.admitted.has(s.peerId.toString())), 'the new node admitted by every sentinel')
    const holding = (): number => sentinels.filter(s => s.sampling.view('edge').some(e => e.peerId === id)).length

    // three ticks, each with a descriptor of its own to give: the first
    // introduces it to all three, of which one gets its entry; the next two
    // give one each to the others
    for (let tick = 1; tick <= 3; tick++) {
      ahead += SPACING
      await node.sampling.tick('edge')
      if (tick === 1) {
        assert.ok(node.sampling.view('edge').length > 0, 'the first introduction filled the view')
      }
    }
    assert.equal(holding(), 3, `every introducer holds the new node's entry after three ticks (${holding()} of 3 do)`)

    for (const s of sentinels) {
      assert.equal(s.admission.suspicion.score(id), 0, 'the new node is charged nothing')
      const refused = await s.metricsRegistry.getSingleMetricAsString('tempus_sampling_descriptors_refused_total')
      assert.doesNotMatch(refused, /reason="(over-minted|replayed|bad-descriptor|missing)"\} [1-9]/, 'no descriptor refused')
    }
  })
})

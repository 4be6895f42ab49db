/**
 * Catch-up with digests (`/tempus/anomaly/catchup/1.1.0`): the chaos
 * harness at 100 nodes (issue #20) ended with anomalies published on one
 * side of a partition missing on the other, because a node's catch-up
 * window followed the newest anomaly it held, and its own side kept that
 * moving. The asker now sends a digest per time bucket of the last hour,
 * and the server sends what is in the buckets that differ.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, describe, it } from 'node:test'
import { pbStream } from '@libp2p/utils'
import { DIGEST_BYTES, bucketDigests, bucketOf, differingRanges, digestLayout } from '../../src/gossip/catch-up-digest.ts'
import { CATCH_UP_DIGEST_PROTOCOL } from '../../src/gossip/constants.ts'
import { CatchUpRequest } from '../../src/gossip/pb/gossip.ts'
import { anomalyFrame, scriptedOrigin } from '../fixtures/anomaly-frame.ts'
import { TestNet } from '../fixtures/nodes.ts'
import { eventually } from '../fixtures/wait.ts'

const QUIET = { sampling: { edge: { period: '1h' }, bridge: { period: '1h' }, sentinel: { period: '1h' } } }

const id = (): string => randomBytes(16).toString('hex')

describe('catch-up digests (pure)', () => {
  const layout = digestLayout(0, 60_000, 6) // six buckets of 10 s

  it('cuts the window into equal buckets of at least 1 s; before it nothing, after it the last bucket', () => {
    assert.deepEqual(layout, { start: 0, span: 10_000, buckets: 6 })
    assert.equal(digestLayout(0, 10, 60).span, 1_000)
    assert.equal(bucketOf(layout, -1), -1)
    assert.equal(bucketOf(layout, 0), 0)
    assert.equal(bucketOf(layout, 19_999), 1)
    assert.equal(bucketOf(layout, 3_600_000), 5, 'a later timestamp (a skewed clock) counts in the last bucket')
  })

  it('the same set gives the same digests in any order; one id more or less changes its bucket only', () => {
    const rows = Array.from({ length: 50 }, (_, i) => ({ timestamp: i * 1_100, id: id() }))
    const a = bucketDigests(rows, layout)
    const b = bucketDigests([...rows].reverse(), layout)
    assert.equal(a.length, 6 * DIGEST_BYTES)
    assert.deepEqual(a, b)
    assert.deepEqual(differingRanges(a, b, layout), [])
    const more = bucketDigests([...rows, { timestamp: 25_000, id: id() }], layout)
    assert.deepEqual(differingRanges(a, more, layout), [{ from: 20_000, to: 30_000 }])
    const fewer = bucketDigests(rows.filter(r => r.timestamp < 40_000 || r.timestamp >= 50_000), layout)
    assert.deepEqual(differingRanges(a, fewer, layout), [{ from: 40_000, to: 50_000 }])
  })

  it('merges adjacent differing buckets, and leaves the last one open at its end', () => {
    const empty = bucketDigests([], layout)
    const rows = [{ timestamp: 1, id: id() }, { timestamp: 12_000, id: id() }, { timestamp: 45_000, id: id() }, { timestamp: 90_000, id: id() }]
    assert.deepEqual(differingRanges(empty, bucketDigests(rows, layout), layout), [
      { from: 0, to: 20_000 },
      { from: 40_000, to: Number.POSITIVE_INFINITY }
    ])
  })
})

describe('catch-up digests between real nodes', () => {
  const net = new TestNet()
  after(async () => { await net.stop() })

  it('a node whose newest anomaly moved on during a partition still gets what the other side published; an older peer (1.0.0) could not give it', async () => {
    const older = await net.node({ type: 'sentinel', ...QUIET })
    const otherSide = await net.node({ type: 'sentinel', ...QUIET })
    const node = await net.node({ type: 'edge', ...QUIET })
    const origin = await scriptedOrigin(net)
    const overlay = node.admission.verifier.overlay
    // published on the other side during the partition: held there, never seen here
    const missed = anomalyFrame(overlay, origin.peerId, origin.key, origin.token, { lifetimeMs: 30 * 60_000 })
    assert.equal(otherSide.gossip.store.insert(missed.anomaly, missed.frame, Date.now()), 'new')
    assert.equal(older.gossip.store.insert(missed.anomaly, missed.frame, Date.now()), 'new')
    // meanwhile this node's own side went on publishing: its newest is 90 s later
    const later = anomalyFrame(overlay, origin.peerId, origin.key, origin.token, { at: Date.now() + 90_000, lifetimeMs: 30 * 60_000 })
    assert.equal(node.gossip.store.insert(later.anomaly, later.frame, Date.now()), 'new')

    // a peer that speaks only 1.0.0 is asked from the newest held less a minute: it has nothing there
    await older.libp2p.unhandle(CATCH_UP_DIGEST_PROTOCOL)
    await node.libp2p.dial(older.libp2p.getMultiaddrs()[0] as any)
    await eventually(() => node.admission.admitted.has(older.peerId.toString()), 'admitted by the older peer')
    assert.equal(await node.gossip.catchUp(older.peerId), 0)
    assert.ok(!node.gossip.list().some(a => a.id === missed.id), 'without digests the window lies past it')

    // the partition heals: a peer of the other side that speaks 1.1.0
    await node.libp2p.dial(otherSide.libp2p.getMultiaddrs()[0] as any)
    await eventually(() => node.gossip.list().some(a => a.id === missed.id), 'the anomaly of the other side, caught up with digests', 10_000)
    assert.equal(node.gossip.status().caughtUp, 1)
    assert.equal(otherSide.admission.suspicion.score(node.peerId.toString()), 0)
    assert.equal(node.admission.suspicion.score(otherSide.peerId.toString()), 0)
    assert.equal(node.admission.suspicion.score(older.peerId.toString()), 0)
  })

  it('digests that are not whole buckets, or too many, charge the asker and get no answer', async () => {
    const server = await net.node({ type: 'sentinel', ...QUIET })
    const asker = await net.node({ type: 'edge', bootstrap: server.getMultiaddrs(), ...QUIET })
    await eventually(() => server.admission.admitted.has(asker.peerId.toString()), 'admitted')
    const offences: string[] = []
    server.admission.addEventListener('offence', evt => {
      if (evt.detail.peer === asker.peerId.toString()) offences.push(`${evt.detail.offence} ${evt.detail.cause ?? ''}`)
    })
    for (const [i, digests] of [new Uint8Array(DIGEST_BYTES + 1), new Uint8Array(65 * DIGEST_BYTES)].entries()) {
      const stream = await asker.libp2p.dialProtocol(server.peerId, CATCH_UP_DIGEST_PROTOCOL)
      const pb = pbStream(stream, { maxDataLength: 4096 })
      await pb.write({ since: 0n, afterId: new Uint8Array(0), limit: 10, digestStart: 0n, digestSpan: 1_000, digests }, CatchUpRequest)
      await assert.rejects(pb.read(CatchUpRequest), 'the stream is reset, nothing is answered')
      await eventually(() => offences.length === i + 1, 'the asker charged')
    }
    assert.deepEqual(offences, ['malformed-frame gossip:catch-up:digests', 'malformed-frame gossip:catch-up:digests'])
    assert.ok(server.admission.suspicion.score(asker.peerId.toString()) > 0)
  })
})

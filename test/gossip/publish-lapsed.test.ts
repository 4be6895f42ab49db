/**
 * An anomaly is evidence of its moment: under a lapsed token every peer
 * refuses it for good (`lapsed-evidence`), so a node must not acknowledge
 * one it publishes then. The 100-node chaos run (issue #20): a starved
 * sentinel went 50 s without a token, "published" an anomaly, and no other
 * node ever took it. Real node, real issuer, real token; the lapse is the
 * token's claims moved into the past, as 50 s without a renewal leaves them.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { GossipError } from '../../src/gossip/errors.ts'
import { TestNet } from '../fixtures/nodes.ts'
import type { TempusNode } from '../../src/node/tempus-node.ts'

describe('publishing under a lapsed token', () => {
  const net = new TestNet()
  let node: TempusNode
  before(async () => { node = await net.node({ type: 'sentinel' }) })
  after(async () => { await net.stop() })

  it('is refused with a reason and leaves nothing behind; with a live token it publishes', async () => {
    const own = node.admission.ownToken
    assert.ok(own != null)
    const lapsedAt = Math.floor(Date.now() / 1000) - 1
    node.admission.setOwnToken({ ...own, claims: { ...own.claims, exp: lapsedAt } })
    const before = node.gossip.status().published
    await assert.rejects(node.gossip.publish({ kind: 'lapsed', digest: 'ab'.repeat(16), severity: 3 }), (err: unknown) => {
      assert.ok(err instanceof GossipError)
      assert.equal(err.reason, 'no-admission')
      assert.match(err.message, /lapsed at .*nothing was published/)
      return true
    })
    assert.equal(node.gossip.status().published, before, 'nothing published')
    assert.equal(node.gossip.store.count(Date.now()), 0, 'nothing stored')

    node.admission.setOwnToken(own)
    const published = await node.gossip.publish({ kind: 'live', digest: 'cd'.repeat(16), severity: 3 })
    assert.equal(node.gossip.status().published, before + 1)
    assert.ok(node.gossip.store.has(published.id), 'stored')
  })
})

/**
 * Issue #20 (found by the chaos harness): an anomaly published with a token
 * of one epoch could not be caught up once the issuer had rotated to the
 * next: the catch-up checked its evidence as if it were a live connection
 * (current epoch only) and ignored it as stale, so anomalies published in a
 * partition around a rotation never reached the other half.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { TestNet } from '../fixtures/nodes.ts'
import { eventually } from '../fixtures/wait.ts'

const QUIET = { sampling: { edge: { period: '1h' }, bridge: { period: '1h' }, sentinel: { period: '1h' } } }

describe('catch-up across a signing-key rotation', () => {
  const net = new TestNet()
  after(async () => { await net.stop() })

  it('a node that joins after a rotation catches up what was published before it', async () => {
    const t = await net.issuer()
    const holder = await net.node({ type: 'sentinel', ...QUIET })
    const before = await holder.gossip.publish({ kind: 'before-rotation', digest: 'ab', severity: 3 })
    const epoch = holder.admission.ownToken?.claims.ep as number
    await t.issuer.announceKey()
    await t.issuer.activateKey()
    assert.ok(await holder.tokens.refresh() != null)
    assert.equal(holder.admission.ownToken?.claims.ep, epoch + 1, 'the holder is on the new epoch')

    // enrolled after the rotation: it knows only the new epoch
    const late = await net.node({ type: 'edge', ...QUIET })
    await late.libp2p.dial(holder.libp2p.getMultiaddrs()[0] as any)
    await eventually(() => late.admission.admitted.has(holder.peerId.toString()), 'the late node admitted')
    await eventually(() => late.gossip.list().some(a => a.id === before.id) || (late.gossip.status().rejected.stale ?? 0) > 0, 'the catch-up to answer')
    assert.ok(late.gossip.list().some(a => a.id === before.id), `the anomaly published before the rotation was caught up (refused: ${JSON.stringify(late.gossip.status().rejected)})`)
    assert.equal(late.admission.suspicion.score(holder.peerId.toString()), 0, 'and the holder was charged nothing')
  })
})

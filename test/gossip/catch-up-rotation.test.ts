/**
 * Issue #20 (found by the chaos harness): an anomaly published with a token
 * of one epoch could not be caught up once the issuer had rotated to the
 * next: the catch-up checked its evidence as if it were a live connection
 * (current epoch only) and ignored it as stale, so anomalies published in a
 * partition around a rotation never reached the other half. Then the
 * same for what a node cut off from the issuer published under its old,
 * still valid token after the rotation: the rule now judges when the
 * token was issued, not when the anomaly was.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { encodeAnomalyBody } from '../../src/gossip/anomaly.ts'
import { bindAnomaly, deriveAnomalyId } from '../../src/gossip/anomaly-id.ts'
import { ANOMALY_TOPIC } from '../../src/gossip/constants.ts'
import { sealFrame } from '../../src/gossip/frame.ts'
import { IssuerClient } from '../../src/issuer-client/client.ts'
import { TestNet } from '../fixtures/nodes.ts'
import { eventually } from '../fixtures/wait.ts'

const QUIET = { sampling: { edge: { period: '1h' }, bridge: { period: '1h' }, sentinel: { period: '1h' } } }

describe('catch-up across a signing-key rotation', () => {
  const net = new TestNet()
  after(async () => { await net.stop() })

  it('a node that joins after a rotation catches up what was published before it, and under an old token after it; never under an old-key token dated after it', async () => {
    const t = await net.issuer()
    const holder = await net.node({ type: 'sentinel', ...QUIET })
    const before = await holder.gossip.publish({ kind: 'before-rotation', digest: 'ab', severity: 3 })
    // a member's token of the old epoch, issued before the rotation: a node cut off from the issuer goes on publishing under it
    const key = await generateKeyPair('Ed25519')
    const client = new IssuerClient({ url: t.url })
    const member = await client.enroll(key, await t.issuer.createCode('edge'))
    const oldToken = await client.token(key, member.credential)
    // one the old key dates a minute ahead: what someone holding the retired key could mint after the rotation
    const aheadNbf = Date.now() + 60_000
    const mintedLater = await t.issuer.issueToken(member.peerId, 'edge', aheadNbf)
    const epoch = holder.admission.ownToken?.claims.ep as number
    await t.issuer.announceKey()
    await t.issuer.activateKey()
    assert.ok(await holder.tokens.refresh() != null)
    assert.equal(holder.admission.ownToken?.claims.ep, epoch + 1, 'the holder is on the new epoch')

    // enrolled after the rotation: it knows only the new epoch
    const late = await net.node({ type: 'edge', ...QUIET })
    const overlay = holder.admission.verifier.overlay
    const sealed = (token: { token: string, keyCertificate: string }, at: number): { id: string } => {
      const content = { kind: 'after-rotation', digest: randomBytes(8).toString('hex'), severity: 9, metadata: {}, timestamp: at, expires: at + 10 * 60_000 }
      const a = bindAnomaly({ id: deriveAnomalyId(overlay, member.peerId, content), origin: member.peerId, ...content }, overlay)
      assert.equal(holder.gossip.store.insert(a, sealFrame(ANOMALY_TOPIC, key, member.peerId, token, encodeAnomalyBody(a)), Date.now()), 'new')
      return a
    }
    // dated after the late node knew the new epoch (beyond the clock skew allowed), under the old token issued before the rotation
    const cutOff = sealed(oldToken, Date.now() + 35_000)
    // dated within the later token's validity, which starts after the late node knew the new epoch
    const forged = sealed(mintedLater, aheadNbf + 5_000)
    await late.libp2p.dial(holder.libp2p.getMultiaddrs()[0] as any)
    await eventually(() => late.admission.admitted.has(holder.peerId.toString()), 'the late node admitted')
    await eventually(() => late.gossip.list().some(a => a.id === before.id) || (late.gossip.status().rejected.stale ?? 0) > 0, 'the catch-up to answer')
    // one whole catch-up more, awaited: every frame has surely been judged
    await late.gossip.catchUp(holder.peerId)
    const held = late.gossip.list().map(a => a.id)
    assert.ok(held.includes(before.id), `the anomaly published before the rotation was caught up (refused: ${JSON.stringify(late.gossip.status().rejected)})`)
    assert.ok(held.includes(cutOff.id), 'an anomaly published after the rotation under a token issued before it (its origin cut off from the issuer) is caught up')
    assert.ok(!held.includes(forged.id), 'an anomaly under an old-key token issued after the new epoch was current is not taken')
    assert.equal(late.admission.suspicion.score(holder.peerId.toString()), 0, 'and the holder was charged nothing')
  })
})

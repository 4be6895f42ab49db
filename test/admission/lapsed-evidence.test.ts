/**
 * Evidence that lapsed in an issuer outage is nobody's offence, wherever it
 * travels. A node cut off from every issuer keeps sending bundles and
 * publishing anomalies under its lapsed token; admission forgives such a
 * token for EXPIRED_TOKEN_GRACE_MS (refusal-cost.ts). A bundle's or an
 * anomaly's evidence is judged the same way: refused (`lapsed-evidence`),
 * never charged to the carrier or relay, which passed on what the source
 * signed. Past the grace it is a fossil, and charged as before. (The
 * 100-node chaos run, seed 4: two honest sources whose tokens lapsed while
 * the issuer was overloaded were quarantined by the carriers of their
 * bundles, 74 `bad-bundle` charges for `no-admission`.) Real issuer, real
 * tokens, real signatures; the clock is injected.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { EXPIRED_TOKEN_GRACE_MS } from '../../src/admission/refusal-cost.ts'
import { admissionStateFor } from '../../src/admission/state.ts'
import { createBundle } from '../../src/dtn/bundle.ts'
import { parseDestination } from '../../src/dtn/destination.ts'
import { DtnError, HARMLESS } from '../../src/dtn/errors.ts'
import { checkEvidence } from '../../src/dtn/evidence.ts'
import { encodeAnomalyBody } from '../../src/gossip/anomaly.ts'
import { bindAnomaly, deriveAnomalyId } from '../../src/gossip/anomaly-id.ts'
import { ANOMALY_TOPIC } from '../../src/gossip/constants.ts'
import { sealFrame } from '../../src/gossip/frame.ts'
import { GossipValidator, verdictOn } from '../../src/gossip/validation.ts'
import { IssuerClient } from '../../src/issuer-client/client.ts'
import { startTestIssuer } from '../fixtures/issuer.ts'
import type { AdmissionState } from '../../src/admission/state.ts'
import type { TestIssuer } from '../fixtures/issuer.ts'
import type { PrivateKey } from '@libp2p/interface'

describe('evidence that lapsed in an issuer outage', () => {
  let t: TestIssuer
  let state: AdmissionState
  let clock = Date.now()
  let source: { privateKey: PrivateKey, peerId: string, evidence: { token: string, keyCertificate: string }, exp: number }

  before(async () => {
    t = await startTestIssuer()
    const client = new IssuerClient({ url: t.url })
    const own = await generateKeyPair('Ed25519')
    state = await admissionStateFor(await client.enroll(own, await t.issuer.createCode('edge')), { now: () => clock })
    const privateKey = await generateKeyPair('Ed25519')
    const enrolled = await client.enroll(privateKey, await t.issuer.createCode('edge'))
    const token = await client.token(privateKey, enrolled.credential)
    const exp = JSON.parse(Buffer.from(token.token.split('.')[1] ?? '', 'base64url').toString()).exp * 1000
    source = { privateKey, peerId: enrolled.peerId, evidence: { token: token.token, keyCertificate: token.keyCertificate }, exp }
  })
  after(async () => { await t.stop() })

  const dtnReason = async (createdAt: number): Promise<string> => {
    clock = createdAt + 1_000
    const [fragment] = createBundle(source, parseDestination('*'), randomBytes(64), { lifetimeMs: 60_000, hopLimit: 8, copies: 4, encrypt: false }, createdAt)
    try {
      await checkEvidence(fragment as any, state.verifier, 'test-overlay')
      return 'accepted'
    } catch (err) {
      assert.ok(err instanceof DtnError, String(err))
      return err.reason
    }
  }

  const gossipVerdict = async (timestamp: number): Promise<ReturnType<typeof verdictOn> | 'accepted'> => {
    clock = timestamp + 1_000
    const overlay = 'test-overlay'
    const content = { kind: 'test', digest: randomBytes(32).toString('hex'), severity: 5, metadata: {}, timestamp, expires: timestamp + 60_000 }
    const a = bindAnomaly({ id: deriveAnomalyId(overlay, source.peerId, content), origin: source.peerId, ...content }, overlay)
    const frame = sealFrame(ANOMALY_TOPIC, source.privateKey, source.peerId, source.evidence, encodeAnomalyBody(a))
    const validator = new GossipValidator({ state, store: { holds: () => 'none' } as any, now: () => clock, sawKeyEpoch: () => {} })
    try {
      await validator.check(ANOMALY_TOPIC, frame, true)
      return 'accepted'
    } catch (err) {
      return verdictOn(err, 'relay')
    }
  }

  it('a bundle its source created under a token that had lapsed within the grace: refused, harmless; past the grace: charged', async () => {
    assert.equal(await dtnReason(source.exp - 60_000), 'accepted', 'created while the token was valid')
    const lapsed = await dtnReason(source.exp + 10 * 60_000)
    assert.equal(lapsed, 'lapsed-evidence')
    assert.ok(HARMLESS.has(lapsed), 'nobody pays for it')
    const fossil = await dtnReason(source.exp + EXPIRED_TOKEN_GRACE_MS + 60 * 60_000)
    assert.equal(fossil, 'no-admission')
    assert.ok(!HARMLESS.has(fossil), 'a fossil is charged')
  })

  it('an anomaly published under a token that had lapsed within the grace: ignored, its relay not charged; past the grace: rejected and charged', async () => {
    assert.equal(await gossipVerdict(source.exp - 60_000), 'accepted')
    const lapsed = await gossipVerdict(source.exp + 10 * 60_000)
    assert.ok(lapsed !== 'accepted')
    assert.equal(lapsed.reason, 'lapsed-evidence')
    assert.equal(lapsed.blame, undefined, 'the relay is not charged')
    assert.equal(lapsed.result, 'ignore')
    const fossil = await gossipVerdict(source.exp + EXPIRED_TOKEN_GRACE_MS + 60 * 60_000)
    assert.ok(fossil !== 'accepted')
    assert.equal(fossil.reason, 'no-admission')
    assert.equal(fossil.blame, 'relay')
  })
})

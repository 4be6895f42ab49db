import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { DOMAINS } from '../../src/core/domains.ts'
import { keyObjectOf, signDomain } from '../../src/core/keys.ts'
import { decodeAnomalyBody, encodeAnomalyBody } from '../../src/gossip/anomaly.ts'
import { anomalyBinding, bindAnomaly, deriveAnomalyId } from '../../src/gossip/anomaly-id.ts'
import { ANOMALY_TOPIC } from '../../src/gossip/constants.ts'
import { GossipError } from '../../src/gossip/errors.ts'
import type { Anomaly } from '../../src/gossip/anomaly.ts'
import type { AnomalyContent } from '../../src/gossip/anomaly-id.ts'

const content: AnomalyContent = { kind: 'ssh-bruteforce', digest: 'cd'.repeat(32), severity: 7, metadata: { rule: 'r-1', host: 'h-9' }, timestamp: 1_800_000_000_000, expires: 1_800_000_600_000 }

function reason (f: () => unknown): string {
  try {
    f()
    return 'accepted'
  } catch (err) {
    assert.ok(err instanceof GossipError)
    return err.reason
  }
}

describe('anomaly ids bound to overlay, origin and content (pure)', () => {
  it('the id is the first 16 bytes of the binding; every input changes it; metadata order does not', async () => {
    const origin = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const other = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const id = deriveAnomalyId('alpha', origin, content)
    assert.match(id, /^[0-9a-f]{32}$/)
    assert.equal(anomalyBinding('alpha', origin, content).slice(0, 32), id)
    assert.equal(deriveAnomalyId('alpha', origin, { ...content, metadata: { host: 'h-9', rule: 'r-1' } }), id)
    const variants: Array<[string, string, AnomalyContent]> = [
      ['beta', origin, content],
      ['alpha', other, content],
      ['alpha', origin, { ...content, severity: 0 }],
      ['alpha', origin, { ...content, kind: 'ssh-bruteforcf' }],
      ['alpha', origin, { ...content, digest: 'cd'.repeat(31) }],
      ['alpha', origin, { ...content, metadata: { rule: 'r-1' } }],
      ['alpha', origin, { ...content, metadata: { rule: 'r-1h', ost: '-9' } }],
      ['alpha', origin, { ...content, timestamp: content.timestamp + 1 }],
      ['alpha', origin, { ...content, expires: content.expires + 1 }]
    ]
    const ids = new Set([id, ...variants.map(([o, p, c]) => deriveAnomalyId(o, p, c))])
    assert.equal(ids.size, variants.length + 1)
  })

  it('an origin\'s own anomaly binds; re-signed by another, altered, or under another id it is bad-id', async () => {
    const origin = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const squatter = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const a: Anomaly = { id: deriveAnomalyId('alpha', origin, content), origin, ...content }
    assert.equal(bindAnomaly(a, 'alpha').binding, anomalyBinding('alpha', origin, content))
    assert.equal(reason(() => bindAnomaly({ ...a, origin: squatter }, 'alpha')), 'bad-id')
    assert.equal(reason(() => bindAnomaly({ ...a, severity: 0 }, 'alpha')), 'bad-id')
    assert.equal(reason(() => bindAnomaly({ ...a, id: 'ab'.repeat(16) }, 'alpha')), 'bad-id')
    // the same anomaly seen by a member of another overlay is not bound there
    assert.equal(reason(() => bindAnomaly(a, 'beta')), 'bad-id')
  })

  it('a relayed anomaly stays bound to its original overlay and origin; a provenance naming this overlay is bad-id', async () => {
    const originKey = await generateKeyPair('Ed25519')
    const origin = peerIdFromPrivateKey(originKey).toString()
    const bridge = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    // published in alpha
    const original = { id: deriveAnomalyId('alpha', origin, content), ...content }
    const body = encodeAnomalyBody(original)
    const signature = Buffer.from(signDomain(keyObjectOf(originKey), DOMAINS.gossip, new TextEncoder().encode(ANOMALY_TOPIC), body)).toString('base64url')
    // re-published in beta by a bridge: same id, the bridge as origin, alpha's signature as provenance
    const relayed = decodeAnomalyBody(encodeAnomalyBody({ ...original, provenance: { overlay: 'alpha', origin, signature } }), bridge)
    assert.equal(bindAnomaly(relayed, 'beta').id, original.id)
    // a member of alpha wrapping alpha's own anomaly to land on its id: refused
    assert.equal(reason(() => bindAnomaly(relayed, 'alpha')), 'bad-id')
    // naming another source overlay moves the derivation: not the id it carries
    const elsewhere = decodeAnomalyBody(encodeAnomalyBody({ ...original, provenance: { overlay: 'gamma', origin, signature } }), bridge)
    assert.equal(reason(() => bindAnomaly(elsewhere, 'beta')), 'bad-id')
  })
})

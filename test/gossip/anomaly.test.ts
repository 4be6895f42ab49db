import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { DOMAINS } from '../../src/core/domains.ts'
import { keyObjectOf, signDomain } from '../../src/core/keys.ts'
import { decodeAnomalyBody, encodeAnomalyBody } from '../../src/gossip/anomaly.ts'
import { ANOMALY_TOPIC } from '../../src/gossip/constants.ts'
import { GossipError } from '../../src/gossip/errors.ts'
import type { Anomaly } from '../../src/gossip/anomaly.ts'

describe('anomaly provenance (pure)', () => {
  it('a re-published anomaly carries its origin\'s signature over the original body; a forged or altered one is refused', async () => {
    const originKey = await generateKeyPair('Ed25519')
    const origin = peerIdFromPrivateKey(originKey).toString()
    const bridge = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const a: Omit<Anomaly, 'origin'> = { id: 'ab'.repeat(16), kind: 'ioc-hash', digest: 'cd'.repeat(32), severity: 7, metadata: { rule: 'r-1' }, timestamp: 1_800_000_000_000, expires: 1_800_000_600_000 }
    const original = encodeAnomalyBody(a)
    const signature = Buffer.from(signDomain(keyObjectOf(originKey), DOMAINS.gossip, new TextEncoder().encode(ANOMALY_TOPIC), original)).toString('base64url')
    const relayed = encodeAnomalyBody({ ...a, provenance: { overlay: 'alpha', origin, signature } })
    const decoded = decodeAnomalyBody(relayed, bridge)
    assert.equal(decoded.origin, bridge)
    assert.deepEqual(decoded.provenance, { overlay: 'alpha', origin, signature })
    // without provenance, the body is what the origin signed
    assert.deepEqual(Buffer.from(encodeAnomalyBody({ ...decoded, provenance: undefined })), Buffer.from(original))
    const refused = (body: Uint8Array): string => {
      try {
        decodeAnomalyBody(body, bridge)
        return 'accepted'
      } catch (err) {
        assert.ok(err instanceof GossipError)
        return `${err.reason}: ${err.message}`
      }
    }
    // the bridge changed the severity: the origin's signature no longer covers it
    assert.match(refused(encodeAnomalyBody({ ...a, severity: 10, provenance: { overlay: 'alpha', origin, signature } })), /^bad-body: provenance/)
    // someone else's signature, or another origin named
    const other = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    assert.match(refused(encodeAnomalyBody({ ...a, provenance: { overlay: 'alpha', origin: other, signature } })), /^bad-body: provenance/)
    assert.match(refused(encodeAnomalyBody({ ...a, provenance: { overlay: 'alpha', origin, signature: Buffer.alloc(64).toString('base64url') } })), /^bad-body: provenance/)
    assert.match(refused(encodeAnomalyBody({ ...a, provenance: { overlay: '', origin, signature } })), /^bad-body: provenance/)
  })
})

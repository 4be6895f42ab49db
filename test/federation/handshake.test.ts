import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { DOMAINS } from '../../src/core/domains.ts'
import { keyObjectOf, signDomain } from '../../src/core/keys.ts'
import { TrustAnchors } from '../../src/federation/anchors.ts'
import { buildEnvelope, NonceCache, verifyEnvelope } from '../../src/federation/challenge.ts'
import { DEFAULT_ROTATION_WINDOW_MS } from '../../src/federation/constants.ts'
import { FederationError } from '../../src/federation/errors.ts'
import { Challenge } from '../../src/federation/pb/federation.ts'
import { Pins, SqlitePinStore } from '../../src/federation/pins.ts'
import { startTestIssuer } from '../fixtures/issuer.ts'
import type { LocalBridge, VerifyContext } from '../../src/federation/challenge.ts'
import type { TestIssuer } from '../fixtures/issuer.ts'
import type { Envelope } from '../../src/federation/pb/federation.ts'

describe('federation handshake (pure)', () => {
  let alpha: TestIssuer
  let beta: TestIssuer
  let a: LocalBridge
  let b: LocalBridge
  let bEdge: LocalBridge
  let clock = Date.now()
  const now = (): number => clock

  async function bridge (issuer: TestIssuer, typ: 'bridge' | 'edge' = 'bridge'): Promise<LocalBridge> {
    const privateKey = await generateKeyPair('Ed25519')
    const peerId = peerIdFromPrivateKey(privateKey).toString()
    const evidence = await issuer.issuer.issueToken(peerId, typ)
    return { overlay: issuer.issuer.overlay, peerId, privateKey, evidence: { token: evidence.token, keyCertificate: evidence.keyCertificate } }
  }

  before(async () => {
    alpha = await startTestIssuer({ overlay: 'alpha' })
    beta = await startTestIssuer({ overlay: 'beta' })
    a = await bridge(alpha)
    b = await bridge(beta)
    bEdge = await bridge(beta, 'edge')
  })
  after(async () => { await Promise.all([alpha.stop(), beta.stop()]) })

  /** A's side: anchors for beta, its pins, and a check of an envelope from `expected` */
  function alphaSide (pins = new Pins({ now })): { pins: Pins, anchors: TrustAnchors, ctx: (expected: string, extra?: Partial<VerifyContext>) => VerifyContext } {
    const anchors = new TrustAnchors([{ overlay: 'beta', root: beta.issuer.rootPublicKey }], now)
    const nonces = new NonceCache()
    return {
      pins,
      anchors,
      ctx: (expected, extra = {}) => ({
        self: { overlay: 'alpha', peerId: a.peerId },
        expectedRemote: expected,
        now: now(),
        nonces,
        trust: { vouches: async (o, r, e) => anchors.vouches(o, r, e), pinnedKey: r => pins.pinnedKey(r) },
        ...extra
      })
    }
  }

  const reason = async (p: Promise<unknown>): Promise<string> => {
    try {
      await p
    } catch (err) {
      assert.ok(err instanceof FederationError, `expected a FederationError, got ${String(err)}`)
      return err.reason
    }
    return 'accepted'
  }

  it('a successful handshake pins the remote with its key and a deadline 12 h out; both sides do it', async () => {
    const side = alphaSide()
    const verified = await verifyEnvelope(buildEnvelope(b, a.peerId, now()), side.ctx(b.peerId))
    assert.equal(verified.remoteId, b.peerId)
    assert.equal(verified.overlay, 'beta')
    const pin = side.pins.pin(verified)
    assert.equal(pin.establishedAt, clock)
    assert.equal(pin.rotationDue, clock + DEFAULT_ROTATION_WINDOW_MS)
    assert.equal(side.pins.state(b.peerId), 'fresh')
    assert.deepEqual(side.pins.snapshot().map(p => [p.remoteId, p.overlay, p.state]), [[b.peerId, 'beta', 'fresh']])
    // and the other way round
    const betaAnchors = new TrustAnchors([{ overlay: 'alpha', root: alpha.issuer.rootPublicKey }], now)
    const back = await verifyEnvelope(buildEnvelope(a, b.peerId, now()), {
      self: { overlay: 'beta', peerId: b.peerId }, expectedRemote: a.peerId, now: now(), trust: { vouches: async (o, r, e) => betaAnchors.vouches(o, r, e), pinnedKey: () => undefined }
    })
    assert.equal(back.remoteId, a.peerId)
  })

  it('fails closed with a distinct reason for each check, and pins nothing', async () => {
    const side = alphaSide()
    const c = await bridge(beta)
    const good = (): Envelope => buildEnvelope(b, a.peerId, now())
    const resign = (fields: Partial<Challenge>, who: LocalBridge = b): Envelope => {
      const env = good()
      const challenge = Challenge.encode({ ...Challenge.decode(env.challenge), ...fields })
      return { ...env, challenge, signature: signDomain(keyObjectOf(who.privateKey), DOMAINS.federation, challenge) }
    }
    const cases: Array<[string, Envelope, string?, Partial<VerifyContext>?]> = [
      ['malformed', { ...good(), challenge: new Uint8Array([0xff, 0xff, 0xff]) }],
      ['unsupported-schema', resign({ schemaVersion: 2 })],
      ['bad-signature', { ...good(), signature: new Uint8Array(64) }],
      ['wrong-recipient', buildEnvelope(b, c.peerId, now())],
      ['unexpected-sender', good(), c.peerId],
      ['clock-skew', buildEnvelope(b, a.peerId, now() - 6 * 60_000)],
      ['clock-skew', buildEnvelope(b, a.peerId, now() + 6 * 60_000)],
      ['same-overlay', resign({ overlay: 'alpha' })],
      ['untrusted-key', buildEnvelope(bEdge, a.peerId, now()), bEdge.peerId],
      ['untrusted-key', { ...good(), token: c.evidence.token }],
      ['untrusted-key', resign({ overlay: 'gamma' })]
    ]
    for (const [expected, env, remote, extra] of cases) {
      assert.equal(await reason(verifyEnvelope(env, side.ctx(remote ?? b.peerId, extra))), expected, expected)
    }
    // a declared key that is not the sender's own
    const other = await bridge(beta)
    const stolen = { ...good(), publicKey: other.privateKey.publicKey.raw as Uint8Array<ArrayBuffer> }
    assert.equal(await reason(verifyEnvelope(stolen, side.ctx(b.peerId))), 'bad-signature')
    // a replayed envelope
    const once = good()
    assert.equal(await reason(verifyEnvelope(once, side.ctx(b.peerId))), 'accepted')
    assert.equal(await reason(verifyEnvelope(once, side.ctx(b.peerId))), 'replayed')
    assert.deepEqual(side.pins.snapshot(), [], 'nothing was pinned')
    // skew is configurable
    assert.equal(await reason(verifyEnvelope(buildEnvelope(b, a.peerId, now() - 20_000), side.ctx(b.peerId, { skewMs: 10_000 }))), 'clock-skew')
  })

  it('a pin past its rotation deadline is stale and counts for nothing until a new handshake restores it', async () => {
    const side = alphaSide(new Pins({ now, rotationWindowMs: 60_000 }))
    side.pins.pin(await verifyEnvelope(buildEnvelope(b, a.peerId, now()), side.ctx(b.peerId)))
    assert.ok(side.pins.fresh(b.peerId) != null)
    clock += 60_000
    assert.equal(side.pins.state(b.peerId), 'stale')
    assert.equal(side.pins.fresh(b.peerId), undefined)
    // nothing renews it silently; a new handshake does, with a new deadline
    assert.equal(side.pins.state(b.peerId), 'stale')
    const renewed = side.pins.pin(await verifyEnvelope(buildEnvelope(b, a.peerId, now()), side.ctx(b.peerId)))
    assert.equal(renewed.rotationDue, clock + 60_000)
    assert.equal(side.pins.state(b.peerId), 'fresh')
    // a pinned key re-establishes even without an anchor; forget removes it
    side.anchors.remove('beta')
    assert.equal(await reason(verifyEnvelope(buildEnvelope(b, a.peerId, now()), side.ctx(b.peerId))), 'accepted')
    assert.equal(side.pins.forget(b.peerId), true)
    assert.equal(await reason(verifyEnvelope(buildEnvelope(b, a.peerId, now()), side.ctx(b.peerId))), 'untrusted-key')
  })

  it('pins persist in node:sqlite across a reopen', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tempus-pins-'))
    try {
      const path = join(dir, 'federation.db')
      let store = new SqlitePinStore(path)
      const pins = new Pins({ store, now })
      const side = alphaSide(pins)
      const pin = pins.pin(await verifyEnvelope(buildEnvelope(b, a.peerId, now()), side.ctx(b.peerId)))
      store.close()
      store = new SqlitePinStore(path)
      assert.deepEqual(new Pins({ store, now }).store.get(b.peerId), pin)
      assert.equal(store.delete(b.peerId), true)
      assert.deepEqual(store.list(), [])
      store.close()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

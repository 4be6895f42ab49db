import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { createBundle, encodeFragment, endorse, openFragment, toWire } from '../../src/dtn/bundle.ts'
import { VerifiedReceipts, openReceipt, signReceipt } from '../../src/dtn/receipt.ts'
import { destinedTo, formatDestination, parseDestination } from '../../src/dtn/destination.ts'
import { DtnError } from '../../src/dtn/errors.ts'
import { decryptPayload } from '../../src/dtn/payload-crypto.ts'
import { Bundle as PbBundle, BundleHeader } from '../../src/dtn/pb/dtn.ts'
import { covered, isComplete, reassemble } from '../../src/dtn/reassembly.ts'
import { handover } from '../../src/dtn/routing.ts'
import type { Fragment } from '../../src/dtn/bundle.ts'
import type { PrivateKey } from '@libp2p/interface'

const evidence = { token: 'header.claims.signature', keyCertificate: '' }
const NOW = 1_800_000_000_000
const limits = { now: NOW, maxPayload: 32 * 1024 * 1024 }

async function signer (): Promise<{ privateKey: PrivateKey, peerId: string, evidence: typeof evidence }> {
  const privateKey = await generateKeyPair('Ed25519')
  return { privateKey, peerId: peerIdFromPrivateKey(privateKey).toString(), evidence }
}

const opts = { lifetimeMs: 60_000, hopLimit: 8, copies: 8 }
const reopen = (f: Fragment, l = limits): Fragment => openFragment(PbBundle.decode(encodeFragment(f)), l)
const reason = (fn: () => unknown): string => {
  try {
    fn()
  } catch (err) {
    assert.ok(err instanceof DtnError, `expected a DtnError, got ${String(err)}`)
    return err.reason
  }
  return 'accepted'
}

describe('bundles (pure)', () => {
  it('parses destinations: a PeerId, a type, everyone; anything else is refused', async () => {
    const s = await signer()
    assert.deepEqual(parseDestination(s.peerId), { kind: 'peer', peer: s.peerId })
    assert.deepEqual(parseDestination('bridge'), { kind: 'type', type: 'bridge' })
    assert.deepEqual(parseDestination('*'), { kind: 'everyone' })
    for (const bad of ['', 'edges', 'Qm', '12D3KooWnotapeer', '../etc']) {
      assert.equal(reason(() => parseDestination(bad)), 'bad-destination', bad)
    }
    assert.ok(destinedTo({ kind: 'type', type: 'edge' }, 'x', 'edge'))
    assert.ok(!destinedTo({ kind: 'type', type: 'edge' }, 'x', 'bridge'))
    assert.ok(destinedTo({ kind: 'everyone' }, 'x', undefined))
  })

  it('splits a payload into signed fragments that each open on their own', async () => {
    const s = await signer()
    const d = await signer()
    const payload = randomBytes(10_000)
    const fragments = createBundle(s, parseDestination(d.peerId), payload, { ...opts, fragmentSize: 4096, encrypt: false }, NOW)
    assert.equal(fragments.length, 3)
    assert.deepEqual(fragments.map(f => f.offset), [0, 4096, 8192])
    assert.equal(new Set(fragments.map(f => f.id)).size, 1)
    for (const f of fragments) {
      const o = reopen(f)
      assert.equal(o.id, f.id)
      assert.equal(o.source, s.peerId)
      assert.deepEqual(o.destination, { kind: 'peer', peer: d.peerId })
      assert.equal(o.totalLength, 10_000)
      assert.equal(o.expiresAt, NOW + 60_000)
    }
    // any order, byte-identical
    const shuffled = [fragments[2], fragments[0], fragments[1]] as Fragment[]
    assert.ok(isComplete(shuffled.map(f => ({ offset: f.offset, length: f.payload.length })), 10_000))
    assert.deepEqual(Buffer.from(reassemble(shuffled.map(f => ({ offset: f.offset, length: f.payload.length, bytes: f.payload })), 10_000, (fragments[0] as Fragment).payloadDigest)), payload)
  })

  it('an empty payload is one fragment', async () => {
    const s = await signer()
    const fragments = createBundle(s, { kind: 'everyone' }, new Uint8Array(0), opts, NOW)
    assert.equal(fragments.length, 1)
    const o = reopen(fragments[0] as Fragment)
    assert.equal(o.totalLength, 0)
    assert.ok(isComplete([{ offset: 0, length: 0 }], 0))
  })

  it('refuses forged, malformed, oversize, expired, future and over-travelled fragments, each with its reason', async () => {
    const s = await signer()
    const other = await signer()
    const [f] = createBundle(s, { kind: 'everyone' }, randomBytes(100), opts, NOW) as [Fragment]
    const wire = toWire(f, { hops: 1, copies: 4 })
    // forged: a byte of payload or header changed, or another key's signature
    const payload = new Uint8Array(wire.payload)
    payload[0] = (payload[0] ?? 0) ^ 1
    assert.equal(reason(() => openFragment({ ...wire, payload }, limits)), 'bad-signature')
    const [g] = createBundle(other, { kind: 'everyone' }, randomBytes(100), opts, NOW) as [Fragment]
    assert.equal(reason(() => openFragment({ ...wire, signature: g.signature as Uint8Array<ArrayBuffer> }, limits)), 'bad-signature')
    // an id claimed from another source does not derive
    const h = BundleHeader.decode(wire.header)
    assert.equal(reason(() => openFragment({ ...wire, header: BundleHeader.encode({ ...h, id: BundleHeader.decode(g.header).id }) }, limits)), 'malformed')
    // malformed
    assert.equal(reason(() => openFragment({ ...wire, header: new Uint8Array([0xff, 0xff, 0xff]) }, limits)), 'malformed')
    assert.equal(reason(() => openFragment({ ...wire, signature: new Uint8Array(10) }, limits)), 'malformed')
    assert.equal(reason(() => openFragment({ ...wire, token: 'x'.repeat(100_000) }, limits)), 'malformed')
    // oversize: a whole payload over the limit, a fragment over the maximum
    assert.equal(reason(() => openFragment(wire, { ...limits, maxPayload: 99 })), 'oversize')
    assert.equal(reason(() => openFragment({ ...wire, payload: new Uint8Array(2 * 1024 * 1024) }, limits)), 'oversize')
    // time and hops
    assert.equal(reason(() => openFragment(wire, { ...limits, now: NOW + 60_000 })), 'expired')
    assert.equal(reason(() => openFragment(wire, { ...limits, now: NOW - 31_000 })), 'skew')
    assert.equal(reason(() => openFragment({ ...wire, hops: 9 }, limits)), 'hop-limit')
    assert.equal(reason(() => openFragment(wire, limits)), 'accepted')
  })

  it('encrypts to the destination\'s key: only the destination decrypts', async () => {
    const s = await signer()
    const d = await signer()
    const eve = await signer()
    const payload = Buffer.from('the meeting moved to dawn')
    const [f] = createBundle(s, parseDestination(d.peerId), payload, { ...opts, encrypt: true }, NOW) as [Fragment]
    assert.equal(f.ephemeralKey.length, 32)
    assert.ok(!Buffer.from(f.payload).includes(payload))
    const id = Buffer.from(f.id, 'hex')
    assert.deepEqual(Buffer.from(decryptPayload(d.privateKey, id, f.ephemeralKey, f.payload)), payload)
    assert.equal(reason(() => decryptPayload(eve.privateKey, id, f.ephemeralKey, f.payload)), 'bad-digest')
    // a bundle for a type is never encrypted
    const [t] = createBundle(s, { kind: 'type', type: 'edge' }, payload, { ...opts, encrypt: true }, NOW) as [Fragment]
    assert.equal(t.ephemeralKey.length, 0)
  })

  it('a reassembled payload must match its signed digest; gaps are not complete', () => {
    assert.equal(covered([{ offset: 0, length: 10 }, { offset: 20, length: 10 }], 30), 20)
    assert.ok(!isComplete([{ offset: 0, length: 10 }, { offset: 20, length: 10 }], 30))
    assert.ok(isComplete([{ offset: 10, length: 20 }, { offset: 0, length: 15 }], 30))
    const bytes = randomBytes(30)
    const digest = new Uint8Array(32)
    assert.equal(reason(() => reassemble([{ offset: 0, length: 30, bytes }], 30, digest)), 'bad-digest')
    assert.equal(reason(() => reassemble([{ offset: 5, length: 25, bytes: bytes.subarray(5) }], 30, digest)), 'bad-fragment')
  })

  it('receipts verify only with the destination\'s key', async () => {
    const s = await signer()
    const d = await signer()
    const [f] = createBundle(s, parseDestination(d.peerId), randomBytes(10), opts, NOW) as [Fragment]
    const r = signReceipt(d.privateKey, d.peerId, f, NOW + 5)
    const o = openReceipt(r.wire, NOW + 10)
    assert.equal(o.id, f.id)
    assert.equal(o.destination, d.peerId)
    assert.equal(o.source, s.peerId)
    // signed by someone else, claiming to be the destination
    const forged = signReceipt(s.privateKey, d.peerId, f, NOW + 5)
    assert.equal(reason(() => openReceipt(forged.wire, NOW + 10)), 'bad-receipt')
    assert.equal(reason(() => openReceipt({ body: new Uint8Array([1, 2, 3]), signature: new Uint8Array(64) }, NOW)), 'bad-receipt')
    assert.equal(reason(() => openReceipt(r.wire, f.expiresAt)), 'expired')
  })

  it('a receipt told again is not checked again, but other bytes are, and its times every time', async () => {
    const s = await signer()
    const d = await signer()
    const [f] = createBundle(s, parseDestination(d.peerId), randomBytes(10), opts, NOW) as [Fragment]
    const r = signReceipt(d.privateKey, d.peerId, f, NOW + 5)
    const verified = new VerifiedReceipts()
    for (let i = 0; i < 5; i++) {
      assert.equal(openReceipt(r.wire, NOW + 10, verified).id, f.id)
    }
    assert.equal(verified.hits, 4, 'checked once, then known by its bytes')
    // the same signature beside another body is another receipt: checked, and refused
    const other = signReceipt(d.privateKey, d.peerId, f, NOW + 6)
    assert.equal(reason(() => openReceipt({ body: other.wire.body, signature: r.wire.signature }, NOW + 10, verified)), 'bad-receipt')
    // a forgery is refused each time it comes, never remembered as checked
    const forged = signReceipt(s.privateKey, d.peerId, f, NOW + 5)
    for (let i = 0; i < 2; i++) {
      assert.equal(reason(() => openReceipt(forged.wire, NOW + 10, verified)), 'bad-receipt')
    }
    assert.equal(verified.hits, 4)
    // known bytes still lapse
    assert.equal(reason(() => openReceipt(r.wire, f.expiresAt, verified)), 'expired')
  })

  it('routes: direct to the destination, half the copies to a preferred carrier, a quarter to others, none in the wait phase', () => {
    const dest = { kind: 'peer' as const, peer: 'D' }
    const held = { source: 'S', destination: dest, hops: 0, hopLimit: 4, copies: 8 }
    assert.deepEqual(handover(held, { peer: 'D', type: 'edge' }), { give: 8, keep: 0, direct: true })
    assert.deepEqual(handover(held, { peer: 'B', type: 'sentinel' }), { give: 4, keep: 4, direct: false })
    assert.deepEqual(handover(held, { peer: 'E', type: 'edge' }), { give: 2, keep: 6, direct: false })
    assert.equal(handover({ ...held, copies: 3 }, { peer: 'E', type: 'edge' }), undefined)
    assert.equal(handover({ ...held, copies: 1 }, { peer: 'B', type: 'bridge' }), undefined)
    assert.deepEqual(handover({ ...held, copies: 1 }, { peer: 'D', type: 'edge' }), { give: 1, keep: 0, direct: true })
    // epidemic: everyone gets one, the holder keeps its own
    assert.deepEqual(handover({ ...held, copies: 0 }, { peer: 'E', type: 'edge' }), { give: 0, keep: 0, direct: false })
    // never back to the source, never past the hop limit
    assert.equal(handover(held, { peer: 'S', type: 'sentinel' }), undefined)
    assert.equal(handover({ ...held, hops: 4 }, { peer: 'D', type: 'edge' }), undefined)
    // a group bundle is delivered and carried on
    assert.deepEqual(handover({ ...held, destination: { kind: 'type', type: 'edge' } }, { peer: 'E', type: 'edge' }), { give: 0, keep: 8, direct: true })
  })

  it('a destination in another overlay: parsed, signed in the header, delivered by no one here, routed to every bridge met', async () => {
    const s = await signer()
    const d = await signer()
    assert.deepEqual(parseDestination(`${d.peerId}@beta`), { kind: 'peer', peer: d.peerId, overlay: 'beta' })
    assert.deepEqual(parseDestination('edge@beta-2.example'), { kind: 'type', type: 'edge', overlay: 'beta-2.example' })
    assert.equal(formatDestination(parseDestination(`*@beta`)), '*@beta')
    for (const bad of [`${d.peerId}@`, `${d.peerId}@be ta`, `router@beta`, `${d.peerId}@${'x'.repeat(129)}`]) {
      assert.equal(reason(() => parseDestination(bad)), 'bad-destination', bad)
    }
    const [f] = createBundle(s, parseDestination(`${d.peerId}@beta`), randomBytes(10), opts, NOW) as [Fragment]
    const opened = reopen(f)
    assert.equal(opened.destination.overlay, 'beta')
    // the overlay is signed: a carrier cannot re-address the bundle
    const h = BundleHeader.decode(f.header)
    assert.equal(reason(() => openFragment({ ...toWire(f, f), header: BundleHeader.encode({ ...h, destinationOverlay: 'gamma' }) }, limits)), 'bad-signature')
    // no one in alpha is its destination, in beta the peer is
    assert.equal(destinedTo(opened.destination, d.peerId, 'edge', 'alpha'), false)
    assert.equal(destinedTo(opened.destination, d.peerId, 'edge', 'beta'), true)
    // routing in alpha: every bridge gets a copy (the holder keeps its own), others carry by spray
    const held = { source: s.peerId, destination: opened.destination, hops: 0, hopLimit: 4, copies: 8 }
    assert.deepEqual(handover(held, { peer: 'B', type: 'bridge' }, undefined, 'alpha'), { give: 8, keep: 8, direct: true })
    assert.deepEqual(handover(held, { peer: d.peerId, type: 'edge' }, undefined, 'alpha'), { give: 2, keep: 6, direct: false })
    assert.deepEqual(handover(held, { peer: 'X', type: 'sentinel' }, undefined, 'alpha'), { give: 4, keep: 4, direct: false })
    // in beta it is an ordinary bundle for its peer
    assert.deepEqual(handover(held, { peer: d.peerId, type: 'edge' }, undefined, 'beta'), { give: 8, keep: 0, direct: true })
  })

  it('an endorsement binds the bridge to the fragment and the source overlay; it is refused on a bundle that did not cross', async () => {
    const s = await signer()
    const d = await signer()
    const bridge = await signer()
    const [f] = createBundle(s, parseDestination(`${d.peerId}@beta`), randomBytes(10), opts, NOW) as [Fragment]
    const e = endorse(f, bridge, 'alpha', NOW)
    const opened = reopen(e)
    assert.equal(opened.endorsement?.bridge, bridge.peerId)
    assert.equal(opened.endorsement?.sourceOverlay, 'alpha')
    const wire = toWire(e, e)
    const pe = wire.endorsement as NonNullable<typeof wire.endorsement>
    // any field changed after the bridge signed
    assert.equal(reason(() => openFragment({ ...wire, endorsement: { ...pe, sourceOverlay: 'gamma' } }, limits)), 'bad-endorsement')
    assert.equal(reason(() => openFragment({ ...wire, endorsement: { ...pe, endorsedAt: pe.endorsedAt + 1n } }, limits)), 'bad-endorsement')
    const other = await signer()
    assert.equal(reason(() => openFragment({ ...wire, endorsement: { ...pe, bridge: toWire(endorse(f, other, 'alpha', NOW), f).endorsement?.bridge as Uint8Array<ArrayBuffer> } }, limits)), 'bad-endorsement')
    assert.equal(reason(() => openFragment({ ...wire, endorsement: { ...pe, endorsedAt: BigInt(NOW + 60_000) } }, limits)), 'skew')
    // a bundle of this overlay, or one whose source overlay is its destination overlay, was never across
    const [home] = createBundle(s, { kind: 'peer', peer: d.peerId }, randomBytes(10), opts, NOW) as [Fragment]
    assert.equal(reason(() => reopen(endorse(home, bridge, 'alpha', NOW))), 'bad-endorsement')
    assert.equal(reason(() => reopen(endorse(f, bridge, 'beta', NOW))), 'bad-endorsement')
  })
})

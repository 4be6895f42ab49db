/**
 * Signed descriptors, pure (src/core/descriptor.ts, clone-proof.ts,
 * src/sampling/descriptor-ledger.ts, descriptor-desk.ts): a descriptor's
 * age cannot be forged, a hop only its owner can sign, a replay, an
 * over-minted descriptor and a clone are each told apart, and a clone
 * proof verifies on its own (and nothing else does).
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { cloneProofFromJson, cloneProofToJson, verifyCloneProof } from '../../src/core/clone-proof.ts'
import { MAX_DESCRIPTOR_HOPS, checkReceived, handOn, mintDescriptor } from '../../src/core/descriptor.ts'
import { keyObjectOf } from '../../src/core/keys.ts'
import { DescriptorDesk } from '../../src/sampling/descriptor-desk.ts'
import { DescriptorLedger, MINT_MEMORY_MS } from '../../src/sampling/descriptor-ledger.ts'
import type { Descriptor } from '../../src/core/descriptor.ts'
import type { PeerEntry } from '../../src/sampling/peer-entry.ts'
import type { SignerKey } from '../../src/core/keys.ts'

interface Peer { id: string, key: SignerKey }
async function peer (): Promise<Peer> {
  const k = await generateKeyPair('Ed25519')
  return { id: peerIdFromPrivateKey(k).toString(), key: keyObjectOf(k) }
}

const T0 = 1_800_000_000_000
const check = (d: Descriptor | undefined, subject: string, self: string, sender: string, now = T0): number =>
  checkReceived(d, { type: 'edge', subject, self, sender, now, maxAgeMs: 600_000, skewMs: 60_000, maxHops: MAX_DESCRIPTOR_HOPS })
const refused = (reason: string): { name: string, reason: string } => ({ name: 'DescriptorError', reason })

describe('signed descriptors (pure)', () => {
  it('the age is the signed mint time; a forged time, hop or holder is refused', async () => {
    const [s, a, b, c] = [await peer(), await peer(), await peer(), await peer()]
    const d = mintDescriptor(s.key, 'edge', s.id, T0 - 8_000)
    const toA = handOn(d, s.key, a.id)
    assert.equal(check(toA, s.id, a.id, s.id), 8_000, 'the age is now − mintedAt')
    const toB = handOn(toA, a.key, b.id)
    assert.equal(check(toB, s.id, b.id, a.id), 8_000)

    assert.throws(() => check(undefined, s.id, a.id, s.id), refused('missing'))
    assert.throws(() => check({ ...toA, mintedAt: T0 - 1 }, s.id, a.id, s.id), refused('forged'), 'a younger time than was signed')
    assert.throws(() => check(toA, s.id, a.id, s.id, T0 + 600_001 - 8_000 + 8_000), refused('stale'))
    const future = handOn(mintDescriptor(s.key, 'edge', s.id, T0 + 120_000), s.key, a.id)
    assert.throws(() => check(future, s.id, a.id, s.id), refused('from-the-future'))
    assert.throws(() => check(toA, s.id, b.id, s.id), refused('not-ours'), 'handed to someone else')
    assert.throws(() => check(toB, s.id, b.id, c.id), refused('not-ours'), 'shown by another than its holder')
    // c signs a hop that only a (the holder) may sign
    const stolen = { ...toB, hops: [toA.hops[0] as Descriptor['hops'][number], { to: b.id, signature: (handOn(toA, c.key, b.id).hops[1] as Descriptor['hops'][number]).signature }] }
    assert.throws(() => check(stolen, s.id, b.id, a.id), refused('bad-hop'))
    assert.throws(() => checkReceived(toA, { type: 'bridge', subject: s.id, self: a.id, sender: s.id, now: T0, maxAgeMs: 600_000, skewMs: 60_000, maxHops: 24 }), refused('forged'), 'minted for another view')
  })

  it('the ledger tells a normal life, a replay, an over-minted descriptor and a clone apart', async () => {
    const [s, a, b, x] = [await peer(), await peer(), await peer(), await peer()]
    const ledger = new DescriptorLedger({ spacingMs: () => 2_000, now: () => T0 })
    const d = mintDescriptor(s.key, 'edge', s.id, T0)
    const toA = handOn(d, s.key, a.id)
    assert.deepEqual(ledger.see('edge', s.id, toA), { kind: 'new' })
    assert.deepEqual(ledger.see('edge', s.id, toA), { kind: 'replayed' }, 'the same chain again')
    const back = handOn(handOn(toA, a.key, b.id), b.key, a.id)
    assert.deepEqual(ledger.see('edge', s.id, back), { kind: 'new' }, 'it went on and came back: its normal life')
    assert.deepEqual(ledger.see('edge', s.id, toA), { kind: 'replayed' }, 'a part of a chain seen')

    // s hands its one descriptor to a, and the same to x, which passes it to a
    const viaX = handOn(handOn(d, s.key, x.id), x.key, a.id)
    const verdict = ledger.see('edge', s.id, viaX)
    assert.equal(verdict.kind, 'cloned')
    assert.ok(verdict.kind === 'cloned')
    assert.equal(verdict.cloner, s.id)
    assert.equal(verifyCloneProof(verdict.proof), s.id, 'the proof names the cloner on its own')
    assert.equal(verifyCloneProof(cloneProofFromJson(JSON.parse(JSON.stringify(cloneProofToJson(verdict.proof))))), s.id, 'and survives its JSON form')

    // a second descriptor of s 500 ms after the first: over-minted; one 2 s after: fine
    assert.equal(ledger.see('edge', s.id, handOn(mintDescriptor(s.key, 'edge', s.id, T0 + 500), s.key, a.id)).kind, 'over-minted')
    assert.equal(ledger.see('edge', s.id, handOn(mintDescriptor(s.key, 'edge', s.id, T0 + 2_000), s.key, a.id)).kind, 'new')
    assert.equal(ledger.see('bridge', s.id, handOn(mintDescriptor(s.key, 'bridge', s.id, T0 + 100), s.key, a.id)).kind, 'new', 'each view has its own spacing')
  })

  it('a clone proof verifies only as it was made', async () => {
    const [s, a, b] = [await peer(), await peer(), await peer()]
    const ledger = new DescriptorLedger({ spacingMs: () => 2_000, now: () => T0 })
    const d = mintDescriptor(s.key, 'edge', s.id, T0)
    const a1 = handOn(handOn(d, s.key, a.id), a.key, b.id)
    const a2 = handOn(handOn(d, s.key, a.id), a.key, s.id)
    ledger.see('edge', s.id, a1)
    const v = ledger.see('edge', s.id, a2)
    assert.ok(v.kind === 'cloned')
    assert.equal(v.cloner, a.id, 'the owner that signed both hand-overs')
    const json = cloneProofToJson(v.proof)
    assert.equal(verifyCloneProof(cloneProofFromJson(json)), a.id)
    const tampered = structuredClone(json)
    tampered.b[1] = { ...(tampered.b[1] as { to: string, signature: string }), to: tampered.a[1]?.to ?? '' }
    assert.throws(() => verifyCloneProof(cloneProofFromJson(tampered)), refused('cloned'), 'two hops to one peer prove no clone')
    const reSigned = structuredClone(json)
    reSigned.b[1] = { to: b.id === s.id ? a.id : s.id, signature: json.a[1]?.signature ?? '' }
    assert.throws(() => verifyCloneProof(cloneProofFromJson({ ...reSigned, b: [json.b[0], { to: (reSigned.b[1] as { to: string }).to === json.a[1]?.to ? b.id : (reSigned.b[1] as { to: string }).to, signature: json.a[1]?.signature }] })), refused('bad-hop'), 'a signature moved to another hop')
    assert.throws(() => verifyCloneProof(cloneProofFromJson({ ...json, mintedAt: T0 + 1 })), refused('forged'))
    for (const bad of [null, 'x', { ...json, type: 'admin' }, { ...json, a: [] }, { ...json, signature: 'short' }, { ...json, a: Array.from({ length: 25 }, () => json.a[0]) }]) {
      assert.throws(() => cloneProofFromJson(bad), refused('cloned'))
    }
  })

  it('the desk hands an entry on once, mints at most one per spacing, and waits one spacing after a start', async () => {
    const [me, s, a, b] = [await peer(), await peer(), await peer(), await peer()]
    let now = T0
    const ledger = new DescriptorLedger({ spacingMs: () => 2_000, now: () => now })
    const desk = new DescriptorDesk({ self: me.id, key: me.key, now: () => now, ledger, spacingMs: () => 2_000, startedAt: T0, persistentIdentity: false })
    assert.equal(desk.ownDescriptor('edge'), undefined, 'not before one spacing after the start')
    now += 2_000
    const held: PeerEntry = { id: s.id, age: 0, type: 'edge', token: 't', keyCertificate: '', record: new Uint8Array(0), addrs: [], descriptor: handOn(mintDescriptor(s.key, 'edge', s.id, now - 1_000), s.key, me.id) }
    const view = new Map([[s.id, held]])
    const self = (): PeerEntry => ({ id: me.id, age: 0, type: 'edge', token: 't', keyCertificate: '', record: new Uint8Array(0), addrs: [] })
    const first = [self(), { ...held }]
    desk.handOver('edge', first, id => view.get(id), a.id)
    assert.equal(first.length, 2)
    assert.equal(held.spent, true, 'the held entry is spent')
    assert.equal(check(first[1]?.descriptor, s.id, a.id, me.id, now), 1_000, 'a checks what it got')
    assert.equal(check(first[0]?.descriptor, me.id, a.id, me.id, now), 0)

    const second = [self(), { ...held }]
    desk.handOver('edge', second, id => view.get(id), b.id)
    assert.equal(second.length, 0, 'neither the spent entry nor a second own descriptor within the spacing goes again')
    now += 2_000
    const third = [self()]
    desk.handOver('edge', third, id => view.get(id), b.id)
    assert.equal(third.length, 1, 'a new own descriptor one spacing later')
    assert.notDeepEqual(third[0]?.descriptor?.signature, first[0]?.descriptor?.signature)

    // two exchanges at once: each picked a copy of one entry, then the view let the entry go (a merge replaced it)
    const fresh = { ...held, spent: false, descriptor: handOn(mintDescriptor(s.key, 'edge', s.id, now - 500), s.key, me.id) }
    view.set(s.id, fresh)
    const [copyA, copyB] = [{ ...fresh }, { ...fresh }]
    view.delete(s.id)
    const byTick = [copyA]
    const byAnswer = [copyB]
    desk.handOver('edge', byTick, id => view.get(id), a.id)
    desk.handOver('edge', byAnswer, id => view.get(id), b.id)
    assert.equal(byTick.length + byAnswer.length, 1, 'one descriptor goes to one peer, whatever the view did between')

    // a restart: a new desk waits one spacing, so its first descriptor is never within the spacing of the last run's
    const restarted = new DescriptorDesk({ self: me.id, key: me.key, now: () => now, ledger: new DescriptorLedger({ spacingMs: () => 2_000, now: () => now }), spacingMs: () => 2_000, startedAt: now })
    assert.equal(restarted.ownDescriptor('edge'), undefined)
    // and it hands on nothing the last run could have handed on: only what was minted after it started, by more than a clock's skew
    const before = { ...held, spent: false, descriptor: handOn(mintDescriptor(s.key, 'edge', s.id, now - 100), s.key, me.id) }
    const sentBefore = [before]
    restarted.handOver('edge', sentBefore, () => before, a.id)
    assert.equal(sentBefore.length, 0, 'a descriptor minted before the start is not relayed by a node that may have run before')
    now += 61_000
    const after = { ...held, spent: false, descriptor: handOn(mintDescriptor(s.key, 'edge', s.id, now - 100), s.key, me.id) }
    const sentAfter = [after]
    restarted.handOver('edge', sentAfter, () => after, a.id)
    assert.equal(sentAfter.length, 1)
  })

  it('after a restart the desk waits one spacing after the last run\'s last mint too, with the clock stepped back; and tells the mint log before the descriptor goes', async () => {
    const me = await peer()
    const lastMint = T0 + 10_000
    // the clock stepped back across the restart: the new start is before the last run's last mint
    let now = lastMint - 1_000
    const minted: Array<[string, number]> = []
    const desk = new DescriptorDesk({ self: me.id, key: me.key, now: () => now, ledger: new DescriptorLedger({ spacingMs: () => 2_000, now: () => now }), spacingMs: () => 2_000, startedAt: now, lastMinted: { edge: lastMint }, minted: (type, at) => { minted.push([type, at]) } })
    now += 2_000
    assert.equal(desk.ownDescriptor('edge'), undefined, 'one spacing after the start is within a spacing of the last mint')
    now = lastMint + 1_999
    assert.equal(desk.ownDescriptor('edge'), undefined)
    assert.equal(desk.nextMint('edge'), lastMint + 2_000)
    assert.deepEqual(minted, [])
    now = lastMint + 2_000
    assert.equal(desk.ownDescriptor('edge')?.descriptor.mintedAt, lastMint + 2_000, 'a spacing after the last mint')
    assert.deepEqual(minted, [['edge', lastMint + 2_000]], 'the mint log is told of it')
    assert.equal(desk.nextMint('bridge'), lastMint - 1_000 + 2_000, 'a view never minted waits for its start only')

    // a last mint recorded far ahead (the last run's clock was) counts as no more than the receivers' mint memory ahead
    const far = new DescriptorDesk({ self: me.id, key: me.key, now: () => now, ledger: new DescriptorLedger({ spacingMs: () => 2_000, now: () => now }), spacingMs: () => 2_000, startedAt: now, lastMinted: { edge: now + 86_400_000 } })
    assert.equal(far.nextMint('edge'), now + MINT_MEMORY_MS + 2_000)
  })

  it('what a node handed on is never handed on again, even after its view and ledger let it go; nor a descriptor dated ahead of its clock', async () => {
    const [me, s, a, b] = [await peer(), await peer(), await peer(), await peer()]
    let now = T0
    const desk = new DescriptorDesk({ self: me.id, key: me.key, now: () => now, ledger: new DescriptorLedger({ spacingMs: () => 2_000, now: () => now, size: 1 }), spacingMs: () => 2_000, startedAt: T0, persistentIdentity: false })
    const toMe = handOn(mintDescriptor(s.key, 'edge', s.id, now), s.key, me.id)
    const entry = (d: Descriptor): PeerEntry => ({ id: s.id, age: 0, type: 'edge', token: 't', keyCertificate: '', record: new Uint8Array(0), addrs: [], descriptor: d })
    const first = [entry(toMe)]
    desk.handOver('edge', first, () => undefined, a.id)
    assert.equal(first.length, 1)
    // the same chain, decoded again from the wire (a new object), once everything else forgot it
    const replayed = { ...toMe, hops: toMe.hops.map(h => ({ ...h, signature: new Uint8Array(h.signature) })) }
    assert.ok(desk.handedBefore(replayed), 'it is known as a replay')
    const again = [entry(replayed)]
    desk.handOver('edge', again, () => undefined, b.id)
    assert.equal(again.length, 0, 'and never handed on a second time: that would be a clone proved against this node')

    const ahead = [entry(handOn(mintDescriptor(s.key, 'edge', s.id, now + 30_000), s.key, me.id))]
    desk.handOver('edge', ahead, () => undefined, b.id)
    assert.equal(ahead.length, 0, 'dated 30 s ahead here: held until it is not, or a receiver with a slower clock would refuse it')
    now += 30_000
    const later = [entry(handOn(mintDescriptor(s.key, 'edge', s.id, now - 30_000 + 30_000), s.key, me.id))]
    desk.handOver('edge', later, () => undefined, b.id)
    assert.equal(later.length, 1)
  })

  it('over-minting is caught however the descriptors arrive; hops must name canonical PeerIds', async () => {
    const [s, a] = [await peer(), await peer()]
    const ledger = new DescriptorLedger({ spacingMs: () => 4_000, now: () => T0 })
    const at = (t: number): Descriptor => handOn(mintDescriptor(s.key, 'edge', s.id, t), s.key, a.id)
    // four spaced ahead of the clock, then each 1 ms older than the last
    for (const t of [60_000, 56_000, 52_000, 48_000]) {
      assert.equal(ledger.see('edge', s.id, at(T0 + t)).kind, 'new')
    }
    let passed = 0
    for (let t = 43_999; t > 43_950; t--) {
      if (ledger.see('edge', s.id, at(T0 + t)).kind === 'new') passed++
    }
    assert.equal(passed, 1, 'one more one spacing away, then every one after it is over-minted')

    // the same key spelt as a CID (base36): a hop to it does not verify, nor does a proof naming it
    const { peerIdFromString } = await import('@libp2p/peer-id')
    const { base36 } = await import('multiformats/bases/base36')
    const alias = peerIdFromString(a.id).toCID().toString(base36)
    assert.notEqual(alias, a.id)
    const toAlias = handOn(mintDescriptor(s.key, 'edge', s.id, T0), s.key, alias)
    assert.throws(() => check(toAlias, s.id, alias, s.id), refused('bad-hop'), 'a hop to an alias does not verify')
    const viaAlias = (to: string): Descriptor => handOn(handOn(mintDescriptor(s.key, 'edge', s.id, T0), s.key, alias), a.key, to)
    const proof = { type: 'edge' as const, subject: s.id, mintedAt: T0, signature: viaAlias(s.id).signature, a: viaAlias(s.id).hops, b: viaAlias(a.id).hops }
    assert.throws(() => verifyCloneProof(proof), refused('bad-hop'), 'nor does a proof that pins a clone on an alias')
  })
})

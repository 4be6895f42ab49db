/**
 * What a slot sampler takes as evidence (src/sampling/entry-evidence.ts,
 * `sampleable`): a token proves its peer was admitted when it was valid, so
 * a sampler holds an id for EVIDENCE_MAX_AGE_MS past its token's
 * expiry, of whatever epoch; a view takes the same. Real issuer, real tokens,
 * real signed records and a real peer store; the clock is injected. And
 * what a record seen before costs: nothing but a comparison.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { admissionStateFor } from '../../src/admission/state.ts'
import { handOn, mintDescriptor } from '../../src/core/descriptor.ts'
import { keyObjectOf } from '../../src/core/keys.ts'
import { IssuerClient } from '../../src/issuer-client/client.ts'
import { EVIDENCE_MAX_AGE_MS, LAPSED_GRACE_MS, SAMPLE_OFFER_MARGIN_MS } from '../../src/sampling/constants.ts'
import { EntryEvidence } from '../../src/sampling/entry-evidence.ts'
import { DescriptorLedger } from '../../src/sampling/descriptor-ledger.ts'
import { CyclonView } from '../../src/sampling/view.ts'
import { plainNode } from '../fixtures/attacker.ts'
import { startTestIssuer } from '../fixtures/issuer.ts'
import { recordOf } from './entries.ts'
import type { AdmissionState } from '../../src/admission/state.ts'
import type { PeerEntry } from '../../src/sampling/peer-entry.ts'
import type { TestIssuer } from '../fixtures/issuer.ts'
import type { Libp2p, PeerUpdate, PrivateKey } from '@libp2p/interface'

const SELF = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()

describe('evidence a slot sampler takes', () => {
  let t: TestIssuer
  let peerStoreNode: Libp2p
  let state: AdmissionState
  let clock = Date.now()
  let evidence: EntryEvidence
  // a real PeerId: a hop names its receiver in the canonical spelling
  const self = SELF
  const score = (peer: string): number => state.suspicion.score(peer)

  /** a genuine member's entry: its token now, its record */
  const member = async (key?: PrivateKey): Promise<PeerEntry> => {
    key ??= await generateKeyPair('Ed25519')
    const client = new IssuerClient({ url: t.url })
    const enrolled = await client.enroll(key, await t.issuer.createCode('edge'))
    const token = await client.token(key, enrolled.credential)
    // its own descriptor, handed to this node by itself (a view takes no entry without one)
    const descriptor = handOn(mintDescriptor(keyObjectOf(key), 'edge', enrolled.peerId, clock), keyObjectOf(key), self)
    return { id: enrolled.peerId, type: 'edge', age: 0, token: token.token, keyCertificate: token.keyCertificate, record: await recordOf(key, ['/ip4/127.0.0.1/tcp/4001']), addrs: [], descriptor }
  }
  const expOf = (e: PeerEntry): number => JSON.parse(Buffer.from(e.token.split('.')[1] ?? '', 'base64url').toString()).exp * 1000

  before(async () => {
    t = await startTestIssuer()
    peerStoreNode = await plainNode()
    const key = await generateKeyPair('Ed25519')
    const enrollment = await new IssuerClient({ url: t.url }).enroll(key, await t.issuer.createCode('edge'))
    state = await admissionStateFor(enrollment, { now: () => clock })
    const view = (): CyclonView<PeerEntry, string> => new CyclonView<PeerEntry, string>({ self, capacity: 20, shuffleLength: 8, random: Math.random, member: false })
    evidence = new EntryEvidence({ self, state, peerStore: peerStoreNode.peerStore, views: { edge: view(), bridge: view(), sentinel: view() }, periodMs: () => 4_000, log: () => {}, changed: () => {}, ledger: new DescriptorLedger({ spacingMs: () => 2_000, now: Date.now }) })
  })
  after(async () => {
    await peerStoreNode.stop()
    await t.stop()
  })

  it('a token that lapsed within the bound still proves admission to a sampler (not to a view); past it, it does not', async () => {
    const m = await member()
    clock = expOf(m) + 10 * 60_000
    assert.equal((await evidence.admissible('edge', [m], 'sender-a')).length, 0, 'a view takes only live evidence')
    const held = await evidence.sampleable('edge', [m], 'sender-b')
    assert.deepEqual(held.map(e => e.id), [m.id])
    assert.equal(score('sender-b'), 0)
    assert.deepEqual(held[0]?.addrs, ['/ip4/127.0.0.1/tcp/4001'])
    assert.ok(evidence.withinEvidenceBound(held[0] as PeerEntry) && evidence.offerable(held[0] as PeerEntry))

    // within the offer margin of the bound: still held, no longer offered
    clock = expOf(m) + EVIDENCE_MAX_AGE_MS - SAMPLE_OFFER_MARGIN_MS / 2
    assert.ok(evidence.withinEvidenceBound(held[0] as PeerEntry) && !evidence.offerable(held[0] as PeerEntry))

    // just past the bound: dropped, and an honest clock could be that far off: no charge
    clock = expOf(m) + EVIDENCE_MAX_AGE_MS + LAPSED_GRACE_MS / 2
    assert.equal((await evidence.sampleable('edge', [m], 'sender-c')).length, 0)
    assert.equal(score('sender-c'), 0)
    assert.ok(!evidence.withinEvidenceBound(held[0] as PeerEntry))
    // far past it: only a forger sends that
    clock = expOf(m) + EVIDENCE_MAX_AGE_MS + 2 * LAPSED_GRACE_MS
    assert.equal((await evidence.sampleable('edge', [m], 'sender-d')).length, 0)
    assert.ok(score('sender-d') > 0)
    clock = Date.now()
  })

  it('a token of a rotated epoch proves admission then, to a view and a sampler alike, and costs nobody anything', async () => {
    const m = await member()
    await t.issuer.announceKey()
    await t.issuer.activateKey()
    const fresh = await member()
    assert.equal((await evidence.admissible('edge', [fresh], fresh.id)).length, 1, 'the verifier moves to the new epoch')
    // handed over by its peer itself (the descriptor's last hop is the sender's)
    assert.deepEqual((await evidence.admissible('edge', [m], m.id)).map(e => e.id), [m.id], 'a rotation does not drain the views')
    assert.equal(score(m.id), 0)
    assert.deepEqual((await evidence.sampleable('edge', [m], 'sender-g')).map(e => e.id), [m.id])
  })

  it('forged evidence is refused and charged as for a view: someone else\'s token, another type, a token from the future', async () => {
    const [a, b] = [await member(), await member()]
    assert.equal((await evidence.sampleable('edge', [{ ...a, token: b.token }], 'liar-1')).length, 0)
    assert.ok(score('liar-1') > 0)
    assert.equal((await evidence.sampleable('sentinel', [{ ...a, type: 'sentinel' }], 'liar-2')).length, 0)
    assert.ok(score('liar-2') > 0)
    clock = Date.now() - 10 * 60_000
    assert.equal((await evidence.sampleable('edge', [a], 'liar-3')).length, 0, 'not valid yet at the clock')
    assert.ok(score('liar-3') > 0)
    clock = Date.now()
  })

  it('a record passed on again is recognised, not looked up or verified again; any other bytes for its peer are verified, a forgery charged', async () => {
    const key = await generateKeyPair('Ed25519')
    const m = await member(key)
    const store = peerStoreNode.peerStore
    const calls = { get: 0, consume: 0 }
    const get = store.get.bind(store)
    const consume = store.consumePeerRecord.bind(store)
    store.get = async (...a) => { calls.get++; return await get(...a) }
    store.consumePeerRecord = async (...a) => { calls.consume++; return await consume(...a) }
    try {
      assert.equal((await evidence.sampleable('edge', [m], 'sender-h')).length, 1)
      assert.ok(calls.get >= 1 && calls.consume === 1, 'the first sight: looked up, then stored')
      const firstSight = { ...calls }
      for (let i = 0; i < 3; i++) {
        assert.equal((await evidence.sampleable('edge', [m], 'sender-h')).length, 1)
      }
      assert.deepEqual(calls, firstSight, 'the same bytes again: neither looked up nor stored again')

      // the same peer's record with its signature spoiled: verified, refused, charged
      const spoiled = Uint8Array.from(m.record)
      spoiled[spoiled.length - 1] = (spoiled[spoiled.length - 1] ?? 0) ^ 0xff
      assert.equal((await evidence.sampleable('edge', [{ ...m, record: spoiled }], 'liar-4')).length, 0)
      assert.ok(score('liar-4') > 0)
      assert.equal(score('sender-h'), 0)

      // a newer record it signed replaces the one remembered; the older one, passed on late, gives way to it
      const newer = await recordOf(key, ['/ip4/127.0.0.1/tcp/4002'], BigInt(Date.now() + 60_000))
      assert.deepEqual((await evidence.sampleable('edge', [{ ...m, record: newer }], 'sender-h'))[0]?.addrs, ['/ip4/127.0.0.1/tcp/4002'])
      assert.equal(calls.consume, 2)
      const late = await evidence.sampleable('edge', [m], 'sender-i')
      assert.deepEqual(late[0]?.addrs, ['/ip4/127.0.0.1/tcp/4002'], 'the newest record known travels on')
      assert.equal(score('sender-i'), 0, 'an honest sender may pass on an older record')
      assert.equal(calls.consume, 2)
    } finally {
      store.get = get
      store.consumePeerRecord = consume
    }
  })

  it('the peer store\'s record of a peer is read once and kept in step with the store\'s changes; a read a change overtook is not kept', async () => {
    const store = peerStoreNode.peerStore
    const view = (): CyclonView<PeerEntry, string> => new CyclonView<PeerEntry, string>({ self, capacity: 20, shuffleLength: 8, random: Math.random, member: false })
    const mirrored = new EntryEvidence({ self, state, peerStore: store, views: { edge: view(), bridge: view(), sentinel: view() }, periodMs: () => 4_000, log: () => {}, changed: () => {}, ledger: new DescriptorLedger({ spacingMs: () => 2_000, now: Date.now }) })
    // as the sampler does once started: every change the peer store makes is told
    const onUpdate = (evt: CustomEvent<PeerUpdate>): void => { mirrored.peerStoreChanged(evt.detail.peer.id.toString(), evt.detail.peer.peerRecordEnvelope) }
    peerStoreNode.addEventListener('peer:update', onUpdate)
    mirrored.watchPeerStore()
    let gets = 0
    const get = store.get.bind(store)
    store.get = async (...a) => { gets++; return await get(...a) }
    try {
      const key = await generateKeyPair('Ed25519')
      const peer = peerIdFromPrivateKey(key)
      assert.equal(await mirrored.storedRecord(peer), undefined, 'nothing stored yet')
      assert.ok(await store.consumePeerRecord(await recordOf(key, ['/ip4/127.0.0.1/tcp/4001'], 1n), { expectedPeer: peer }))
      assert.deepEqual((await mirrored.storedRecord(peer))?.addrs, ['/ip4/127.0.0.1/tcp/4001'], 'the record the store took is read')
      const afterFirst = gets
      for (let i = 0; i < 3; i++) {
        assert.deepEqual((await mirrored.storedRecord(peer))?.addrs, ['/ip4/127.0.0.1/tcp/4001'])
      }
      assert.equal(gets, afterFirst, 'read again: the copy, not the store')

      // a change that leaves the record as it is keeps the copy
      await store.merge(peer, { tags: { kept: { value: 1 } } })
      await mirrored.storedRecord(peer)
      assert.equal(gets, afterFirst, 'a tag changed: the same record, not read again')

      // a newer record in the store (identify took it): the next read is the store's
      assert.ok(await store.consumePeerRecord(await recordOf(key, ['/ip4/127.0.0.1/tcp/4002'], 2n), { expectedPeer: peer }))
      assert.deepEqual((await mirrored.storedRecord(peer))?.addrs, ['/ip4/127.0.0.1/tcp/4002'], 'the newer record, read again')
      assert.ok(gets > afterFirst)

      // a read under way when the store changes is returned, but not kept
      const other = await generateKeyPair('Ed25519')
      const otherId = peerIdFromPrivateKey(other)
      assert.ok(await store.consumePeerRecord(await recordOf(other, ['/ip4/127.0.0.1/tcp/5001'], 1n), { expectedPeer: otherId }))
      const underWay = mirrored.storedRecord(otherId)
      mirrored.peerStoreChanged(otherId.toString(), undefined)
      assert.deepEqual((await underWay)?.addrs, ['/ip4/127.0.0.1/tcp/5001'])
      const beforeAgain = gets
      await mirrored.storedRecord(otherId)
      assert.equal(gets, beforeAgain + 1, 'the overtaken read was not kept: read again')
      await mirrored.storedRecord(otherId)
      assert.equal(gets, beforeAgain + 1, 'this one was kept')

      // stopped, the copies go, and none is kept (changes meanwhile would go unseen)
      mirrored.forgetPeerStore()
      await mirrored.storedRecord(otherId)
      await mirrored.storedRecord(otherId)
      assert.equal(gets, beforeAgain + 3, 'not watching: the store each time')
    } finally {
      store.get = get
      peerStoreNode.removeEventListener('peer:update', onUpdate)
    }
  })
})

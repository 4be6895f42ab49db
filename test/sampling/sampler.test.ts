import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { lpStream } from '@libp2p/utils'
import { REVOCATION_NEWS_GRACE_MS } from '../../src/admission/constants.ts'
import { DOMAINS } from '../../src/core/domains.ts'
import { generateEd25519, rawPublicKey, signDomain } from '../../src/core/keys.ts'
import { IssuerClient } from '../../src/issuer-client/client.ts'
import { EVIDENCE_MAX_AGE_MS, cyclonProtocol } from '../../src/sampling/constants.ts'
import { startTestIssuer } from '../fixtures/issuer.ts'
import { TestNet } from '../fixtures/nodes.ts'
import { eventually } from '../fixtures/wait.ts'
import { descriptorOf, encodeShuffle, recordOf, sendShuffle } from './entries.ts'
import type { RawEntry } from './entries.ts'
import type { Descriptor } from '../../src/core/descriptor.ts'
import type { PeerType } from '../../src/core/peer-type.ts'
import type { TempusNode } from '../../src/node/tempus-node.ts'

const FAST = { sampling: { edge: { period: '500ms' }, bridge: { period: '500ms' }, sentinel: { period: '500ms' } } }
const TYPES: PeerType[] = ['edge', 'bridge', 'sentinel']
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url')


describe('sampling across real nodes', () => {
  // FAST's periods are shorter than production's descriptor spacing: the whole test overlay runs at its pace
  const net = new TestNet({ descriptorSpacingMs: { edge: 500, bridge: 500, sentinel: 500 } })
  after(async () => { await net.stop() })

  it('30 nodes of three types: every view fills with its own type only', async () => {
    const sentinels: TempusNode[] = []
    for (let i = 0; i < 4; i++) {
      sentinels.push(await net.node({ type: 'sentinel', bootstrap: sentinels.flatMap(s => s.getMultiaddrs()), ...FAST }))
    }
    const bootstrap = sentinels.flatMap(s => s.getMultiaddrs())
    const bridges = await Promise.all(Array.from({ length: 5 }, async () => net.node({ type: 'bridge', bootstrap, ...FAST })))
    const edges = await Promise.all(Array.from({ length: 21 }, async () => net.node({ type: 'edge', bootstrap, ...FAST })))
    const nodes = [...sentinels, ...bridges, ...edges]
    const typeOf = new Map(nodes.map(n => [n.peerId.toString(), n.type]))
    const violations: string[] = []
    // the largest size each view reached: a view shrinks for a moment during
    // every shuffle (the partner leaves it until the reply), so a snapshot of
    // all 90 views at once is a race, not a property
    const reached = new Map(nodes.map(n => [n, { edge: 0, bridge: 0, sentinel: 0 }]))
    for (const n of nodes) {
      n.sampling.addEventListener('view:change', evt => {
        const entries = n.sampling.view(evt.detail.type)
        for (const e of entries) {
          if (e.type !== evt.detail.type || typeOf.get(e.peerId) !== evt.detail.type || e.peerId === n.peerId.toString()) {
            violations.push(`${n.type} ${evt.detail.type} view holds ${typeOf.get(e.peerId)} ${e.peerId}`)
          }
        }
        const r = reached.get(n) as Record<PeerType, number>
        r[evt.detail.type] = Math.max(r[evt.detail.type], entries.length)
      })
    }
    const size = (n: TempusNode, t: PeerType): number => (reached.get(n) as Record<PeerType, number>)[t]
    await eventually(() => edges.every(e => size(e, 'edge') >= 8) &&
      bridges.every(b => size(b, 'bridge') >= 3) &&
      sentinels.every(s => size(s, 'sentinel') >= 2) &&
      nodes.every(n => TYPES.every(t => size(n, t) >= 1)),
    'views to fill', 120_000, 100)
    assert.deepEqual(violations, [])
    // one overlay per population, not one per introducer: the edges' views,
    // read as links, join every edge (each edge asked up to 3 of the 4
    // sentinels it bootstrapped from for its first entries)
    await eventually(() => {
      const reached = new Set([edges[0]?.peerId.toString()])
      for (let grew = true; grew;) {
        grew = false
        for (const e of edges) {
          const id = e.peerId.toString()
          const links = e.sampling.view('edge').map(x => x.peerId)
          if (reached.has(id) ? links.some(l => !reached.has(l)) : links.some(l => reached.has(l))) {
            reached.add(id)
            links.forEach(l => reached.add(l))
            grew = true
          }
        }
      }
      return edges.every(e => reached.has(e.peerId.toString()))
    }, 'the edge views to form one overlay', 60_000, 250)
    // sampling is drawn from the view's sampler
    const sample = edges[0]?.sampling.sample('edge', 5) ?? []
    assert.equal(sample.length, 5)
    assert.equal(new Set(sample.map(e => e.peerId)).size, 5)
    assert.ok(sample.every(e => typeOf.get(e.peerId) === 'edge'))
    await Promise.all(nodes.map(async n => n.stop()))
  })

  it('forged entries (wrong type, expired past the evidence bound, revoked, unknown issuer) never enter a view, and raise the sender\'s suspicion', async () => {
    let skew = 0
    const target = await net.node({ type: 'sentinel', sampling: { edge: { period: '1h' }, bridge: { period: '1h' }, sentinel: { period: '1h' } }, admission: { crlPollInterval: '200ms' }, options: { now: () => Date.now() + skew } })
    const sender = await net.node({ type: 'sentinel', bootstrap: target.getMultiaddrs(), sampling: { edge: { period: '1h' }, bridge: { period: '1h' }, sentinel: { period: '1h' } } })
    await eventually(() => target.admission.admitted.has(sender.peerId.toString()), 'sender admitted')
    const t = await net.issuer()
    const client = new IssuerClient({ url: t.url })
    const member = async (typ: PeerType): Promise<{ id: string, token: string, keyCertificate: string }> => {
      const key = await generateKeyPair('Ed25519')
      const e = await client.enroll(key, (await t.issuer.createCode(typ)))
      const tok = await client.token(key, e.credential)
      return { id: e.peerId, token: tok.token, keyCertificate: tok.keyCertificate }
    }
    const wrongType = await member('edge')
    const expiredKey = await generateKeyPair('Ed25519')
    const expiredEnrolled = await client.enroll(expiredKey, (await t.issuer.createCode('sentinel')))
    // lapsed 10 min past the bound a view takes evidence within (and past the grace an honest clock has)
    const expired = { id: expiredEnrolled.peerId, ...(await t.issuer.issueToken(expiredEnrolled.peerId, 'sentinel', Date.now() - EVIDENCE_MAX_AGE_MS - 10 * 60_000)) }
    const revoked = await member('sentinel')
    const admins = [generateEd25519(), generateEd25519()]
    for (const [i, a] of admins.entries()) { await t.issuer.addAdmin(b64(rawPublicKey(a.publicKey)), `sampler-admin-${i}`) }
    const request = (await t.issuer.requestRevocation(revoked.id, 'test'))
    for (const a of admins) {
      await t.issuer.approve(request.id, b64(rawPublicKey(a.publicKey)), b64(signDomain(a.privateKey, DOMAINS.revocationApproval, Buffer.from(request.payload, 'base64url'))))
    }
    await eventually(() => target.admission.revocations.isRevoked(revoked.id), 'the target to apply the revocation')
    const rogue = await startTestIssuer({ overlay: 'test-overlay' })
    let foreign: { id: string, token: string, keyCertificate: string }
    try {
      const key = await generateKeyPair('Ed25519')
      const rc = new IssuerClient({ url: rogue.url })
      const e = await rc.enroll(key, (await rogue.issuer.createCode('sentinel')))
      const tok = await rc.token(key, e.credential)
      foreign = { id: e.peerId, token: tok.token, keyCertificate: tok.keyCertificate }
    } finally {
      await rogue.stop()
    }
    const forged = [
      { ...wrongType, type: 'sentinel' },
      { ...expired, type: 'sentinel' },
      { ...revoked, type: 'sentinel' },
      { ...foreign, type: 'sentinel' }
    ]
    const shuffle = async (entries: RawEntry[]): Promise<number> => {
      const before = target.admission.suspicion.score(sender.peerId.toString())
      const stream = await sender.libp2p.dialProtocol(target.peerId, cyclonProtocol('sentinel'), { signal: AbortSignal.timeout(10_000) })
      const lp = lpStream(stream)
      await lp.write(encodeShuffle(entries))
      await lp.read({ signal: AbortSignal.timeout(10_000) })
      await stream.close()
      const view = target.sampling.view('sentinel').map(e => e.peerId)
      for (const f of entries) {
        assert.ok(!view.includes(f.id), `${f.id} must not enter the view`)
      }
      return target.admission.suspicion.score(sender.peerId.toString()) - before
    }
    // the target heard of the revocation a moment ago: the sender may not have, and pays nothing for that entry
    assert.equal(await shuffle([{ ...revoked, type: 'sentinel' }]), 0, 'a peer revoked a moment ago costs its sender nothing')
    // a minute on, every honest node has had the list: the four cost
    skew = REVOCATION_NEWS_GRACE_MS + 1_000
    const rose = await shuffle(forged)
    assert.ok(rose >= 4 * 5 - 0.5, `suspicion rose by ${rose}`)
  })

  it('a view takes evidence lapsed within the bound and keeps it; evidence about to leave the bound is dropped before the next shuffle; evidence just past it costs its sender nothing', async () => {
    const manual = { sampling: { edge: { period: '1h' }, bridge: { period: '1h' }, sentinel: { period: '1h' } } }
    const target = await net.node({ type: 'sentinel', ...manual })
    const senderKey = await generateKeyPair('Ed25519')
    const sender = await net.node({ type: 'sentinel', bootstrap: target.getMultiaddrs(), ...manual, options: { privateKey: senderKey } })
    await eventually(() => target.admission.admitted.has(sender.peerId.toString()), 'sender admitted')
    const t = await net.issuer()
    const client = new IssuerClient({ url: t.url })
    const target_ = target.peerId.toString()
    const enrolled = async (): Promise<{ id: string, record: Uint8Array, descriptor: Descriptor }> => {
      const key = await generateKeyPair('Ed25519')
      return { id: (await client.enroll(key, (await t.issuer.createCode('sentinel')))).peerId, record: await recordOf(key, ['/ip4/127.0.0.1/tcp/9']), descriptor: descriptorOf(key, 'sentinel', target_, [senderKey]) }
    }
    // tokens live 3 min; the bound is EVIDENCE_MAX_AGE_MS past a token's expiry. One that lapsed 5 min ago
    // (it proves admission then), one with 5 s left within the bound (inside the 10 s margin), and one
    // 40 s past the bound (past the skew, within the grace)
    const recentPeer = await enrolled()
    const recent = { ...recentPeer, ...(await t.issuer.issueToken(recentPeer.id, 'sentinel', Date.now() - 180_000 - 5 * 60_000)) }
    const lapsing = await enrolled()
    const soon = { ...lapsing, ...(await t.issuer.issueToken(lapsing.id, 'sentinel', Date.now() - 180_000 - EVIDENCE_MAX_AGE_MS + 5_000)) }
    const lapsedPeer = await enrolled()
    const lapsed = { ...lapsedPeer, ...(await t.issuer.issueToken(lapsedPeer.id, 'sentinel', Date.now() - 180_000 - EVIDENCE_MAX_AGE_MS - 40_000)) }
    // the sender itself, oldest, so that the target's next shuffle goes to a live partner
    const own = sender.admission.ownToken
    assert.ok(own != null)
    const self = { id: sender.peerId.toString(), token: own.token, keyCertificate: own.keyCertificate, record: await recordOf(senderKey, sender.getMultiaddrs().map(a => a.replace(/\/p2p\/[^/]*$/, ''))), descriptor: descriptorOf(senderKey, 'sentinel', target_) }
    const send = async (entries: RawEntry[]): Promise<void> => { await sendShuffle(sender, target, entries) }
    const before = target.admission.suspicion.score(sender.peerId.toString())
    await send([self, recent, soon, lapsed])
    const view = (): string[] => target.sampling.view('sentinel').map(e => e.peerId)
    assert.ok(view().includes(recent.id), 'evidence lapsed 5 min ago is taken in')
    assert.ok(view().includes(soon.id), 'evidence still within the bound is taken in')
    assert.ok(!view().includes(lapsed.id), 'evidence past the bound is not')
    assert.ok(target.admission.suspicion.score(sender.peerId.toString()) <= before + 0.001, 'recent staleness is not held against an honest sender')
    // the next shuffle (with the sender, the oldest) starts by dropping it: it is never passed on
    await target.sampling.tick('sentinel')
    assert.ok(!view().includes(soon.id), 'the lapsing entry is gone before the shuffle')
    assert.ok(!sender.sampling.view('sentinel').some(e => e.peerId === soon.id), 'and was not sent to the partner')
    // the recent one was kept, or handed to the partner, which took it: it was not dropped
    assert.ok(view().includes(recent.id) || sender.sampling.view('sentinel').some(e => e.peerId === recent.id), 'evidence within the bound stays in circulation')
    // the target's own entry goes once it may mint a descriptor (one spacing after its start): shuffle until then
    await eventually(async () => {
      await target.sampling.tick('sentinel')
      return sender.sampling.view('sentinel').some(e => e.peerId === target.peerId.toString())
    }, 'a shuffle with the sender that carried the target\'s own entry', 20_000, 500)
  })

  it('a dead partner disappears from the view after one shuffle with it', async () => {
    const manual = { sampling: { edge: { period: '1h' }, bridge: { period: '1h' }, sentinel: { period: '1h' } } }
    const s = await net.node({ type: 'sentinel', ...manual })
    const watcher = await net.node({ type: 'edge', bootstrap: s.getMultiaddrs(), ...manual })
    const victim = await net.node({ type: 'edge', bootstrap: s.getMultiaddrs(), ...manual })
    const id = victim.peerId.toString()
    // the victim introduces itself through the sentinel; the watcher learns it the same way
    await eventually(async () => {
      await victim.sampling.tick('edge')
      await watcher.sampling.tick('edge')
      return watcher.sampling.view('edge').some(e => e.peerId === id)
    }, 'the victim in the watcher\'s view', 20_000, 500)
    assert.deepEqual(watcher.sampling.view('edge').map(e => e.peerId), [id])
    await victim.stop()
    // the only entry is the oldest: the next shuffle picks it, gets no answer, and drops it
    await watcher.sampling.tick('edge')
    assert.deepEqual(watcher.sampling.view('edge'), [])
  })
})

describe('sampling across a key rotation', () => {
  const net = new TestNet()
  after(async () => { await net.stop() })

  it('entries of the rotated-out epoch prove admission then: they stay in circulation and cost their sender nothing', async () => {
    const manual = { sampling: { edge: { period: '1h' }, bridge: { period: '1h' }, sentinel: { period: '1h' } }, admission: { keysPollInterval: '200ms' } }
    const target = await net.node({ type: 'sentinel', ...manual })
    const senderKey = await generateKeyPair('Ed25519')
    const sender = await net.node({ type: 'sentinel', bootstrap: target.getMultiaddrs(), ...manual, options: { privateKey: senderKey } })
    await eventually(() => target.admission.admitted.has(sender.peerId.toString()), 'sender admitted')
    const t = await net.issuer()
    const client = new IssuerClient({ url: t.url })
    const key = await generateKeyPair('Ed25519')
    const enrolled = await client.enroll(key, (await t.issuer.createCode('sentinel')))
    const old = { id: enrolled.peerId, record: await recordOf(key, ['/ip4/127.0.0.1/tcp/9']), ...(await client.token(key, enrolled.credential)) }
    const senderRecord = await recordOf(senderKey, sender.getMultiaddrs().map(a => a.replace(/\/p2p\/[^/]*$/, '')))
    const send = async (entries: RawEntry[]): Promise<void> => { await sendShuffle(sender, target, entries) }
    const selfEntry = (): RawEntry => {
      const own = sender.admission.ownToken
      assert.ok(own != null)
      return { id: sender.peerId.toString(), token: own.token, keyCertificate: own.keyCertificate, record: senderRecord, descriptor: descriptorOf(senderKey, 'sentinel', target.peerId.toString()) }
    }
    const viaSender = (): Descriptor => descriptorOf(key, 'sentinel', target.peerId.toString(), [senderKey])
    await send([selfEntry(), { ...old, descriptor: viaSender() }])
    const view = (): string[] => target.sampling.view('sentinel').map(e => e.peerId)
    assert.ok(view().includes(old.id), 'taken in while its epoch is current')
    // the issuer rotates; both nodes move to the new epoch
    const announced = await t.issuer.announceKey()
    await eventually(() => [target, sender].every(n => n.admission.verifier.certificateFor(announced.kid) != null), 'both to learn the announced key')
    await t.issuer.activateKey()
    await eventually(() => [target, sender].every(n => n.admission.verifier.current?.epoch === announced.epoch && n.admission.ownToken?.claims.ep === announced.epoch), 'both on the new epoch', 30_000, 50)
    const before = target.admission.suspicion.score(sender.peerId.toString())
    // an honest peer that still holds an entry of the old epoch sends it once
    const other = await generateKeyPair('Ed25519')
    const otherEnrolled = await client.enroll(other, (await t.issuer.createCode('sentinel')))
    await send([selfEntry(), { ...old, descriptor: viaSender() }])
    assert.ok(target.admission.suspicion.score(sender.peerId.toString()) <= before + 0.001, 'an entry of the rotated-out epoch is not held against its sender')
    // but a stale token under another peer's id is a forgery, stale or not: the holder is checked before the epoch
    const staleEntry = { id: otherEnrolled.peerId, token: old.token, keyCertificate: old.keyCertificate }
    await send([selfEntry(), staleEntry])
    assert.ok(target.admission.suspicion.score(sender.peerId.toString()) > before + 1, 'a stale token under someone else\'s id costs its sender')
    // the one taken in before the rotation is not dropped (a rotation does not drain the views)
    await target.sampling.tick('sentinel')
    assert.ok(view().includes(old.id) || sender.sampling.view('sentinel').some(e => e.peerId === old.id), 'kept, or handed to the partner, which took it')
    // the target's own entry goes once it may mint a descriptor (one spacing after its start): shuffle until then
    await eventually(async () => {
      await target.sampling.tick('sentinel')
      return sender.sampling.view('sentinel').some(e => e.peerId === target.peerId.toString())
    }, 'a shuffle with the sender that carried the target\'s own entry', 20_000, 500)
  })
})

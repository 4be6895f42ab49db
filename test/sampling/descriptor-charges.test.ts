/**
 * Signed descriptors between real nodes (protocols/cyclon.md, "Age, and the
 * chain of owners"): a replayed chain, an entry with no descriptor and an
 * over-minted one are refused and charged to whom they are due; a clone is
 * proved, charged to the cloner, and its proof reaches the issuer as a
 * revocation request that admins approve like any other. The attackers are
 * admitted nodes speaking the shuffle protocol by hand with real keys.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { cloneProofToJson, verifyCloneProof } from '../../src/core/clone-proof.ts'
import { handOn, mintDescriptor } from '../../src/core/descriptor.ts'
import { DOMAINS } from '../../src/core/domains.ts'
import { generateEd25519, keyObjectOf, rawPublicKey, signDomain } from '../../src/core/keys.ts'
import { IssuerClient } from '../../src/issuer-client/client.ts'
import { b64 } from '../../src/issuer/encoding.ts'
import { TestNet } from '../fixtures/nodes.ts'
import { eventually } from '../fixtures/wait.ts'
import { descriptorOf, encodeShuffle, recordOf, sendShuffle } from './entries.ts'
import type { CloneProof } from '../../src/core/clone-proof.ts'
import type { TempusNode } from '../../src/node/tempus-node.ts'
import type { TestIssuer } from '../fixtures/issuer.ts'
import type { RawEntry } from './entries.ts'
import type { PrivateKey } from '@libp2p/interface'

const MANUAL = { sampling: { edge: { period: '1h' }, bridge: { period: '1h' }, sentinel: { period: '1h' } }, liveness: { maintainInterval: '1h' } }
const BAD_DESCRIPTOR = 10

interface Member { key: PrivateKey, id: string, token: string, keyCertificate: string, record: Uint8Array }

describe('signed descriptors between real nodes', () => {
  const net = new TestNet()
  let t: TestIssuer
  let client: IssuerClient

  before(async () => {
    t = await net.issuer()
    client = new IssuerClient({ url: t.url })
  })
  after(async () => { await net.stop() })

  async function member (): Promise<Member> {
    const key = await generateKeyPair('Ed25519')
    const enrolled = await client.enroll(key, await t.issuer.createCode('sentinel'))
    const token = await client.token(key, enrolled.credential)
    return { key, id: enrolled.peerId, token: token.token, keyCertificate: token.keyCertificate, record: await recordOf(key, ['/ip4/127.0.0.1/tcp/9']) }
  }
  const entry = (m: Member, descriptor?: RawEntry['descriptor']): RawEntry => ({ id: m.id, token: m.token, keyCertificate: m.keyCertificate, record: m.record, descriptor })

  /** a sentinel that ticks only when told, and `n` admitted attackers connected to it */
  async function targetAnd (n: number): Promise<{ target: TempusNode, attackers: Array<{ node: TempusNode, key: PrivateKey }> }> {
    const target = await net.node({ type: 'sentinel', ...MANUAL })
    const attackers = []
    for (let i = 0; i < n; i++) {
      const key = await generateKeyPair('Ed25519')
      const node = await net.node({ type: 'sentinel', bootstrap: target.getMultiaddrs(), ...MANUAL, options: { privateKey: key } })
      await eventually(() => target.admission.admitted.has(node.peerId.toString()), 'an attacker admitted')
      attackers.push({ node, key })
    }
    return { target, attackers }
  }
  const score = (n: TempusNode, peer: string): number => n.admission.suspicion.score(peer)
  const inView = (n: TempusNode, id: string): boolean => n.sampling.view('sentinel').some(e => e.peerId === id)

  it('a replayed chain and an entry with no descriptor cost their sender; an over-minted descriptor costs the peer that minted it', async () => {
    const { target, attackers: [a] } = await targetAnd(1)
    assert.ok(a != null)
    const attacker = a.node.peerId.toString()
    const [m, other, minter] = [await member(), await member(), await member()]
    const frame = [entry(m, descriptorOf(m.key, 'sentinel', target.peerId.toString(), [a.key]))]

    let before = score(target, attacker)
    await sendShuffle(a.node, target, frame)
    assert.ok(inView(target, m.id), 'an honest chain is taken in')
    assert.ok(score(target, attacker) <= before + 0.001, 'and costs nothing')

    before = score(target, attacker)
    await sendShuffle(a.node, target, frame)
    assert.ok(score(target, attacker) >= before + BAD_DESCRIPTOR - 0.5, `the same chain again: a replay (suspicion rose by ${score(target, attacker) - before})`)

    before = score(target, attacker)
    await sendShuffle(a.node, target, [entry(other)])
    assert.ok(!inView(target, other.id), 'an entry with no descriptor is refused')
    assert.ok(score(target, attacker) >= before + BAD_DESCRIPTOR - 0.5, 'and costs its sender')

    // two descriptors of one peer 100 ms apart, each handed on honestly by the attacker
    const now = Date.now()
    const mk = keyObjectOf(minter.key)
    const via = (at: number): RawEntry['descriptor'] => handOn(handOn(mintDescriptor(mk, 'sentinel', minter.id, at), mk, attacker), keyObjectOf(a.key), target.peerId.toString())
    before = score(target, attacker)
    await sendShuffle(a.node, target, [entry(minter, via(now))])
    await sendShuffle(a.node, target, [entry(minter, via(now + 100))])
    assert.ok(score(target, minter.id) >= BAD_DESCRIPTOR - 0.5, 'the over-minting peer is charged')
    assert.ok(score(target, attacker) <= before + 0.001, 'not the sender, who could not know')
    // a swap: a member that gives nothing gets nothing (each entry handed on leaves the target for good)
    const { lpStream } = await import('@libp2p/utils')
    const { CyclonShuffle } = await import('../../src/sampling/pb/cyclon.ts')
    const { cyclonProtocol } = await import('../../src/sampling/constants.ts')
    const pull = async (entries: RawEntry[]): Promise<number> => {
      const stream = await a.node.libp2p.dialProtocol(target.peerId, cyclonProtocol('sentinel'), { signal: AbortSignal.timeout(10_000) })
      const lp = lpStream(stream)
      await lp.write(encodeShuffle(entries))
      const reply = CyclonShuffle.decode(await lp.read({ signal: AbortSignal.timeout(10_000) }))
      await stream.close()
      return reply.entries.length
    }
    assert.ok(target.sampling.view('sentinel').length >= 2, 'the target holds entries it could hand on')
    assert.equal(await pull([]), 0, 'an empty push drains nothing')
    const one = await member()
    assert.equal(await pull([entry(one, descriptorOf(one.key, 'sentinel', target.peerId.toString(), [a.key]))]), 1, 'one given, at most one back')
    const refused = await target.metricsRegistry.getSingleMetricAsString('tempus_sampling_descriptors_refused_total')
    for (const reason of ['replayed', 'missing', 'over-minted']) {
      assert.match(refused, new RegExp(`reason="${reason}"\\} 1`), `counted as ${reason}`)
    }
  })

  it('a clone is proved and charged to the cloner; the proof opens a revocation request at the issuer, and admins approve it', async () => {
    const { target, attackers: [a, b] } = await targetAnd(2)
    assert.ok(a != null && b != null)
    const cloner = a.node.peerId.toString()
    const m = await member()
    // m's descriptor, handed to a; a hands it to the target, and the same to b, which hands it to the target
    const mk = keyObjectOf(m.key)
    const toA = handOn(mintDescriptor(mk, 'sentinel', m.id, Date.now()), mk, cloner)
    const proofs: Array<{ cloner: string, proof: CloneProof }> = []
    target.libp2p.services.sampling.addEventListener('descriptor:cloned', evt => { proofs.push(evt.detail) })

    await sendShuffle(a.node, target, [entry(m, handOn(toA, keyObjectOf(a.key), target.peerId.toString()))])
    assert.ok(inView(target, m.id))
    const viaB = handOn(handOn(toA, keyObjectOf(a.key), b.node.peerId.toString()), keyObjectOf(b.key), target.peerId.toString())
    await sendShuffle(b.node, target, [entry(m, viaB)])

    assert.equal(proofs.length, 1, 'one proof')
    // a clone pinned on a key nobody admitted (the attackers' throwaway owner): refused, nobody charged, nothing offered
    const throwaway = await generateKeyPair('Ed25519')
    const fk = keyObjectOf(throwaway)
    const fid = (await import('@libp2p/peer-id')).peerIdFromPrivateKey(throwaway).toString()
    const m2 = await member()
    const m2k = keyObjectOf(m2.key)
    const toF = handOn(handOn(mintDescriptor(m2k, 'sentinel', m2.id, Date.now()), m2k, cloner), keyObjectOf(a.key), fid)
    const bBefore = score(target, b.node.peerId.toString())
    await sendShuffle(b.node, target, [entry(m2, handOn(handOn(toF, fk, b.node.peerId.toString()), keyObjectOf(b.key), target.peerId.toString()))])
    const toB2 = handOn(handOn(toF, fk, cloner), keyObjectOf(a.key), b.node.peerId.toString())
    await sendShuffle(b.node, target, [entry(m2, handOn(toB2, keyObjectOf(b.key), target.peerId.toString()))])
    assert.equal(proofs.length, 1, 'no proof against a key that is no member')
    assert.equal(score(target, fid), 0)
    assert.ok(score(target, b.node.peerId.toString()) <= bBefore + 0.001)
    assert.equal(proofs[0]?.cloner, cloner)
    assert.ok(['quarantined', 'banned'].includes(target.admission.suspicion.state(cloner)), 'the cloner is quarantined at once')
    assert.ok(score(target, b.node.peerId.toString()) < BAD_DESCRIPTOR, 'the peer that passed the second copy on is not charged for it')

    // the node offered the proof: a revocation request for the cloner awaits the admins
    const pending = await eventually(async () => (await t.issuer.pendingRevocations()).find(r => r.peerId === cloner), 'a revocation request for the cloner', 20_000, 100)
    assert.match(pending.reason, /^cloned a sentinel descriptor of /)
    // offering it again (another node that caught it) answers with the same request
    const again = await client.offerCloneProof(cloneProofToJson(proofs[0]?.proof as CloneProof))
    assert.equal(again.id, pending.id)
    const admins = [generateEd25519(), generateEd25519()]
    for (const [i, admin] of admins.entries()) {
      await t.issuer.addAdmin(b64(rawPublicKey(admin.publicKey)), `clone-admin-${i}`)
    }
    for (const admin of admins) {
      await t.issuer.approve(pending.id, b64(rawPublicKey(admin.publicKey)), b64(signDomain(admin.privateKey, DOMAINS.revocationApproval, Buffer.from(pending.payload, 'base64url'))))
    }
    await eventually(() => target.admission.revocations.isRevoked(cloner), 'the cloner revoked at the target', 30_000, 100)

    // m handed its descriptor to a once, as an honest owner does. Were a a
    // second key of m's own, routing the clone through it costs m nothing:
    // the proof names the key that signed both hand-overs, and only that key
    // is charged, asked of the issuer and revoked (protocols/cyclon.md)
    assert.equal(verifyCloneProof(proofs[0]?.proof as CloneProof), cloner, 'the proof, checked on its own, names a')
    assert.equal(score(target, m.id), 0, 'the subject, which handed its descriptor on once, is charged nothing')
    assert.equal(target.admission.suspicion.state(m.id), 'ok', 'and not quarantined')
    assert.ok(!target.admission.revocations.isRevoked(m.id), 'nor revoked')
    assert.ok((await t.issuer.pendingRevocations()).every(r => r.peerId !== m.id), 'no revocation request names the subject')
  })

  it('the issuer takes only a proof that verifies, in a bounded body', async () => {
    const post = async (body: unknown): Promise<{ status: number, code?: string }> => {
      const res = await fetch(`${t.url}/v1/evidence/clone`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) })
      return { status: res.status, code: ((await res.json()) as { error?: string }).error }
    }
    const [m, x, y] = [await member(), await member(), await member()]
    // a proof made entirely of keys nobody enrolled verifies, and is still no grounds
    const throwaway = await generateKeyPair('Ed25519')
    const tk = keyObjectOf(throwaway)
    const tid = (await import('@libp2p/peer-id')).peerIdFromPrivateKey(throwaway).toString()
    const td = mintDescriptor(tk, 'sentinel', tid, Date.now())
    const nobody = cloneProofToJson({ type: 'sentinel', subject: tid, mintedAt: td.mintedAt, signature: td.signature, a: handOn(td, tk, x.id).hops, b: handOn(td, tk, y.id).hops })
    assert.equal((await post(nobody)).code, 'not-found', 'a cloner that is not a member')
    const mk = keyObjectOf(m.key)
    const d = mintDescriptor(mk, 'sentinel', m.id, Date.now())
    const json = cloneProofToJson({ type: 'sentinel', subject: m.id, mintedAt: d.mintedAt, signature: d.signature, a: handOn(d, mk, x.id).hops, b: handOn(d, mk, y.id).hops })
    assert.equal((await post({ ...json, a: json.b })).code, 'invalid-proof', 'two equal chains prove nothing')
    assert.equal((await post({ ...json, mintedAt: json.mintedAt + 1 })).code, 'invalid-proof', 'a descriptor its subject did not sign')
    assert.equal((await post({ ...json, extra: 1 })).status, 400, 'an unknown field')
    assert.equal((await post({ ...json, a: Array.from({ length: 25 }, () => json.a[0]) })).status, 400, 'more hops than a chain may have')
    const taken = await client.offerCloneProof(json)
    assert.equal(taken.peerId, m.id, 'a genuine proof names the peer that minted and handed the descriptor twice')
  })
})

/**
 * The sample exchange on the wire (protocols/cyclon.md, "The sample
 * exchange"), against a real node's sampling service: an admitted member
 * speaks the four frames by hand. What checks out enters the node's slot
 * sampler (and `sample()`); an id offered without evidence, or with
 * someone else's, is charged and never held; frames out of step are
 * charged as malformed.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { pbStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { IssuerClient } from '../../src/issuer-client/client.ts'
import { sampleProtocol } from '../../src/sampling/constants.ts'
import { SampleFrame } from '../../src/sampling/pb/cyclon.ts'
import { admittingAttacker } from '../fixtures/attacker.ts'
import { TestNet } from '../fixtures/nodes.ts'
import { eventually } from '../fixtures/wait.ts'
import { recordOf } from './entries.ts'
import type { CyclonEntry } from '../../src/sampling/pb/cyclon.ts'
import type { TokenClaims } from '../../src/admission/token.ts'
import type { TempusNode } from '../../src/node/tempus-node.ts'
import type { Libp2p } from '@libp2p/interface'

/** evidence in a sample exchange carries no descriptor */
const NO_DESCRIPTOR = { mintedAt: 0n, descriptor: new Uint8Array(0), hops: [] }
const HOUR = { sampling: { edge: { period: '1h' }, bridge: { period: '1h' }, sentinel: { period: '1h' } } }
const claimsOf = (token: string): TokenClaims => JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString())
const EMPTY = { ids: [], wants: [], evidence: [] }

describe('the sample exchange against a real node', () => {
  const net = new TestNet()
  let target: TempusNode
  const members: CyclonEntry[] = []
  const holders: Libp2p[] = []

  /** an admitted member of the edge population, as a plain libp2p node speaking the frames by hand */
  const speaker = async (): Promise<Libp2p> => {
    const key = await generateKeyPair('Ed25519')
    const enrollment = await net.enroll(key, 'edge')
    const token = await new IssuerClient({ url: (await net.issuer()).url }).token(key, enrollment.credential)
    const { node } = await admittingAttacker({ privateKey: key, enrollment, token: { ...token, claims: claimsOf(token.token) } })
    holders.push(node)
    return node
  }
  const score = (peer: Libp2p): number => target.admission.suspicion.score(peer.peerId.toString())
  const sampled = (): string[] => target.sampling.sample('edge', 1000).map(e => e.peerId)

  /** run the initiator's side: offer `ids`, answer the target's asks with `evidence(asked)`; the target's step 2 and step 4 frames */
  const exchange = async (from: Libp2p, ids: string[], evidence: (asked: string[]) => CyclonEntry[], wants: number[] = []): Promise<{ second: SampleFrame, fourth?: SampleFrame }> => {
    const stream = await from.dialProtocol(multiaddr(target.getMultiaddrs()[0] ?? ''), sampleProtocol('edge'), { signal: AbortSignal.timeout(5_000) })
    const pb = pbStream(stream)
    const signal = AbortSignal.timeout(5_000)
    await pb.write({ ...EMPTY, ids }, SampleFrame, { signal })
    const second = await pb.read(SampleFrame, { signal })
    await pb.write({ ids: [], wants, evidence: evidence(second.wants.map(i => ids[i] as string)) }, SampleFrame, { signal })
    const fourth = await pb.read(SampleFrame, { signal }).catch(() => undefined)
    return { second, fourth }
  }
  const evidenceOf = (asked: string[]): CyclonEntry[] => asked.map(id => members.find(m => m.peerId === id) as CyclonEntry)

  before(async () => {
    target = await net.node({ type: 'sentinel', ...HOUR })
    const client = new IssuerClient({ url: (await net.issuer()).url })
    for (let i = 0; i < 4; i++) {
      const key = await generateKeyPair('Ed25519')
      const enrolled = await net.enroll(key, 'edge')
      const token = await client.token(key, enrolled.credential)
      members.push({ peerId: enrolled.peerId, type: 'edge', token: token.token, keyCertificate: token.keyCertificate, ...NO_DESCRIPTOR, record: new Uint8Array(await recordOf(key, [`/ip4/127.0.0.1/tcp/${4001 + i}`])) })
    }
  })
  after(async () => {
    await Promise.all(holders.map(async h => h.stop()))
    await net.stop()
  })

  it('ids offered with genuine evidence enter the sampler and sample(); held ids are not asked for again', async () => {
    const honest = await speaker()
    const ids = members.slice(0, 3).map(m => m.peerId)
    const { second, fourth } = await exchange(honest, ids, evidenceOf)
    assert.deepEqual(second.wants, [0, 1, 2], 'an empty sampler asks for every id that would win a slot')
    assert.deepEqual(fourth?.evidence, [])
    await eventually(() => ids.every(id => sampled().includes(id)), 'the ids in the sampler')
    assert.equal(score(honest), 0)
    assert.equal(target.sampling.sampled('edge'), 3)
    const again = await exchange(honest, ids, evidenceOf)
    assert.deepEqual(again.second.wants, [], 'held ids are not asked for again')
    assert.equal(score(honest), 0)
  })

  it('the target offers what it holds and shows evidence for what is asked', async () => {
    const asker = await speaker()
    const { second, fourth } = await exchange(asker, [], () => [], [0])
    assert.ok(second.ids.length >= 1)
    assert.equal(fourth?.evidence.length, 1)
    assert.equal(fourth?.evidence[0]?.peerId, second.ids[0])
    assert.ok(members.some(m => m.token === fourth?.evidence[0]?.token), 'the genuine evidence it took')
  })

  it('an id offered and then shown without evidence is a fabricated one: charged as a malformed frame, never held', async () => {
    const liar = await speaker()
    const fake = (await generateKeyPair('Ed25519')).publicKey.toString()
    const { second, fourth } = await exchange(liar, [fake], () => [])
    assert.deepEqual(second.wants, [0])
    assert.equal(fourth, undefined, 'the target reset the stream')
    await eventually(() => score(liar) > 0, 'the liar charged')
    assert.ok(!sampled().includes(fake))
  })

  it('an id shown with someone else\'s token is refused and charged, and never held', async () => {
    const forger = await speaker()
    const stranger = members[3] as CyclonEntry
    const fake = (await generateKeyPair('Ed25519')).publicKey.toString()
    await exchange(forger, [fake], asked => asked.map(id => ({ ...stranger, peerId: id })))
    await eventually(() => score(forger) > 0, 'the forger charged')
    assert.ok(!sampled().includes(fake))
    assert.ok(!sampled().includes(stranger.peerId))
  })

  it('a first frame out of step (evidence nobody asked for) is charged', async () => {
    const rude = await speaker()
    const stream = await rude.dialProtocol(multiaddr(target.getMultiaddrs()[0] ?? ''), sampleProtocol('edge'), { signal: AbortSignal.timeout(5_000) })
    const pb = pbStream(stream)
    await pb.write({ ids: [members[3]?.peerId ?? ''], wants: [], evidence: [members[3] as CyclonEntry] }, SampleFrame, { signal: AbortSignal.timeout(5_000) })
    await pb.read(SampleFrame, { signal: AbortSignal.timeout(5_000) }).catch(() => {})
    await eventually(() => score(rude) > 0, 'the rude member charged')
    assert.ok(!sampled().includes(members[3]?.peerId ?? ''))
  })
})

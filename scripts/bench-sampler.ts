/**
 * What the slot sampler beside each view costs a node, measured against
 * the view itself (the baseline) in the same run, with real tokens, real
 * signed records and a real peer store:
 * - CPU per exchange on the responder's side: a sample exchange (an offer
 *   of 120 ids read, asks chosen, 16 entries of evidence checked and
 *   observed, 120 ids offered back) vs a Cyclon shuffle (8 entries checked,
 *   merged, answered). Evidence is checked with a fresh verifier each
 *   iteration, so no signature cache helps either side;
 * - memory per view: a full sampler (120 entries) vs a full view (20);
 * - signed descriptors: a Cyclon shuffle of 8 entries checked with their
 *   descriptors (chains of 6 owners, a typical life, and of 24, the bound)
 *   vs the same entries' token and record checks alone.
 *
 *   npm run bench:sampler -- [--iterations 300] [--json]
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { admissionStateFor } from '../src/admission/state.ts'
import { IssuerClient } from '../src/issuer-client/client.ts'
import { SAMPLER_DEFAULTS, SAMPLE_MAX_WANTS } from '../src/sampling/constants.ts'
import { EntryEvidence } from '../src/sampling/entry-evidence.ts'
import { DescriptorLedger } from '../src/sampling/descriptor-ledger.ts'
import { SampleKeeper } from '../src/sampling/sample-keeper.ts'
import { sealRecord } from '../src/sampling/signed-record.ts'
import { CyclonView } from '../src/sampling/view.ts'
import { VIEW_DEFAULTS } from '../src/sampling/constants.ts'
import { createLibp2p } from 'libp2p'
import { handOn, mintDescriptor } from '../src/core/descriptor.ts'
import { keyObjectOf } from '../src/core/keys.ts'
import type { Descriptor } from '../src/core/descriptor.ts'
import type { SignerKey } from '../src/core/keys.ts'
import { benchArgs, intArg } from './lib/args.ts'
import { startBenchOverlay } from './lib/overlay.ts'
import { round, summarise } from './lib/stats.ts'
import type { PeerEntry } from '../src/sampling/peer-entry.ts'
import type { PeerType } from '../src/core/peer-type.ts'

const args = benchArgs({
  iterations: { type: 'string', default: '300' },
  json: { type: 'boolean', default: false }
})
const iterations = intArg(args.iterations, 'iterations', 10, 100_000)
const json = args.json === true
const say = (line: string): void => { if (!json) console.log(line) }

const overlay = await startBenchOverlay()
// a libp2p node for its peer store only (records are consumed into it, as on a node)
const peerStoreNode = await createLibp2p({})
try {
  say(`bench:sampler — ${iterations} exchanges each side, responder's CPU, real tokens and records`)
  const ownKey = await generateKeyPair('Ed25519')
  const enrollment = await new IssuerClient({ url: overlay.http.url }).enroll(ownKey, await overlay.issuer.createCode('edge'))
  const self = enrollment.peerId
  // the population: 400 edges, each with a genuine token and a record it signed
  const population: PeerEntry[] = []
  const keys: SignerKey[] = []
  for (let i = 0; i < 400; i++) {
    const key = await generateKeyPair('Ed25519')
    keys.push(keyObjectOf(key))
    const id = peerIdFromPrivateKey(key).toString()
    const token = await overlay.issuer.issueToken(id, 'edge')
    population.push({ id, type: 'edge', age: 0, token: token.token, keyCertificate: token.keyCertificate, record: await sealRecord(key, [multiaddr(`/ip4/10.0.${i >> 8}.${i & 255}/tcp/4001`)], BigInt(Date.now())), addrs: [] })
  }
  const views = (): Record<PeerType, CyclonView<PeerEntry, string>> => {
    const v = (): CyclonView<PeerEntry, string> => new CyclonView<PeerEntry, string>({ self, capacity: VIEW_DEFAULTS.edge.capacity, shuffleLength: VIEW_DEFAULTS.edge.shuffleLength, random: Math.random, member: true, selfEntry: () => population[0] as PeerEntry, copy: e => ({ ...e }) })
    return { edge: v(), bridge: v(), sentinel: v() }
  }
  /** a node's sampling parts with an empty signature cache */
  const fresh = async (): Promise<{ evidence: EntryEvidence, keeper: SampleKeeper, view: CyclonView<PeerEntry, string> }> => {
    const state = await admissionStateFor(enrollment)
    const vs = views()
    const evidence = new EntryEvidence({ self, state, peerStore: peerStoreNode.peerStore, views: vs, periodMs: () => VIEW_DEFAULTS.edge.periodMs, log: () => {}, changed: () => {}, ledger: new DescriptorLedger({ spacingMs: () => 2_000, now: Date.now }) })
    const keeper = new SampleKeeper({ self, evidence, random: Math.random, isRevoked: () => false, connectedEntry: async () => undefined, ownEntry: () => undefined })
    return { evidence, keeper, view: vs.edge }
  }
  const pick = (n: number): PeerEntry[] => Array.from({ length: n }, () => population[Math.floor(Math.random() * population.length)] as PeerEntry).filter((e, i, all) => all.indexOf(e) === i)

  // the sender of every shuffle, and each entry's descriptor handed through
  // `hops − 1` other owners, the sender last, to this node
  const senderIndex = 1
  const sender = (population[senderIndex] as PeerEntry).id
  const chain = (i: number, hops: number): Descriptor => {
    let d = mintDescriptor(keys[i] as SignerKey, 'edge', (population[i] as PeerEntry).id, Date.now())
    let owner = i
    for (let h = 0; h < hops - 1; h++) {
      const next = (owner + 7 + h) % population.length === senderIndex ? (owner + 8 + h) % population.length : (owner + 7 + h) % population.length
      d = handOn(d, keys[owner] as SignerKey, (population[next] as PeerEntry).id)
      owner = next
    }
    if (owner !== senderIndex) {
      d = handOn(d, keys[owner] as SignerKey, sender)
    }
    return handOn(d, keys[senderIndex] as SignerKey, self)
  }
  const typical = population.map((e, i) => ({ ...e, descriptor: chain(i, 5) }))
  const longest = population.map((e, i) => ({ ...e, descriptor: chain(i, 23) }))

  const sampleMs: number[] = []
  const shuffleMs: number[] = []
  const described: { typical: number[], longest: number[], none: number[] } = { typical: [], longest: [], none: [] }
  for (let i = 0; i < iterations; i++) {
    // a sampler holding 120 of the population, a view holding 20
    const node = await fresh()
    node.keeper.observe('edge', pick(SAMPLER_DEFAULTS.sampleLength * 2))
    node.view.merge(pick(VIEW_DEFAULTS.edge.capacity), [])
    const offer = pick(SAMPLER_DEFAULTS.sampleLength)
    const pushed = pick(VIEW_DEFAULTS.edge.shuffleLength)
    const side = node.keeper.side('edge')
    // alternate which goes first, so neither gets a warmer cache
    const runSample = async (): Promise<void> => {
      const start = performance.now()
      side.wants(offer.map(e => e.id))
      const shown = pick(SAMPLE_MAX_WANTS)
      side.offer()
      await side.learn(shown, sender)
      sampleMs.push(performance.now() - start)
    }
    const runShuffle = async (): Promise<void> => {
      const start = performance.now()
      const admissible = await node.evidence.admissible('edge', pushed.map(e => ({ ...(typical[population.indexOf(e)] as PeerEntry) })).filter(e => e.id !== sender), sender)
      node.view.respond(admissible)
      shuffleMs.push(performance.now() - start)
    }
    if (i % 2 === 0) { await runSample(); await runShuffle() } else { await runShuffle(); await runSample() }
    // the same 8 entries with descriptors (6 and 24 owners), and with the token and record checks alone
    const at = pushed.map(e => population.indexOf(e)).filter(k => k !== senderIndex)
    for (const [name, list] of [['typical', typical], ['longest', longest], ['none', population]] as const) {
      const checker = (await fresh()).evidence
      const entries = at.map(k => ({ ...(list[k] as PeerEntry) }))
      const start = performance.now()
      const taken = name === 'none' ? await checker.sampleable('edge', entries, sender) : await checker.admissible('edge', entries, sender)
      described[name].push(performance.now() - start)
      if (taken.length !== entries.length) {
        throw new Error(`the ${name} shuffle refused ${entries.length - taken.length} of its entries`)
      }
    }
  }
  const withChains = summarise(described.typical)
  const withLongest = summarise(described.longest)
  const withoutChains = summarise(described.none)
  say(`responder CPU per Cyclon shuffle of 8 entries with descriptors: p50 ${round(withChains.p50, 3)} ms (chains of 6 owners), ${round(withLongest.p50, 3)} ms (24, the bound) vs ${round(withoutChains.p50, 3)} ms for their tokens and records alone: ${round(withChains.p50 / withoutChains.p50)}× (${round(withLongest.p50 / withoutChains.p50)}× at the bound)`)
  const sample = summarise(sampleMs)
  const shuffle = summarise(shuffleMs)
  say(`responder CPU per sample exchange: p50 ${round(sample.p50, 3)} ms (p99 ${round(sample.p99, 3)}) vs per Cyclon shuffle ${round(shuffle.p50, 3)} ms (p99 ${round(shuffle.p99, 3)}): ${round(sample.p50 / shuffle.p50)}×`)

  // memory: 200 full samplers vs 200 full views, each entry its own copy (as received)
  const copy = (e: PeerEntry): PeerEntry => ({ ...e, id: `${e.id}`, token: e.token.slice(0), record: new Uint8Array(e.record) })
  // three collections: one leaves garbage the CPU runs above made (promises, chains) for the next to find
  const heap = (): number => { for (let i = 0; i < 3; i++) globalThis.gc?.(); return process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers }
  const before = heap()
  const samplers = await Promise.all(Array.from({ length: 50 }, async () => { const n = await fresh(); n.keeper.observe('edge', population.slice(0, 200).map(copy)); return n.keeper }))
  const mid = heap()
  const fullViews = await Promise.all(Array.from({ length: 50 }, async () => { const n = await fresh(); n.view.merge(population.slice(0, 20).map(copy), []); return n.view }))
  const end = heap()
  const held = samplers[0]?.held('edge') ?? 0
  const samplerKb = (mid - before) / samplers.length / 1024
  const viewKb = (end - mid) / fullViews.length / 1024
  say(`memory per view: a sampler of ${held} entries ${round(samplerKb, 1)} KiB vs a view of ${fullViews[0]?.size} entries ${round(viewKb, 1)} KiB: ${round(samplerKb / viewKb)}× (${globalThis.gc == null ? 'without --expose-gc: rough' : 'after gc'})`)
  if (json) {
    console.log(JSON.stringify({ sampleExchangeMsP50: round(sample.p50, 3), sampleExchangeMsP99: round(sample.p99, 3), shuffleMsP50: round(shuffle.p50, 3), shuffleMsP99: round(shuffle.p99, 3), cpuRatio: round(sample.p50 / shuffle.p50), samplerKiB: round(samplerKb, 1), viewKiB: round(viewKb, 1), memoryRatio: round(samplerKb / viewKb), samplerEntries: held, descriptorShuffleMsP50: round(withChains.p50, 3), descriptorShuffleLongestMsP50: round(withLongest.p50, 3), tokenRecordShuffleMsP50: round(withoutChains.p50, 3), descriptorCpuRatio: round(withChains.p50 / withoutChains.p50), descriptorCpuRatioAtBound: round(withLongest.p50 / withoutChains.p50) }))
  }
} finally {
  await peerStoreNode.stop()
  await overlay.stop()
}

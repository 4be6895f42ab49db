/**
 * Colluding admitted attackers against Cyclon views and the slot samplers
 * beside them (src/sampling/slot-sampler.ts), in one process: the very
 * classes the node runs, driven cycle by cycle. Used by `sim:cyclon`.
 *
 * Every honest node, every cycle (in a new random order):
 *  1. a Cyclon shuffle with its oldest entry (src/sampling/view.ts);
 *  2. a sample exchange with its sampler's least-hit slot, or with one of
 *     its bootstrap peers in its first rounds and one round in ten
 *     (`samplePartner`): each side sends `sampleLength` entries drawn from
 *     its sampler and its own entry, and feeds what it receives to its
 *     sampler only (the views are untouched);
 *  3. the sampler's round (a group re-seeded every `resetEvery` rounds).
 * Everything a node receives (Cyclon requests and replies, sample
 * exchanges) feeds its sampler.
 *
 * Attackers (a fraction f, chosen at random) collude from cycle 0 on: they
 * answer every Cyclon shuffle and every sample exchange with fresh attacker
 * entries only, and push attacker entries into honest views and samplers:
 * - hub: each attacker pushes once a cycle to a random honest node;
 * - flood: ten times a cycle, each to a random honest node;
 * - eclipse: ten times a cycle, every push to one chosen victim.
 */
import { numericDigest, SlotDraw, SlotSampler } from '../../src/sampling/slot-sampler.ts'
import { CyclonView } from '../../src/sampling/view.ts'
import type { CyclonEntry } from '../../src/sampling/view.ts'

type Entry = CyclonEntry<number>
type View = CyclonView<Entry, number>
type Sampler = SlotSampler<Entry, number>

/** draws of the eclipse victim's sample() averaged for its figure */
const VICTIM_DRAWS = 100

export type AttackScenario = 'hub' | 'flood' | 'eclipse'

export interface SamplerParams {
  groups: number
  slotsPerGroup: number
  /** entries each side sends in a sample exchange */
  sampleLength: number
  resetEvery: number
  /** a node's first rounds, whose sample exchanges go to a bootstrap peer */
  bootstrapRounds: number
  /** after those, one round in this many exchanges with a bootstrap peer (0: never) */
  anchorEvery: number
}

export interface AttackInit {
  scenario: AttackScenario
  nodes: number
  f: number
  cycles: number
  view: number
  shuffle: number
  sampler: SamplerParams
  /** how many entries `sample()` is asked for when measuring */
  sampleSize: number
  random: () => number
  /** called with the cycle number, for progress */
  onCycle?: (k: number, share: AttackShares) => void
}

export interface AttackShares {
  /** malicious share of honest nodes' `sample()` */
  sample: number
  /** malicious share of honest nodes' views */
  view: number
  /**
   * the malicious share of what the eclipse victim's `sample()` of
   * `sampleSize` returns (NaN unless eclipse), over VICTIM_DRAWS draws: one
   * draw of 20 moves in steps of 0.05, so a single id decides whether it
   * reads 2 f; the goal is about what the victim's samples hold
   */
  victim: number
  /** the eclipse victim's whole sampler (all `sample()` can return; NaN unless eclipse) */
  victimSampler: number
  /** honest nodes whose sample holds no honest id */
  isolated: number
  /** honest nodes whose sampler held no honest id at the end of some cycle so far (for a while, or for good) */
  everIsolated: number
}

export interface AttackResult {
  final: AttackShares
  /** [cycle, sample share, view share] every few cycles */
  points: Array<[number, number, number]>
}

export function newSampler (self: number, p: SamplerParams, random: () => number): Sampler {
  return new SlotSampler<Entry, number>({ self, groups: p.groups, slotsPerGroup: p.slotsPerGroup, resetEvery: p.resetEvery, random, digest: numericDigest })
}

/** the initiator's draw in a sample exchange, reused: an exchange builds no arrays */
const mine = new SlotDraw<Entry, number>()

/**
 * One sample exchange between two honest nodes (the node's sampling
 * service does the same over the wire): each sends its own id and `length`
 * ids drawn from its sampler, and each feeds what it receives to its
 * sampler. Each observes the other's sampler as it was before the
 * exchange: the initiator's draw is copied first (its memory is at hand),
 * then the initiator reads the partner's in place before the partner
 * changes.
 */
export function exchangeSamples (initiator: Sampler, partner: Sampler, length: number, entry: (id: number) => Entry): void {
  initiator.drawInto(length, mine)
  initiator.observeFrom(partner, length)
  initiator.observe(entry(partner.self))
  partner.observe(entry(initiator.self))
  partner.observeDraw(mine)
}

/**
 * Whom a node exchanges samples with in its k-th round: one of its
 * bootstrap peers (the entries its view started with) in its first
 * `bootstrapRounds` rounds and then one round in `anchorEvery` (at a phase
 * of its own), else its sampler's least-hit slot.
 *
 * Why (issue #16, the isolated nodes of the hub attack at N = 10,000): a
 * sampler starts with the 20 ids of its view, and the first pushes fill it
 * with attacker ids before its first honest exchange. Fresh attacker ids
 * keep arriving with one hit, so the least-hit partner is an attacker most
 * of the time; the node then sees every attacker id within a few rounds
 * and hardly any honest one, and its sample, uniform over the ids it has
 * seen, turns to attackers only. Its own id, which it advertises only to
 * the partners it picks, fades from honest samplers; once it holds no
 * honest id and no honest sampler holds it, nothing reaches it again. The
 * first rounds with bootstrap peers seed the sampler with honest samples
 * before the attackers' pushes dominate what it has seen, and the
 * recurring round with one of them means no state is absorbing: a node
 * always hears again from peers the attackers did not choose.
 */
export function samplePartner (k: number, self: number, sampler: Sampler, bootstrap: Int32Array, p: SamplerParams, random: () => number, entry: (id: number) => Entry): Entry | undefined {
  if (bootstrap.length > 0 && (k <= p.bootstrapRounds || (p.anchorEvery > 0 && (k + self) % p.anchorEvery === 0))) {
    return entry(bootstrap[Math.floor(random() * bootstrap.length)] as number)
  }
  return sampler.partner()
}

export function runAttack (init: AttackInit): AttackResult {
  const { nodes: n, random } = init
  const L = init.shuffle
  const S = init.sampler.sampleLength
  const bad = new Uint8Array(n)
  let placed = 0
  while (placed < Math.round(init.f * n)) {
    const i = Math.floor(random() * n)
    if (bad[i] === 0) { bad[i] = 1; placed++ }
  }
  const badIds = Int32Array.from([...bad.keys()].filter(i => bad[i] === 1))
  // one entry object per node, shared (see sim-cyclon.ts: a view writes ages only as it sends)
  const entryOf: Entry[] = Array.from({ length: n }, (_, i) => ({ id: i, age: 0 }))
  const entry = (id: number): Entry => { const e = entryOf[id] as Entry; e.age = 0; return e }
  const same = (e: Entry): Entry => e
  const views: View[] = Array.from({ length: n }, (_, i) => new CyclonView<Entry, number>({ self: i, capacity: init.view, shuffleLength: L, random, member: true, selfEntry: entry, copy: same }))
  const samplers: Array<Sampler | undefined> = Array.from({ length: n }, (_, i) => bad[i] === 1 ? undefined : newSampler(i, init.sampler, random))
  // a random start: each view holds c random others, which its sampler has seen
  for (const v of views) {
    let guard = 0
    while (v.size < init.view && guard++ < init.view * 100) {
      const id = Math.floor(random() * n)
      if (id !== v.self) v.add(entry(id))
    }
    samplers[v.self]?.observeAll(v.entries())
  }
  // each node's bootstrap peers: the entries its view started with
  const boot = views.map(v => Int32Array.from(v.entries(), e => e.id))
  // k distinct attacker entries (not `not`), drawn at random; a stamp per id
  // marks those drawn (the same draws as a search of `out`, in O(k), not
  // O(k²): flood and eclipse draw 120 thirty thousand times a cycle)
  const drawn = new Int32Array(n)
  let stamp = 0
  const freshBad = (k: number, not: number): Entry[] => {
    const out: Entry[] = []
    let guard = 0
    stamp++
    while (out.length < k && guard++ < k * 100) {
      const id = badIds[Math.floor(random() * badIds.length)] as number
      if (id !== not && drawn[id] !== stamp) {
        drawn[id] = stamp
        out.push(entry(id))
      }
    }
    return out
  }
  let victim = 0
  while (bad[victim] === 1) victim++
  const pushes = init.scenario === 'hub' ? 1 : 10
  const order = Int32Array.from({ length: n }, (_, i) => i)
  const points: Array<[number, number, number]> = []
  // the fewest honest ids each honest node's sampler held at the end of a cycle
  const fewest = new Int16Array(n).fill(0x7fff)
  let final = measure()
  for (let k = 1; k <= init.cycles; k++) {
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1))
      const t = order[i] as number; order[i] = order[j] as number; order[j] = t
    }
    for (const id of order) {
      if (bad[id] === 1) {
        for (let p = 0; p < pushes; p++) {
          const target = init.scenario === 'eclipse' ? victim : Math.floor(random() * n)
          if (bad[target] === 1) continue
          const pushed = freshBad(L, target)
          ;(views[target] as View).merge(pushed, [])
          const sm = samplers[target] as Sampler
          sm.observeAll(pushed)
          sm.observeAll(freshBad(S, target))
        }
        continue
      }
      const v = views[id] as View
      const sm = samplers[id] as Sampler
      // 1. Cyclon, with the oldest entry
      const s = v.startShuffle()
      if (s != null) {
        const pid = s.partner.id
        let reply: Entry[]
        if (bad[pid] === 1) {
          reply = freshBad(L, id)
        } else {
          (samplers[pid] as Sampler).observeAll(s.sent)
          reply = (views[pid] as View).respond(s.sent)
        }
        v.completeShuffle(s, reply)
        sm.observeAll(reply)
      }
      // 2. a sample exchange: with a bootstrap peer in the first rounds and
      // every `anchorEvery`, else with the sampler's least-hit slot
      const p = samplePartner(k, id, sm, boot[id] as Int32Array, init.sampler, random, entry)
      if (p != null && bad[p.id] === 1) {
        sm.observeAll(freshBad(S, id))
        sm.observe(entry(p.id))
      } else if (p != null) {
        exchangeSamples(sm, samplers[p.id] as Sampler, S, entry)
      }
      // 3. the sampler's round
      sm.round()
    }
    for (let i = 0; i < n; i++) {
      if (bad[i] === 1) continue
      let honest = 0
      for (const e of (samplers[i] as Sampler).distinct()) if (bad[e.id] === 0) honest++
      if (honest < (fewest[i] as number)) fewest[i] = honest
    }
    if (k % 5 === 0 || k === 1 || k === init.cycles) {
      final = measure()
      points.push([k, final.sample, final.view])
      init.onCycle?.(k, final)
    }
  }
  return { final, points }

  function measure (): AttackShares {
    let total = 0; let badSampled = 0; let inView = 0; let badInView = 0; let isolated = 0
    for (let i = 0; i < n; i++) {
      if (bad[i] === 1) continue
      const sample = (samplers[i] as Sampler).sample(init.sampleSize)
      let honest = 0
      for (const e of sample) { total++; if (bad[e.id] === 1) badSampled++; else honest++ }
      if (honest === 0 && !(samplers[i] as Sampler).distinct().some(e => bad[e.id] === 0)) isolated++
      for (const e of (views[i] as View).entries()) { inView++; if (bad[e.id] === 1) badInView++ }
    }
    const vs = (samplers[victim] as Sampler).sample(init.sampleSize)
    let victimShare = vs.length > 0 ? vs.filter(e => bad[e.id] === 1).length / vs.length : NaN
    if (init.scenario === 'eclipse') {
      // more draws for the eclipse victim only: the other scenarios' random sequence stays as it was
      let drawn = vs.length
      let badDrawn = vs.filter(e => bad[e.id] === 1).length
      for (let d = 1; d < VICTIM_DRAWS; d++) {
        for (const e of (samplers[victim] as Sampler).sample(init.sampleSize)) { drawn++; if (bad[e.id] === 1) badDrawn++ }
      }
      victimShare = drawn > 0 ? badDrawn / drawn : NaN
    }
    const vAll = (samplers[victim] as Sampler).distinct()
    let everIsolated = 0
    for (let i = 0; i < n; i++) if (bad[i] === 0 && fewest[i] === 0) everIsolated++
    return {
      everIsolated,
      sample: total === 0 ? NaN : badSampled / total,
      view: inView === 0 ? NaN : badInView / inView,
      victim: init.scenario === 'eclipse' ? victimShare : NaN,
      victimSampler: init.scenario === 'eclipse' && vAll.length > 0 ? vAll.filter(e => bad[e.id] === 1).length / vAll.length : NaN,
      isolated
    }
  }
}

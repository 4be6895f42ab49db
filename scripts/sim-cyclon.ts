/**
 * The Cyclon simulator: the nodes' Cyclon view and slot sampler
 * (src/sampling/view.ts, slot-sampler.ts), cycle by cycle, in one process.
 * Base, heal and join run them as typed arrays (scripts/lib/flat-views.ts,
 * flat-samplers.ts, rank-kernel.ts): the same steps and the same random
 * draws, so the same figures, bit for bit (test/sampling/sim-pools.test.ts
 * replays them against the classes), at 100,000 nodes in about a third of
 * the time and half the memory. The attack scenarios drive the classes
 * themselves (scripts/lib/cyclon-attacks.ts).
 *
 *   npm run sim:cyclon -- [--nodes 10000] [--view 20] [--shuffle 8] [--cycles 100]
 *       [--scenario all|base|heal|join|hub|flood|eclipse|attacks] [--join-runs 1000]
 *       [--attack-nodes 2000,10000] [--attack-cycles 200] [--sampler on|off]
 *       [--groups 8] [--slots-per-group 15] [--sample-length 120] [--reset-every 1000]
 *       [--bootstrap-rounds 10] [--anchor-every 10]
 *       [--retries 2] [--order periodic|random] [--seed 1] [--out sim-results] [--json]
 *
 * Order within a cycle: `periodic` (the default) has every node shuffle in
 * the same order each cycle, as nodes do whose sampling timer fires every
 * period at a phase of their own (src/sampling/sampler.ts); node ids are
 * those phases, and the starting lattice is laid over a random labelling so
 * the order says nothing about the topology. `random` draws a new order
 * every cycle (the classic asynchronous model; each node's gap between two
 * shuffles then varies from 0 to 2 cycles). Both meet the targets; periodic
 * also walks the views in memory order, which at 100,000 nodes is a third
 * faster (README, "The Cyclon simulator").
 *
 * base: in-degree distribution (mean, std, variance / Binomial variance),
 *   Pr[u in a view] against c/(N−1), convergence per cycle from a ring
 *   lattice (in-degree std, clustering coefficient), clustering and path
 *   length on a sample against a random graph's.
 * heal: 50% of nodes die; dead links left per cycle; largest component.
 * join: 100 nodes join at once through one introducer; cycles until one
 *   component, over many runs.
 * hub, flood, eclipse: a fraction f of colluding admitted nodes answer and
 *   push only each other's entries (flood: ten times the honest rate;
 *   eclipse: all of it at one victim); their share of what honest nodes'
 *   `sample()` returns and of their views, per cycle (scripts/lib/cyclon-attacks.ts).
 *
 * With `--sampler on` (the default), every node keeps the slot sampler the
 * node keeps beside each view and runs one
 * sample exchange per cycle after its shuffle, with the partner the attack
 * loop picks (`samplePartner`: a bootstrap peer in its first rounds and
 * one round in ten, else the sampler's least-hit slot); base, heal and
 * join report the sampler's figures beside the views'.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { PARTNER_ATTEMPTS } from '../src/sampling/constants.ts'
import { seededRandom } from '../src/sampling/random.ts'
import { SAMPLER_DEFAULTS } from '../src/sampling/constants.ts'
import { runAttack } from './lib/cyclon-attacks.ts'
import { benchArgs, intArg } from './lib/args.ts'
import { FlatSamplers } from './lib/flat-samplers.ts'
import { FlatViews } from './lib/flat-views.ts'
import type { AttackScenario, SamplerParams } from './lib/cyclon-attacks.ts'
import { round } from './lib/stats.ts'

const args = benchArgs({
  nodes: { type: 'string', default: '10000' },
  view: { type: 'string', default: '20' },
  shuffle: { type: 'string', default: '8' },
  cycles: { type: 'string', default: '100' },
  scenario: { type: 'string', default: 'all' },
  'join-runs': { type: 'string', default: '1000' },
  'attack-nodes': { type: 'string', default: '2000,10000' },
  sampler: { type: 'string', default: 'on' },
  groups: { type: 'string', default: String(SAMPLER_DEFAULTS.groups) },
  'slots-per-group': { type: 'string', default: String(SAMPLER_DEFAULTS.slotsPerGroup) },
  'sample-length': { type: 'string', default: String(SAMPLER_DEFAULTS.sampleLength) },
  'reset-every': { type: 'string', default: String(SAMPLER_DEFAULTS.resetEvery) },
  'bootstrap-rounds': { type: 'string', default: '10' },
  'anchor-every': { type: 'string', default: '10' },
  'attack-cycles': { type: 'string', default: '200' },
  seed: { type: 'string', default: '1' },
  out: { type: 'string', default: 'sim-results' },
  // a node tries PARTNER_ATTEMPTS partners per tick (src/sampling/sampler.ts)
  retries: { type: 'string', default: String(PARTNER_ATTEMPTS - 1) },
  order: { type: 'string', default: 'periodic' },
  json: { type: 'boolean', default: false }
})
const RETRIES = intArg(args.retries, 'retries', 0, 1000)
const N = intArg(args.nodes, 'nodes', 10, 1_000_000)
const C = intArg(args.view, 'view', 1, 1000)
const L = intArg(args.shuffle, 'shuffle', 1, C)
const CYCLES = intArg(args.cycles, 'cycles', 1, 100_000)
const JOIN_RUNS = intArg(args['join-runs'], 'join-runs', 1, 100_000)
const ATTACK_SIZES = String(args['attack-nodes']).split(',').map(x => intArg(x, 'attack-nodes', 10, 1_000_000))
const SAMPLER: SamplerParams | undefined = args.sampler === 'off'
  ? undefined
  : {
      groups: intArg(args.groups, 'groups', 1, 64),
      slotsPerGroup: intArg(args['slots-per-group'], 'slots-per-group', 1, 1000),
      sampleLength: intArg(args['sample-length'], 'sample-length', 1, 1000),
      resetEvery: intArg(args['reset-every'], 'reset-every', 1, 1_000_000),
      bootstrapRounds: intArg(args['bootstrap-rounds'], 'bootstrap-rounds', 0, 1_000_000),
      anchorEvery: intArg(args['anchor-every'], 'anchor-every', 0, 1_000_000)
    }
if (!['on', 'off'].includes(String(args.sampler))) {
  process.stderr.write('--sampler must be on or off\n')
  process.exit(2)
}
const ATTACK_CYCLES = intArg(args['attack-cycles'], 'attack-cycles', 1, 100_000)
const SEED = intArg(args.seed, 'seed', 0, 2 ** 31)
const scenario = String(args.scenario)
const ORDER = String(args.order)
if (!['periodic', 'random'].includes(ORDER)) {
  process.stderr.write('--order must be periodic or random\n')
  process.exit(2)
}
if (!['all', 'base', 'heal', 'join', 'hub', 'flood', 'eclipse', 'attacks'].includes(scenario)) {
  process.stderr.write('--scenario must be all, base, heal, join, hub, flood, eclipse or attacks\n')
  process.exit(2)
}
const json = args.json === true
const ATTACKS: AttackScenario[] = ['hub', 'flood', 'eclipse']
const run = (s: string): boolean => scenario === 'all' || scenario === s || (scenario === 'attacks' && (ATTACKS as string[]).includes(s))
const say = (line: string): void => { if (!json) process.stdout.write(line + '\n') }
const progress = (line: string): void => { if (process.stderr.isTTY === true) process.stderr.write(`\r${line}\x1b[K`) }
const done = (): void => { if (process.stderr.isTTY === true) process.stderr.write('\r\x1b[K') }
const t0 = performance.now()

/**
 * Every node's view, in typed arrays (scripts/lib/flat-views.ts: the
 * semantics and the random draws of `CyclonView`, the class the nodes run,
 * step for step; a run gives the figures `CyclonView` gives, in a fraction
 * of the time and memory at 100,000 nodes).
 */
function makeViews (n: number, random: () => number): FlatViews {
  return new FlatViews(n, C, L, random)
}

/** Fisher–Yates, in place. */
function shuffle (a: Int32Array, random: () => number): Int32Array {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    const t = a[i] as number; a[i] = a[j] as number; a[j] = t
  }
  return a
}
const ids = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i)

/**
 * One cycle: every live node initiates one shuffle, in id order (periodic)
 * or in a new random order. A partner that does not answer is gone, and the
 * node tries the next oldest (up to `retries` times), as a real node does
 * after a failed dial.
 */
function cycle (views: FlatViews, random: () => number, alive?: Uint8Array, order?: Int32Array, retries = RETRIES, samplers?: Samplers, k = 1): void {
  const n = views.nodes
  const o = order ?? ids(n)
  if (ORDER === 'random') {
    shuffle(o, random)
  }
  for (let x = 0; x < n; x++) {
    const id = o[x] as number
    // the next node's shuffle partner is a random place in memory: ask for
    // its view and sampler lines now, to arrive while this node's turn runs
    if (x + 1 < n) {
      const next = views.peekPartner(o[x + 1] as number)
      if (next >= 0) {
        views.prefetch(next)
        samplers?.of.prefetch(next)
      }
    }
    if (alive != null && alive[id] === 0) continue
    let s = views.start(id)
    for (let r = 0; s && alive != null && alive[views.partner] === 0 && r < retries; r++) {
      s = views.start(id, false) // no answer: that partner is simply gone; try the next oldest
    }
    const q = views.partner
    if (s && (alive == null || alive[q] === 1)) {
      // q's sampler block is a random place in memory: ask for it while q's view is read
      samplers?.of.prefetch(q)
      views.respond(q)
      views.complete(id)
      if (samplers != null) {
        samplers.of.observeAll(q, views.sentIds, views.sentCount)
        samplers.of.observeAll(id, views.replyIds, views.replyCount)
      }
    }
    // k, the cycle: the node's k-th round, as in the attack loop (before
    // this, a loop index named k hid it, and the node's place in the order
    // went to samplePartner: in periodic order a fifth of the nodes, those
    // with id ≡ 0 mod 5, took a bootstrap peer every round and the rest
    // none after their first rounds)
    if (samplers != null) sampleExchange(id, k, samplers, random, alive)
  }
}

/**
 * The sample exchange after a shuffle, node `id`'s k-th (scripts/lib/cyclon-attacks.ts,
 * the node's sampling service): with a bootstrap peer or the sampler's
 * least-hit slot (`samplePartner`), each side sends what its sampler draws
 * and itself; a partner that does not answer is forgotten. Then the
 * sampler's round.
 */
function sampleExchange (id: number, k: number, samplers: Samplers, random: () => number, alive?: Uint8Array): void {
  const sm = samplers.of
  const p = samplePartner(k, id, samplers, SAMPLER as SamplerParams, random)
  if (p >= 0 && alive != null && alive[p] === 0) {
    sm.forget(id, p)
  } else if (p >= 0) {
    sm.exchange(id, p, (SAMPLER as SamplerParams).sampleLength)
  }
  sm.round(id)
}

/**
 * `samplePartner` (scripts/lib/cyclon-attacks.ts) on the flat samplers: a
 * bootstrap peer in a node's first rounds and one round in `anchorEvery`,
 * else its sampler's least-hit slot; -1 if none.
 */
function samplePartner (k: number, self: number, s: Samplers, p: SamplerParams, random: () => number): number {
  const n = s.bootstrapSize[self] as number
  if (n > 0 && (k <= p.bootstrapRounds || (p.anchorEvery > 0 && (k + self) % p.anchorEvery === 0))) {
    return s.bootstrap[self * C + Math.floor(random() * n)] as number
  }
  return s.of.partner(self)
}

/**
 * every node's sampler (scripts/lib/flat-samplers.ts: `SlotSampler`'s
 * semantics and draws over the simulator's ids), and its bootstrap peers:
 * the entries its view started with, node u's at u·c
 */
interface Samplers { of: FlatSamplers, bootstrap: Int32Array, bootstrapSize: Int32Array }

function makeSamplers (views: FlatViews, random: () => number): Samplers | undefined {
  if (SAMPLER == null) return undefined
  const of = new FlatSamplers(views.nodes, SAMPLER, random)
  for (let u = 0; u < views.nodes; u++) {
    of.init(u)
    for (const id of views.entries(u)) of.observe(u, id)
  }
  const bootstrap = new Int32Array(views.nodes * C)
  const bootstrapSize = new Int32Array(views.nodes)
  for (let u = 0; u < views.nodes; u++) {
    const e = views.entries(u)
    bootstrap.set(e, u * C)
    bootstrapSize[u] = e.length
  }
  return { of, bootstrap, bootstrapSize }
}

function inDegrees (views: FlatViews, alive?: Uint8Array): Int32Array {
  const deg = new Int32Array(views.nodes)
  views.forEachLink((_, id) => { deg[id] = (deg[id] as number) + 1 }, alive)
  return deg
}

function stats (values: ArrayLike<number>, include: (i: number) => boolean = () => true): { mean: number, std: number, variance: number } {
  let n = 0; let sum = 0; let sq = 0
  for (let i = 0; i < values.length; i++) {
    if (!include(i)) continue
    const x = values[i] as number
    n++; sum += x; sq += x * x
  }
  const mean = sum / n
  const variance = sq / n - mean * mean
  return { mean, std: Math.sqrt(variance), variance }
}

/**
 * Undirected adjacency (u–v if either holds the other) of live nodes, in
 * compressed rows: u's neighbours are targets[offsets[u] .. offsets[u+1]),
 * without duplicates. Typed arrays, not a list per node: at 100,000 nodes
 * this is measured a dozen times a run.
 */
interface Graph { offsets: Int32Array, targets: Int32Array }

function undirected (views: FlatViews, alive?: Uint8Array): Graph {
  const n = views.nodes
  const live = (i: number): boolean => alive == null || alive[i] === 1
  // the live links, each view read once (a view holds at most its capacity)
  const from = new Int32Array(n * views.capacity)
  const to = new Int32Array(from.length)
  let links = 0
  views.forEachLink((u, id) => { if (live(id)) { from[links] = u; to[links++] = id } }, alive)
  const offsets = new Int32Array(n + 1)
  for (let k = 0; k < links; k++) {
    const a = from[k] as number; const b = to[k] as number
    offsets[a + 1] = (offsets[a + 1] as number) + 1; offsets[b + 1] = (offsets[b + 1] as number) + 1
  }
  for (let u = 0; u < n; u++) offsets[u + 1] = (offsets[u + 1] as number) + (offsets[u] as number)
  const fill = offsets.slice(0, n)
  const targets = new Int32Array(offsets[n] as number)
  for (let k = 0; k < links; k++) {
    const a = from[k] as number; const b = to[k] as number
    const ia = fill[a] as number; const ib = fill[b] as number
    targets[ia] = b; fill[a] = ia + 1
    targets[ib] = a; fill[b] = ib + 1
  }
  // drop duplicates (u held v and v held u) with a stamp per node, compacting in place
  const stamp = new Int32Array(n).fill(-1)
  let w = 0
  for (let u = 0; u < n; u++) {
    const from = offsets[u] as number; const to = offsets[u + 1] as number
    offsets[u] = w
    for (let r = from; r < to; r++) {
      const x = targets[r] as number
      if (stamp[x] !== u) { stamp[x] = u; targets[w++] = x }
    }
  }
  offsets[n] = w
  return { offsets, targets: targets.subarray(0, w) }
}

function clustering (g: Graph, sample: number[]): number {
  const { offsets, targets } = g
  const mark = new Int32Array(offsets.length).fill(-1)
  let total = 0
  for (const u of sample) {
    const from = offsets[u] as number; const to = offsets[u + 1] as number
    const k = to - from
    if (k < 2) continue
    for (let r = from; r < to; r++) mark[targets[r] as number] = u
    let links = 0
    for (let r = from; r < to; r++) {
      const a = targets[r] as number
      for (let q = offsets[a] as number; q < (offsets[a + 1] as number); q++) {
        const b = targets[q] as number
        if (b > a && mark[b] === u) links++
      }
    }
    total += links / (k * (k - 1) / 2)
  }
  return total / sample.length
}

function pathLength (g: Graph, sources: number[], n: number): number {
  const { offsets, targets } = g
  let sum = 0; let count = 0
  const dist = new Int32Array(n)
  const queue = new Int32Array(n)
  for (const s of sources) {
    dist.fill(-1)
    dist[s] = 0
    queue[0] = s
    let tail = 1
    for (let q = 0; q < tail; q++) {
      const u = queue[q] as number
      for (let r = offsets[u] as number; r < (offsets[u + 1] as number); r++) {
        const w = targets[r] as number
        if (dist[w] === -1) { dist[w] = (dist[u] as number) + 1; queue[tail++] = w; sum += dist[w] as number; count++ }
      }
    }
  }
  return sum / count
}

function largestComponent (g: Graph, alive?: Uint8Array): { largest: number, total: number, components: number } {
  const { offsets, targets } = g
  const n = offsets.length - 1
  const seen = new Uint8Array(n)
  const stack = new Int32Array(n)
  let largest = 0; let total = 0; let components = 0
  for (let s = 0; s < n; s++) {
    if (seen[s] === 1 || (alive != null && alive[s] === 0)) continue
    components++
    let size = 0
    let top = 0
    stack[top++] = s; seen[s] = 1
    while (top > 0) {
      const u = stack[--top] as number; size++
      for (let r = offsets[u] as number; r < (offsets[u + 1] as number); r++) {
        const w = targets[r] as number
        if (seen[w] === 0) { seen[w] = 1; stack[top++] = w }
      }
    }
    largest = Math.max(largest, size); total += size
  }
  return { largest, total, components }
}

function sampleIds (n: number, k: number, random: () => number, ok: (i: number) => boolean = () => true): number[] {
  const out = new Set<number>()
  let guard = 0
  while (out.size < Math.min(k, n) && guard++ < k * 100) {
    const i = Math.floor(random() * n)
    if (ok(i)) out.add(i)
  }
  return [...out]
}

const result: Record<string, unknown> = { nodes: N, view: C, shuffle: L, cycles: CYCLES, order: ORDER }
const svg: string[] = []

// ---- base: convergence from a ring lattice, then the distribution -------
let baseViews: FlatViews | undefined
let baseSamplers: Samplers | undefined
if (run('base') || run('heal')) {
  const random = seededRandom(SEED)
  const views = makeViews(N, random)
  // a ring lattice over a random labelling: neighbours on the ring are not neighbours in id order
  const ring = shuffle(ids(N), random)
  ring.forEach((id, i) => { for (let k = 1; k <= C; k++) views.add(id, ring[(i + k) % N] as number) })
  const samplers = makeSamplers(views, random)
  baseSamplers = samplers
  const order = ids(N)
  const ccSample = sampleIds(N, 200, random)
  const convergence: Array<{ cycle: number, std: number, cc: number }> = []
  const pSample = sampleIds(N, 1000, random)
  const pSums = new Float64Array(pSample.length)
  const window = Math.min(20, CYCLES)
  for (let k = 1; k <= CYCLES; k++) {
    cycle(views, random, undefined, order, RETRIES, samplers, k)
    if (k <= 3 || k === 5 || k % 10 === 0 || k === CYCLES) {
      convergence.push({ cycle: k, std: stats(inDegrees(views)).std, cc: clustering(undirected(views), ccSample) })
    }
    if (k > CYCLES - window) {
      const deg = inDegrees(views)
      pSample.forEach((u, i) => { pSums[i] = (pSums[i] as number) + (deg[u] as number) })
    }
    progress(`base: cycle ${k}/${CYCLES} (${round((performance.now() - t0) / 1000, 1)} s)`)
  }
  done()
  const deg = inDegrees(views)
  const s = stats(deg)
  const p = C / (N - 1)
  const binomialVariance = (N - 1) * p * (1 - p)
  const pEst = pSample.map((_, i) => (pSums[i] as number) / window / (N - 1))
  const pMean = pEst.reduce((a, b) => a + b, 0) / pEst.length
  const pSpread = Math.sqrt(pEst.reduce((a, b) => a + (b - pMean) ** 2, 0) / pEst.length) / p
  const adj = undirected(views)
  const cc = clustering(adj, sampleIds(N, 500, random))
  const apl = pathLength(adj, sampleIds(N, 20, random), N)
  const avgDeg = adj.targets.length / N
  const randomCc = avgDeg / N
  const randomApl = Math.log(N) / Math.log(avgDeg)
  Object.assign(result, {
    inDegreeMean: round(s.mean, 3),
    inDegreeStd: round(s.std, 3),
    inDegreeVariance: round(s.variance, 3),
    binomialVariance: round(binomialVariance, 3),
    inDegreeVarianceRatio: round(s.variance / binomialVariance, 4),
    pInView: pMean,
    pInViewExpected: p,
    pInViewRelError: round(Math.abs(pMean - p) / p, 5),
    pInViewPerNodeSpread: round(pSpread, 4),
    clusteringCoefficient: round(cc, 5),
    randomGraphClustering: round(randomCc, 5),
    pathLength: round(apl, 3),
    randomGraphPathLength: round(randomApl, 3)
  })
  say(`base  N=${N} c=${C} l=${L} after ${CYCLES} cycles (${ORDER} order):`)
  say(`  in-degree mean ${round(s.mean, 2)}, std ${round(s.std, 3)}, variance ${round(s.variance, 3)} = ${round(s.variance / binomialVariance, 4)} × Binomial(${N - 1}, c/(N−1)) variance ${round(binomialVariance, 3)}   [target ≤ 0.15]`)
  say(`  Pr[u in a view] ${pMean.toExponential(4)} vs c/(N−1) ${p.toExponential(4)}: relative error ${round(Math.abs(pMean - p) / p * 100, 3)}% (per-node spread over ${window} cycles ${round(pSpread * 100, 2)}%)   [target ±2%]`)
  say(`  clustering ${round(cc, 5)} (random graph of the same degree ${round(randomCc, 5)}); path length ${round(apl, 3)} (random graph ≈ ${round(randomApl, 3)})`)
  say(`  convergence from a ring lattice (cycle: in-degree std, clustering): ${convergence.filter((_, i) => i < 6 || i % 4 === 0).map(c => `${c.cycle}: ${round(c.std, 2)}, ${round(c.cc, 3)}`).join(' | ')}`)
  if (samplers != null) {
    // how many samplers hold each node: uniform sampling makes it Binomial-like around the mean
    const held = new Int32Array(N)
    let slots = 0
    for (let u = 0; u < N; u++) for (const id of samplers.of.distinct(u)) { held[id] = (held[id] as number) + 1; slots++ }
    const hs = stats(held)
    const ps = slots / N / (N - 1)
    const bv = (N - 1) * ps * (1 - ps)
    Object.assign(result, {
      samplerDistinctMean: round(slots / N, 2),
      samplerHeldVarianceRatio: round(hs.variance / bv, 4),
      samplerHeldMax: Math.max(...held)
    })
    say(`  samplers: ${round(slots / N, 2)} distinct ids each; how many samplers hold a node: mean ${round(hs.mean, 2)}, variance ${round(hs.variance, 2)} = ${round(hs.variance / bv, 3)} × Binomial, max ${Math.max(...held)}`)
  }
  svg.push(histogramSvg('In-degree distribution', deg, C))
  svg.push(lineSvg('Convergence from a ring lattice', 'cycle', [
    { name: 'in-degree std', points: convergence.map(c => [c.cycle, c.std]) },
    { name: 'clustering × 10', points: convergence.map(c => [c.cycle, c.cc * 10]) }
  ]))
  baseViews = views
}

// ---- heal: kill half, count dead links per cycle --------------------------
if (run('heal') && baseViews != null) {
  const random = seededRandom(SEED + 1)
  const views = baseViews
  const samplers = baseSamplers
  const alive = new Uint8Array(N).fill(1)
  for (const i of sampleIds(N, Math.floor(N / 2), random)) alive[i] = 0
  const deadLinks = (): number => {
    let d = 0
    for (let u = 0; u < N; u++) if (alive[u] === 1) for (const id of views.entries(u)) if (alive[id] === 0) d++
    return d
  }
  const deadHeld = (): number => {
    let d = 0
    if (samplers != null) for (let u = 0; u < N; u++) if (alive[u] === 1) for (const id of samplers.of.distinct(u)) if (alive[id] === 0) d++
    return d
  }
  const initial = deadLinks()
  const initialHeld = deadHeld()
  let heldWithin20 = NaN
  const curve: Array<[number, number]> = [[0, initial]]
  let within20 = 0; let within40 = 0; let cycle99 = -1; let cycle100 = -1
  const order = ids(N)
  for (let k = 1; k <= 40; k++) {
    cycle(views, random, alive, order, RETRIES, samplers, CYCLES + k)
    if (k === 20) heldWithin20 = initialHeld === 0 ? 1 : 1 - deadHeld() / initialHeld
    const left = deadLinks()
    curve.push([k, left])
    const purged = 1 - left / initial
    if (cycle99 < 0 && purged >= 0.99) cycle99 = k
    if (cycle100 < 0 && left === 0) cycle100 = k
    if (k === 20) within20 = purged
    if (k === 40) within40 = purged
    progress(`heal: cycle ${k}/40`)
  }
  done()
  const comp = largestComponent(undirected(views, alive), alive)
  Object.assign(result, {
    deadLinksInitial: initial,
    deadLinksPurgedWithin20: round(within20, 5),
    deadLinksPurgedWithin40: round(within40, 5),
    cycleAllButOnePercentPurged: cycle99,
    cycleAllPurged: cycle100,
    largestComponentShare: round(comp.largest / comp.total, 5),
    ...(samplers != null ? { deadInSamplersInitial: initialHeld, deadInSamplersPurgedWithin20: round(heldWithin20, 5) } : {})
  })
  say(`heal  50% of ${N} nodes killed: ${initial} dead links; purged ${round(within20 * 100, 2)}% within 20 cycles [target ≥ 99%], ${round(within40 * 100, 2)}% within 40 [target 100%]; ≥99% at cycle ${cycle99}, all at cycle ${cycle100 < 0 ? '>40' : cycle100}`)
  if (samplers != null) say(`      samplers: ${initialHeld} dead ids held; ${round(heldWithin20 * 100, 2)}% forgotten within 20 cycles (a dead partner is forgotten; a re-seeded group refills from what is alive)`)
  say(`      largest component ${comp.largest} of ${comp.total} survivors (${round(comp.largest / comp.total * 100, 3)}%) [target ≥ 99%]`)
  svg.push(lineSvg('Dead links after 50% of nodes die', 'cycle', [{ name: 'dead links left', points: curve }]))
}

// ---- join: 100 simultaneous joins through one introducer ------------------
if (run('join')) {
  const random = seededRandom(SEED + 2)
  let ok = 0
  const cyclesNeeded: number[] = []
  for (let r = 0; r < JOIN_RUNS; r++) {
    const views = makeViews(101, random)
    // the introducer's phase is random too: it is not always the first to shuffle
    const introducer = Math.floor(random() * 101)
    for (let i = 0; i < 101; i++) if (i !== introducer) views.add(i, introducer)
    const samplers = makeSamplers(views, random)
    let reached = -1
    for (let k = 1; k <= 10; k++) {
      cycle(views, random, undefined, undefined, RETRIES, samplers, k)
      const comp = largestComponent(undirected(views))
      if (comp.components === 1 && ids(101).every(u => views.size(u) > 0)) { reached = k; break }
    }
    if (reached > 0) { ok++; cyclesNeeded.push(reached) }
    if (r % 50 === 0) progress(`join: run ${r}/${JOIN_RUNS}`)
  }
  done()
  Object.assign(result, { joinRuns: JOIN_RUNS, joinRunsOneComponent: ok, joinCyclesMax: Math.max(...cyclesNeeded, -1) })
  say(`join  100 nodes through one introducer: one component (every node with a non-empty view) within 10 cycles in ${ok} of ${JOIN_RUNS} runs [target all]; at most ${Math.max(...cyclesNeeded, -1)} cycles`)
}

// ---- hub, flood, eclipse: colluding malicious nodes ------------------------
for (const attack of ATTACKS) {
  if (!run(attack)) continue
  if (SAMPLER == null) {
    say(`${attack}: needs the sampler (--sampler on)`)
    continue
  }
  ATTACK_SIZES.forEach((n, sizeIndex) => {
    const shares: Record<string, number> = {}
    const viewShares: Record<string, number> = {}
    const victimShares: Record<string, number> = {}
    const victimSamplerShares: Record<string, number> = {}
    const isolatedByF: Record<string, number> = {}
    const everIsolatedByF: Record<string, number> = {}
    const tSize = performance.now()
    let isolated = 0
    const series: Array<{ name: string, points: Array<[number, number]> }> = []
    for (const f of [0.1, 0.2, 0.3]) {
      const r = runAttack({
        scenario: attack,
        nodes: n,
        f,
        cycles: ATTACK_CYCLES,
        view: C,
        shuffle: L,
        sampler: SAMPLER,
        sampleSize: C,
        random: seededRandom(SEED + 3 + Math.round(f * 100) + 1000 * ATTACKS.indexOf(attack)),
        onCycle: (k, x) => { progress(`${attack} N=${n} f=${f}: cycle ${k}/${ATTACK_CYCLES}, sample ${round(x.sample * 100, 1)}%, view ${round(x.view * 100, 1)}%`) }
      })
      done()
      shares[String(f)] = round(r.final.sample, 4)
      viewShares[String(f)] = round(r.final.view, 4)
      if (attack === 'eclipse') victimShares[String(f)] = round(r.final.victim, 4)
      if (attack === 'eclipse') victimSamplerShares[String(f)] = round(r.final.victimSampler, 4)
      isolated += r.final.isolated
      isolatedByF[String(f)] = r.final.isolated
      everIsolatedByF[String(f)] = r.final.everIsolated
      series.push({ name: `sample f=${f}`, points: r.points.map(([k, x]) => [k, x * 100]) })
      series.push({ name: `view f=${f}`, points: r.points.map(([k, , y]) => [k, y * 100]) })
      const goal = attack === 'eclipse' ? `victim ${round(r.final.victim * 100, 2)}% = ${round(r.final.victim / f, 2)} f (${C} ids a draw, 100 draws; its whole sampler ${round(r.final.victimSampler * 100, 2)}% = ${round(r.final.victimSampler / f, 2)} f) [goal ≤ 2 f]` : `[goal ≤ 1.2 f]`
      say(`${attack.padEnd(7)} N=${n} f=${f * 100}%: after ${ATTACK_CYCLES} cycles the malicious share of honest samples is ${round(r.final.sample * 100, 2)}% = ${round(r.final.sample / f, 2)} f ${goal}; of honest views ${round(r.final.view * 100, 2)}%; isolated honest nodes ${r.final.isolated} (${r.final.everIsolated} held no honest id at the end of some cycle)`)
    }
    // the issue's fields are the N = 2,000 (first size) figures; the others are kept beside them
    const suffix = sizeIndex === 0 ? '' : `At${n}`
    result[`${attack}MaliciousShare${suffix}`] = shares
    result[`${attack}ViewShare${suffix}`] = viewShares
    if (attack === 'eclipse') result[`eclipseVictimShare${suffix}`] = victimShares
    if (attack === 'eclipse') result[`eclipseVictimSamplerShare${suffix}`] = victimSamplerShares
    result[`${attack}IsolatedHonest${suffix}`] = isolatedByF
    result[`${attack}IsolatedHonestEver${suffix}`] = everIsolatedByF
    // honest nodes isolated at the end, over the attacks and f at this size
    result[`isolatedHonest${suffix}`] = ((result[`isolatedHonest${suffix}`] as number | undefined) ?? 0) + isolated
    const seconds = round((performance.now() - tSize) / 1000, 1)
    result[`${attack}Seconds${suffix}`] = seconds
    say(`${attack.padEnd(7)} N=${n}: ${seconds} s for f = 10, 20, 30 %`)
    svg.push(lineSvg(`${attack} (N = ${n}): malicious share of honest samples and views, %`, 'cycle', series))
  })
}

result.seconds = round((performance.now() - t0) / 1000, 2)
await mkdir(String(args.out), { recursive: true })
const file = join(String(args.out), `cyclon-${N}-${C}-${L}.svg`)
await writeFile(file, page(svg))
say(`figures written to ${file}; ${result.seconds} s`)
if (json) {
  process.stdout.write(JSON.stringify(result) + '\n')
}

// ---- SVG ------------------------------------------------------------------
function histogramSvg (title: string, values: Int32Array, c: number): string {
  const counts = new Map<number, number>()
  let max = 0
  for (const v of values) { counts.set(v, (counts.get(v) ?? 0) + 1); max = Math.max(max, v) }
  const bins = Array.from({ length: max + 1 }, (_, i) => counts.get(i) ?? 0)
  const top = Math.max(...bins)
  const w = 600; const h = 220; const bw = w / bins.length
  const bars = bins.map((n, i) => `<rect x="${(i * bw).toFixed(1)}" y="${(h - n / top * h).toFixed(1)}" width="${Math.max(1, bw - 1).toFixed(1)}" height="${(n / top * h).toFixed(1)}" fill="${i === c ? '#c33' : '#47a'}"/>`).join('')
  return `<g><text x="0" y="-8" font-size="14">${title} (red: c = ${c})</text>${bars}<text x="0" y="${h + 16}" font-size="11">0</text><text x="${w - 20}" y="${h + 16}" font-size="11">${max}</text></g>`
}

function lineSvg (title: string, xLabel: string, series: Array<{ name: string, points: Array<[number, number]> }>): string {
  const all = series.flatMap(s => s.points)
  const xMax = Math.max(...all.map(p => p[0]), 1); const yMax = Math.max(...all.map(p => p[1]), 1e-9)
  const w = 600; const h = 220
  const colours = ['#47a', '#c33', '#3a3', '#a3a']
  const lines = series.map((s, i) => `<polyline fill="none" stroke="${colours[i % colours.length]}" stroke-width="2" points="${s.points.map(([x, y]) => `${(x / xMax * w).toFixed(1)},${(h - y / yMax * h).toFixed(1)}`).join(' ')}"/><text x="${w + 8}" y="${14 + i * 16}" font-size="11" fill="${colours[i % colours.length]}">${s.name}</text>`).join('')
  return `<g><text x="0" y="-8" font-size="14">${title} (y max ${round(yMax, 3)})</text><rect x="0" y="0" width="${w}" height="${h}" fill="none" stroke="#ccc"/>${lines}<text x="0" y="${h + 16}" font-size="11">${xLabel} 0 … ${xMax}</text></g>`
}

function page (parts: string[]): string {
  const height = parts.length * 290 + 40
  return `<svg xmlns="http://www.w3.org/2000/svg" width="760" height="${height}" font-family="sans-serif">${parts.map((p, i) => `<g transform="translate(20, ${40 + i * 290})">${p}</g>`).join('')}</svg>\n`
}

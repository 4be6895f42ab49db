/**
 * Every simulated node's slot sampler in one Int32Array: the simulator's
 * fast path for `SlotSampler` (src/sampling/slot-sampler.ts) over the
 * simulator's numeric ids (digest `numericDigest`). The same groups, keyed
 * ranks, bars, evictions, hits, partner rule and re-seeds, and the same
 * draws from the same random source in the same order, so a run holds the
 * very ids `SlotSampler` holds, bit for bit (test/sampling/sim-pools.test.ts
 * replays both side by side); read slot-sampler.ts for the design.
 *
 * Why (issue #16, `--nodes 100000` under a minute): 100,000 `SlotSampler`s
 * are 100,000 objects, each with an array of 240 references and a typed
 * array behind its own buffer, ~3.5 KB apiece, and a sample exchange reads
 * a random one. Here node u's sampler is one block of
 * 4 + 5G + 4·(G·k) int32s (2 KB at the defaults) at u times that, holding
 * ids, not entries: no pointers for the collector, no entry objects, and
 * an exchange offers the other side's ids straight from its block.
 *
 * Block layout, from u's base: the partition's two keys at 0 and 1; per
 * group g: seed A at 2 + g, seed B at 2 + G + g, the bar at 2 + 2G + g,
 * slots in use at 2 + 3G + g, the index within the group of its highest
 * rank at 2 + 4G + g; the rounds at 2 + 5G and the re-seed cursor at
 * 3 + 5G; then per slot i (= g·k + s): the digest at H + i, and from
 * H + S the rank (^ 2³¹) at H + S + 3i, the id at + 1 and the hits at + 2,
 * with H = 4 + 5G and S = G·k. An exchange reads the other side's control
 * block and digests, one run of memory; an admission, one group's ranks,
 * ids and hits side by side.
 */
import { numericDigest } from '../../src/sampling/slot-sampler.ts'
import { rankKernel } from './rank-kernel.ts'
import type { RankKernel } from './rank-kernel.ts'

/** murmur3's 32-bit finalizer, as slot-sampler.ts's `mix` */
function mix (h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return (h ^ (h >>> 16)) | 0
}

/** The bar of a group with room (slot-sampler.ts's NO_BAR). */
const NO_BAR = 0x7fffffff

export interface FlatSamplerParams {
  groups: number
  slotsPerGroup: number
  resetEvery: number
}

export class FlatSamplers {
  readonly nodes: number
  /** slots per sampler */
  readonly size: number
  private readonly G: number
  private readonly k: number
  private readonly resetEvery: number
  private readonly random: () => number
  private readonly mask: number
  /** ints per sampler */
  private readonly stride: number
  private readonly pool: Int32Array
  // offsets within a block
  private readonly oBar: number
  private readonly oUsed: number
  private readonly oWorst: number
  private readonly oRounds: number
  private readonly oDigest: number
  /** slot i's rank at oSlots + 3i, its id at + 1, its hits at + 2 */
  private readonly oSlots: number
  /** a copy of the initiator's digests (at 0) and ids (at `size` + 4) in an exchange (slot-sampler.ts's `SlotDraw`) */
  private readonly mine: Int32Array
  private readonly drawIds: Int32Array
  private readonly drawDigests: Int32Array
  private readonly candidates: Int32Array
  /** the kernel's ranks and groups of the ids of one `offerRun` */
  private readonly ranks: Int32Array
  private readonly groupsOf: Int32Array
  /** the observation path in WebAssembly SIMD, where there is one (rank-kernel.ts) */
  private readonly kernel: RankKernel | undefined
  /** the longest list `offerRun` takes to the kernel */
  private readonly listRoom: number
  /** what `touch` read */
  sink = 0
  /** `observeAll`'s digests */
  private readonly listDigests: Int32Array
  /** `partner`'s slots with the fewest hits */
  private readonly ties: Int32Array
  /** an in-place exchange's candidates, both sides': group, rank, digest, id (`scanBlock`) */
  private readonly found: Int32Array

  /** Node u's sampler is seeded by `init(u)`, in the order the caller wants the draws made. */
  constructor (nodes: number, p: FlatSamplerParams, random: () => number) {
    if (!Number.isInteger(p.groups) || p.groups < 1) throw new RangeError('groups must be a positive integer')
    if (!Number.isInteger(p.slotsPerGroup) || p.slotsPerGroup < 1) throw new RangeError('slotsPerGroup must be a positive integer')
    if (!Number.isInteger(p.resetEvery) || p.resetEvery < 1) throw new RangeError('resetEvery must be a positive integer')
    this.nodes = nodes
    this.G = p.groups
    this.k = p.slotsPerGroup
    this.size = p.groups * p.slotsPerGroup
    this.resetEvery = p.resetEvery
    this.random = random
    this.mask = (p.groups & (p.groups - 1)) === 0 ? p.groups - 1 : -1
    const G = p.groups
    this.oBar = 2 + 2 * G
    this.oUsed = 2 + 3 * G
    this.oWorst = 2 + 4 * G
    this.oRounds = 2 + 5 * G
    this.oDigest = 4 + 5 * G
    this.oSlots = this.oDigest + this.size
    // rounded up to whole 64-byte cache lines (the memory starts on a page)
    this.stride = Math.ceil((this.oSlots + 3 * this.size) / 16) * 16
    // everything an observation reads in one WebAssembly memory, for the
    // kernel (rank-kernel.ts): the blocks, then the scratch (each with room
    // for the kernel's reads and writes past its end)
    const scratch = this.size + 4
    this.listRoom = Math.max(this.size, 1024)
    const ints = nodes * this.stride + 2 * scratch + 2 * scratch + 4 * (this.listRoom + 4)
    // (a number of groups not a power of two, or a memory too large: plain arrays, no kernel)
    const wasm = this.mask >= 0 && p.groups <= 8 ? rankKernel(ints * 4) : undefined
    const buffer = wasm?.buffer ?? new ArrayBuffer(ints * 4)
    let at = 0
    const take = (n: number): Int32Array => { const a = new Int32Array(buffer, at * 4, n); at += n; return a }
    this.pool = take(nodes * this.stride)
    this.mine = take(2 * scratch)
    this.drawIds = take(scratch)
    this.drawDigests = take(scratch)
    this.listDigests = take(this.listRoom + 4)
    this.candidates = take(this.listRoom + 4)
    this.ranks = take(this.listRoom + 4)
    this.groupsOf = take(this.listRoom + 4)
    this.found = new Int32Array(8 * this.size)
    this.ties = new Int32Array(this.size + 1)
    this.kernel = wasm?.kernel
  }

  /** A new sampler for node u (`new SlotSampler`): the partition's keys, then each group's seeds. */
  init (u: number): void {
    const b = u * this.stride
    this.pool.fill(0, b, b + this.stride)
    this.pool[b] = Math.floor(this.random() * 4294967296) | 0
    this.pool[b + 1] = Math.floor(this.random() * 4294967296) | 0
    for (let g = 0; g < this.G; g++) this.reseed(b, g)
  }

  /** Slots of u holding an id. */
  filled (u: number): number {
    const b = u * this.stride + this.oUsed
    let n = 0
    for (let g = 0; g < this.G; g++) n += this.pool[b + g] as number
    return n
  }

  /**
   * Read one int32 in every 64 bytes of [at, at + n), so that those cache
   * lines are on their way before they are needed (kept in `sink`, so the
   * reads are not optimised away).
   */
  private touch (at: number, n: number): void {
    let x = 0
    for (let i = at; i < at + n; i += 16) x ^= this.pool[i] as number
    this.sink ^= x
  }

  /** Ask for the lines of u's control block (its keys, seeds and bars) now. */
  prefetch (u: number): void {
    this.touch(u * this.stride, this.oDigest)
  }

  /** u sees id (`observe`). */
  observe (u: number, id: number): void {
    if (id === u) return
    this.offer(u * this.stride, u, numericDigest(id) | 0, id)
  }

  /** u sees `count` ids of `ids` in order (`observeAll`). */
  observeAll (u: number, ids: Int32Array, count: number): void {
    const digests = count <= this.listRoom ? this.listDigests : new Int32Array(count)
    for (let i = 0; i < count; i++) digests[i] = numericDigest(ids[i] as number) | 0
    this.offerRun(u * this.stride, u, digests, 0, ids, 0, 1, count)
  }

  /**
   * A sample exchange between u (initiator) and p (`exchangeSamples` in
   * cyclon-attacks.ts): u draws `length` of what it holds, observes what p
   * draws for `length` and p itself; p observes u and u's draw. Each side
   * sees the other as it was before the exchange.
   *
   * When each side offers all it holds (`length` ≥ the slots, the
   * defaults), no draw is random and each side's offer is its block in
   * slot order, so both are read in place, no copy: first each side's
   * candidates against its bars now (bars only fall, so that is every id
   * that can pass, and more), kept with their ids and digests; then u
   * admits its own, u and p see each other, and p admits its own, each
   * checked again against the bar as it is by then: what the copy gave.
   */
  exchange (u: number, p: number, length: number): void {
    const size = this.size
    const bu = u * this.stride
    const bp = p * this.stride
    // p's block is a random place in memory: ask for its control block and
    // digests now, to arrive while u's own work runs (the whole block, its
    // slots too, cost more than it saved: 1.5 % of CPU at N = 20,000)
    this.touch(bp, this.oDigest + size)
    if (length >= size) {
      // p's candidates first: they need only p's first lines (its keys,
      // seeds and bars) while the rest of its block is on its way
      const a = this.scanBlock(bp, bu, this.found, 0)
      const n = this.scanBlock(bu, bp, this.found, a)
      this.admitFound(bu, u, a, n)
      this.observe(u, p)
      this.observe(p, u)
      this.admitFound(bp, p, 0, a)
      return
    }
    const filled = this.filled(p)
    const mine = this.drawInto(u, length, this.mine, this.mine, 0, size + 4)
    if (length < filled) {
      const n = this.drawInto(p, length, this.drawIds, this.drawDigests, 0, 0)
      this.offerRun(bu, u, this.drawDigests, 0, this.drawIds, 0, 1, n)
    } else {
      this.offerBlock(bu, u, bp)
    }
    this.observe(u, p)
    this.observe(p, u)
    this.offerRun(bp, p, this.mine, 0, this.mine, size + 4, 1, mine)
  }

  /** Offer what the block at `from` holds, in slot order, in place, to the sampler at block b (node `self`). */
  private offerBlock (b: number, self: number, from: number): void {
    const size = this.size
    if (this.filledAt(from) === size) {
      // every slot in use: one run
      this.offerRun(b, self, this.pool, from + this.oDigest, this.pool, from + this.oSlots + 1, 3, size)
      return
    }
    const k = this.k
    for (let g = 0; g < this.G; g++) {
      this.offerRun(b, self, this.pool, from + this.oDigest + g * k, this.pool, from + this.oSlots + 3 * g * k + 1, 3, this.pool[from + this.oUsed + g] as number)
    }
  }

  /** Slots in use in the block at b. */
  private filledAt (b: number): number {
    let n = 0
    for (let g = 0; g < this.G; g++) n += this.pool[b + this.oUsed + g] as number
    return n
  }

  /**
   * The ids the block at `from` holds, in slot order, that pass the bars of
   * the sampler at block b now: each one's group, rank, digest and id go to
   * `out` from `at` on (4 ints each; the id is copied, since `from` may
   * change before they are admitted). Returns where the next goes.
   */
  private scanBlock (b: number, from: number, out: Int32Array, at: number): number {
    const k = this.k
    if (this.filledAt(from) === this.size) {
      return this.scanRun(b, from + this.oDigest, from + this.oSlots + 1, this.size, out, at)
    }
    for (let g = 0; g < this.G; g++) {
      at = this.scanRun(b, from + this.oDigest + g * k, from + this.oSlots + 3 * g * k + 1, this.pool[from + this.oUsed + g] as number, out, at)
    }
    return at
  }

  /** `scanBlock` over one run: `count` digests at pool[dAt …], their ids at pool[iAt + 3i]. */
  private scanRun (b: number, dAt: number, iAt: number, count: number, out: Int32Array, at: number): number {
    const pool = this.pool
    const G = this.G
    const mask = this.mask
    const bar = b + this.oBar
    if (this.kernel != null) {
      const cand = this.candidates
      const ranks = this.ranks
      const groups = this.groupsOf
      const n = this.kernel(pool.byteOffset + 4 * dAt, count, pool.byteOffset + 4 * b, cand.byteOffset, 4 * G, mask, ranks.byteOffset, groups.byteOffset)
      for (let c = 0; c < n; c++) {
        const i = cand[c] as number
        out[at] = groups[i] as number
        out[at + 1] = ranks[i] as number
        out[at + 2] = pool[dAt + i] as number
        out[at + 3] = pool[iAt + 3 * i] as number
        at += 4
      }
      return at
    }
    const kA = pool[b] as number
    const kB = pool[b + 1] as number
    for (let i = 0; i < count; i++) {
      const d = pool[dAt + i] as number
      const h = mix((mix(d ^ kA) + kB) | 0)
      const g = mask >= 0 ? h & mask : ((((h >>> 16) % G) << 16) + (h & 0xffff)) % G
      const r = mix((mix(d ^ (pool[b + 2 + g] as number)) + (pool[b + 2 + G + g] as number)) | 0) ^ -0x80000000
      if (r <= (pool[bar + g] as number)) {
        out[at] = g
        out[at + 1] = r
        out[at + 2] = d
        out[at + 3] = pool[iAt + 3 * i] as number
        at += 4
      }
    }
    return at
  }

  /** Admit to the sampler at block b (node `self`) what `scanBlock` found at out[from … to), in order, against the bars as they are by then. */
  private admitFound (b: number, self: number, from: number, to: number): void {
    const pool = this.pool
    const bar = b + this.oBar
    const found = this.found
    for (let at = from; at < to; at += 4) {
      const g = found[at] as number
      const r = found[at + 1] as number
      const id = found[at + 3] as number
      if (r <= (pool[bar + g] as number) && id !== self) this.admit(b, g, r, found[at + 2] as number, id)
    }
  }

  /**
   * Offer `count` ids to the sampler at block b (node `self`): digest i at
   * digests[dAt + i], its id at ids[iAt + i], read only if it passes. The
   * observation path of every exchange: its keys, seeds and bars in
   * locals, two keyed mixes for the group, two for the rank, one
   * comparison with the bar (re-read: an admission moves it).
   */
  private offerRun (b: number, self: number, digests: Int32Array, dAt: number, ids: Int32Array, iAt: number, iStep: number, count: number): void {
    const pool = this.pool
    const G = this.G
    const mask = this.mask
    const kA = pool[b] as number
    const kB = pool[b + 1] as number
    const seedA = b + 2
    const seedB = b + 2 + G
    const bar = b + this.oBar
    // A bar only falls while ids are offered (an admission to a full group
    // evicts its highest rank), so an id above its group's bar now is
    // refused whatever comes before it. First the index of each id at or
    // below its group's bar now: four at a time in the kernel, or else a
    // loop with no call and no branch on the data (keys and seeds do not
    // change here); then those few (a few in a hundred once the sampler has
    // seen a few thousand ids), in order, against the bar as it is by then.
    let cand = this.candidates
    let n = 0
    if (this.kernel != null && count <= this.listRoom && digests.buffer === pool.buffer) {
      const ranks = this.ranks
      const groups = this.groupsOf
      n = this.kernel(digests.byteOffset + 4 * dAt, count, pool.byteOffset + 4 * b, cand.byteOffset, 4 * G, mask, ranks.byteOffset, groups.byteOffset)
      for (let c = 0; c < n; c++) {
        const i = cand[c] as number
        const g = groups[i] as number
        const r = ranks[i] as number
        if (r <= (pool[bar + g] as number)) {
          const id = ids[iAt + iStep * i] as number
          if (id !== self) this.admit(b, g, r, digests[dAt + i] as number, id)
        }
      }
      return
    } else {
      if (cand.length < count) cand = new Int32Array(count)
      for (let i = 0; i < count; i++) {
        const d = digests[dAt + i] as number
        const h = mix((mix(d ^ kA) + kB) | 0)
        const g = mask >= 0 ? h & mask : ((((h >>> 16) % G) << 16) + (h & 0xffff)) % G
        const r = mix((mix(d ^ (pool[seedA + g] as number)) + (pool[seedB + g] as number)) | 0) ^ -0x80000000
        cand[n] = i
        n += r <= (pool[bar + g] as number) ? 1 : 0
      }
    }
    for (let c = 0; c < n; c++) {
      const i = cand[c] as number
      const d = digests[dAt + i] as number
      const h = mix((mix(d ^ kA) + kB) | 0)
      const g = mask >= 0 ? h & mask : ((((h >>> 16) % G) << 16) + (h & 0xffff)) % G
      const r = mix((mix(d ^ (pool[seedA + g] as number)) + (pool[seedB + g] as number)) | 0) ^ -0x80000000
      if (r <= (pool[bar + g] as number)) {
        const id = ids[iAt + iStep * i] as number
        if (id !== self) this.admit(b, g, r, d, id)
      }
    }
  }

  /**
   * The exchange partner: u's least-hit slot (ties uniformly, one random
   * number when there are several), whose hits then rise; -1 if none.
   */
  partner (u: number): number {
    const b = u * this.stride
    const pool = this.pool
    const hits = b + this.oSlots + 2
    const used = b + this.oUsed
    const G = this.G
    const k = this.k
    const ties = this.ties
    // one pass: the fewest hits and where each slot that has them is, in
    // slot order (slot-sampler.ts's list of ties). A slot is written at
    // the end of the list either way and kept only if it ties: hits are
    // never negative, so ((h ^ min) − 1) >>> 31 is 1 when h = min, else 0,
    // a count with no branch on the data, which a processor cannot predict
    let min = NO_BAR
    let n = 0
    for (let g = 0; g < G; g++) {
      const from = hits + 3 * g * k
      const end = from + 3 * (pool[used + g] as number)
      for (let i = from; i < end; i += 3) {
        const h = pool[i] as number
        if (h < min) { min = h; n = 0 }
        ties[n] = i
        n += ((h ^ min) - 1) >>> 31
      }
    }
    if (n === 0) return -1
    const best = ties[n === 1 ? 0 : Math.floor(this.random() * n)] as number
    pool[best] = (pool[best] as number) + 1
    return pool[best - 1] as number
  }

  /** The end of u's round: every `resetEvery` rounds the next group is re-seeded and ranks again what it held. */
  round (u: number): void {
    const b = u * this.stride
    const pool = this.pool
    const rounds = (pool[b + this.oRounds] as number) + 1
    pool[b + this.oRounds] = rounds
    if (rounds % this.resetEvery !== 0) return
    const g = pool[b + this.oRounds + 1] as number
    pool[b + this.oRounds + 1] = (g + 1) % this.G
    const from = b + g * this.k
    const used = pool[b + this.oUsed + g] as number
    const ids = this.drawIds
    const digests = this.drawDigests
    const slots = b + this.oSlots + 3 * g * this.k
    for (let s = 0; s < used; s++) {
      ids[s] = pool[slots + 3 * s + 1] as number
      digests[s] = pool[this.oDigest + from + s] as number
    }
    this.reseed(b, g)
    for (let s = 0; s < used; s++) {
      const d = digests[s] as number
      this.admit(b, g, this.rankIn(b, g, d), d, ids[s] as number)
    }
  }

  /** Drop id from u's sampler; returns 1 if it was held, else 0. */
  forget (u: number, id: number): number {
    const b = u * this.stride
    const i = this.indexOf(b, id)
    if (i < 0) return 0
    const pool = this.pool
    const g = Math.floor(i / this.k)
    const last = g * this.k + (pool[b + this.oUsed + g] as number) - 1
    const si = b + this.oSlots + 3 * i
    const sl = b + this.oSlots + 3 * last
    pool[si] = pool[sl] as number
    pool[si + 1] = pool[sl + 1] as number
    pool[si + 2] = pool[sl + 2] as number
    pool[b + this.oDigest + i] = pool[b + this.oDigest + last] as number
    pool[b + this.oUsed + g] = last - g * this.k
    this.updateWorst(b, g)
    return 1
  }

  has (u: number, id: number): boolean {
    return this.indexOf(u * this.stride, id) >= 0
  }

  /** The ids u holds, in slot order (`distinct`). */
  distinct (u: number): number[] {
    const out: number[] = []
    const b = u * this.stride
    for (let g = 0; g < this.G; g++) {
      const from = b + this.oSlots + 3 * g * this.k + 1
      const end = from + 3 * (this.pool[b + this.oUsed + g] as number)
      for (let i = from; i < end; i += 3) out.push(this.pool[i] as number)
    }
    return out
  }

  /** The hits of u's slots in use, in slot order. */
  hits (u: number): number[] {
    const out: number[] = []
    const b = u * this.stride
    for (let g = 0; g < this.G; g++) {
      const from = b + this.oSlots + 3 * g * this.k + 2
      const end = from + 3 * (this.pool[b + this.oUsed + g] as number)
      for (let i = from; i < end; i += 3) out.push(this.pool[i] as number)
    }
    return out
  }

  /** Up to n distinct ids of u's, uniformly (`sample`: the same draws). */
  sample (u: number, n: number): number[] {
    const distinct = this.distinct(u)
    const k = Math.min(n, distinct.length)
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(this.random() * (distinct.length - i))
      const t = distinct[j] as number
      distinct[j] = distinct[i] as number
      distinct[i] = t
    }
    distinct.length = k
    return distinct
  }

  /** Copy u's held ids and digests in slot order, then a partial Fisher–Yates if fewer are asked (`drawInto`). */
  private drawInto (u: number, n: number, ids: Int32Array, digests: Int32Array, dAt: number, iAt: number): number {
    const b = u * this.stride
    const pool = this.pool
    const slots = b + this.oSlots
    let w = 0
    for (let g = 0; g < this.G; g++) {
      const from = b + g * this.k
      const end = from + (pool[b + this.oUsed + g] as number)
      for (let i = from; i < end; i++) {
        ids[iAt + w] = pool[slots + 3 * (i - b) + 1] as number
        digests[dAt + w] = pool[this.oDigest + i] as number
        w++
      }
    }
    const count = Math.max(0, Math.min(Math.floor(n), w))
    if (count < w) {
      for (let i = 0; i < count; i++) {
        const j = i + Math.floor(this.random() * (w - i))
        const id = ids[iAt + j] as number; ids[iAt + j] = ids[iAt + i] as number; ids[iAt + i] = id
        const d = digests[dAt + j] as number; digests[dAt + j] = digests[dAt + i] as number; digests[dAt + i] = d
      }
    }
    return count
  }

  /**
   * Offer id (digest d, an int32) to the sampler at block b (its node
   * `self`): the group by the partition's keys, the rank by the group's
   * seeds, one comparison with the bar; the few that pass go on to `admit`.
   */
  private offer (b: number, self: number, d: number, id: number): void {
    if (id === self) return
    const pool = this.pool
    const G = this.G
    const h = mix((mix(d ^ (pool[b] as number)) + (pool[b + 1] as number)) | 0)
    const g = this.mask >= 0 ? h & this.mask : ((((h >>> 16) % G) << 16) + (h & 0xffff)) % G
    const r = mix((mix(d ^ (pool[b + 2 + g] as number)) + (pool[b + 2 + G + g] as number)) | 0) ^ -0x80000000
    if (r <= (pool[b + this.oBar + g] as number)) this.admit(b, g, r, d, id)
  }

  private rankIn (b: number, g: number, d: number): number {
    return mix((mix(d ^ (this.pool[b + 2 + g] as number)) + (this.pool[b + 2 + this.G + g] as number)) | 0) ^ -0x80000000
  }

  /** slot-sampler.ts's `admit`: a hit for an id held, else a free slot or the group's highest rank if it ranks below it. */
  private admit (b: number, g: number, r: number, d: number, id: number): void {
    const pool = this.pool
    const used = pool[b + this.oUsed + g] as number
    if (r > (pool[b + this.oBar + g] as number)) return
    const from = g * this.k
    const slots = b + this.oSlots + 3 * from
    for (let a = slots; a < slots + 3 * used; a += 3) {
      if (pool[a] === r && pool[a + 1] === id) {
        pool[a + 2] = (pool[a + 2] as number) + 1
        return
      }
    }
    let s: number
    if (used < this.k) {
      s = used
      pool[b + this.oUsed + g] = used + 1
    } else {
      s = pool[b + this.oWorst + g] as number
      if (r === pool[slots + 3 * s]) return // a tie with the worst keeps what is held
    }
    pool[slots + 3 * s] = r
    pool[slots + 3 * s + 1] = id
    pool[slots + 3 * s + 2] = 1
    pool[b + this.oDigest + from + s] = d
    this.updateWorst(b, g)
  }

  private updateWorst (b: number, g: number): void {
    const pool = this.pool
    const at = b + this.oSlots + 3 * g * this.k
    const used = pool[b + this.oUsed + g] as number
    if (used < this.k) {
      // a group with room has no bar, and its highest rank is asked for
      // only once it is full (then found here, as each admission fills it)
      pool[b + this.oBar + g] = NO_BAR
      return
    }
    let w = 0
    let worst = pool[at] as number
    for (let s = 1; s < used; s++) {
      const r = pool[at + 3 * s] as number
      if (r > worst) { w = s; worst = r }
    }
    pool[b + this.oWorst + g] = w
    pool[b + this.oBar + g] = used === this.k ? worst : NO_BAR
  }

  private reseed (b: number, g: number): void {
    const pool = this.pool
    pool[b + 2 + g] = Math.floor(this.random() * 4294967296) | 0
    pool[b + 2 + this.G + g] = Math.floor(this.random() * 4294967296) | 0
    pool[b + this.oUsed + g] = 0
    pool[b + this.oWorst + g] = 0
    pool[b + this.oBar + g] = NO_BAR
  }

  private indexOf (b: number, id: number): number {
    const pool = this.pool
    for (let g = 0; g < this.G; g++) {
      const from = g * this.k
      const end = from + (pool[b + this.oUsed + g] as number)
      const ids = b + this.oSlots + 1
      for (let i = from; i < end; i++) {
        if (pool[ids + 3 * i] === id) return i
      }
    }
    return -1
  }
}

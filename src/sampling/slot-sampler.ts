/**
 * A Byzantine-resilient peer sampler in the manner of Basalt (Auvolat,
 * Bromberg, Frey, Taïani, "Basalt: A Rock-Solid Byzantine-Tolerant Peer
 * Sampling for Very Large Decentralized Networks", Middleware 2023; arXiv
 * 2102.04063) and of Brahms's min-wise samplers (Bortnikov et al., 2009),
 * kept beside each Cyclon view. Pure: no libp2p, no I/O; the random source
 * and the id digest are injected; the node's sampling service and the
 * simulator drive this same class.
 *
 * The slots come in groups. A keyed hash partitions ids among the groups
 * (one-permutation hashing); each group has a secret seed of its own and
 * keeps the k ids of its part with the lowest keyed rank among every one it
 * has seen (a bottom-k sketch: a uniform k-subset of the ids seen,
 * whatever their frequencies). Which ids
 * a group holds does not depend on how often an id is seen: an attacker who
 * pushes its entries ten times as often as an honest node, or answers every
 * exchange with its friends only, holds the slots its ids would win anyway,
 * a share near its share of the ids the node has seen. What keeps that
 * share near its share of the population is that honest ids keep arriving:
 * honest nodes exchange what their samplers hold (the sample exchange,
 * protocols/cyclon.md).
 *
 * - Every id seen is offered to its group (`observe`): two keyed mixes, and
 *   once the group is full an id ranked above its k-th lowest is refused in
 *   constant time. That is what makes the sampler cheap enough for 100,000
 *   simulated nodes.
 * - A slot counts hits: each time its id is seen again, and each time it is
 *   chosen as an exchange partner. The partner is the least-hit slot
 *   (`partner`), so ids an attacker floods are chosen least, and whom a
 *   node exchanges with follows the sample, not the (pollutable) view.
 * - Every `resetEvery` rounds one group (round robin) draws a new seed and
 *   ranks again what it held (`round`): a seed an
 *   attacker may have inferred from whom the node contacts stops mattering.
 *   Resets cost what the group had learnt, so they are rare.
 * - `forget` drops an id (a partner that did not answer, a revoked peer).
 *
 * Basalt's weak point is attackers choosing ids that win the hash. Here
 * every id is a PeerId the issuer admitted, so an attacker cannot grind for
 * winning ids; the keyed mix (two rounds of murmur3's finalizer over a
 * 64-bit secret per group) only has to be unpredictable to someone who does
 * not know the seeds.
 */

export interface SlotSamplerInit<Id> {
  /** this node's id: never sampled */
  self: Id
  /** groups of slots, each with a seed of its own (≥ 1) */
  groups: number
  /** slots per group (≥ 1) */
  slotsPerGroup: number
  /** rounds between two resets of one group (Infinity: never) */
  resetEvery: number
  /** uniform in [0, 1): seeds and ties */
  random: () => number
  /** a stable 32-bit digest of an id (the node: the first 4 bytes of SHA-256 of the PeerId) */
  digest: (id: Id) => number
}

/**
 * murmur3's 32-bit finalizer (every input bit flips about half the output
 * bits), on int32s and as an int32: the observation path stays in integer
 * arithmetic, never a boxed number.
 */
function mix (h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return (h ^ (h >>> 16)) | 0
}

/** The keyed rank of a digest under a seed (a, b): lower wins. */
export function slotRank (digest: number, seedA: number, seedB: number): number {
  return mix((mix(digest ^ seedA) + seedB) | 0) >>> 0
}

/** A stable 32-bit digest of a numeric id (the simulator's ids, and tests'). */
export function numericDigest (id: number): number {
  let h = Math.imul(id ^ 0x9e3779b9, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

/**
 * A buffer that carries a drawn sample from one sampler to another in the
 * same process (`drawInto`, `observeDraw`): ids, entries and digests in
 * reused arrays, so a sample exchange builds no arrays and computes no
 * digest twice. Reuse one per sender; `count` is how many it holds.
 */
export class SlotDraw<E, Id> {
  entries: Array<E | undefined> = []
  ids: Array<Id | undefined> = []
  digests: Int32Array
  count = 0

  constructor (capacity = 0) {
    this.digests = new Int32Array(capacity)
  }
}

/** scratch for `observeFrom` and `partner`: samplers run one at a time on one thread */
const scratchDraw = new SlotDraw<unknown, unknown>()
let scratchSlots = new Int32Array(0)

/** The bar of a group with room: no stored rank is above it. */
const NO_BAR = 0x7fffffff

export class SlotSampler<E extends { id: Id }, Id = string> {
  readonly self: Id
  /** slots in all: groups × slots per group */
  readonly size: number
  private readonly groups: number
  private readonly k: number
  private readonly resetEvery: number
  private readonly random: () => number
  private readonly digest: (id: Id) => number
  /**
   * The memory layout serves 100,000 simulated samplers, where a sample
   * exchange touches a random one: two blocks per sampler, not one object
   * per array. Slot s of group g is index i = g·k + s; a group's slots in
   * use are its first `used`.
   *
   * `refs`: the ids at [0, size), the entries at [size, 2·size).
   */
  private readonly refs: Array<Id | E | undefined>
  /**
   * `num`, int32s, per group g (the observation path reads only these):
   * seed A at g, seed B at G + g, the bar at 2G + g (the highest stored
   * rank once the group is full, so an id ranked above it is refused by one
   * comparison; NO_BAR while it has room), slots in use at 3G + g, the
   * index within the group of its highest rank (the one to evict) at
   * 4G + g; then per slot i: the rank at R + i, stored as rank ^ 2³¹ so
   * that signed order is the rank's unsigned order and every comparison is
   * an integer one; the hits at R + size + i; the id's digest at
   * R + 2·size + i (a re-seed and a draw for another sampler need no digest
   * call). Between them, at 5G and 5G + 1, the two keys of the partition of
   * ids into groups (a number field above 2³⁰ would be a boxed number of
   * its own, one more cache miss per sampler touched). R = 5G + 2.
   */
  private readonly num: Int32Array
  private readonly atRank: number
  private readonly atHits: number
  private readonly atDigest: number
  /** groups − 1 when the groups are a power of two (the partition is then a mask), else −1 */
  private readonly mask: number
  private rounds = 0
  private cursor = 0

  constructor (init: SlotSamplerInit<Id>) {
    if (!Number.isInteger(init.groups) || init.groups < 1) {
      throw new RangeError('groups must be a positive integer')
    }
    if (!Number.isInteger(init.slotsPerGroup) || init.slotsPerGroup < 1) {
      throw new RangeError('slotsPerGroup must be a positive integer')
    }
    if (!(init.resetEvery >= 1)) {
      throw new RangeError('resetEvery must be at least 1 (Infinity: never)')
    }
    this.self = init.self
    this.groups = init.groups
    this.k = init.slotsPerGroup
    this.size = init.groups * init.slotsPerGroup
    this.resetEvery = init.resetEvery
    this.random = init.random
    this.digest = init.digest
    this.refs = new Array<Id | E | undefined>(2 * this.size).fill(undefined)
    this.atRank = 5 * init.groups + 2
    this.atHits = this.atRank + this.size
    this.atDigest = this.atHits + this.size
    this.num = new Int32Array(this.atDigest + this.size)
    this.num[5 * init.groups] = Math.floor(this.random() * 4294967296) | 0
    this.num[5 * init.groups + 1] = Math.floor(this.random() * 4294967296) | 0
    this.mask = (init.groups & (init.groups - 1)) === 0 ? init.groups - 1 : -1
    for (let g = 0; g < init.groups; g++) {
      this.reseed(g)
    }
  }

  /** Slots holding an id. */
  get filled (): number {
    let n = 0
    for (let g = 0; g < this.groups; g++) n += this.num[3 * this.groups + g] as number
    return n
  }

  /**
   * One id seen: the group its keyed digest falls in keeps it if it ranks
   * among that group's k lowest. Two keyed mixes for the group, two for the
   * rank, whatever the number of groups.
   */
  observe (entry: E): void {
    const id = entry.id
    if (id === this.self) {
      return
    }
    this.offer(this.digest(id) | 0, id, entry)
  }

  observeAll (entries: readonly E[]): void {
    for (let i = 0; i < entries.length; i++) {
      this.observe(entries[i] as E)
    }
  }

  /**
   * Draw up to n of the entries held into `out`, uniformly among the ids
   * held, with their ids and digests; returns how many (`out.count`). All
   * of them when n ≥ `filled` (then in slot order, and no random number is
   * drawn). For handing a sample to another sampler in this process
   * (`observeDraw`) without building arrays: the simulator's sample
   * exchange.
   */
  drawInto (n: number, out: SlotDraw<E, Id>): number {
    const G = this.groups
    const num = this.num
    const refs = this.refs
    const size = this.size
    if (out.digests.length < size) {
      out.digests = new Int32Array(size)
    }
    // every held slot into out, in slot order
    let w = 0
    for (let g = 0; g < G; g++) {
      const base = g * this.k
      const end = base + (num[3 * G + g] as number)
      for (let i = base; i < end; i++) {
        out.ids[w] = refs[i] as Id
        out.entries[w] = refs[size + i] as E
        out.digests[w] = num[this.atDigest + i] as number
        w++
      }
    }
    const count = Math.max(0, Math.min(Math.floor(n), w))
    if (count < w) {
      // a partial Fisher–Yates: the first `count` are a uniform subset
      for (let i = 0; i < count; i++) {
        const j = i + Math.floor(this.random() * (w - i))
        const id = out.ids[j]; out.ids[j] = out.ids[i]; out.ids[i] = id
        const e = out.entries[j]; out.entries[j] = out.entries[i]; out.entries[i] = e
        const d = out.digests[j] as number; out.digests[j] = out.digests[i] as number; out.digests[i] = d
      }
    }
    out.count = count
    return count
  }

  /**
   * Observe every entry of a draw (another sampler's `drawInto`): the same
   * as `observe` on each, using the digests the draw carries.
   */
  observeDraw (draw: SlotDraw<E, Id>): void {
    const ids = draw.ids
    const entries = draw.entries
    const digests = draw.digests
    for (let i = 0; i < draw.count; i++) {
      const id = ids[i] as Id
      if (id !== this.self) this.offer(digests[i] as number, id, entries[i] as E)
    }
  }

  /**
   * Observe what `other` draws for n (`drawInto`), read in place: when
   * n ≥ `other.filled`, every id it holds, in slot order, with no copy.
   * Use it for the side of an exchange whose sender has not changed yet.
   */
  observeFrom (other: SlotSampler<E, Id>, n: number): void {
    if (n < other.filled) {
      const draw = scratchDraw as SlotDraw<E, Id>
      other.drawInto(n, draw)
      this.observeDraw(draw)
      return
    }
    // only the digests are read to rank; an id and its entry only for the
    // few that pass the bar (at 100,000 simulated nodes the partner's memory
    // is a random place: a third of its bytes, not all of them)
    const G = other.groups
    const refs = other.refs
    const num = other.num
    const at = other.atDigest
    for (let g = 0; g < G; g++) {
      const base = g * other.k
      const end = base + (num[3 * G + g] as number)
      for (let i = base; i < end; i++) {
        const d = num[at + i] as number
        const h = this.groupOf(d)
        const r = this.rankIn(h, d)
        if (r <= (this.num[2 * this.groups + h] as number)) {
          const id = refs[i] as Id
          if (id !== this.self) this.admit(h, r, d, id, refs[other.size + i] as E)
        }
      }
    }
  }

  /**
   * Would `id`, not held now, win a slot if it were observed? The sample
   * exchange asks for evidence of these ids only: an id that would lose is
   * refused whatever its evidence.
   */
  wouldKeep (id: Id): boolean {
    if (id === this.self || this.indexOf(id) >= 0) {
      return false
    }
    const d = this.digest(id) | 0
    const g = this.groupOf(d)
    const G = this.groups
    // a group with room takes it; a full one only below its bar (a tie with the worst keeps what is held)
    return (this.num[3 * G + g] as number) < this.k || this.rankIn(g, d) < (this.num[2 * G + g] as number)
  }

  /**
   * A held id named again without new evidence (in another sampler's
   * draw): one more hit on its slot, as `observe` counts, so ids named over
   * and over are chosen as partners last. Returns whether it is held.
   */
  touch (id: Id): boolean {
    const i = this.indexOf(id)
    if (i < 0) {
      return false
    }
    this.num[this.atHits + i] = (this.num[this.atHits + i] as number) + 1
    return true
  }

  /**
   * The exchange partner: the least-hit slot's entry (ties broken at
   * random), whose hits then rise; `usable` filters out entries that
   * cannot be contacted now. Undefined when no slot qualifies.
   */
  partner (usable?: (entry: E) => boolean): E | undefined {
    const best = usable == null ? this.leastHit() : this.leastHitUsable(usable)
    if (best < 0) {
      return undefined
    }
    // the groups partition the ids: this slot is the only one holding it
    this.num[this.atHits + best] = (this.num[this.atHits + best] as number) + 1
    return this.refs[this.size + best] as E
  }

  /** The least-hit slot in use, uniformly among the ties (one random number at most); -1 if none. */
  private leastHit (): number {
    const G = this.groups
    const num = this.num
    const hits = this.atHits
    if (scratchSlots.length < this.size) scratchSlots = new Int32Array(this.size)
    const ties = scratchSlots
    let min = NO_BAR
    let n = 0
    for (let g = 0; g < G; g++) {
      const base = g * this.k
      const end = base + (num[3 * G + g] as number)
      for (let i = base; i < end; i++) {
        const h = num[hits + i] as number
        if (h < min) {
          min = h
          n = 0
        }
        if (h === min) ties[n++] = i
      }
    }
    if (n === 0) {
      return -1
    }
    return ties[n === 1 ? 0 : Math.floor(this.random() * n)] as number
  }

  /** The least-hit slot whose entry is usable, ties by reservoir choice; -1 if none. */
  private leastHitUsable (usable: (entry: E) => boolean): number {
    const G = this.groups
    let best = -1
    let bestHits = Infinity
    let ties = 0
    for (let g = 0; g < G; g++) {
      const base = g * this.k
      const end = base + (this.num[3 * G + g] as number)
      for (let i = base; i < end; i++) {
        if (!usable(this.refs[this.size + i] as E)) {
          continue
        }
        const h = this.num[this.atHits + i] as number
        if (h < bestHits) {
          best = i
          bestHits = h
          ties = 1
        } else if (h === bestHits && this.random() * ++ties < 1) {
          best = i // reservoir choice among the ties
        }
      }
    }
    return best
  }

  /** Up to n distinct entries, uniformly among the distinct ids held. */
  sample (n: number): E[] {
    const distinct = this.distinct()
    const k = Math.min(n, distinct.length)
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(this.random() * (distinct.length - i))
      const t = distinct[j] as E
      distinct[j] = distinct[i] as E
      distinct[i] = t
    }
    distinct.length = k
    return distinct
  }

  /** The entries held (the groups partition the ids: each id is held once at most). */
  distinct (): E[] {
    const out: E[] = []
    const G = this.groups
    for (let g = 0; g < G; g++) {
      const base = g * this.k
      const end = base + (this.num[3 * G + g] as number)
      for (let i = base; i < end; i++) out.push(this.refs[this.size + i] as E)
    }
    return out
  }

  has (id: Id): boolean {
    return this.indexOf(id) >= 0
  }

  /** The entry held for `id`, if any. */
  get (id: Id): E | undefined {
    const i = this.indexOf(id)
    return i < 0 ? undefined : this.refs[this.size + i] as E
  }

  /**
   * Drop an id (dead, revoked): its slot is freed, for the next id of its
   * group seen. Returns how many slots held it (0 or 1).
   */
  forget (id: Id): number {
    const i = this.indexOf(id)
    if (i < 0) {
      return 0
    }
    this.removeAt(Math.floor(i / this.k), i % this.k)
    return 1
  }

  /** Drop every id whose entry matches; returns how many slots were freed. */
  forgetWhere (predicate: (entry: E) => boolean): number {
    let n = 0
    for (const e of this.distinct()) {
      if (predicate(e)) n += this.forget(e.id)
    }
    return n
  }

  /**
   * The end of one round (one tick of the view). Every `resetEvery` rounds
   * the next group draws a new seed and ranks again what it held: the same
   * ids compete under a seed nobody could have learnt. Not the view's
   * entries: under attack the view is the attackers' (a reset refilled from
   * it raised the hub attack's share at f = 10 % from 1.21 f to 1.77 f in the
   * simulator, one group re-seeded every 50 rounds).
   */
  round (): void {
    this.rounds++
    if (this.rounds % this.resetEvery !== 0) {
      return
    }
    const g = this.cursor
    this.cursor = (this.cursor + 1) % this.groups
    const base = g * this.k
    const end = base + (this.num[3 * this.groups + g] as number)
    const ids = this.refs.slice(base, end) as Id[]
    const entries = this.refs.slice(this.size + base, this.size + end) as E[]
    const digests = this.num.slice(this.atDigest + base, this.atDigest + end)
    this.reseed(g)
    // the held ids are this group's by the partition, fixed for life: offer them again, in slot order
    for (let i = 0; i < ids.length; i++) {
      const d = digests[i] as number
      this.admit(g, this.rankIn(g, d), d, ids[i] as Id, entries[i] as E)
    }
  }

  /** The slot holding id, or -1 (a scan of the ids: no digest needed). */
  private indexOf (id: Id): number {
    const G = this.groups
    for (let g = 0; g < G; g++) {
      const base = g * this.k
      const end = base + (this.num[3 * G + g] as number)
      for (let i = base; i < end; i++) {
        if (this.refs[i] === id) return i
      }
    }
    return -1
  }

  /**
   * Offer one id of digest d (an int32) to its group: the observation
   * path. Two keyed mixes for the group, two for the rank, one comparison
   * with the group's bar, which refuses most ids once the sampler has seen
   * a few hundred; the rest go on to `admit`.
   */
  private offer (d: number, id: Id, entry: E): void {
    const g = this.groupOf(d)
    const r = this.rankIn(g, d)
    if (r <= (this.num[2 * this.groups + g] as number)) {
      this.admit(g, r, d, id, entry)
    }
  }

  /** The group of a digest (an int32): a keyed partition, fixed for the sampler's life. Two mixes. */
  private groupOf (d: number): number {
    const keys = 5 * this.groups // the partition's two keys
    const h = mix((mix(d ^ (this.num[keys] as number)) + (this.num[keys + 1] as number)) | 0)
    // h as an unsigned 32-bit number, modulo the groups, in integer
    // arithmetic (a uint32 above 2³¹ taken % a variable went through a
    // float modulo, the slowest step of the observation path): a mask for a
    // power of two, else by its two 16-bit halves
    return this.mask >= 0 ? h & this.mask : ((((h >>> 16) % this.groups) << 16) + (h & 0xffff)) % this.groups
  }

  /** The keyed rank of a digest in group g, as stored (rank ^ 2³¹, an int32). Two mixes. */
  private rankIn (g: number, d: number): number {
    return mix((mix(d ^ (this.num[g] as number)) + (this.num[this.groups + g] as number)) | 0) ^ -0x80000000
  }

  /**
   * Offer id (digest d, stored rank r) to group g: an id held gains a hit
   * (and its latest entry); a new one takes a free slot or evicts the
   * group's highest rank if it ranks below it. Callers skip it for what
   * ranks above the bar (the same test, made before the call).
   */
  private admit (g: number, r: number, d: number, id: Id, entry: E): void {
    const G = this.groups
    const num = this.num
    const refs = this.refs
    const base = g * this.k
    const used = num[3 * G + g] as number
    if (r > (num[2 * G + g] as number)) {
      return // ranked above a full group's k-th lowest: refused at once
    }
    for (let i = base; i < base + used; i++) {
      // an id held has this very rank: compare ids only where ranks agree
      if (num[this.atRank + i] === r && refs[i] === id) {
        num[this.atHits + i] = (num[this.atHits + i] as number) + 1
        refs[this.size + i] = entry // the latest copy: its evidence is the freshest
        return
      }
    }
    let i: number
    if (used < this.k) {
      i = base + used
      num[3 * G + g] = used + 1
    } else {
      i = base + (num[4 * G + g] as number)
      if (r === num[this.atRank + i]) return // a tie with the worst keeps what is held
    }
    refs[i] = id
    refs[this.size + i] = entry
    num[this.atRank + i] = r
    num[this.atHits + i] = 1
    num[this.atDigest + i] = d
    this.updateWorst(g)
  }

  /** Find group g's highest rank (the one to evict) and set its bar. */
  private updateWorst (g: number): void {
    const G = this.groups
    const num = this.num
    const at = this.atRank + g * this.k
    const used = num[3 * G + g] as number
    let w = 0
    for (let s = 1; s < used; s++) {
      if ((num[at + s] as number) > (num[at + w] as number)) w = s
    }
    num[4 * G + g] = w
    num[2 * G + g] = used === this.k ? num[at + w] as number : NO_BAR
  }

  /** Free slot s of group g by moving the group's last slot in use into it. */
  private removeAt (g: number, s: number): void {
    const num = this.num
    const refs = this.refs
    const base = g * this.k
    const last = base + (num[3 * this.groups + g] as number) - 1
    const i = base + s
    refs[i] = refs[last]
    refs[this.size + i] = refs[this.size + last]
    num[this.atRank + i] = num[this.atRank + last] as number
    num[this.atHits + i] = num[this.atHits + last] as number
    num[this.atDigest + i] = num[this.atDigest + last] as number
    refs[last] = undefined
    refs[this.size + last] = undefined
    num[3 * this.groups + g] = last - base
    this.updateWorst(g)
  }

  /** A new secret seed for group g, its slots emptied. */
  private reseed (g: number): void {
    const G = this.groups
    this.num[g] = Math.floor(this.random() * 4294967296) | 0
    this.num[G + g] = Math.floor(this.random() * 4294967296) | 0
    const base = g * this.k
    for (let s = 0; s < this.k; s++) {
      this.refs[base + s] = undefined
      this.refs[this.size + base + s] = undefined
    }
    this.num[3 * G + g] = 0
    this.num[4 * G + g] = 0
    this.num[2 * G + g] = NO_BAR
  }
}

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

/** murmur3's 32-bit finalizer: every input bit flips about half the output bits */
function fmix32 (h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** The keyed rank of a digest under a seed (a, b): lower wins. */
export function slotRank (digest: number, seedA: number, seedB: number): number {
  return fmix32((fmix32((digest ^ seedA) >>> 0) + seedB) >>> 0)
}

/** A stable 32-bit digest of a numeric id (the simulator's ids, and tests'). */
export function numericDigest (id: number): number {
  let h = Math.imul(id ^ 0x9e3779b9, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

export class SlotSampler<E extends { id: Id }, Id = string> {
  readonly self: Id
  /** slots in all: groups × slots per group */
  readonly size: number
  private readonly groups: number
  private readonly k: number
  private readonly resetEvery: number
  private readonly random: () => number
  private readonly digest: (id: Id) => number
  // slot s of group g is index g·k + s in each array
  private readonly ids: Array<Id | undefined>
  private readonly entries: Array<E | undefined>
  private readonly rank: Float64Array
  private readonly hits: Uint32Array
  private readonly seedA: Uint32Array
  private readonly seedB: Uint32Array
  /** per group: slots in use, and the index of its highest rank (the one to evict) */
  private readonly used: Int32Array
  private readonly worst: Int32Array
  /** the keyed partition of ids into groups */
  private readonly partitionA: number
  private readonly partitionB: number
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
    this.ids = new Array<Id | undefined>(this.size).fill(undefined)
    this.entries = new Array<E | undefined>(this.size).fill(undefined)
    this.rank = new Float64Array(this.size)
    this.hits = new Uint32Array(this.size)
    this.seedA = new Uint32Array(init.groups)
    this.seedB = new Uint32Array(init.groups)
    this.used = new Int32Array(init.groups)
    this.worst = new Int32Array(init.groups)
    this.partitionA = Math.floor(this.random() * 4294967296) >>> 0
    this.partitionB = Math.floor(this.random() * 4294967296) >>> 0
    for (let g = 0; g < init.groups; g++) {
      this.reseed(g)
    }
  }

  /** Slots holding an id. */
  get filled (): number {
    let n = 0
    for (let g = 0; g < this.groups; g++) n += this.used[g] as number
    return n
  }

  /**
   * One id seen: the group its keyed digest falls in keeps it if it ranks
   * among that group's k lowest. Two keyed mixes per id, whatever the
   * number of groups.
   */
  observe (entry: E): void {
    const id = entry.id
    if (id === this.self) {
      return
    }
    const d = this.digest(id) >>> 0
    const g = this.groupOf(d)
    this.offer(g, id, entry, slotRank(d, this.seedA[g] as number, this.seedB[g] as number))
  }

  /** The group an id belongs to: a keyed partition, fixed for the sampler's life. */
  private groupOf (digest: number): number {
    return slotRank(digest, this.partitionA, this.partitionB) % this.groups
  }

  observeAll (entries: readonly E[]): void {
    for (const e of entries) {
      this.observe(e)
    }
  }

  /**
   * Would `id`, not held now, win a slot if it were observed? The sample
   * exchange asks for evidence of these ids only: an id that would lose is
   * refused whatever its evidence.
   */
  wouldKeep (id: Id): boolean {
    if (id === this.self || this.has(id)) {
      return false
    }
    const d = this.digest(id) >>> 0
    const g = this.groupOf(d)
    if ((this.used[g] as number) < this.k) {
      return true
    }
    return slotRank(d, this.seedA[g] as number, this.seedB[g] as number) < (this.rank[g * this.k + (this.worst[g] as number)] as number)
  }

  /**
   * A held id named again without new evidence (in another sampler's
   * draw): one more hit on its slot, as `observe` counts, so ids named over
   * and over are chosen as partners last. Returns whether it is held.
   */
  touch (id: Id): boolean {
    const i = this.ids.indexOf(id)
    if (i < 0) {
      return false
    }
    this.hits[i] = (this.hits[i] as number) + 1
    return true
  }

  /**
   * The exchange partner: the least-hit slot's entry (ties broken at
   * random), whose hits then rise; `usable` filters out entries that
   * cannot be contacted now. Undefined when no slot qualifies.
   */
  partner (usable: (entry: E) => boolean = () => true): E | undefined {
    let best = -1
    let bestHits = Infinity
    let ties = 0
    for (let i = 0; i < this.size; i++) {
      const e = this.entries[i]
      if (e === undefined || !usable(e)) {
        continue
      }
      const h = this.hits[i] as number
      if (h < bestHits) {
        best = i
        bestHits = h
        ties = 1
      } else if (h === bestHits && this.random() * ++ties < 1) {
        best = i // reservoir choice among the ties
      }
    }
    if (best < 0) {
      return undefined
    }
    // the groups partition the ids: this slot is the only one holding it
    this.hits[best] = (this.hits[best] as number) + 1
    return this.entries[best]
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
    for (let g = 0; g < this.groups; g++) {
      const base = g * this.k
      for (let s = 0; s < (this.used[g] as number); s++) out.push(this.entries[base + s] as E)
    }
    return out
  }

  has (id: Id): boolean {
    return this.ids.includes(id)
  }

  /** The entry held for `id`, if any. */
  get (id: Id): E | undefined {
    const i = this.ids.indexOf(id)
    return i < 0 ? undefined : this.entries[i]
  }

  /**
   * Drop an id (dead, revoked): its slot is freed, for the next id of its
   * group seen. Returns how many slots held it (0 or 1).
   */
  forget (id: Id): number {
    for (let g = 0; g < this.groups; g++) {
      const base = g * this.k
      for (let s = 0; s < (this.used[g] as number); s++) {
        if (this.ids[base + s] === id) {
          this.removeAt(g, s)
          return 1
        }
      }
    }
    return 0
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
    const held = this.entries.slice(base, base + (this.used[g] as number)) as E[]
    this.reseed(g)
    this.refill(g, held)
  }

  /** Offer one id to group g at rank r. */
  private offer (g: number, id: Id, entry: E, r: number): void {
    const base = g * this.k
    const used = this.used[g] as number
    if (used === this.k && r > (this.rank[base + (this.worst[g] as number)] as number)) {
      return // ranked above the group's k-th lowest: refused at once
    }
    for (let s = 0; s < used; s++) {
      if (this.ids[base + s] === id) {
        this.hits[base + s] = (this.hits[base + s] as number) + 1
        this.entries[base + s] = entry // the latest copy: its evidence is the freshest
        return
      }
    }
    let s: number
    if (used < this.k) {
      s = used
      this.used[g] = used + 1
    } else {
      s = this.worst[g] as number
      if (r === (this.rank[base + s] as number)) return // a tie with the worst keeps what is held
    }
    this.ids[base + s] = id
    this.entries[base + s] = entry
    this.rank[base + s] = r
    this.hits[base + s] = 1
    this.updateWorst(g)
  }

  private updateWorst (g: number): void {
    const base = g * this.k
    let w = 0
    for (let s = 1; s < (this.used[g] as number); s++) {
      if ((this.rank[base + s] as number) > (this.rank[base + w] as number)) w = s
    }
    this.worst[g] = w
  }

  private removeAt (g: number, s: number): void {
    const base = g * this.k
    const last = (this.used[g] as number) - 1
    this.ids[base + s] = this.ids[base + last]
    this.entries[base + s] = this.entries[base + last]
    this.rank[base + s] = this.rank[base + last] as number
    this.hits[base + s] = this.hits[base + last] as number
    this.ids[base + last] = undefined
    this.entries[base + last] = undefined
    this.used[g] = last
    this.updateWorst(g)
  }

  private reseed (g: number): void {
    this.seedA[g] = Math.floor(this.random() * 4294967296) >>> 0
    this.seedB[g] = Math.floor(this.random() * 4294967296) >>> 0
    const base = g * this.k
    for (let s = 0; s < this.k; s++) {
      this.ids[base + s] = undefined
      this.entries[base + s] = undefined
    }
    this.used[g] = 0
    this.worst[g] = 0
  }

  /** Offer to group g those of `candidates` that belong to it. */
  private refill (g: number, candidates: readonly E[]): void {
    for (const e of candidates) {
      if (e.id === this.self) continue
      const d = this.digest(e.id) >>> 0
      if (this.groupOf(d) === g) {
        this.offer(g, e.id, e, slotRank(d, this.seedA[g] as number, this.seedB[g] as number))
      }
    }
  }
}

/**
 * Every simulated node's Cyclon view in three typed arrays: the simulator's
 * fast path for `CyclonView` (src/sampling/view.ts), for members only (the
 * simulator has no observers). Same semantics, step for step, and the same
 * draws from the same random source in the same order, so a run gives the
 * very figures `CyclonView` gives (test/sampling/sim-pools.test.ts replays
 * both side by side):
 *
 *  1. the initiator ages its entries and takes the oldest (the first of the
 *     oldest in slot order) as partner, removing it (the last slot moves
 *     into its place);
 *  2. it sends itself (age 0) and l − 1 entries picked by a partial
 *     Fisher–Yates over slot indices;
 *  3. the partner answers with l entries picked the same way and merges
 *     what came; the initiator merges the answer. A merge skips itself and
 *     ids held, fills free slots, then replaces the entries it sent that it
 *     still holds, oldest first (ties: the later one sent first).
 *
 * Why (issue #16, `--nodes 100000` under a minute): 100,000 `CyclonView`s
 * are 100,000 objects, each with an array of entry references, ids and
 * boxed ages, and the simulator shares one entry object per node whose
 * `age` every pick writes; here node u's slot i is two int32s, its id
 * and its age: 16 MB in all at c = 20, no pointers for the
 * collector to trace. Node u's view is one block of 2c + 1 int32s (rounded
 * up to whole cache lines): how many slots are in use, then the ids, then
 * the ages, so a partner's view is one run of memory (three cache lines at
 * c = 20).
 *
 * The ages an entry carries: `CyclonView` in the simulator shares one
 * entry object per node, and a pick writes that view's age into it; an
 * entry the partner picks for its answer and also received carries the
 * partner's age by the time the partner stores it. `merge` here reproduces
 * that (a received id that is also in the answer takes the answer's age).
 */

export class FlatViews {
  readonly nodes: number
  readonly capacity: number
  readonly shuffleLength: number
  /** node u's block at u·stride: slots in use, c ids, c ages */
  private readonly v: Int32Array
  private readonly stride: number
  private readonly random: () => number
  /** index scratch for `pick` */
  private readonly scratch: Int32Array
  /** the last shuffle's partner and its age (`start`) */
  partner = -1
  partnerAge = 0
  /** what the last `start` sent: count, ids, ages (the initiator itself first) */
  sentCount = 0
  readonly sentIds: Int32Array
  readonly sentAges: Int32Array
  /** the slots `start` picked what it sent from (-1: the initiator itself), for `heldByAge` */
  private readonly sentSlots: Int32Array
  /** what the last `respond` answered */
  replyCount = 0
  readonly replyIds: Int32Array
  readonly replyAges: Int32Array
  private readonly replySlots: Int32Array
  /** what `start` read ahead */
  sink = 0
  /** `heldByAge`'s result: slot indices, youngest first */
  private readonly held: Int32Array

  constructor (nodes: number, capacity: number, shuffleLength: number, random: () => number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer')
    if (!Number.isInteger(shuffleLength) || shuffleLength < 1 || shuffleLength > capacity) throw new RangeError('shuffle length must be from 1 to the capacity')
    this.nodes = nodes
    this.capacity = capacity
    this.shuffleLength = shuffleLength
    this.random = random
    // rounded up to whole 64-byte cache lines (the buffer starts on a
    // page): at c = 20 a view is 3 lines, not 3 or 4 as its 164 bytes fall
    this.stride = Math.ceil((2 * capacity + 1) / 16) * 16
    this.v = new Int32Array(nodes * this.stride)
    this.scratch = new Int32Array(capacity)
    this.sentIds = new Int32Array(shuffleLength)
    this.sentAges = new Int32Array(shuffleLength)
    this.replyIds = new Int32Array(shuffleLength)
    this.replyAges = new Int32Array(shuffleLength)
    this.sentSlots = new Int32Array(shuffleLength)
    this.replySlots = new Int32Array(shuffleLength)
    this.held = new Int32Array(shuffleLength)
  }

  /** node u's ids, in slot order (`CyclonView.entries()`) */
  entries (u: number): Int32Array {
    const b = u * this.stride
    return this.v.subarray(b + 1, b + 1 + (this.v[b] as number))
  }

  /** Every live link u → id once (u's view in slot order, then the next node's): no array per view. */
  forEachLink (fn: (u: number, id: number) => void, alive?: Uint8Array): void {
    const v = this.v
    for (let u = 0; u < this.nodes; u++) {
      if (alive != null && alive[u] === 0) continue
      const b = u * this.stride + 1
      const end = b + (v[b - 1] as number)
      for (let a = b; a < end; a++) fn(u, v[a] as number)
    }
  }

  /** how many entries u's view holds */
  size (u: number): number {
    return this.v[u * this.stride] as number
  }

  has (u: number, id: number): boolean {
    return this.indexOf(u, id) >= 0
  }

  /** Bootstrap: add id with age 0 if not u, not held, and there is room. */
  add (u: number, id: number): boolean {
    const b = u * this.stride
    const n = this.v[b] as number
    if (id === u || this.indexOf(u, id) >= 0 || n >= this.capacity) return false
    this.v[b + 1 + n] = id
    this.v[b + 1 + this.capacity + n] = 0
    this.v[b] = n + 1
    return true
  }

  /**
   * Steps 1–3 at node u (`CyclonView.startShuffle`): sets `partner`,
   * `partnerAge` and what is sent (`sentCount`, `sentIds`, `sentAges`);
   * false if the view is empty. `age` false: a retry in the same tick.
   */
  start (u: number, age = true): boolean {
    const b = u * this.stride
    const n = this.v[b] as number
    if (n === 0) return false
    const ages = this.v
    const a = b + 1 + this.capacity
    const inc = age ? 1 : 0
    let oldest = 0
    let max = -1
    for (let i = 0; i < n; i++) {
      const v = (ages[a + i] as number) + inc
      ages[a + i] = v
      if (v > max) { max = v; oldest = i }
    }
    const q = this.v[b + 1 + oldest] as number
    this.partner = q
    this.partnerAge = max
    // q's view is a random place in memory: ask for its lines now, to
    // arrive while this view picks what it sends
    let x = 0
    for (let a = q * this.stride, end = a + this.stride; a < end; a += 16) x ^= this.v[a] as number
    this.sink ^= x
    this.removeAt(u, oldest)
    this.sentIds[0] = u
    this.sentAges[0] = 0
    this.sentSlots[0] = -1 // itself: not in its view
    this.sentCount = 1 + this.pick(u, this.shuffleLength - 1, this.sentIds, this.sentAges, this.sentSlots, 1)
    return true
  }

  /**
   * The partner `start(u)` will pick (the oldest, the first of equals),
   * without changing anything; -1 if u's view is empty. The simulator asks
   * for that partner's lines one node ahead.
   */
  peekPartner (u: number): number {
    const b = u * this.stride
    const n = this.v[b] as number
    const a = b + 1 + this.capacity
    let oldest = -1
    let max = -1
    for (let i = 0; i < n; i++) {
      const v = this.v[a + i] as number
      if (v > max) { max = v; oldest = i }
    }
    return oldest < 0 ? -1 : this.v[b + 1 + oldest] as number
  }

  /** Ask for the lines of u's view now (kept in `sink`, so the reads are not optimised away). */
  prefetch (u: number): void {
    let x = 0
    for (let a = u * this.stride, end = a + this.stride; a < end; a += 16) x ^= this.v[a] as number
    this.sink ^= x
  }

  /** Step 4 at node q: answer (`replyCount`, `replyIds`, `replyAges`), then merge what `start` sent. */
  respond (q: number): void {
    this.replyCount = this.pick(q, this.shuffleLength, this.replyIds, this.replyAges, this.replySlots, 0)
    this.merge(q, this.sentIds, this.sentAges, this.sentCount, this.replyIds, this.replyAges, this.replySlots, this.replyCount, true)
  }

  /** Step 5 at node u: merge the answer. */
  complete (u: number): void {
    this.merge(u, this.replyIds, this.replyAges, this.replyCount, this.sentIds, this.sentAges, this.sentSlots, this.sentCount, false)
  }

  /**
   * Merge `count` received entries into u's view given what u sent
   * (`CyclonView.merge`). `answered`: u is the partner, whose answer is
   * `sent`, and a received id it also answered with carries the age u
   * answered it with (the shared entry's, see above).
   */
  private merge (u: number, ids: Int32Array, ages: Int32Array, count: number, sent: Int32Array, sentAges: Int32Array, sentSlots: Int32Array, sentCount: number, answered: boolean): void {
    const c = this.capacity
    const b = u * this.stride
    let replaceable = -1 // how many of `held` are left; -1: not built yet
    for (let r = 0; r < count; r++) {
      const id = ids[r] as number
      if (id === u || this.indexOf(u, id) >= 0) continue
      let age = ages[r] as number
      if (answered) {
        for (let s = 0; s < sentCount; s++) if (sent[s] === id) { age = sentAges[s] as number; break }
      }
      const n = this.v[b] as number
      if (n < c) {
        this.v[b + 1 + n] = id
        this.v[b + 1 + c + n] = age
        this.v[b] = n + 1
        continue
      }
      if (replaceable < 0) replaceable = this.heldByAge(u, sentSlots, sentCount)
      if (replaceable === 0) continue // nothing left to replace: dropped
      const i = this.held[--replaceable] as number
      this.v[b + 1 + i] = id
      this.v[b + 1 + c + i] = age
    }
  }

  /** Remove every id of u's view matching (`CyclonView.removeWhere`, from the last slot down). */
  removeWhere (u: number, predicate: (id: number) => boolean): number {
    let removed = 0
    const b = u * this.stride
    for (let i = (this.v[b] as number) - 1; i >= 0; i--) {
      if (predicate(this.v[b + 1 + i] as number)) { this.removeAt(u, i); removed++ }
    }
    return removed
  }

  /**
   * The slots of what u sent that it still holds, youngest first (a
   * stable insertion sort). What u sent it picked from its own view (-1:
   * itself), and until this runs a merge only appends: the slots `pick`
   * noted are where those ids still are, so no search is needed.
   */
  private heldByAge (u: number, slots: Int32Array, count: number): number {
    const a0 = u * this.stride + 1 + this.capacity
    const held = this.held
    const ages = this.v
    let h = 0
    for (let r = 0; r < count; r++) {
      const i = slots[r] as number
      if (i < 0) continue
      let k = h++
      const a = ages[a0 + i] as number
      while (k > 0 && (ages[a0 + (held[k - 1] as number)] as number) > a) {
        held[k] = held[k - 1] as number
        k--
      }
      held[k] = i
    }
    return h
  }

  /** Write k picks of u's entries (partial Fisher–Yates over slot indices) from `at`; returns k. */
  private pick (u: number, n: number, ids: Int32Array, ages: Int32Array, slots: Int32Array, at: number): number {
    const b = u * this.stride
    const size = this.v[b] as number
    const k = Math.min(n, size)
    if (k <= 0) return 0
    const scratch = this.scratch
    const c = this.capacity
    for (let i = 0; i < size; i++) scratch[i] = i
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(this.random() * (size - i))
      const picked = scratch[j] as number
      scratch[j] = scratch[i] as number
      scratch[i] = picked
      slots[at + i] = picked
      ids[at + i] = this.v[b + 1 + picked] as number
      ages[at + i] = this.v[b + 1 + c + picked] as number
    }
    return k
  }

  private removeAt (u: number, i: number): void {
    const b = u * this.stride
    const v = this.v
    const c = this.capacity
    const last = (v[b] as number) - 1
    v[b + 1 + i] = v[b + 1 + last] as number
    v[b + 1 + c + i] = v[b + 1 + c + last] as number
    v[b] = last
  }

  private indexOf (u: number, id: number): number {
    const b = u * this.stride + 1
    const v = this.v
    const end = b + (v[b - 1] as number)
    for (let a = b; a < end; a++) {
      if (v[a] === id) return a - b
    }
    return -1
  }
}

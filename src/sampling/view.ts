/**
 * A Cyclon view (Voulgaris, Gavidia, van Steen, "CYCLON: Inexpensive
 * Membership Management for Unstructured P2P Overlays", 2005), enhanced
 * shuffle. Pure: no libp2p, no I/O, the random source injected; the node's
 * sampling service and the simulator drive this same class.
 *
 * One shuffle, initiated by P:
 *  1. P increases the age of every entry;
 *  2. P picks the oldest entry Q as its partner and removes it from the view;
 *  3. P sends Q itself with age 0 (if P is a member of this view) and l − 1
 *     other random entries (l if P only observes);
 *  4. Q answers with up to l random entries of its own and merges what P
 *     sent;
 *  5. P merges Q's answer: its own entry and entries it already holds are
 *     dropped, empty slots are filled first, then the entries P sent are
 *     replaced, oldest first. If Q never answers, it is simply gone from
 *     P's view.
 *
 * An observer (a node of another type) pulls only: it sends nothing and
 * keeps the partner that answered.
 */

/** index scratch for `pickInto`; views run one at a time on one thread */
let scratch = new Int32Array(64)

export interface CyclonEntry<Id = string> {
  id: Id
  age: number
}

export interface CyclonViewInit<E extends CyclonEntry<Id>, Id> {
  /** this node's id: never stored in its own view */
  self: Id
  /** c: the view's capacity */
  capacity: number
  /** l: entries exchanged per shuffle (≤ c) */
  shuffleLength: number
  /** uniform in [0, 1) */
  random: () => number
  /**
   * A member sends itself in each shuffle; an observer (a node of another
   * type) only pulls and never injects anything.
   */
  member: boolean
  /** this node's own entry with age 0, for a member's shuffle (given `self`, so one function can serve many views) */
  selfEntry?: (self: Id) => E
  /** a copy of an entry for the wire (the receiver keeps its own) */
  copy?: (entry: E) => E
  /**
   * Does a received entry take the place of the held entry of the same id?
   * By default never (Cyclon keeps what it holds); the node replaces an
   * entry it can no longer hand on (its descriptor spent) with a fresh one.
   */
  supersedes?: (held: E, received: E) => boolean
}

export interface Shuffle<E> {
  /** the partner, already removed from the view */
  partner: E
  /** what to send it (copies) */
  sent: E[]
}

export class CyclonView<E extends CyclonEntry<Id>, Id = string> {
  readonly self: Id
  readonly capacity: number
  readonly shuffleLength: number
  readonly member: boolean
  private readonly random: () => number
  private readonly selfEntry?: (self: Id) => E
  private readonly copy: (entry: E) => E
  private readonly supersedes?: (held: E, received: E) => boolean
  // slot i holds an entry at 3i, its id at 3i + 1 and its age at 3i + 2:
  // the hot loops (ageing, lookups) read one small array instead of
  // touching every entry object; an entry's `age` is synced when it leaves.
  // The array is allocated at the capacity once and `n` counts the slots in
  // use: a growing array reserves twice what a view of 20 needs, and at
  // 100,000 simulated views that spare memory alone slows every shuffle.
  private readonly slots: unknown[]
  private n = 0

  constructor (init: CyclonViewInit<E, Id>) {
    if (!Number.isInteger(init.capacity) || init.capacity < 1) {
      throw new RangeError('capacity must be a positive integer')
    }
    if (!Number.isInteger(init.shuffleLength) || init.shuffleLength < 1 || init.shuffleLength > init.capacity) {
      throw new RangeError('shuffle length must be from 1 to the capacity')
    }
    if (init.member && init.selfEntry == null) {
      throw new TypeError('a member needs its own entry')
    }
    this.self = init.self
    this.capacity = init.capacity
    this.shuffleLength = init.shuffleLength
    this.member = init.member
    this.random = init.random
    this.selfEntry = init.selfEntry
    this.copy = init.copy ?? ((e: E) => ({ ...e }))
    this.supersedes = init.supersedes
    this.slots = new Array<unknown>(init.capacity * 3).fill(undefined)
  }

  get size (): number {
    return this.n
  }

  /** The entries (in no particular order); do not mutate them. */
  entries (): E[] {
    const out = new Array<E>(this.n)
    for (let i = 0; i < this.n; i++) {
      out[i] = this.at(i)
    }
    return out
  }

  has (id: Id): boolean {
    return this.indexOf(id) >= 0
  }

  get (id: Id): E | undefined {
    const i = this.indexOf(id)
    return i < 0 ? undefined : this.at(i)
  }

  /** Bootstrap or introduction: add if not self, not held, and there is room. */
  add (entry: E): boolean {
    if (entry.id === this.self || this.has(entry.id) || this.n >= this.capacity) {
      return false
    }
    this.push(entry)
    return true
  }

  /** Remove an entry (a dead or revoked peer); true if it was there. */
  remove (id: Id): boolean {
    const i = this.indexOf(id)
    if (i < 0) {
      return false
    }
    this.removeAt(i)
    return true
  }

  /** Remove every entry matching the predicate; returns how many. */
  removeWhere (predicate: (entry: E) => boolean): number {
    let removed = 0
    for (let i = this.n - 1; i >= 0; i--) {
      if (predicate(this.at(i))) {
        this.removeAt(i)
        removed++
      }
    }
    return removed
  }

  private at (i: number): E {
    const e = this.slots[3 * i] as E
    e.age = this.slots[3 * i + 2] as number
    return e
  }

  /** Store `entry` in slot i (a free one, or one being replaced). */
  private set (i: number, entry: E): void {
    this.slots[3 * i] = entry
    this.slots[3 * i + 1] = entry.id
    this.slots[3 * i + 2] = entry.age
  }

  private push (entry: E): void {
    this.set(this.n++, entry)
  }

  /** Free slot i by moving the last entry into it. */
  private removeAt (i: number): void {
    const last = --this.n
    const s = this.slots
    s[3 * i] = s[3 * last]
    s[3 * i + 1] = s[3 * last + 1]
    s[3 * i + 2] = s[3 * last + 2]
    s[3 * last] = undefined // let go of the entry
    s[3 * last + 1] = undefined
  }

  /**
   * Steps 1–3: age, pick the oldest as partner (removed), build what to
   * send. When that partner does not answer, it is gone; the node may try
   * again in the same tick with `startShuffle(false)`, which picks the next
   * oldest without ageing the view twice.
   */
  startShuffle (age = true): Shuffle<E> | undefined {
    const s = this.slots
    const n = this.n
    if (n === 0) {
      return undefined
    }
    let oldest = 0
    let max = -1
    for (let a = 2; a < 3 * n; a += 3) {
      const v = (s[a] as number) + (age ? 1 : 0)
      s[a] = v
      if (v > max) {
        max = v
        oldest = (a - 2) / 3
      }
    }
    const partner = this.at(oldest)
    this.removeAt(oldest)
    const sent: E[] = []
    if (this.member) {
      sent.push((this.selfEntry as (self: Id) => E)(this.self))
      this.pickInto(this.shuffleLength - 1, sent, true)
    }
    // an observer sends nothing: it pulls only
    return { partner, sent }
  }

  /**
   * Step 4, at the partner: answer with up to l random entries, then merge
   * what came. `prepare` may trim the reply first (what cannot be sent),
   * so the merge replaces only what went.
   */
  respond (received: readonly E[], prepare?: (reply: E[]) => void): E[] {
    const reply: E[] = []
    this.pickInto(this.shuffleLength, reply, true)
    prepare?.(reply)
    this.merge(received, reply)
    return reply
  }

  /**
   * Step 5: the partner answered with `reply`. Merge it; an observer also
   * keeps the partner itself (freshly aged), since a member never sends
   * itself to an observer and the observer would otherwise lose every
   * partner it pulls from.
   */
  completeShuffle (shuffle: Shuffle<E>, reply: readonly E[]): void {
    this.merge(reply, shuffle.sent)
    if (!this.member) {
      const partner = shuffle.partner
      partner.age = 0
      this.add(partner)
    }
  }

  /**
   * Merge `received`, given what this node `sent` in the same exchange
   * (step 5, and the partner's side of step 4).
   *
   * When fewer entries arrive than were sent (duplicates, a short reply),
   * some sent entries stay here as well as at the partner. The paper leaves
   * open which; this view replaces the oldest sent entries first, so the
   * copies it keeps are the freshest, whose peers are the likeliest alive.
   * After a mass failure that is what keeps dead links from multiplying
   * (with the most recently sent entries replaced first instead, 98.6 % of
   * dead links are purged within 20 cycles after 50 % of nodes die; with
   * the oldest first, 99.4 %: `npm run sim:cyclon -- --scenario heal
   * --order random`). The ages are this view's, not the copies' sent.
   */
  merge (received: readonly E[], sent: readonly E[]): void {
    // indices of the sent entries still held, oldest last; built only when
    // the view is full. Replacing in place keeps the other indices valid.
    let replaceable: number[] | undefined
    for (const entry of received) {
      if (entry.id === this.self) {
        continue
      }
      const held = this.indexOf(entry.id)
      if (held >= 0) {
        if (this.supersedes?.(this.at(held), entry) === true) {
          this.set(held, entry)
        }
        continue
      }
      if (this.n < this.capacity) {
        this.push(entry)
        continue
      }
      replaceable ??= this.heldByAge(sent)
      const i = replaceable.pop()
      if (i === undefined) {
        continue // nothing left to replace: the entry is dropped
      }
      this.set(i, entry)
    }
  }

  /** Indices of the entries of `list` this view holds, youngest first. */
  private heldByAge (list: readonly E[]): number[] {
    const held: number[] = []
    const s = this.slots
    for (const e of list) {
      const i = e.id === this.self ? -1 : this.indexOf(e.id)
      if (i < 0) {
        continue
      }
      // insertion sort: a list is a shuffle's length, a handful of entries
      let k = held.length
      held.push(i)
      while (k > 0 && (s[3 * (held[k - 1] as number) + 2] as number) > (s[3 * i + 2] as number)) {
        held[k] = held[k - 1] as number
        k--
      }
      held[k] = i
    }
    return held
  }

  /** n entries chosen uniformly at random without replacement (fewer if the view is smaller). */
  sample (n: number): E[] {
    const out: E[] = []
    this.pickInto(n, out, false)
    return out
  }

  /**
   * Append k entries chosen uniformly without replacement (partial
   * Fisher–Yates over indices in a shared scratch buffer: this runs ten
   * million times a simulated run, so it allocates nothing of its own).
   */
  private pickInto (n: number, out: E[], copy: boolean): void {
    const size = this.n
    const k = Math.min(n, size)
    if (k <= 0) {
      return
    }
    if (scratch.length < size) {
      scratch = new Int32Array(size * 2)
    }
    for (let i = 0; i < size; i++) {
      scratch[i] = i
    }
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(this.random() * (size - i))
      const picked = scratch[j] as number
      scratch[j] = scratch[i] as number
      scratch[i] = picked
      const e = this.at(picked)
      out.push(copy ? this.copy(e) : e)
    }
  }

  private indexOf (id: Id): number {
    // a plain loop: the optimiser inlines it, where a call to
    // Array.prototype.indexOf costs more than scanning twenty ids
    const s = this.slots
    for (let a = 1; a < 3 * this.n; a += 3) {
      if (s[a] === id) {
        return (a - 1) / 3
      }
    }
    return -1
  }
}

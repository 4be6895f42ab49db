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
 *     replaced. If Q never answers, it is simply gone from P's view.
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
  /** this node's own entry with age 0, for a member's shuffle */
  selfEntry?: () => E
  /** a copy of an entry for the wire (the receiver keeps its own) */
  copy?: (entry: E) => E
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
  private readonly selfEntry?: () => E
  private readonly copy: (entry: E) => E
  // entries, and beside them their ids and ages in plain arrays: the hot
  // loops (ageing, lookups) then read small contiguous arrays instead of
  // touching every entry object; an entry's `age` is synced when it leaves
  private items: E[] = []
  private ids: Id[] = []
  private ages: number[] = []

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
  }

  get size (): number {
    return this.items.length
  }

  /** The entries (in no particular order); do not mutate. */
  entries (): readonly E[] {
    for (let i = 0; i < this.items.length; i++) {
      (this.items[i] as E).age = this.ages[i] as number
    }
    return this.items
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
    if (entry.id === this.self || this.has(entry.id) || this.items.length >= this.capacity) {
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
    for (let i = this.items.length - 1; i >= 0; i--) {
      if (predicate(this.at(i))) {
        this.removeAt(i)
        removed++
      }
    }
    return removed
  }

  private at (i: number): E {
    const e = this.items[i] as E
    e.age = this.ages[i] as number
    return e
  }

  private push (entry: E): void {
    this.items.push(entry)
    this.ids.push(entry.id)
    this.ages.push(entry.age)
  }

  private removeAt (i: number): void {
    const last = this.items.length - 1
    this.items[i] = this.items[last] as E
    this.ids[i] = this.ids[last] as Id
    this.ages[i] = this.ages[last] as number
    this.items.pop()
    this.ids.pop()
    this.ages.pop()
  }

  /**
   * Steps 1–3: age, pick the oldest as partner (removed), build what to
   * send. When that partner does not answer, it is gone; the node may try
   * again in the same tick with `startShuffle(false)`, which picks the next
   * oldest without ageing the view twice.
   */
  startShuffle (age = true): Shuffle<E> | undefined {
    const ages = this.ages
    if (ages.length === 0) {
      return undefined
    }
    let oldest = 0
    for (let i = 0; i < ages.length; i++) {
      if (age) {
        ages[i] = (ages[i] as number) + 1
      }
      if ((ages[i] as number) > (ages[oldest] as number)) {
        oldest = i
      }
    }
    const partner = this.at(oldest)
    this.removeAt(oldest)
    const sent: E[] = []
    if (this.member) {
      sent.push((this.selfEntry as () => E)())
      this.pickInto(this.shuffleLength - 1, sent, true)
    }
    // an observer sends nothing: it pulls only
    return { partner, sent }
  }

  /** Step 4, at the partner: answer with up to l random entries, then merge what came. */
  respond (received: readonly E[]): E[] {
    const reply: E[] = []
    this.pickInto(this.shuffleLength, reply, true)
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
   */
  merge (received: readonly E[], sent: readonly E[]): void {
    // entries that were sent are replaced from the last one back
    let cursor = sent.length
    for (const entry of received) {
      if (entry.id === this.self || this.has(entry.id)) {
        continue
      }
      if (this.items.length < this.capacity) {
        this.push(entry)
        continue
      }
      while (cursor > 0) {
        const id = (sent[--cursor] as E).id
        const i = id === this.self ? -1 : this.indexOf(id)
        if (i >= 0) {
          this.items[i] = entry
          this.ids[i] = entry.id
          this.ages[i] = entry.age
          break
        }
      }
    }
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
    const items = this.items
    const size = items.length
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
    return this.ids.indexOf(id)
  }
}

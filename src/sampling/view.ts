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
 */

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
  private items: E[] = []

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

  /** The entries, oldest first is not guaranteed; do not mutate. */
  entries (): readonly E[] {
    return this.items
  }

  has (id: Id): boolean {
    return this.indexOf(id) >= 0
  }

  get (id: Id): E | undefined {
    const i = this.indexOf(id)
    return i < 0 ? undefined : this.items[i]
  }

  /** Bootstrap or introduction: add if not self, not held, and there is room. */
  add (entry: E): boolean {
    if (entry.id === this.self || this.has(entry.id) || this.items.length >= this.capacity) {
      return false
    }
    this.items.push(entry)
    return true
  }

  /** Remove an entry (a dead or revoked peer); true if it was there. */
  remove (id: Id): boolean {
    const i = this.indexOf(id)
    if (i < 0) {
      return false
    }
    this.items[i] = this.items[this.items.length - 1] as E
    this.items.pop()
    return true
  }

  /** Remove every entry matching the predicate; returns how many. */
  removeWhere (predicate: (entry: E) => boolean): number {
    const before = this.items.length
    this.items = this.items.filter(e => !predicate(e))
    return before - this.items.length
  }

  /** Steps 1–3: age, pick the oldest as partner (removed), build what to send. */
  startShuffle (): Shuffle<E> | undefined {
    const items = this.items
    if (items.length === 0) {
      return undefined
    }
    let oldest = 0
    for (let i = 0; i < items.length; i++) {
      const e = items[i] as E
      e.age++
      if (e.age > (items[oldest] as E).age) {
        oldest = i
      }
    }
    const partner = items[oldest] as E
    items[oldest] = items[items.length - 1] as E
    items.pop()
    const sent: E[] = []
    if (this.member) {
      sent.push((this.selfEntry as () => E)())
      for (const e of this.pick(this.shuffleLength - 1)) {
        sent.push(this.copy(e))
      }
    }
    // an observer sends nothing: it pulls only
    return { partner, sent }
  }

  /** Step 4, at the partner: answer with up to l random entries, then merge what came. */
  respond (received: readonly E[]): E[] {
    const reply = this.pick(this.shuffleLength).map(e => this.copy(e))
    this.merge(received, reply)
    return reply
  }

  /**
   * Step 5 (and the partner's side of step 4): merge `received`, given what
   * this node `sent` in the same exchange.
   */
  merge (received: readonly E[], sent: readonly E[]): void {
    let replaceable: Id[] | undefined
    for (const entry of received) {
      if (entry.id === this.self || this.has(entry.id)) {
        continue
      }
      if (this.items.length < this.capacity) {
        this.items.push(entry)
        continue
      }
      replaceable ??= sent.map(e => e.id).filter(id => id !== this.self)
      while (replaceable.length > 0) {
        const i = this.indexOf(replaceable.pop() as Id)
        if (i >= 0) {
          this.items[i] = entry
          break
        }
      }
    }
  }

  /** n entries chosen uniformly at random without replacement (fewer if the view is smaller). */
  sample (n: number): E[] {
    return this.pick(n)
  }

  private pick (n: number): E[] {
    const items = this.items
    const k = Math.min(n, items.length)
    if (k <= 0) {
      return []
    }
    if (k === items.length) {
      const all = items.slice()
      this.shuffleInPlace(all, all.length)
      return all
    }
    // partial Fisher–Yates over a copy of the indices
    const idx = Array.from({ length: items.length }, (_, i) => i)
    this.shuffleInPlace(idx, k)
    const out: E[] = new Array(k)
    for (let i = 0; i < k; i++) {
      out[i] = items[idx[i] as number] as E
    }
    return out
  }

  private shuffleInPlace<T> (array: T[], k: number): void {
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(this.random() * (array.length - i))
      const tmp = array[i] as T
      array[i] = array[j] as T
      array[j] = tmp
    }
  }

  private indexOf (id: Id): number {
    const items = this.items
    for (let i = 0; i < items.length; i++) {
      if ((items[i] as E).id === id) {
        return i
      }
    }
    return -1
  }
}

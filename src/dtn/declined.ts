/**
 * What each peer declined of our offers, so it is not offered again every
 * period.
 *
 * A peer declines a fragment it holds already, has delivered, sent itself,
 * or has no room for. Without a memory, every held fragment went to every
 * connected peer in every period's offer (and on every connection and
 * every piece of news), and was declined each time: a node holding a
 * bundle for an absent destination opened a session to each of its peers
 * every period for the bundle's whole life, to hear "no" again. Now a
 * declined key is left out of that peer's offers for `memoryMs`; past
 * that it is offered once more, since room may have freed and a peer with
 * an in-memory store may have restarted empty. News (a new fragment, a
 * receipt) is offered as before.
 *
 * Pure: keys, peers and times are handed in. Bounded: at most `maxEntries`
 * (peer, key) pairs; past that, the one declined longest ago is forgotten
 * first (that key is offered to that peer again, as before this memory).
 */
import { setBounded } from '../core/bounded-map.ts'

export interface DeclinedOffersInit {
  /** how long a declined key is left out of that peer's offers (ms) */
  memoryMs: number
  /** (peer, key) pairs remembered */
  maxEntries: number
}

export class DeclinedOffers {
  private readonly init: DeclinedOffersInit
  /** `peer` and key, newline-separated → until when the key is left out of that peer's offers */
  private readonly until = new Map<string, number>()

  constructor (init: DeclinedOffersInit) {
    if (!(init.memoryMs >= 0) || !(init.maxEntries >= 0)) {
      throw new RangeError('the memory of declined offers needs a non-negative duration and bound')
    }
    this.init = init
  }

  /** Did `peer` decline `key` recently enough at `now` that it is left out of its offers? A lapsed memory is forgotten. */
  declined (peer: string, key: string, now: number): boolean {
    const pair = `${peer}\n${key}`
    const until = this.until.get(pair)
    if (until == null) {
      return false
    }
    if (until > now) {
      return true
    }
    this.until.delete(pair)
    return false
  }

  /** `peer` was offered `offered` at `now` and took `taken`: the rest is left out of its offers for a while. */
  record (peer: string, offered: Iterable<string>, taken: ReadonlySet<string>, now: number): void {
    for (const key of offered) {
      const pair = `${peer}\n${key}`
      if (taken.has(key)) {
        this.until.delete(pair)
      } else {
        setBounded(this.until, pair, now + this.init.memoryMs, this.init.maxEntries)
      }
    }
  }

  /** Forget what `peer` declined (it is revoked: rare, so a scan will do). */
  forget (peer: string): void {
    const prefix = `${peer}\n`
    for (const pair of this.until.keys()) {
      if (pair.startsWith(prefix)) {
        this.until.delete(pair)
      }
    }
  }

  /** (peer, key) pairs remembered, lapsed ones not yet looked at included */
  get size (): number {
    return this.until.size
  }
}

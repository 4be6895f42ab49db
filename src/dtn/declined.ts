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
 * keys over all peers; past that, the peer looked at least recently is
 * forgotten first (it is offered everything again, as before this memory).
 */

export interface DeclinedOffersInit {
  /** how long a declined key is left out of that peer's offers (ms) */
  memoryMs: number
  /** keys remembered over all peers */
  maxEntries: number
}

export class DeclinedOffers {
  private readonly init: DeclinedOffersInit
  /** per peer, in the order they were last looked at: key → until when it is left out */
  private readonly peers = new Map<string, Map<string, number>>()
  private entries = 0

  constructor (init: DeclinedOffersInit) {
    if (!(init.memoryMs >= 0) || !(init.maxEntries >= 0)) {
      throw new RangeError('the memory of declined offers needs a non-negative duration and bound')
    }
    this.init = init
  }

  /** The keys `peer` declined and whose memory has not lapsed at `now`; lapsed ones are forgotten. */
  declinedBy (peer: string, now: number): ReadonlySet<string> {
    const keys = this.peers.get(peer)
    if (keys == null) {
      return new Set()
    }
    this.peers.delete(peer)
    this.peers.set(peer, keys)
    const live = new Set<string>()
    for (const [key, until] of keys) {
      if (until > now) {
        live.add(key)
      } else {
        keys.delete(key)
        this.entries--
      }
    }
    if (keys.size === 0) {
      this.peers.delete(peer)
    }
    return live
  }

  /** `peer` was offered `offered` at `now` and took `taken`: the rest is left out of its offers for a while. */
  record (peer: string, offered: Iterable<string>, taken: ReadonlySet<string>, now: number): void {
    let keys = this.peers.get(peer)
    if (keys == null) {
      keys = new Map()
    } else {
      this.peers.delete(peer)
    }
    this.peers.set(peer, keys)
    const until = now + this.init.memoryMs
    for (const key of offered) {
      if (taken.has(key)) {
        if (keys.delete(key)) {
          this.entries--
        }
        continue
      }
      if (!keys.has(key)) {
        this.entries++
      }
      keys.set(key, until)
    }
    this.shrink(peer)
  }

  /** Forget what `peer` declined (it is revoked, or gone for good). */
  forget (peer: string): void {
    const keys = this.peers.get(peer)
    if (keys != null) {
      this.entries -= keys.size
      this.peers.delete(peer)
    }
  }

  /** keys remembered over all peers */
  get size (): number {
    return this.entries
  }

  /** Back within the bound: other peers first (least recently looked at), then `current`'s oldest keys. */
  private shrink (current: string): void {
    for (const [peer, keys] of this.peers) {
      if (this.entries <= this.init.maxEntries) {
        return
      }
      if (peer === current) {
        continue
      }
      this.entries -= keys.size
      this.peers.delete(peer)
    }
    const keys = this.peers.get(current)
    if (keys == null) {
      return
    }
    for (const key of keys.keys()) {
      if (this.entries <= this.init.maxEntries) {
        break
      }
      keys.delete(key)
      this.entries--
    }
    if (keys.size === 0) {
      this.peers.delete(current)
    }
  }
}

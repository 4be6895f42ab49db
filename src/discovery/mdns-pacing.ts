/**
 * How often one link's mDNS may query, answer and pass on what it heard.
 *
 * Without pacing every node queried every interval and every node answered
 * every query, in multicast, so each of N nodes heard N × (N − 1) answers
 * an interval and handed each to libp2p (a peer-store merge, a discovery
 * event): N³ packets handled on the link as a whole. At 12 nodes it was a
 * tenth of each node's CPU; at 100 it took the machine. The rules here are
 * RFC 6762's, which exist for the same reason:
 *
 * - duplicate question suppression (§7.3): a node that heard someone
 *   else ask the same question lately does not ask it again; the answers
 *   to that query were multicast, so it heard them too. One node ends up
 *   asking for the link, and when it goes, another starts;
 * - one multicast of a record a second at most (§6): a query flood gets
 *   one answer a second, not one per query;
 * - a cache: an announcement heard before, unchanged, is passed on again
 *   only when the cached one is half-way to expiring (§5.2's refresh),
 *   so a peer costs one discovery event a minute, not one per query.
 *
 * Pure: the clock is passed in; `mdns.ts` keeps one pacer per link, so a
 * link that comes back starts with an empty cache and asks at once.
 */

export interface MdnsPacingInit {
  /** the query interval of this node, in ms */
  intervalMs: number
  /** how long an unchanged announcement is not passed on again, in ms (half its TTL) */
  refreshMs: number
  /** announcements remembered, at most (the link is a stranger's input) */
  maxRemembered: number
}

/** another node's query suppresses ours for this many of our intervals: its own period may run a little long */
const SUPPRESS_INTERVALS = 1.5
/** RFC 6762 §6: at most one multicast of a record per second */
const ANSWER_SPACING_MS = 1_000

export class MdnsPacing {
  private readonly init: MdnsPacingInit
  private lastForeignQueryAt = -Infinity
  private lastAnswerAt = -Infinity
  /** announcement key → when it was last passed on, oldest first */
  private readonly heard = new Map<string, number>()

  constructor (init: MdnsPacingInit) {
    this.init = init
  }

  /** Someone else asked our question on this link. */
  foreignQuery (now: number): void {
    this.lastForeignQueryAt = now
  }

  /** Should this node ask now, or did another node ask lately enough for all to hear the answers? */
  mayQuery (now: number): boolean {
    return now - this.lastForeignQueryAt >= SUPPRESS_INTERVALS * this.init.intervalMs
  }

  /**
   * May this node answer a query now? At most once a second, or twice an
   * interval when the interval is shorter (tests): a query a moment after
   * our last answer heard that answer.
   */
  mayAnswer (now: number): boolean {
    const spacing = Math.min(ANSWER_SPACING_MS, this.init.intervalMs / 2)
    if (now - this.lastAnswerAt < spacing) {
      return false
    }
    this.lastAnswerAt = now
    return true
  }

  /**
   * Is this announcement (an opaque key naming the peer and its
   * addresses) news: never heard, changed, or due a refresh? Marks it
   * passed on when it is.
   */
  isNews (key: string, now: number): boolean {
    const at = this.heard.get(key)
    if (at != null && now - at < this.init.refreshMs) {
      return false
    }
    this.heard.delete(key)
    if (this.heard.size >= this.init.maxRemembered) {
      // the oldest first: Map keeps insertion order, and a refresh re-inserts
      this.heard.delete(this.heard.keys().next().value as string)
    }
    this.heard.set(key, now)
    return true
  }
}

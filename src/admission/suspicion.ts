/**
 * Suspicion scores: misbehaviour raises a peer's score by the offence's
 * weight, time decays it exponentially (half-life), thresholds throttle,
 * quarantine for a cooldown, and ban. Pure: clock injected, no I/O; the node
 * persists bans.
 *
 * Two rules keep honest peers from being punished for one fault many times:
 *
 * - Episodes. An offence charged with a *cause* (say `rpc-denied` on method
 *   `admin.ping`) opens an episode for (peer, offence, cause): it is charged
 *   in full once, and further offences of the same cause while the episode
 *   lasts cost nothing and extend it. A burst from one cause (32 calls in
 *   flight when a grant went away) thus costs what one offence costs. A
 *   different cause is a new offence, so a scanner trying many methods pays
 *   for every one; an episode also ends after `episodeMaxMs` and after
 *   `episodeMaxOffences`, so repeating one offence forever, or flooding it,
 *   keeps costing. Offences charged without a cause are each charged in full.
 * - Nothing is charged while a peer is quarantined or banned: its
 *   connections are being closed, and what it had in flight then is a
 *   consequence of the quarantine, not a new offence.
 */

export type SuspicionState = 'ok' | 'throttled' | 'quarantined' | 'banned'

export interface SuspicionPolicy {
  halfLifeMs: number
  throttleAt: number
  quarantineAt: number
  banAt: number
  quarantineMs: number
  /**
   * a peer quarantined this many times, each within `repeatWindowMs` of the
   * previous quarantine's end, is banned: a patient offender whose score
   * decays between episodes would otherwise settle below `banAt` for ever
   */
  repeatBanAfter: number
  repeatWindowMs: number
  /** an episode ends when its cause has been quiet this long */
  episodeGapMs: number
  /** an episode ends this long after it began, however busy: the next offence is charged again */
  episodeMaxMs: number
  /** an episode ends after this many offences: the next one is charged again */
  episodeMaxOffences: number
}

export const DEFAULT_SUSPICION_POLICY: SuspicionPolicy = {
  halfLifeMs: 10 * 60_000,
  throttleAt: 10,
  quarantineAt: 25,
  banAt: 100,
  quarantineMs: 10 * 60_000,
  repeatBanAfter: 3,
  repeatWindowMs: 60 * 60_000,
  // A burst is what a caller sent before it could learn of the first
  // refusal (its calls in flight, at most one call deadline, 10 s, behind)
  // plus an application's retries with backoff, which rarely wait longer
  // than a minute; a cause quiet for a minute is over.
  episodeGapMs: 60_000,
  // An offence repeated forever must not become free forever. Charged once
  // per episodeMaxMs, one cause of weight w settles at the peak
  // w / (1 − 2^(−episodeMaxMs / halfLifeMs)): for `rpc-denied` (5) at 15 min
  // and a 10 min half-life that is 5 / (1 − 2^−1.5) = 7.7, under throttleAt
  // (10), so an honest but misconfigured caller that keeps trying one method
  // is never throttled for it; at 10 min it would reach 10 exactly.
  episodeMaxMs: 15 * 60_000,
  // The most calls one peer may have running on a node at once (the RPC
  // default concurrency cap): a burst an honest caller had in flight fits in
  // one episode, and each further 64 of a flood cost a full offence again.
  episodeMaxOffences: 64
}

/**
 * Episodes kept per peer: the oldest are forgotten beyond this (which only
 * makes the next offence of a forgotten cause cost again). A scanner is
 * quarantined long before it has this many causes open.
 */
export const MAX_EPISODES_PER_PEER = 32
/** longest cause kept as a key; a longer one is cut (causes are method names and protocol ids) */
export const MAX_CAUSE_LENGTH = 256
/**
 * Charged offences kept per peer, newest last: what `tempus peers` shows as
 * why a score rose. Eight span a quarantine (25) from the lightest offences
 * that reach it (five of weight 5) with room for what led up to it.
 */
export const MAX_RECENT_OFFENCES = 8
/** a cause as the history shows it, cut to this many characters */
const MAX_SHOWN_CAUSE = 80

/** Offence weights: how much each kind of misbehaviour raises suspicion. */
export const OFFENCES = {
  'admission-failed': 5,
  'bad-proof': 20,
  'forged-token': 25,
  'revoked-token': 50,
  'timeout': 2,
  'malformed-frame': 10,
  /** a sampling entry without valid evidence of admission */
  'bad-entry': 5,
  /** a Cyclon descriptor forged, from the future, replayed or over-minted (protocols/cyclon.md) */
  'bad-descriptor': 10,
  /** a Cyclon descriptor handed on twice: two signed hand-overs prove it (a proof offered to the issuer) */
  'cloned-descriptor': 50,
  /** an RPC call or stream the caller is not granted, or to no such method */
  'rpc-denied': 5,
  /** RPC calls over the per-peer rate or concurrency */
  'rpc-over-rate': 2,
  /** a gossip message that failed validation (forwarded or published by this peer) */
  'bad-gossip': 5,
  /** a DTN frame or bundle that failed validation (malformed, oversize, forged) */
  'bad-bundle': 5
} as const

export type Offence = keyof typeof OFFENCES

/** One charged offence, as `tempus peers` shows it. */
export interface OffenceRecord {
  offence: Offence
  /** what exactly was refused (a method, a protocol, an admission reason), if the charge named it */
  cause?: string
  /** ms since the epoch */
  at: number
  /** what it added to the score */
  weight: number
}

interface Episode {
  start: number
  last: number
  offences: number
}

interface Entry {
  score: number
  at: number
  quarantinedUntil?: number
  /** quarantines in a row, each soon after the previous one ended */
  quarantines?: number
  banned?: boolean
  /** open episodes by offence and cause */
  episodes?: Map<string, Episode>
  /** the last charged offences, newest last (at most MAX_RECENT_OFFENCES) */
  recent?: OffenceRecord[]
}

export interface SuspicionChange {
  peer: string
  score: number
  state: SuspicionState
  previous: SuspicionState
}

export class SuspicionScores {
  private readonly policy: SuspicionPolicy
  private readonly now: () => number
  private readonly entries = new Map<string, Entry>()

  constructor (policy: Partial<SuspicionPolicy> = {}, now: () => number = Date.now) {
    this.policy = { ...DEFAULT_SUSPICION_POLICY, ...policy }
    this.now = now
  }

  score (peer: string): number {
    const e = this.entries.get(peer)
    return e == null ? 0 : this.decayed(e, this.now())
  }

  state (peer: string): SuspicionState {
    return this.stateAt(peer, this.now())
  }

  /**
   * The state at one instant. A charge reads the clock once and judges with
   * that reading: a second reading a millisecond later would decay a score
   * that just reached a threshold back under it, and the offence would go
   * unpunished.
   */
  private stateAt (peer: string, now: number): SuspicionState {
    const e = this.entries.get(peer)
    if (e == null) {
      return 'ok'
    }
    if (e.banned === true) {
      return 'banned'
    }
    if (e.quarantinedUntil != null && e.quarantinedUntil > now) {
      return 'quarantined'
    }
    return this.decayed(e, now) >= this.policy.throttleAt ? 'throttled' : 'ok'
  }

  /**
   * Charge `offence`. With a `cause` (what exactly was refused: a method, a
   * protocol), a repeat of the same offence and cause inside its episode
   * costs nothing; see the file's comment.
   */
  charge (peer: string, offence: Offence, cause?: string): SuspicionChange {
    const weight = OFFENCES[offence]
    if (cause == null) {
      return this.raise(peer, weight, { offence })
    }
    const now = this.now()
    const previous = this.stateAt(peer, now)
    if (previous === 'quarantined' || previous === 'banned') {
      return this.raise(peer, weight) // which charges nothing
    }
    const key = `${offence}\0${cause.slice(0, MAX_CAUSE_LENGTH)}`
    const e = this.entries.get(peer)
    const episode = e?.episodes?.get(key)
    if (e != null && episode != null && this.lasts(episode, now)) {
      episode.last = now
      episode.offences++
      return { peer, score: this.decayed(e, now), state: previous, previous }
    }
    const change = this.raise(peer, weight, { offence, cause })
    this.openEpisode(peer, key, now)
    return change
  }

  /** Raise by a raw weight (no episode); nothing while quarantined or banned. `why` goes into the peer's history. */
  raise (peer: string, weight: number, why?: { offence: Offence, cause?: string }): SuspicionChange {
    const now = this.now()
    const previous = this.stateAt(peer, now)
    const e = this.entries.get(peer) ?? { score: 0, at: now }
    if (previous === 'quarantined' || previous === 'banned') {
      // its connections are being closed: what it still had in flight is a consequence, not a new offence
      return { peer, score: this.decayed(e, now), state: previous, previous }
    }
    e.score = this.decayed(e, now) + Math.max(0, weight)
    e.at = now
    if (why != null && weight > 0) {
      const recent = e.recent ?? []
      recent.push({ offence: why.offence, ...(why.cause != null ? { cause: why.cause.slice(0, MAX_SHOWN_CAUSE) } : {}), at: now, weight })
      if (recent.length > MAX_RECENT_OFFENCES) {
        recent.shift()
      }
      e.recent = recent
    }
    if (e.score >= this.policy.banAt) {
      e.banned = true
    } else if (e.score >= this.policy.quarantineAt && (e.quarantinedUntil == null || e.quarantinedUntil <= now)) {
      const repeat = e.quarantinedUntil != null && now - e.quarantinedUntil <= this.policy.repeatWindowMs
      e.quarantines = repeat ? (e.quarantines ?? 0) + 1 : 1
      if (e.quarantines >= this.policy.repeatBanAfter) {
        e.banned = true
      } else {
        e.quarantinedUntil = now + this.policy.quarantineMs
      }
    }
    this.entries.set(peer, e)
    return { peer, score: e.score, state: this.stateAt(peer, now), previous }
  }

  ban (peer: string): void {
    const e = this.entries.get(peer) ?? { score: this.policy.banAt, at: this.now() }
    e.banned = true
    this.entries.set(peer, e)
  }

  clear (peer: string): void {
    this.entries.delete(peer)
  }

  /** Forget every peer's score, quarantine and ban (an operator's `tempus peers clear --all`); returns the peers forgotten. */
  clearAll (): string[] {
    const peers = [...this.entries.keys()]
    this.entries.clear()
    return peers
  }

  /** The peer's last charged offences, oldest first: why its score rose. */
  recentOffences (peer: string): OffenceRecord[] {
    return [...(this.entries.get(peer)?.recent ?? [])]
  }

  /** When the peer's quarantine ends (ms since the epoch), if it is quarantined now. */
  quarantinedUntil (peer: string): number | undefined {
    const until = this.entries.get(peer)?.quarantinedUntil
    return until != null && until > this.now() && this.entries.get(peer)?.banned !== true ? until : undefined
  }

  /** Peers in each state now (`ok`: with a score still decaying); the metrics read it at scrape time. */
  tally (): Record<SuspicionState, number> {
    const counts: Record<SuspicionState, number> = { ok: 0, throttled: 0, quarantined: 0, banned: 0 }
    for (const peer of this.entries.keys()) {
      counts[this.state(peer)]++
    }
    return counts
  }

  banned (): string[] {
    return [...this.entries].filter(([, e]) => e.banned === true).map(([p]) => p)
  }

  /** open episodes of this peer (what the next offence of each cause would cost nothing for) */
  episodes (peer: string): number {
    const e = this.entries.get(peer)
    const now = this.now()
    return [...(e?.episodes?.values() ?? [])].filter(ep => this.lasts(ep, now)).length
  }

  private lasts (episode: Episode, now: number): boolean {
    return now - episode.last <= this.policy.episodeGapMs &&
      now - episode.start < this.policy.episodeMaxMs &&
      episode.offences < this.policy.episodeMaxOffences
  }

  private openEpisode (peer: string, key: string, now: number): void {
    const e = this.entries.get(peer)
    if (e == null) {
      return
    }
    const episodes = e.episodes ?? new Map<string, Episode>()
    for (const [k, ep] of episodes) {
      if (!this.lasts(ep, now)) episodes.delete(k)
    }
    episodes.delete(key)
    while (episodes.size >= MAX_EPISODES_PER_PEER) {
      // a Map iterates in insertion order: the first is the oldest
      episodes.delete(episodes.keys().next().value as string)
    }
    episodes.set(key, { start: now, last: now, offences: 1 })
    e.episodes = episodes
  }

  private decayed (e: Entry, now: number): number {
    const elapsed = Math.max(0, now - e.at)
    return e.score * 0.5 ** (elapsed / this.policy.halfLifeMs)
  }
}

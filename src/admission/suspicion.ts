/**
 * Suspicion scores: misbehaviour raises a peer's score by the offence's
 * weight, time decays it exponentially (half-life), thresholds throttle,
 * quarantine for a cooldown, and ban. Pure: clock injected, no I/O; the node
 * persists bans.
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
}

export const DEFAULT_SUSPICION_POLICY: SuspicionPolicy = {
  halfLifeMs: 10 * 60_000,
  throttleAt: 10,
  quarantineAt: 25,
  banAt: 100,
  quarantineMs: 10 * 60_000,
  repeatBanAfter: 3,
  repeatWindowMs: 60 * 60_000
}

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

interface Entry {
  score: number
  at: number
  quarantinedUntil?: number
  /** quarantines in a row, each soon after the previous one ended */
  quarantines?: number
  banned?: boolean
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
    const e = this.entries.get(peer)
    if (e == null) {
      return 'ok'
    }
    const now = this.now()
    if (e.banned === true) {
      return 'banned'
    }
    if (e.quarantinedUntil != null && e.quarantinedUntil > now) {
      return 'quarantined'
    }
    return this.decayed(e, now) >= this.policy.throttleAt ? 'throttled' : 'ok'
  }

  raise (peer: string, weight: number): SuspicionChange {
    const now = this.now()
    const previous = this.state(peer)
    const e = this.entries.get(peer) ?? { score: 0, at: now }
    e.score = this.decayed(e, now) + Math.max(0, weight)
    e.at = now
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
    return { peer, score: e.score, state: this.state(peer), previous }
  }

  ban (peer: string): void {
    const e = this.entries.get(peer) ?? { score: this.policy.banAt, at: this.now() }
    e.banned = true
    this.entries.set(peer, e)
  }

  clear (peer: string): void {
    this.entries.delete(peer)
  }

  banned (): string[] {
    return [...this.entries].filter(([, e]) => e.banned === true).map(([p]) => p)
  }

  private decayed (e: Entry, now: number): number {
    const elapsed = Math.max(0, now - e.at)
    return e.score * 0.5 ** (elapsed / this.policy.halfLifeMs)
  }
}

/**
 * Whom a sampler's sample exchange goes to in each round: one of the view's
 * bootstrap peers in its first `bootstrapRounds` rounds and then one round
 * in `anchorEvery`, else the sampler's least-hit slot (protocols/cyclon.md,
 * "The sampler beside each view"). Pure: no I/O, random injected.
 *
 * Why (issue #16, found in the simulator's hub attack at N = 10,000): a new
 * sampler is filled first by the attackers' pushes, and fresh attacker ids
 * keep arriving with one hit, the fewest, so the least-hit partner is an
 * attacker most of the time. The node then sees every attacker id and few
 * honest ones, its sample turns to attackers, its own id fades from honest
 * samplers, and it ends isolated. Exchanges with peers the attackers did
 * not choose seed the sampler with honest samples first, and the recurring
 * one leaves no state absorbing.
 *
 * A view's bootstrap peers are (1) the node's configured bootstrap peers of
 * that view's type it is connected to (the service finds them: their type
 * is the one they were admitted as) and (2) the first admitted peers the
 * view held, recorded here. Bootstrap peers of other types are not used,
 * though sentinels observe every view: 10,000 edges with one exchange in
 * ten going to a handful of sentinels would send each of them hundreds of
 * exchanges a second. A recorded peer that fails an exchange or is revoked
 * leaves the set; a set emptied so is recorded again from the view when
 * it next holds entries, so churn does not end the rule.
 */

export interface PartnerRule {
  /** a sampler's first rounds, whose exchanges go to a bootstrap peer */
  bootstrapRounds: number
  /** after those, one round in this many goes to a bootstrap peer (0: never) */
  anchorEvery: number
}

/**
 * Is round `k` (counted from 1) one whose exchange goes to a bootstrap
 * peer? `phase` (0 ≤ phase < anchorEvery) spreads the recurring rounds of
 * nodes that started together. The simulator's rule with phase = its id.
 */
export function isBootstrapRound (k: number, rule: PartnerRule, phase: number): boolean {
  return k <= rule.bootstrapRounds || (rule.anchorEvery > 0 && (k + phase) % rule.anchorEvery === 0)
}

export interface PartnerChoice<E> {
  partner: E
  /** a bootstrap peer (this round is a bootstrap round and there was one) */
  bootstrap: boolean
}

export interface BootstrapPartnersInit extends PartnerRule {
  random: () => number
}

export class BootstrapPartners<E extends { id: string }> {
  private readonly rule: PartnerRule
  private readonly random: () => number
  private readonly phase: number
  private recorded: E[] = []
  private rounds = 0

  constructor (init: BootstrapPartnersInit) {
    if (!Number.isInteger(init.bootstrapRounds) || init.bootstrapRounds < 0 || !Number.isInteger(init.anchorEvery) || init.anchorEvery < 0) {
      throw new RangeError(`bootstrapRounds and anchorEvery must be whole numbers ≥ 0, got ${init.bootstrapRounds} and ${init.anchorEvery}`)
    }
    this.rule = { bootstrapRounds: init.bootstrapRounds, anchorEvery: init.anchorEvery }
    this.random = init.random
    this.phase = init.anchorEvery > 0 ? Math.floor(init.random() * init.anchorEvery) : 0
  }

  /** rounds chosen so far */
  get round (): number {
    return this.rounds
  }

  /** the first peers the view held (the set recorded so far) */
  get peers (): readonly E[] {
    return this.recorded
  }

  /** The view holds `entries` now: recorded as bootstrap peers if none are (the first the view held). */
  viewHolds (entries: readonly E[]): void {
    if (this.recorded.length === 0) {
      this.recorded = [...entries]
    }
  }

  /** A peer that failed an exchange or was revoked is no bootstrap peer any more. */
  forget (id: string): void {
    this.recorded = this.recorded.filter(e => e.id !== id)
  }

  /**
   * This round's partner: a bootstrap peer (one of `configured()`, asked
   * only in a bootstrap round, or a recorded one; uniformly, each id once)
   * in a bootstrap round when there is one, else `leastHit()`. Every call
   * is one round.
   */
  choose (configured: () => readonly E[], leastHit: () => E | undefined): PartnerChoice<E> | undefined {
    this.rounds++
    if (isBootstrapRound(this.rounds, this.rule, this.phase)) {
      const seen = new Set<string>()
      const candidates = [...configured(), ...this.recorded].filter(e => !seen.has(e.id) && seen.add(e.id) != null)
      if (candidates.length > 0) {
        return { partner: candidates[Math.floor(this.random() * candidates.length)] as E, bootstrap: true }
      }
    }
    const partner = leastHit()
    return partner == null ? undefined : { partner, bootstrap: false }
  }
}

/**
 * Exponential backoff with jitter, pure: the random source is injected so the
 * delays are testable and the simulator can reuse it.
 */
export interface BackoffPolicy {
  /** delay before the first retry, in ms */
  initialDelayMs: number
  /** cap on any delay, in ms */
  maxDelayMs: number
  /** growth per attempt, ≥ 1 */
  factor: number
  /** fraction (0..1) of each delay that is randomised */
  jitter: number
}

/**
 * The delay before retry number `attempt` (0-based). With jitter j the
 * delay lies in [(1 − j)·base, base], so retries of many peers spread out
 * instead of arriving in lock step after an outage.
 */
export function backoffDelay (policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const exponent = Math.max(0, Math.min(attempt, 64))
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.factor ** exponent)
  const jitter = Math.min(1, Math.max(0, policy.jitter))
  return Math.round(base * (1 - jitter) + base * jitter * random())
}

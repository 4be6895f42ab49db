/**
 * A node's side of a long poll (`Prefer: wait`, protocols/issuer.md): the
 * next poll goes as soon as the last one comes back held (or with something
 * new), so one is always waiting at the issuer; a poll that came back at
 * once (an issuer that does not hold, a failure) ends the run, and the
 * caller's timer decides when to start again.
 */
import { setTimeout as sleep } from 'node:timers/promises'

/** the least time between two held polls: an issuer answering them at once cannot make a node spin */
export const HELD_POLL_MIN_SPACING_MS = 1_000

/**
 * Run `poll` while it returns true (held, or something new), at least
 * `minSpacingMs` apart, until it returns false or `signal` aborts.
 */
export async function pollWhileHeld (poll: () => Promise<boolean>, signal: AbortSignal, minSpacingMs = HELD_POLL_MIN_SPACING_MS): Promise<void> {
  while (!signal.aborted) {
    const started = performance.now()
    if (!await poll()) {
      return
    }
    const spacing = minSpacingMs - (performance.now() - started)
    if (spacing > 0) {
      await sleep(spacing, undefined, { signal }).catch(() => {})
    }
  }
}

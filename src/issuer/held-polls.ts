/**
 * Polls that wait for something newer (long polling, `Prefer: wait=N`,
 * RFC 7240): a node that already holds the newest revocation list, or the
 * issuer's current keys, asks the issuer to answer when a newer one
 * exists, or after N seconds with 304.
 *
 * Why: every node used to ask every 5 s for the revocation list and every
 * 30 s for the keys, so a revocation reached a node up to 5 s after it was
 * published, an announced key up to 30 s, and the issuer answered a request
 * per node every few seconds to say that nothing changed (12 a second for a
 * 50-node dev mesh, on the loop its nodes share). A held poll is answered
 * within one read of the store (`checkEveryMs`) of the change, and a node
 * asks about once per wait.
 *
 * The store is asked, not told: a list or a key can be published by
 * another replica (PostgreSQL), by a command on this one, or in a
 * transaction that commits later, and one read a second while anyone waits
 * covers all of them. `nudge()` reads at once (this replica changed it).
 * Held polls are bounded in number (more are answered at once: a node then
 * polls at its interval, as before) and in time (the caller's wait, capped
 * by the route).
 */

export interface HeldPollsInit {
  /** the newest version (a list's number, the keys' tag), read from the store */
  newest: () => Promise<string | number>
  /**
   * how often the store is read while a request waits, ms
   * @default HELD_POLL_CHECK_EVERY_MS (1 s)
   */
  checkEveryMs?: number
  /**
   * requests held at once; more are answered without waiting
   * @default MAX_HELD_POLLS (10,000)
   */
  maxWaiters?: number
  /** where a failed read of the store is told (the waiters stay; the next check tries again) */
  onError?: (err: unknown) => void
}

/** how often the store is read while someone waits */
export const HELD_POLL_CHECK_EVERY_MS = 1_000
/** requests held at once, per kind (each a socket the issuer keeps open) */
export const MAX_HELD_POLLS = 10_000

/** why a wait ended: something newer, the wait's end, the client gone, or the issuer closing */
export type WaitEnd = 'newer' | 'elapsed' | 'gone' | 'closing' | 'full'

interface Waiter {
  known: string | number
  timer: ReturnType<typeof setTimeout>
  end: (why: WaitEnd) => void
}

export class HeldPolls {
  private readonly init: HeldPollsInit
  private readonly waiters = new Set<Waiter>()
  private checker?: ReturnType<typeof setTimeout>
  private checking = false
  private closed = false

  constructor (init: HeldPollsInit) {
    this.init = init
  }

  /** requests held now */
  get size (): number {
    return this.waiters.size
  }

  /**
   * Wait until the store's newest version is not `known`, `waitMs` has passed,
   * `signal` aborts (the client went away) or the waiters close.
   */
  async wait (known: string | number, waitMs: number, signal?: AbortSignal): Promise<WaitEnd> {
    if (this.closed) {
      return 'closing'
    }
    if (this.waiters.size >= (this.init.maxWaiters ?? MAX_HELD_POLLS)) {
      return 'full'
    }
    if (signal?.aborted === true) {
      return 'gone'
    }
    return await new Promise<WaitEnd>(resolve => {
      const onAbort = (): void => { waiter.end('gone') }
      const waiter: Waiter = {
        known,
        timer: setTimeout(() => { waiter.end('elapsed') }, waitMs),
        end: why => {
          if (!this.waiters.delete(waiter)) return
          clearTimeout(waiter.timer)
          signal?.removeEventListener('abort', onAbort)
          resolve(why)
        }
      }
      this.waiters.add(waiter)
      signal?.addEventListener('abort', onAbort, { once: true })
      this.schedule()
    })
  }

  /** Read the store now (something was just changed here). */
  nudge (): void {
    if (this.waiters.size > 0) {
      clearTimeout(this.checker)
      this.checker = undefined
      void this.check()
    }
  }

  /** Answer every held request (the issuer is stopping); later waits return at once. */
  close (): void {
    this.closed = true
    clearTimeout(this.checker)
    this.checker = undefined
    for (const waiter of [...this.waiters]) {
      waiter.end('closing')
    }
  }

  private schedule (): void {
    if (this.checker != null || this.checking || this.closed || this.waiters.size === 0) return
    this.checker = setTimeout(() => {
      this.checker = undefined
      void this.check()
    }, this.init.checkEveryMs ?? HELD_POLL_CHECK_EVERY_MS)
  }

  private async check (): Promise<void> {
    if (this.checking) return
    this.checking = true
    try {
      const newest = await this.init.newest()
      for (const waiter of [...this.waiters]) {
        if (waiter.known !== newest) {
          waiter.end('newer')
        }
      }
    } catch (err) {
      this.init.onError?.(err)
    } finally {
      this.checking = false
      this.schedule()
    }
  }
}

/**
 * The wait a request asks for (`Prefer: wait=N`, N whole seconds), in ms,
 * capped at `maxMs`; 0 when it asks for none or the header is not one.
 */
export function preferredWaitMs (prefer: string | string[] | undefined, maxMs: number): number {
  const values = Array.isArray(prefer) ? prefer : prefer == null ? [] : [prefer]
  for (const value of values) {
    // preferences are separated by commas, a preference's parameters by semicolons
    for (const preference of value.split(',')) {
      const match = /^\s*wait\s*=\s*"?(\d{1,6})"?\s*(?:;|$)/i.exec(preference)
      if (match != null) {
        return Math.min(Number(match[1]) * 1000, maxMs)
      }
    }
  }
  return 0
}

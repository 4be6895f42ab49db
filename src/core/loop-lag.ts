/**
 * How late this process's own event loop ran while something waited on a
 * peer: the evidence that tells a peer's stall from this node's overload.
 *
 * A deadline that passes proves only that the answer was not *handled* in
 * time. On a starved host (a CPU shared by more work than it has, a long
 * GC, a swap storm) the peer's bytes may have sat in our socket buffer
 * while our timers, and our reads, ran seconds late; charging the peer a
 * `timeout` then punishes an honest peer for our fault (the 100-process
 * chaos run of issue #20: 871 such charges, one honest peer throttled).
 *
 * A window is opened around each wait on a peer. While any is open, a
 * timer re-arms itself every `intervalMs` and measures how late it fired;
 * each window adds up the lateness of its ticks, and of a tick that is due
 * but has not run yet when the window is read (a deadline and the tick can
 * fall due in the same turn of the loop). The sum, not the worst: on a
 * host with a hundred busy processes per core no single delay is long, but
 * every turn of the loop waits for a slice of CPU, and a wait of many round
 * trips loses most of its time that way (the 100-process chaos run: 2,434
 * honest admissions ran out their deadline while no single tick was over
 * a second late). With no window open there is no timer: an idle node
 * does not wake for this.
 */

export interface LagWindow {
  /** how late this process's event loop ran in all since the window opened, ms */
  lateMs(): number
  /** stop watching (idempotent) */
  close(): void
}

export interface LoopLagProbeInit {
  /** how often the loop is sampled while a window is open, ms. @default 100 */
  intervalMs?: number
  /** a monotonic clock, ms. @default performance.now */
  now?: () => number
}

interface OpenWindow { late: number }

export class LoopLagProbe {
  private readonly intervalMs: number
  private readonly now: () => number
  private readonly windows = new Set<OpenWindow>()
  private timer?: ReturnType<typeof setTimeout>
  /** when the armed tick should fire */
  private due = 0

  constructor (init: LoopLagProbeInit = {}) {
    this.intervalMs = init.intervalMs ?? 100
    this.now = init.now ?? (() => performance.now())
  }

  /** how many waits are watched now */
  get watching (): number {
    return this.windows.size
  }

  /** Open a window; read it with `lateMs()` when the wait ends, then close it. */
  watch (): LagWindow {
    const window: OpenWindow = { late: 0 }
    this.windows.add(window)
    if (this.timer == null) {
      this.arm()
    }
    return {
      lateMs: () => window.late + (this.windows.has(window) ? this.overdue() : 0),
      close: () => {
        this.windows.delete(window)
        if (this.windows.size === 0 && this.timer != null) {
          clearTimeout(this.timer)
          this.timer = undefined
        }
      }
    }
  }

  /** how far past due the armed tick is now (0 when it is not due yet) */
  private overdue (): number {
    return this.timer == null ? 0 : Math.max(0, this.now() - this.due)
  }

  private arm (): void {
    this.due = this.now() + this.intervalMs
    this.timer = setTimeout(() => { this.tick() }, this.intervalMs)
    // a probe never keeps a process alive
    this.timer.unref?.()
  }

  private tick (): void {
    const late = Math.max(0, this.now() - this.due)
    for (const window of this.windows) {
      window.late += late
    }
    this.timer = undefined
    if (this.windows.size > 0) {
      this.arm()
    }
  }
}

/** The process-wide probe: every node in a process shares one event loop. */
export const loopLag = new LoopLagProbe()

/**
 * Was this node itself too late to blame a peer for a missed deadline? Its
 * loop ran, in all, at least `share` of the deadline (a quarter unless
 * told) late while it waited: the peer's answer may have been there, unread. A healthy loop
 * runs a few ms late a second; a loop that had a slice of CPU every 150 ms
 * loses half of any wait.
 */
export function starvedWithin (window: LagWindow, deadlineMs: number, share = 1 / 4): boolean {
  return window.lateMs() >= deadlineMs * share
}

export interface PatientTimeout {
  /** aborted (a `TimeoutError`) when the deadline falls on the peer's side */
  readonly signal: AbortSignal
  /** how many times the deadline was moved on because this node ran late */
  extensions (): number
  /** stop the timer (idempotent); call when the wait is over */
  close (): void
}

/**
 * A deadline that does not fall on this node's own lateness: like
 * `AbortSignal.timeout(ms)`, but when it falls while this process's loop
 * ran late (`starvedWithin`: the answer may be sitting unread) it is moved
 * on by another `ms`, at most `maxExtensions` times. A starved node (the
 * 100-process chaos run, issue #20: a sentinel whose loop ran seconds late
 * went 232 s without a token, each request to the issuer timing out
 * before its answer was read) still gets an answer that came; a peer that
 * never answers is still given up on, at the latest after
 * `ms × (1 + maxExtensions)`.
 */
export function patientTimeout (ms: number, maxExtensions = 2, probe: LoopLagProbe = loopLag): PatientTimeout {
  const controller = new AbortController()
  let window = probe.watch()
  let extended = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  const arm = (): void => {
    timer = setTimeout(() => {
      if (extended < maxExtensions && starvedWithin(window, ms)) {
        extended++
        window.close()
        window = probe.watch()
        arm()
        return
      }
      window.close()
      controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'))
    }, ms)
    timer.unref?.()
  }
  arm()
  return {
    signal: controller.signal,
    extensions: () => extended,
    close: () => {
      clearTimeout(timer)
      window.close()
    }
  }
}

/**
 * Inbound handshakes a starved node cannot finish are refused at the door.
 *
 * Every inbound connection costs its answerer a Noise handshake and an
 * admission exchange before anything else runs. A node whose event loop
 * gets too little CPU (a host shared by more work than it has: the
 * 100-process chaos run of issue #20, every process at its fair share of two
 * cores) accepted every connection all the same, and ran them all at once:
 * each got a sliver of the loop, none finished before its dialler's 6 s gave
 * out, and each dialler redialled. After a partition healed, the sentinels
 * of the other half took 12,000 inbound handshakes in ten minutes that their
 * diallers had abandoned (`EncryptionFailedError` on both sides), and the
 * cut half's sentinels crossed back 60–120 s late: the work was done and
 * thrown away, again and again.
 *
 * So: while an inbound handshake that has run for at least `minAgeMs` has
 * seen this node's own loop late for at least `lateShare` of its age, a new
 * inbound connection is refused before any cryptography (the gater's
 * `denyInboundConnection`: its dialler is told at once, and tries again after
 * its backoff), and the ones already under way get the loop to themselves.
 * Lateness is this node's own, measured by its loop (`loop-lag.ts`): a peer
 * that stalls its handshake makes it old, never late, so stalling peers
 * cannot make a healthy node refuse anyone. Nothing is charged: a refusal
 * for load is an honest fault of the refuser.
 */
import { LoopLagProbe } from '../core/loop-lag.ts'
import type { LagWindow } from '../core/loop-lag.ts'

/**
 * One probe for every node of the process (they share its loop), apart from
 * `loopLag`: that one's windows are the waits on a peer, which a refusal for
 * load is not.
 */
const inboundLag = new LoopLagProbe()

export interface InboundLoadInit {
  /** @default a process-wide probe of its own */
  probe?: Pick<LoopLagProbe, 'watch'>
  /** a monotonic clock, ms. @default performance.now */
  now?: () => number
  /** how long an inbound handshake must have run before its lateness counts, ms. @default INBOUND_LOAD_DEFAULTS.minAgeMs */
  minAgeMs?: number
  /** the share of that time the loop must have run late. @default INBOUND_LOAD_DEFAULTS.lateShare */
  lateShare?: number
}

/**
 * A healthy handshake on a LAN takes a few ms, and a loaded but working
 * node's a few hundred; one that has run a second while the node's loop was
 * late for half of it will not finish before a dialler's timeout if more
 * are started beside it.
 */
export const INBOUND_LOAD_DEFAULTS = {
  minAgeMs: 1_000,
  lateShare: 0.5
} as const

interface InFlight { started: number, lag: LagWindow }

export class InboundLoad {
  private readonly probe: Pick<LoopLagProbe, 'watch'>
  private readonly now: () => number
  private readonly minAgeMs: number
  private readonly lateShare: number
  private readonly inFlight = new Set<InFlight>()
  private shed = 0

  constructor (init: InboundLoadInit = {}) {
    this.probe = init.probe ?? inboundLag
    this.now = init.now ?? (() => performance.now())
    this.minAgeMs = init.minAgeMs ?? INBOUND_LOAD_DEFAULTS.minAgeMs
    this.lateShare = init.lateShare ?? INBOUND_LOAD_DEFAULTS.lateShare
  }

  /** inbound connections refused for load since start */
  get shedTotal (): number {
    return this.shed
  }

  /** inbound handshakes under way */
  get pending (): number {
    return this.inFlight.size
  }

  /** An inbound handshake starts; call `end` when it ends, however. */
  begin (): { end: () => void } {
    const entry: InFlight = { started: this.now(), lag: this.probe.watch() }
    this.inFlight.add(entry)
    return {
      end: () => {
        if (this.inFlight.delete(entry)) {
          entry.lag.close()
        }
      }
    }
  }

  /** Is this node too starved to start another inbound handshake? */
  overloaded (): boolean {
    const now = this.now()
    for (const entry of this.inFlight) {
      const age = now - entry.started
      if (age >= this.minAgeMs && entry.lag.lateMs() >= age * this.lateShare) {
        return true
      }
    }
    return false
  }

  /** The gater's question at an inbound connection: refuse it (and count it) when overloaded. */
  shouldShed (): boolean {
    if (!this.overloaded()) {
      return false
    }
    this.shed++
    return true
  }
}

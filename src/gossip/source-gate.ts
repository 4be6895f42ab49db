/**
 * A few frames of one sender checked at once, and none once it has proved
 * itself a flooder: pure, no libp2p.
 *
 * gossipsub hands every message of an RPC to the validator at once and
 * decides whether to read a peer's next RPC by its score (rescore.ts keeps
 * that score current). A burst that arrives before the first verdict (one
 * RPC of 40 frames, or 40 RPCs read while the loop is busy) is therefore
 * checked frame by frame, every one of them: in `bench:gossip` floods one
 * neighbour checked all 40 frames of a flooder, each an Ed25519
 * verification, in two runs of six, where the score needs 5.
 *
 * Here each sender has `concurrency` slots; its other frames wait their
 * turn, and a frame whose turn comes when its sender's refusals (decayed as
 * gossipsub decays P4) are at the `cutoff` is dropped unchecked: the score
 * that gossipsub would graylist. So a flooder costs at most `cutoff` plus
 * `concurrency` − 1 checks, however its frames arrive. Honest peers never
 * send an invalid frame (they validate before forwarding; a frame they
 * cannot know is stale is ignored, not refused), so they only ever wait for
 * a slot, and only in a burst of more than `concurrency` frames at once.
 */

export interface SourceGateInit {
  /** frames of one sender checked at once; @default 4 */
  concurrency?: number
  /** frames of one sender waiting for a slot; beyond, dropped unchecked; @default 256 */
  maxWaiting?: number
  /** decayed refusals at which a sender's frames are dropped unchecked */
  cutoff: number
  /** factor a sender's refusal count decays by each second (gossipsub's P4 decay) */
  decay: number
  now: () => number
}

interface Sender {
  running: number
  waiting: Array<(slot: boolean) => void>
  refusals: number
  /** when `refusals` was last brought up to date */
  at: number
}

const DEFAULT_CONCURRENCY = 4
const DEFAULT_MAX_WAITING = 256
/** a sender with nothing running or waiting is forgotten once its refusals decayed below this */
const FORGET_BELOW = 0.01
/** senders remembered before the idle ones are swept */
const SWEEP_AT = 1024

export class SourceGate {
  private readonly init: SourceGateInit
  private readonly senders = new Map<string, Sender>()
  /** frames dropped unchecked since start */
  dropped = 0

  constructor (init: SourceGateInit) {
    this.init = init
  }

  /**
   * Wait for a slot to check a frame of `peer`: true with the slot held
   * (give it back with `leave`), false when the frame is to be dropped
   * unchecked.
   */
  async enter (peer: string): Promise<boolean> {
    const s = this.sender(peer)
    if (this.cutOff(s)) {
      this.dropped++
      return false
    }
    if (s.running < (this.init.concurrency ?? DEFAULT_CONCURRENCY)) {
      s.running++
      return true
    }
    if (s.waiting.length >= (this.init.maxWaiting ?? DEFAULT_MAX_WAITING)) {
      this.dropped++
      return false
    }
    return await new Promise<boolean>(resolve => { s.waiting.push(resolve) })
  }

  /** the check of a frame of `peer` ended; `refused`: the frame was invalid and charged to `peer` */
  leave (peer: string, refused: boolean): void {
    const s = this.senders.get(peer)
    if (s == null) {
      return
    }
    if (refused) {
      this.decayed(s)
      s.refusals++
    }
    s.running--
    // hand the slot on; every frame still waiting after the cutoff is dropped at once
    while (s.waiting.length > 0) {
      const next = s.waiting.shift() as (slot: boolean) => void
      if (this.cutOff(s)) {
        this.dropped++
        next(false)
        continue
      }
      s.running++
      next(true)
      break
    }
    if (this.idle(s)) {
      this.senders.delete(peer)
    }
  }

  /** the sender's refusals now, decayed */
  refusalsOf (peer: string): number {
    const s = this.senders.get(peer)
    return s == null ? 0 : this.decayed(s)
  }

  /** forget the senders with nothing running or waiting and their refusals faded */
  private sweep (): void {
    for (const [peer, s] of this.senders) {
      if (this.idle(s)) {
        this.senders.delete(peer)
      }
    }
  }

  /** nothing running or waiting, and its refusals faded: nothing to remember */
  private idle (s: Sender): boolean {
    return s.running === 0 && s.waiting.length === 0 && this.decayed(s) < FORGET_BELOW
  }

  private cutOff (s: Sender): boolean {
    return this.decayed(s) >= this.init.cutoff
  }

  private decayed (s: Sender): number {
    const now = this.init.now()
    if (now > s.at) {
      s.refusals *= Math.pow(this.init.decay, (now - s.at) / 1000)
      s.at = now
    }
    return s.refusals
  }

  private sender (peer: string): Sender {
    let s = this.senders.get(peer)
    if (s == null) {
      if (this.senders.size >= SWEEP_AT) {
        this.sweep()
      }
      s = { running: 0, waiting: [], refusals: 0, at: this.init.now() }
      this.senders.set(peer, s)
    }
    return s
  }
}

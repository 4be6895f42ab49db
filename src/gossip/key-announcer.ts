/**
 * Telling the mesh about a new signing key: when this node's token comes
 * from a newer epoch than its previous one, it publishes the key's
 * certificate on the keys topic, unless a peer already did. A short random
 * delay lets one node speak for all; the first token at start-up announces
 * nothing (the node did not see a rotation, it just started).
 */
export class KeyAnnouncer {
  /** the newest key epoch announced on the keys topic, by anyone */
  private seen = -1
  /** the epoch of this node's own newest token (-1 before the first) */
  private own = -1
  /** one-shot: the delayed announcement */
  private timer?: ReturnType<typeof setTimeout>
  private readonly announce: (certificate: string) => void
  private readonly random: () => number
  private readonly maxDelayMs: number

  constructor (announce: (certificate: string) => void, options: { random?: () => number, maxDelayMs?: number } = {}) {
    this.announce = announce
    this.random = options.random ?? Math.random
    this.maxDelayMs = options.maxDelayMs ?? 2_000
  }

  /** Start from this node's current token epoch (-1 without one). */
  start (ownEpoch: number): void {
    this.own = ownEpoch
  }

  stop (): void {
    clearTimeout(this.timer)
  }

  /** Someone announced `epoch` on the keys topic. */
  saw (epoch: number): void {
    this.seen = Math.max(this.seen, epoch)
  }

  /** This node got a token of `epoch`, whose key certificate is `certificate` (empty if none came). */
  ownToken (epoch: number, certificate: string): void {
    const previous = this.own
    this.own = Math.max(this.own, epoch)
    if (previous < 0 || epoch <= previous || epoch <= this.seen || certificate === '') {
      return
    }
    clearTimeout(this.timer)
    this.timer = setTimeout(() => {
      if (epoch > this.seen) {
        this.seen = epoch
        this.announce(certificate)
      }
    }, Math.floor(this.random() * this.maxDelayMs))
    this.timer.unref?.()
  }
}

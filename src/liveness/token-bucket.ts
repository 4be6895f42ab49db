/**
 * Token buckets per key, pure: the clock is injected, nothing else is
 * touched. A key's bucket holds up to `burst` tokens and refills at
 * `perSecond`; a bucket that has refilled to full is the same as no bucket,
 * so it is forgotten, and the number of keys held is bounded.
 */
export interface BucketRate {
  /** tokens a fresh bucket holds: how many events may come at once */
  burst: number
  /** tokens added per second, up to `burst`: the sustained rate */
  perSecond: number
}

interface Bucket {
  tokens: number
  /** when `tokens` was last brought up to date (ms) */
  at: number
}

export class KeyedTokenBuckets {
  private readonly rate: BucketRate
  private readonly now: () => number
  private readonly maxKeys: number
  private readonly buckets = new Map<string, Bucket>()

  constructor (rate: BucketRate, now: () => number, maxKeys: number) {
    if (!(rate.burst >= 1) || !(rate.perSecond > 0) || !Number.isInteger(maxKeys) || maxKeys < 1) {
      throw new RangeError('a bucket needs a burst ≥ 1, a positive rate and room for at least one key')
    }
    this.rate = rate
    this.now = now
    this.maxKeys = maxKeys
  }

  /** Tokens `key` has now (fractions included). */
  tokens (key: string): number {
    const b = this.buckets.get(key)
    if (b == null) {
      return this.rate.burst
    }
    const elapsed = Math.max(0, this.now() - b.at)
    return Math.min(this.rate.burst, b.tokens + elapsed * this.rate.perSecond / 1000)
  }

  /** True if `key` has a whole token to spend now. */
  has (key: string): boolean {
    return this.tokens(key) >= 1
  }

  /** How long until `key` has a whole token, ms (0: it has one now). */
  waitMs (key: string): number {
    const missing = 1 - this.tokens(key)
    return missing <= 0 ? 0 : Math.ceil(missing * 1000 / this.rate.perSecond)
  }

  /** Spend one token of `key` (the caller checked `has` first). */
  spend (key: string): void {
    const tokens = this.tokens(key) - 1
    // re-insert, so the map's order is least recently spent first
    this.buckets.delete(key)
    this.buckets.set(key, { tokens, at: this.now() })
    if (this.buckets.size > this.maxKeys) {
      this.evict()
    }
  }

  get size (): number {
    return this.buckets.size
  }

  /** Forget full buckets; if every bucket is in use, the least recently spent. */
  private evict (): void {
    for (const key of [...this.buckets.keys()]) {
      if (this.tokens(key) >= this.rate.burst) {
        this.buckets.delete(key)
      }
    }
    for (const key of this.buckets.keys()) {
      if (this.buckets.size <= this.maxKeys) {
        break
      }
      this.buckets.delete(key)
    }
  }
}

/**
 * How old a received entry may be believed to be. Pure.
 *
 * The age comes from the sender and is signed by nobody, yet it decides the
 * receiver's partner choice (the oldest entry is contacted first): with an
 * age of 65,535 an admitted liar makes its entries the receiver's next
 * partners, every time. An honest entry, though, is born as its peer's own
 * entry (age 0) after the peer obtained the token it carries, and ages by
 * one per shuffle period of the view it is in; so it cannot be older than
 * the periods elapsed since that token was issued. That bound comes from
 * the issuer's signature, not the sender: the receiver clamps every age to
 * it. A liar's entry can then look no older than an honest entry carrying
 * the same token, and no entry can look older than its token's lifetime
 * allows (3 min: 45 periods of 4 s). An age above the bound is not charged:
 * clocks differ, and an entry can be aged a little faster than once a
 * period on its way through nodes whose ticks fall close together.
 */
export function believableAge (claimed: number, issuedAtMs: number, nowMs: number, periodMs: number): number {
  const periods = Math.floor(Math.max(0, nowMs - issuedAtMs) / Math.max(1, periodMs))
  // + 1: the tick that aged it may fall just before the period boundary
  return Math.max(0, Math.min(claimed, periods + 1))
}

/** Sampling: protocol ids, view sizes per population, limits. */
import type { PeerType } from '../node/config.ts'

export function cyclonProtocol (type: PeerType): string {
  return `/tempus/cyclon/${type}/1.0.0`
}

/**
 * Defaults per population: edges are many and churn, so their view is the
 * paper's c = 20, l = 8; bridges and sentinels are few and long-lived, so a
 * smaller view covers them and shuffles less often.
 */
export const VIEW_DEFAULTS: Record<PeerType, { capacity: number, shuffleLength: number, periodMs: number }> = {
  edge: { capacity: 20, shuffleLength: 8, periodMs: 10_000 },
  bridge: { capacity: 10, shuffleLength: 4, periodMs: 15_000 },
  sentinel: { capacity: 10, shuffleLength: 4, periodMs: 15_000 }
}

export const SHUFFLE_TIMEOUT_MS = 5_000
/** incoming shuffles accepted per peer per minute, per view */
export const SHUFFLES_PER_PEER_PER_MINUTE = 30
export const MAX_SHUFFLE_BYTES = 64 * 1024
export const MAX_ENTRIES = 64
export const MAX_ADDRS = 8
export const MAX_ADDR_BYTES = 256
/** partners tried per tick when the oldest does not answer */
export const PARTNER_ATTEMPTS = 3

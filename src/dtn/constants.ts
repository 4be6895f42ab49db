/** DTN: protocol id, limits and defaults in one place. */

export const DTN_PROTOCOL = '/tempus/dtn/1.0.0'

export const DESTINATION_KIND = { peer: 1, type: 2, everyone: 3 } as const

/** Payloads above this are split into fragments of this size. */
export const DEFAULT_FRAGMENT_SIZE = 256 * 1024
/** the largest fragment a node accepts (a sender's fragment size may not exceed it) */
export const MAX_FRAGMENT_BYTES = 1024 * 1024
/** header, signature, evidence and routing fields around a fragment */
export const MAX_FRAME_OVERHEAD = 16 * 1024
export const MAX_FRAME_BYTES = MAX_FRAGMENT_BYTES + MAX_FRAME_OVERHEAD
export const MAX_HEADER_BYTES = 1024
/** an overlay id a destination names */
export const MAX_OVERLAY_BYTES = 128
export const DEFAULT_MAX_PAYLOAD = 32 * 1024 * 1024
export const MAX_PAYLOAD_LIMIT = 256 * 1024 * 1024

export const DEFAULT_LIFETIME_MS = 60 * 60_000
export const MAX_LIFETIME_MS = 7 * 24 * 60 * 60_000
export const DEFAULT_HOP_LIMIT = 16
export const MAX_HOP_LIMIT = 64
/** spray-and-wait copies of a new bundle (L in Spyropoulos et al.) */
export const DEFAULT_COPIES = 8
export const MAX_COPIES = 1024
/** a bundle may be created this far in the receiver's future */
export const DTN_SKEW_MS = 30_000

export const DEFAULT_QUOTA_TOTAL_BYTES = 512 * 1024 * 1024
export const DEFAULT_QUOTA_PER_SOURCE_BYTES = 64 * 1024 * 1024
/** what a fragment costs against the quotas at least (an empty one still stores a header, a signature and evidence) */
export const MIN_FRAGMENT_COST = 512
/** receipts held (each ~200 bytes) */
export const MAX_RECEIPTS_HELD = 100_000

/** how often each connected peer is offered what it should take */
export const DEFAULT_SESSION_PERIOD_MS = 10_000
/** a frame of a session must arrive within this */
export const FRAME_TIMEOUT_MS = 15_000
export const MAX_OFFER_KEYS = 1024
/**
 * A fragment a peer declined is left out of its offers for this many
 * periods (declined.ts): six of the default 10 s period are a minute, so a
 * peer whose room freed, or whose in-memory store restarted empty, is
 * offered it again within a minute.
 */
export const DECLINED_MEMORY_PERIODS = 6
/** (peer, declined key) pairs remembered (a PeerId, a key and a time each: about 10 MiB at the bound) */
export const MAX_DECLINED_REMEMBERED = 65_536
export const MAX_OFFER_RECEIPTS = 256
/** held fragments looked at when building one offer */
export const MAX_HELD_SCANNED = 16_384
/** our sessions to one peer start at least this far apart (so at most 60 a minute) */
export const MIN_SESSION_INTERVAL_MS = 1_000
/** sessions a peer may open per minute (twice what an honest peer opens at most) */
export const SESSIONS_PER_PEER_PER_MINUTE = 120
/** expired bundles are deleted at least this often */
export const EXPIRY_SWEEP_MS = 250
/** delivered ids are remembered this long after the bundle's expiry (late copies are dropped) */
export const DELIVERED_MEMORY_MS = 24 * 60 * 60_000

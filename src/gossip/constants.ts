/** Gossip: topics, the catch-up protocol, bounds. */

export const ANOMALY_TOPIC = 'tempus/anomaly/1'
export const CRL_TOPIC = 'tempus/crl/1'
export const KEYS_TOPIC = 'tempus/keys/1'
export const GOSSIP_TOPICS = [ANOMALY_TOPIC, CRL_TOPIC, KEYS_TOPIC] as const
export type GossipTopic = typeof GOSSIP_TOPICS[number]

export const CATCH_UP_PROTOCOL = '/tempus/anomaly/catchup/1.0.0'
/** catch-up with digests of what the asker holds (catch-up-digest.ts): asked first, 1.0.0 the fallback for an older peer */
export const CATCH_UP_DIGEST_PROTOCOL = '/tempus/anomaly/catchup/1.1.0'
/** the catch-up versions a node serves, and asks for in this order */
export const CATCH_UP_PROTOCOLS = [CATCH_UP_DIGEST_PROTOCOL, CATCH_UP_PROTOCOL]

/** the largest frame per topic: an anomaly is small; a revocation list may not be */
export const MAX_FRAME_BYTES: Record<GossipTopic, number> = {
  [ANOMALY_TOPIC]: 4096,
  [CRL_TOPIC]: 1024 * 1024 + 8192,
  [KEYS_TOPIC]: 8192
}

/** anomaly bounds */
export const MAX_KIND_LENGTH = 64
export const MAX_DIGEST_BYTES = 64
export const MAX_SEVERITY = 10
export const MAX_METADATA_ENTRIES = 8
export const MAX_METADATA_KEY = 32
export const MAX_METADATA_VALUE = 128
/** an id is the first 16 bytes of SHA-256(domain ‖ 0x00 ‖ overlay ‖ origin ‖ content): see anomaly-id.ts */
export const ANOMALY_ID_BYTES = 16
export const ANOMALY_ID_DOMAIN = 'tempus-anomaly-id-v1'
/** an anomaly lives at most this long */
export const MAX_ANOMALY_LIFETIME_MS = 7 * 24 * 3600_000
export const DEFAULT_ANOMALY_LIFETIME_MS = 3600_000
/** a live message's timestamp may differ from the receiver's clock by this much */
export const GOSSIP_SKEW_MS = 30_000

/** catch-up: frames per page, pages per catch-up, requests served per peer per minute */
export const CATCH_UP_PAGE = 128
export const CATCH_UP_MAX_PAGES = 8
export const CATCH_UP_PER_PEER_PER_MINUTE = 12
export const CATCH_UP_TIMEOUT_MS = 10_000
/** ask again for what was published this long before the newest anomaly held (late arrivals) */
export const CATCH_UP_OVERLAP_MS = 60_000
/** a catch-up with digests compares at least the anomalies published this long before now (a default lifetime) */
export const CATCH_UP_DIGEST_WINDOW_MS = DEFAULT_ANOMALY_LIFETIME_MS
/** buckets the compared window is cut into (an 8-byte digest each), and the most a request may carry */
export const CATCH_UP_BUCKETS = 60
export const MAX_CATCH_UP_BUCKETS = 64
/** the largest catch-up request: its digests and a few fields */
export const MAX_CATCH_UP_REQUEST_BYTES = 1024
/** at most one catch-up per this interval, unless the node was cut off */
export const CATCH_UP_MIN_INTERVAL_MS = 30_000
/** how many peers' last catch-up times a node keeps (a peer it forgot is one it catches up from on its next connection) */
export const CATCH_UP_PEERS_REMEMBERED = 1024
export const MAX_CATCH_UP_RESPONSE_BYTES = CATCH_UP_PAGE * MAX_FRAME_BYTES[ANOMALY_TOPIC] + 1024

/** how often expired anomalies are deleted */
export const EXPIRY_SWEEP_MS = 1_000

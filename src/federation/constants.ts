/** Federation: protocol id, schema, limits and defaults in one place. */

export const FEDERATION_PROTOCOL = '/tempus/federation/1.0.0'
export const FEDERATION_SCHEMA_VERSION = 1
/** a challenge's timestamp may be this far from the receiver's clock */
export const DEFAULT_FEDERATION_SKEW_MS = 5 * 60_000
/** a pin is stale this long after it was established, until a new handshake */
export const DEFAULT_ROTATION_WINDOW_MS = 12 * 60 * 60_000
export const MAX_ENVELOPE_BYTES = 8 * 1024
export const MAX_OVERLAY_ID_BYTES = 128
export const NONCE_BYTES = 16
export const HANDSHAKE_TIMEOUT_MS = 10_000
export const RELAY_PROTOCOL = '/tempus/federation/relay/1.0.0'
/** a relayed anomaly frame (the gossip frame, as its origin signed it) */
export const MAX_RELAY_FRAME_BYTES = 8 * 1024
/** relayed anomalies accepted per remote bridge per minute */
export const RELAYS_PER_PEER_PER_MINUTE = 600
export const CROSSING_PROTOCOL = '/tempus/federation/crossing/1.0.0'
/** a crossing: one DTN fragment frame, receipts, or a revocation list (at most 1 MiB) */
export const MAX_CROSSING_BYTES = 1024 * 1024 + 64 * 1024
export const MAX_CROSSING_RECEIPTS = 256
/** crossings accepted per remote bridge per minute (a 10 MiB bundle is 41 of them) */
export const CROSSINGS_PER_PEER_PER_MINUTE = 1200
/** how often a bridge looks for held bundles to hand across (also on news) */
export const CROSSING_INTERVAL_MS = 5_000

/** how often connected remote bridges without a fresh pin get a new handshake */
export const PIN_CHECK_INTERVAL_MS = 30_000

/** Admission: protocol ids, signature domains, limits and timing. */

export const ADMIT_PROTOCOL = '/tempus/admit/1.0.0'
/** re-presenting a fresh token on a live connection */
export const REFRESH_PROTOCOL = '/tempus/admit/refresh/1.0.0'

export const TOKEN_TTL_DEFAULT_MS = 3 * 60_000
export const TOKEN_TTL_MIN_MS = 2 * 60_000
export const TOKEN_TTL_MAX_MS = 5 * 60_000
/** clock skew tolerated on nbf/exp */
export const CLOCK_SKEW_MS = 30_000

/** largest token (compact JWS) accepted anywhere */
export const MAX_TOKEN_BYTES = 2048
/** largest key certificate accepted anywhere */
export const MAX_KEY_CERT_BYTES = 2048
/** largest admission frame */
export const MAX_ADMIT_FRAME_BYTES = 8192
export const NONCE_BYTES = 32

/** the whole exchange must finish within this, or the connection closes */
export const ADMISSION_DEADLINE_MS = 5_000
/**
 * How long after a node hears of a revocation (or admits a sender) it
 * excuses that sender for passing on the revoked peer: twelve default
 * revocation polls, and gossip's spread many times over (state.ts,
 * `mayNotKnowRevoked`).
 */
export const REVOCATION_NEWS_GRACE_MS = 60_000

export const JWT_TYPE_TOKEN = 'tempus-token+jwt'
export const JWT_TYPE_CREDENTIAL = 'tempus-credential+jwt'
export const JWT_TYPE_KEY_CERT = 'tempus-keycert+jwt'

/**
 * The admission service's defaults, in one place: the node's config schema
 * (src/node/config.ts) and the service's all-optional Init both read them.
 */
export const ADMISSION_DEFAULTS = {
  deadlineMs: ADMISSION_DEADLINE_MS,
  crlPollIntervalMs: 5_000,
  /**
   * how long the issuer may hold a poll of the revocation list or the keys
   * for newer ones (the issuer caps it at 30 s): a node asks about twice a
   * minute for each and hears of a change within the issuer's read of its
   * store (1 s)
   */
  pollWaitMs: 25_000,
  sweepIntervalMs: 5_000,
  keysPollIntervalMs: 30_000,
  /**
   * What established connections do while no issuer answers this node
   * (src/admission/outage-policy.ts; the threat analysis is in the README):
   * keep-established, because fail-closed turns an issuer outage into a
   * mesh outage while no revocation can be issued anyway
   */
  issuerOutage: 'keep-established' as 'keep-established' | 'fail-closed',
  /** how long keep-established holds lapsed connections after the outage began */
  outageGraceMs: 30 * 60_000
} as const

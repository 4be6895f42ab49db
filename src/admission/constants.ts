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

export const JWT_TYPE_TOKEN = 'tempus-token+jwt'
export const JWT_TYPE_CREDENTIAL = 'tempus-credential+jwt'
export const JWT_TYPE_KEY_CERT = 'tempus-keycert+jwt'

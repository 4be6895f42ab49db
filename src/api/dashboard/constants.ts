/** The dashboard's names and limits. */

export const SESSION_COOKIE = 'tempus_dashboard'
export const SESSION_PATH = '/dashboard'
/** a session lasts a working day; the operator logs in again after */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000
/** sessions held at once (browsers and tabs of one operator); the oldest ends first */
export const MAX_SESSIONS = 16
/** live feeds open at once across all sessions (each page opens one); more are refused with 503 */
export const MAX_STREAMS = 8
/** live feeds one session may hold at once (a page and its reload overlapping) */
export const MAX_STREAMS_PER_SESSION = 3
/** one snapshot a second to every open page */
export const TICK_MS = 1000
/** an anomaly or a refusal brings the next snapshot forward, but never closer than this to the last one */
export const MIN_GAP_MS = 250
/** points of history kept per series: ten minutes at one a second */
export const HISTORY_POINTS = 600
/** rows per list in one snapshot (peers, anomalies, bundles per box, refused peers) */
export const MAX_ROWS = 200
export const MAX_ANOMALY_ROWS = 50
export const MAX_BUNDLE_ROWS = 50
/** peers remembered as refused (the most recent) */
export const MAX_REFUSED_PEERS = 64
/** addresses shown per peer */
export const MAX_ADDRESSES = 4
/** bytes of snapshots queued on one feed's socket before it is skipped until it drains */
export const MAX_QUEUED_BYTES = 1024 * 1024
/** login attempts per address per minute */
export const LOGIN_PER_MINUTE = 20
/** the login body: `{ "token": "…" }` */
export const LOGIN_BODY_BYTES = 1024

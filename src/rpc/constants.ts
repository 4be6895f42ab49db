export const RPC_PROTOCOL = '/tempus/rpc/1.0.0'
export const MAX_RPC_FRAME_BYTES = 80 * 1024
export const DEFAULT_CALL_TIMEOUT_MS = 10_000
/** calls one peer may have running at once on this node */
export const MAX_INBOUND_CALLS_PER_PEER = 64
/** token bucket: calls per second per peer */
export const CALLS_PER_SECOND_PER_PEER = 1_000
/** many calls on one long-lived stream per connection and direction (protocols/rpc.md) */
export const RPC_SESSION_PROTOCOL = '/tempus/rpc/session/1.0.0'
/** a session that carried no call for this long is closed, so it keeps no idle connection open (ms) */
export const SESSION_IDLE_MS = 2_000
/** sessions one connection may open to this node at once (one per direction; a few for a reopen racing a close) */
export const MAX_SESSIONS_PER_CONNECTION = 4

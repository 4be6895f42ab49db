export const RPC_PROTOCOL = '/tempus/rpc/1.0.0'
export const MAX_RPC_FRAME_BYTES = 80 * 1024
export const DEFAULT_CALL_TIMEOUT_MS = 10_000
/** calls one peer may have running at once on this node */
export const MAX_INBOUND_CALLS_PER_PEER = 64
/** token bucket: calls per second per peer */
export const CALLS_PER_SECOND_PER_PEER = 1_000

/**
 * @packageDocumentation
 *
 * Liveness and reconnection: libp2p's connection monitor pings every
 * connection; the peer keeper redials peers worth keeping with backoff and
 * jitter and fills the node up to `minConnections`; the network watcher
 * closes connections left stale by an address change and redials;
 * connection settling starts identify (and gossipsub, the DHT) only on
 * connections that stay.
 */
export { backoffDelay } from '../core/backoff.ts'
export type { BackoffPolicy } from '../core/backoff.ts'
export { selectDialCandidates } from './dial-policy.ts'
export { DialBudgetError, DialRateLimiter, DIAL_LIMITS, dialKeys } from './dial-limiter.ts'
export type { DialLimiterInit } from './dial-limiter.ts'
export { KeyedTokenBuckets } from './token-bucket.ts'
export type { BucketRate } from './token-bucket.ts'
export type { DialCandidate } from './dial-policy.ts'
export { addressSnapshot, diffSnapshots, isChange } from './network-change.ts'
export type { AddressChange, InterfaceTable } from './network-change.ts'
export { peerKeeper, DefaultPeerKeeper } from './peer-keeper.ts'
export type { PeerKeeper, PeerKeeperInit, PeerKeeperComponents } from './peer-keeper.ts'
export { networkWatcher, NetworkWatcher } from './network-watcher.ts'
export type { NetworkWatcherInit, NetworkChangeEvent } from './network-watcher.ts'
export { probeConnection } from './probe.ts'
export { connectionSettling, ConnectionSettling } from './connection-settling.ts'
export type { ConnectionSettlingInit, ConnectionSettlingComponents, ConnectionSettlingStats, SettledHow } from './connection-settling.ts'

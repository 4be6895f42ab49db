/** Liveness: the defaults of the peer keeper, the network watcher and the ping monitor, in one place. */

/** Ping every connection; drop it after `pingFailuresToDrop` pings in a row go unanswered. */
export const LIVENESS_DEFAULTS = {
  /**
   * the node dials discovered peers (and peers from its views) while it has
   * fewer connections than this: gossipsub's mesh wants D = 6 peers per topic,
   * and hubs prune their mesh to D, so a node held at 4 connections, mostly
   * to hubs, can be left out of the mesh
   */
  minConnections: 8,
  /**
   * how many sentinels a node keeps a connection to (sentinel-choice.ts):
   * each of S sentinels is then kept by about N × this / S nodes, not by
   * all N
   */
  sentinelLinks: 3,
  /**
   * how many peers a network fault took (their connection ended for want of
   * an answer) the keeper redials, the most recent, during the early redial
   * window, though it does not keep them (lost-peers.ts): after a partition
   * heals each node crosses it again towards peers it knew
   */
  lostPeers: 3,
  /** how often the keeper looks again at which sentinels it knows, when nothing told it to sooner */
  sentinelRecheckMs: 30_000,

  pingIntervalMs: 10_000,
  pingTimeoutMs: 5_000,
  /** failed pings in a row that end a connection: one lost ping is not a dead peer */
  pingFailuresToDrop: 2,
  /** how often the node checks whether it needs more connections */
  maintainIntervalMs: 2_000,
  /** how often the interface addresses are polled for a network change */
  networkPollIntervalMs: 2_000,
  /**
   * ... and while the node has no connection at all: a node cut off by its
   * own link learns it is back only from this poll (the kernel tells a
   * process nothing), and everything it does next waits for it. One
   * interface-table read is a syscall; four a second on a node with
   * nothing else to do cost nothing a fleet would notice.
   */
  isolatedNetworkPollIntervalMs: 250,
  /**
   * how long a connection stays open before its upkeep (identify, and
   * through it gossipsub's streams and the DHT) starts: an exchange on a
   * connection dialled for it takes milliseconds, so the connections that
   * are closed after one never pay it (connection-settling.ts)
   */
  settleDelayMs: 1_500
} as const

/** Redial backoff for peers worth keeping (the kept sentinels, peers in use). */
export const REDIAL_DEFAULTS = {
  initialDelayMs: 250,
  maxDelayMs: 30_000,
  factor: 2,
  /** fraction of each delay that is randomised, 0..1 */
  jitter: 0.5,
  /**
   * for the first `earlyForMs` of a peer's absence, redials are at most this
   * far apart (never below `initialDelayMs`): a link or a partition that
   * heals within minutes is crossed again within seconds, not after a
   * backoff grown to 30 s while it lasted (issue #20: the 100-process chaos
   * run's healed partition, whose nodes waited up to 56 s). A peer gone for
   * longer is tried at the slower pace. Each redial is also within the dial
   * budget (one per 5 s per address once 3 ran), so this is its pace.
   */
  earlyMaxDelayMs: 5_000,
  earlyForMs: 5 * 60_000
} as const

/**
 * Tags by which another component would have libp2p redial a peer at every
 * start and disconnect (libp2p's reconnect queue dials every peer tagged
 * `keep-alive…`): kad-dht's on its 20 closest peers. Which peers are kept
 * is the keeper's decision, so the DHT's writes of it are left out
 * (src/node/dht-components.ts), and the keeper clears any a peer store
 * persisted from before at its start.
 */
export const FOREIGN_KEEP_ALIVE_TAGS: readonly string[] = ['keep-alive-kad-dht']

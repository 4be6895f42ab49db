/**
 * Every tunable default of a tempus node lives here, with the reason for its
 * value. The config schema (`config.ts`) takes its defaults from this file.
 */

import { LIVENESS_DEFAULTS } from '../liveness/constants.ts'
import { EVENTS_FILE, LOCK_FILE, MARKER_FILE } from '../storage/constants.ts'

export const TEMPUS_VERSION = '0.1.0'

/** The node types; a node has exactly one, fixed by its token's `typ` claim. */

/**
 * The private DHT protocol. Never the public `/ipfs/kad/1.0.0`: a tempus node
 * must not join, nor be found through, the public IPFS DHT.
 */
export const KAD_PROTOCOL = '/tempus/kad/1.0.0'

/**
 * libp2p's own protocols on a tempus node whose frames its `lpStream` reads,
 * with no bound of its own on a length prefix that does not end, and the
 * longest frame each takes: their streams are watched after the
 * negotiation too (src/core/frame-guard.ts). Identify's is its
 * `MAX_IDENTIFY_MESSAGE_SIZE`; the DHT sets none, and the reader buffers
 * at most 4 MiB (@libp2p/utils' `byteStream`), so no longer frame can be
 * read anyway.
 */
export const LIBP2P_FRAMED_PROTOCOLS: ReadonlyMap<string, number> = new Map([
  ['/ipfs/id/1.0.0', 8 * 1024],
  [KAD_PROTOCOL, 4 * 1024 * 1024]
])

/** The user agent prefix; identify carries `tempus-mesh/<version> (<type>)`. */
export const USER_AGENT_PREFIX = 'tempus-mesh'

/** Peer store metadata key under which a peer's type is remembered. */
export const PEER_TYPE_METADATA = 'tempus/type'

/** Peer store metadata key under which the last time a peer was seen is kept. */
export const LAST_SEEN_METADATA = 'tempus/last-seen'

/** mDNS service tag: tempus nodes only answer each other, not IPFS nodes. */
export const MDNS_SERVICE_TAG = 'tempus-mesh.local'

/**
 * Connection-manager limits, chosen on purpose rather than left at libp2p's
 * defaults:
 *
 * - libp2p refuses a host that opens more than 5 inbound connections per
 *   second. A dev mesh, a test harness or a NAT'd site shares one host
 *   address, and bursts of dials were reset (ECONNRESET) at that rate. 64/s
 *   per host still caps a single abusive host; admission (and the gater)
 *   deal with the peers behind the address.
 * - 64 pending (not yet upgraded) inbound connections: enough for a burst of
 *   honest dials; garbage senders are dropped by the upgrade timeout.
 * - 5 s inbound upgrade timeout (libp2p: 10 s): a peer that cannot finish
 *   Noise + Yamux on a LAN in 5 s is not worth a pending slot.
 */
export const CONNECTION_DEFAULTS = {
  maxConnections: 300,
  maxIncomingPendingConnections: 64,
  inboundConnectionThreshold: 64,
  maxParallelDials: 50,
  /**
   * a dial, one address's connect and upgrade, an inbound upgrade: each when
   * this node keeps up; moved on while its own loop runs late
   * (patient-transport.ts), libp2p's hard caps a multiple of them
   */
  dialTimeoutMs: 10_000,
  addressDialTimeoutMs: 6_000,
  inboundUpgradeTimeoutMs: 5_000,
  /** the peer keeper's floor (src/liveness/constants.ts) */
  minConnections: LIVENESS_DEFAULTS.minConnections,
  /** how many sentinels the peer keeper keeps (src/liveness/sentinel-choice.ts) */
  sentinelLinks: LIVENESS_DEFAULTS.sentinelLinks
} as const

/** Admin API: bound to loopback only, bearer token kept in the data dir. */
export const API_DEFAULTS = {
  host: '127.0.0.1',
  port: 0
} as const

/** Files inside a node's data directory. */
export const DATA_FILES = {
  config: 'config.yaml',
  identity: 'identity.key',
  apiToken: 'api-token',
  runtime: 'node.json',
  datastore: 'datastore',
  anomalies: 'anomalies.db',
  bundles: 'bundles.db',
  federation: 'federation.db',
  log: 'node.log',
  /** the directory's exclusive lock (src/storage/data-lock.ts) */
  lock: LOCK_FILE,
  /** which stores this directory has had (src/storage/store-marker.ts) */
  stores: MARKER_FILE,
  /** append-only audit of store resets and lock take-overs */
  events: EVENTS_FILE,
  /** the time of this node's last descriptor per Cyclon view (src/node/mint-log.ts) */
  mints: 'descriptor-mints.json'
} as const


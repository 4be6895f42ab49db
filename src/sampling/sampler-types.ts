/**
 * The sampling service's public shapes: its all-optional `Init`, the
 * components it is given, its events and what the API shows of an entry.
 */
import type { CloneProof } from '../core/clone-proof.ts'
import type { SAMPLER_DEFAULTS } from './constants.ts'
import type { DialBudget } from './shuffle-wire.ts'
import type { ViewSettings } from './view-settings.ts'
import type { AdmissionState } from '../admission/state.ts'
import type { PeerType } from '../core/peer-type.ts'
import type { ComponentLogger, Libp2pEvents, PeerId, PeerStore, PrivateKey } from '@libp2p/interface'
import type { AddressManager, ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { TypedEventTarget } from 'main-event'
import type { Registry } from 'prom-client'

/** Every field optional; the defaults are in constants.ts, the same the node's config schema fills in. */
export interface SamplerInit {
  /**
   * this node's own type: a member of that view, an observer of the others
   * @default the type it enrolled as (AdmissionState.selfType)
   */
  type?: PeerType
  /**
   * each view's size and pace; a field left out takes its default
   * @default VIEW_DEFAULTS, an observer at OBSERVER_PERIOD_FACTOR × the period
   */
  views?: Partial<Record<PeerType, Partial<ViewSettings>>>
  /**
   * whose verdicts check entries' tokens and take their senders' offences
   * @default the admission service's (src/admission/provider.ts)
   */
  state?: AdmissionState
  /** @default crypto.getRandomValues */
  random?: () => number
  /** a shuffle's deadline; @default SHUFFLE_TIMEOUT_MS (5 s) */
  timeoutMs?: number
  /** incoming shuffles per peer per minute and view; @default twice what one descriptor spacing allows (no honest peer's period is shorter), at least SHUFFLES_PER_PEER_PER_MINUTE */
  perPeerPerMinute?: number
  /**
   * A connection dialled only for a shuffle is closed afterwards while the
   * node holds more than this many connections: Cyclon meets a new random
   * partner every period, and keeping every one would connect each node to
   * most of the overlay (each connection costs a handshake, an admission,
   * identify, gossip and DHT streams).
   */
  keepConnections?: number
  /**
   * The node's configured bootstrap peers (multiaddrs ending in
   * /p2p/<peer id>, as the config requires). Those this node is connected
   * to, admitted as a view's type, are that view's bootstrap peers for the
   * sample exchange's partner rule (src/sampling/bootstrap-partners.ts),
   * beside the first peers the view held.
   * @default none
   */
  bootstrap?: string[]
  /**
   * This node's identity may have run before (a data directory keeps its
   * key). A run remembers nothing of the last one's hand-overs, so it then
   * hands on only descriptors minted after it started (by more than a clock
   * may be off): a chain the last run handed on, sent back now, would be
   * handed on twice, a clone proved against this node. An embedder that
   * reuses a key without a data directory must leave this true.
   * @default true
   */
  persistentIdentity?: boolean
  /**
   * Each view's descriptor spacing (ms), the least time between two
   * descriptors a peer mints of itself: overlay-wide, so every node of an
   * overlay must be given the same. A node refuses a period shorter than it
   * (a typed ConfigError naming `sampling.<type>.period`). Only an overlay
   * run faster than production (tests, `tempus dev`) sets it.
   * @default DESCRIPTOR_SPACING_MS (each view's default period)
   */
  descriptorSpacingMs?: Partial<Record<PeerType, number>>
  /**
   * Where this node keeps the time of its last descriptor per view across
   * restarts (the node's data directory). After a start it mints its first
   * no sooner than one spacing after both its start and that time, so a
   * clock stepped back across a restart cannot make it mint twice within
   * one spacing. Without it, only the start counts.
   * @default none
   */
  mintLog?: MintLog
  /**
   * The node's dial budget per address and host, shared with the peer
   * keeper so the node as a whole never hammers one address.
   * @default a budget of the sampler's own (DIAL_LIMITS, src/liveness/dial-limiter.ts)
   */
  dialBudget?: DialBudget
  /** the node's Prometheus registry: view sizes, shuffles and refused entries go there (see `metrics.ts`); none without it */
  registry?: Registry
  /**
   * the slot sampler beside each view: slots, ids offered per sample
   * exchange, re-seeding (protocols/cyclon.md)
   * @default SAMPLER_DEFAULTS
   */
  sampler?: Partial<typeof SAMPLER_DEFAULTS>
}

/** The time of this node's last descriptor per view, kept across restarts (src/node/mint-log.ts keeps it in the data directory). */
export interface MintLog {
  /** the last mint time (ms) per view recorded, none for a view never minted */
  load: () => Promise<Partial<Record<PeerType, number>>>
  /** record a mint; resolved once it would survive a crash */
  record: (type: PeerType, mintedAt: number) => Promise<void>
}

export interface SamplerComponents {
  peerId: PeerId
  /** to sign this node's own peer record for its entry */
  privateKey: PrivateKey
  registrar: Registrar
  connectionManager: ConnectionManager
  peerStore: PeerStore
  addressManager: AddressManager
  logger: ComponentLogger
  /** to seal this node's record again as soon as its addresses change (`self:peer:update`); without it, at the next tick */
  events?: TypedEventTarget<Libp2pEvents>
}

export interface SamplerEvents {
  'view:change': CustomEvent<{ type: PeerType, size: number }>
  /** a peer was caught handing one descriptor to two peers: the proof (clone-proof.ts), which the node offers to the issuer */
  'descriptor:cloned': CustomEvent<{ cloner: string, proof: CloneProof }>
  /** a sample exchange this node started ended: with whom, whether a bootstrap peer (the partner rule), and how */
  'sample:exchange': CustomEvent<{ type: PeerType, partner: string, bootstrap: boolean, outcome: 'ok' | 'failed' | 'deferred' }>
}

/** What the API shows of an entry: no token. */
export interface ViewEntry {
  peerId: string
  type: PeerType
  age: number
  addrs: string[]
}

/**
 * What the admin API needs of a node, and nothing more: the API is a
 * client of the node (`src/node/` never imports `src/api/`); whoever runs a
 * node (the CLI, the dev mesh, a test) starts the API on it, and the node
 * satisfies this port by its shape.
 */
import type { PeerType } from '../core/peer-type.ts'
import type { DtnService } from '../dtn/index.ts'
import type { FederationService } from '../federation/index.ts'
import type { GossipService } from '../gossip/index.ts'
import type { Registry } from 'prom-client'
import type { DashboardNode } from './dashboard/port.ts'

/** `DashboardNode`: what the dashboard reads besides (dashboard/port.ts) */
export interface AdminApiNode extends DashboardNode {
  readonly type: PeerType
  /** liveness, without the token (`/healthz`) */
  health: () => unknown
  /** readiness, without the token (`/readyz`): `ready` decides 200 or 503 */
  readiness: () => { ready: boolean }
  /** forget a peer's suspicion; undefined for a string that is not a PeerId */
  clearPeer: (peer: string) => Promise<unknown>
  /** forget every peer's suspicion, quarantine and ban */
  clearAllPeers: () => Promise<{ cleared: string[] }>
  readonly metricsRegistry: Pick<Registry, 'metrics' | 'contentType' | 'getSingleMetric'>
  readonly rpc: { policy: { list: () => unknown }, exposedMethods: () => unknown }
  readonly sampling: { view: (type: PeerType) => unknown[], capacity: (type: PeerType) => number, sampled: (type: PeerType) => number }
  readonly gossip: Pick<GossipService, 'list' | 'publish' | 'addEventListener' | 'removeEventListener'>
  readonly dtn: Pick<DtnService, 'list' | 'send' | 'status'>
  /** bridges only */
  readonly federation?: Pick<FederationService, 'anchors' | 'forget' | 'status'>
  getFederationMultiaddrs: () => string[]
  readonly enrollment: { overlay: string }
  readonly anomalyRelay?: { stats: object }
  readonly bundleRelay?: { stats: object }
  readonly config: {
    dtn: { maxPayload: number }
    federation: { relay: { anomalyKinds: unknown, bundles: boolean }, rpc: unknown }
  }
}

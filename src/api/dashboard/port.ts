/**
 * What the dashboard needs of a node: what the admin API already reads,
 * the sampler's sizes, the metrics registry's single families, and the
 * admission and gossip events that bring a snapshot forward. The node
 * satisfies it by its shape (`AdminApiNode` extends it).
 */
import type { AnomalyInput, BundlesInput, FederationInput, PeerInput, StatusInput } from './snapshot.ts'
import type { PeerType } from '../../core/peer-type.ts'
import type { AdmissionState } from '../../admission/state.ts'
import type { DtnService } from '../../dtn/index.ts'
import type { FederationService } from '../../federation/index.ts'
import type { GossipService } from '../../gossip/index.ts'
import type { Registry } from 'prom-client'

export interface DashboardNode {
  status: () => StatusInput
  peers: () => Promise<PeerInput[]>
  readonly sampling: { view: (type: PeerType) => unknown[], capacity: (type: PeerType) => number, sampled: (type: PeerType) => number }
  readonly gossip: Pick<GossipService, 'list' | 'addEventListener' | 'removeEventListener'>
  readonly dtn: Pick<DtnService, 'list' | 'status'>
  readonly federation?: Pick<FederationService, 'status'>
  readonly admission: Pick<AdmissionState, 'addEventListener' | 'removeEventListener'>
  readonly metricsRegistry: Pick<Registry, 'getSingleMetric'>
}

export type { AnomalyInput, BundlesInput, FederationInput, PeerInput, StatusInput }

/**
 * Anomaly gossip: signed, validated anomaly signatures over gossipsub, with
 * catch-up for nodes that were offline. See protocols/gossip.md.
 */
export { gossipService, GossipService } from './service.ts'
export type { DeliveredAnomaly, GossipEvents, GossipRefused, GossipServiceInit, GossipStats } from './service.ts'
export type { Anomaly, AnomalyInput, Provenance } from './anomaly.ts'
export { anomalyBinding, bindAnomaly, deriveAnomalyId } from './anomaly-id.ts'
export type { AnomalyContent, BoundAnomaly } from './anomaly-id.ts'
export { AnomalyStore } from './store.ts'
export type { Holding, ListOptions, StoredAnomaly } from './store.ts'
export { ANOMALY_TOPIC, CRL_TOPIC, KEYS_TOPIC, CATCH_UP_PROTOCOL, CATCH_UP_DIGEST_PROTOCOL, CATCH_UP_PROTOCOLS, GOSSIP_TOPICS } from './constants.ts'
export { GossipError } from './errors.ts'
export type { GossipRefusal } from './errors.ts'
export { SCORE_THRESHOLDS, scoreParams } from './scoring.ts'
export { gossipMessageId } from './message-id.ts'

/**
 * Federation: bridges of different overlays pin each other's keys with
 * signed, fresh challenges, on an endpoint of their own. See
 * protocols/federation.md.
 */
export { buildEnvelope, verifyEnvelope, NonceCache } from './challenge.ts'
export type { LocalBridge, TrustPolicy, VerifiedRemote, VerifyContext } from './challenge.ts'
export { TrustAnchors, AnchoredBridgeVerifier } from './anchors.ts'
export type { TrustAnchor } from './anchors.ts'
export { Pins, MemoryPinStore, SqlitePinStore } from './pins.ts'
export type { Pin, PinState, PinStore, PinsInit } from './pins.ts'
export { federationService, FederationService } from './service.ts'
export type { FederationEvents, FederationServiceInit } from './service.ts'
export { createFederationEndpoint } from './endpoint.ts'
export type { FederationEndpoint, FederationEndpointInit } from './endpoint.ts'
export { FEDERATION_PROTOCOL } from './constants.ts'
export { FederationError } from './errors.ts'
export type { FederationRefusal } from './errors.ts'
export { AnomalyRelay } from './anomaly-relay.ts'
export type { AnomalyRelayInit, AnomalyRelayStats } from './anomaly-relay.ts'
export { RELAY_PROTOCOL } from './constants.ts'
export { BundleRelay } from './bundle-relay.ts'
export type { BundleRelayInit, BundleRelayStats } from './bundle-relay.ts'
export { CROSSING_PROTOCOL } from './constants.ts'

/**
 * @packageDocumentation
 *
 * tempus-mesh: a zero-trust overlay on js-libp2p.
 *
 * @example
 *
 * ```ts
 * import { createTempusNode, startAdminApi } from 'tempus-mesh'
 *
 * const node = await createTempusNode({
 *   type: 'edge',
 *   listen: ['/ip4/127.0.0.1/tcp/0'],
 *   bootstrap: ['/ip4/127.0.0.1/tcp/4001/p2p/12D3KooW…']
 * }, { dataDir: './data/edge-1', adminApi: startAdminApi }) // leave adminApi out to serve no admin API
 *
 * console.log(node.peerId.toString(), node.getMultiaddrs())
 * console.log(await node.peers())
 * await node.stop()
 * ```
 */
export { createTempusNode, TempusNode } from './node/tempus-node.ts'
export { startAdminApi } from './api/server.ts'
export type { AdminApiNode } from './api/node-port.ts'
export type { TempusNodeOptions, TempusServices, PeerSummary, NodeStatus, AdminApiStarter, StartedAdminApi } from './node/tempus-node.ts'
export { parseConfig, loadConfigFile, configSchema } from './node/config.ts'
export type { TempusConfig, TempusConfigInput } from './node/config.ts'
export { PEER_TYPES, isPeerType } from './core/peer-type.ts'
export type { PeerType } from './core/peer-type.ts'
// every error the project throws on purpose: a stable name and code (TempusError)
export { TempusError } from './core/tempus-error.ts'
export { ConfigError, DataDirError, NodeNotRunningError, NotEnrolledError } from './node/errors.ts'
export { AdmissionError } from './admission/errors.ts'
export { ResumeWireError } from './admission/resume-handshake.ts'
export { MissingAdmissionError } from './admission/provider.ts'
export { RekeyError } from './admission/rekey.ts'
export { DtnError } from './dtn/errors.ts'
export { FederationError } from './federation/errors.ts'
export { RpcError, EncodingError } from './rpc/errors.ts'
export { HttpError } from './http/errors.ts'
export { IssuerError } from './issuer/errors.ts'
export { AuditLogDamagedError } from './issuer/audit-rows.ts'
export { StoreUrlError } from './issuer/db/postgres.ts'
export { IssuerClientError } from './issuer-client/client.ts'
export { IssuerUrlError } from './issuer-client/issuer-url.ts'
export { StorageError, DataDirLockedError } from './storage/errors.ts'
export { DialBudgetError } from './liveness/dial-limiter.ts'
export { PeerUnresponsiveError } from './liveness/lost-peers.ts'
export { SealError } from './identity/seal.ts'
export type { StorageFault } from './storage/errors.ts'
export type { RefusalReason } from './admission/errors.ts'
export type { RpcErrorCode } from './rpc/errors.ts'
export type { DtnRefusal } from './dtn/errors.ts'
export type { FederationRefusal } from './federation/errors.ts'
export { KAD_PROTOCOL, TEMPUS_VERSION } from './node/constants.ts'
export { IdentityError, KeyError } from './identity/index.ts'
export type { KeyErrorCode } from './identity/index.ts'
// where a node's identity key lives: an encrypted file, or a PKCS#11 token (pass the key as `privateKey`)
export { EncryptedFileKeyStore, Pkcs11KeyStore, identityKeyStore, loadOrCreateIdentity, releaseIdentityKey, openPkcs11Key, parsePkcs11Uri, formatPkcs11Uri, libp2pKeyOf } from './identity/index.ts'
export type { KeyStore, Pkcs11Uri } from './identity/index.ts'
export { memorySigner } from './core/keys.ts'
export type { Ed25519Signer } from './core/keys.ts'
export { createLogger } from './logging/logger.ts'
export { GossipError, ANOMALY_TOPIC } from './gossip/index.ts'
export { BadRecordError, DescriptorError, MalformedSampleError, MalformedShuffleError } from './sampling/errors.ts'
export { cloneProofFromJson, cloneProofToJson, verifyCloneProof } from './core/clone-proof.ts'
export type { CloneProof, CloneProofJson } from './core/clone-proof.ts'
export type { DescriptorRefusal } from './core/descriptor-error.ts'
export type { Anomaly, AnomalyInput, DeliveredAnomaly, StoredAnomaly, GossipRefusal } from './gossip/index.ts'

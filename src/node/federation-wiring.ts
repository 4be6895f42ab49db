/**
 * A bridge's federation: a second libp2p host with only the federation
 * protocol (and the RPC it grants), its pins kept in the data directory,
 * and the two relays that carry anomalies and bundles across. The relays
 * register with the endpoint's service for what pinned remote bridges hand
 * over (`receiveAnomalies`, `receiveCrossings`), so nothing here refers to
 * a part made later.
 */
import { AnomalyRelay, BundleRelay, createFederationEndpoint, Pins, SqlitePinStore, TrustAnchors } from '../federation/index.ts'
import { pinoComponentLogger } from '../logging/logger.ts'
import { dataPath, storeRecovery } from './data-dir.ts'
import type { AdmissionState } from '../admission/state.ts'
import type { DtnService } from '../dtn/index.ts'
import type { FederationEndpoint } from '../federation/index.ts'
import type { GossipService } from '../gossip/index.ts'
import type { PinoLogger } from '../logging/logger.ts'
import type { Rpc } from '../rpc/rpc.ts'
import type { TempusConfig } from './config.ts'
import type { PrivateKey } from '@libp2p/interface'
import type { Registry } from 'prom-client'

export interface BridgeParts {
  privateKey: PrivateKey
  /** this node's PeerId, as text */
  peerId: string
  overlay: string
  admission: AdmissionState
  rpc: Rpc
  gossip: GossipService
  dtn: DtnService
  dataDir?: string
  log: PinoLogger
  now: () => number
  /** the node's Prometheus registry: pins, crossings and relays go there */
  registry?: Registry
}

export interface BridgeFederation {
  endpoint?: FederationEndpoint
  pinStore?: SqlitePinStore
  anomalyRelay?: AnomalyRelay
  bundleRelay?: BundleRelay
}

/** Make a bridge's federation; what it opened is pushed onto `undo` (closed in reverse if a later step fails). */
export async function bridgeFederation (parsed: TempusConfig, parts: BridgeParts, undo: Array<() => unknown>): Promise<BridgeFederation> {
  const { privateKey, peerId, overlay, admission, dataDir, log, now } = parts
  const anchors = new TrustAnchors(parsed.federation.anchors, now)
  const pinStore = dataDir == null ? undefined : new SqlitePinStore(dataPath(dataDir, 'federation'), { recovery: storeRecovery(dataDir, 'federation') })
  undo.push(() => { pinStore?.close() })
  const endpoint = await createFederationEndpoint({
    privateKey,
    overlay,
    listen: parsed.federation.listen,
    remotes: parsed.federation.remotes,
    anchors,
    pins: new Pins({ store: pinStore, rotationWindowMs: parsed.federation.rotationWindow, now }),
    logger: pinoComponentLogger(log.child({ endpoint: 'federation' })),
    now,
    skewMs: parsed.federation.skew,
    deadlineMs: parsed.admission.deadline,
    ownToken: () => admission.ownToken,
    rpc: parts.rpc,
    rpcGrants: parsed.federation.rpc,
    ownRevocationList: () => admission.revocations.current?.jws,
    registry: parts.registry
  })
  // a new revocation list of this overlay goes to the pinned bridges of the others
  admission.addEventListener('revoked', () => { void endpoint.federation.pushRevocations() })
  const relayLog = log.child({ component: 'tempus:federation:relay' })
  const anomalyRelay = new AnomalyRelay({
    gossip: parts.gossip,
    federation: endpoint.federation,
    anchors,
    kinds: parsed.federation.relay.anomalyKinds,
    now,
    registry: parts.registry,
    log: (message, detail) => { relayLog.debug(detail ?? {}, message) }
  })
  // nothing crosses by default: without the bundle relay a crossing is answered "not stored"
  const bundleRelay = !parsed.federation.relay.bundles
    ? undefined
    : new BundleRelay({
      dtn: parts.dtn,
      federation: endpoint.federation,
      anchors,
      overlay,
      signer: () => {
        const own = admission.ownToken
        return own == null ? undefined : { privateKey, peerId, evidence: { token: own.token, keyCertificate: own.keyCertificate } }
      },
      maxPayload: parsed.dtn.maxPayload,
      now,
      log: (message, detail) => { relayLog.debug(detail ?? {}, message) },
      registry: parts.registry
    })
  return { endpoint, pinStore, anomalyRelay, bundleRelay }
}

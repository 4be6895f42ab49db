/**
 * The libp2p options of a tempus node: a pure function of its configuration
 * and the parts already made for it (its key, stores, admission state and
 * token manager); no I/O. Transports, the admission inside Noise, the
 * connection limits, and every service with its settings, in one place.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { ping } from '@libp2p/ping'
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import { tcp } from '@libp2p/tcp'
import { hardCaps, patientTransport } from './patient-transport.ts'
import { admittingEncrypter } from '../admission/encrypter.ts'
import { EarlyHellos, resumingEncrypter } from '../admission/resuming-encrypter.ts'
import { coalescingWrites } from './coalescing-writes.ts'
import { noiseFrameLength } from '../core/noise-frame-length.ts'
import { noiseCrypto } from '../core/noise-crypto.ts'
import { admissionGater } from '../admission/gater.ts'
import { negotiationGuardedMuxer } from './negotiation-guarded-muxer.ts'
import { peerStoreCache } from './peer-store-cache.ts'
import { hearingPings } from '../liveness/heard-pings.ts'
import { RESUME_PROTOCOL } from '../admission/resume-handshake.ts'
import { withoutRedundantLoopback } from './announce-filter.ts'
import type { OwnAddresses } from '../core/own-addresses.ts'
import { admissionService } from '../admission/service.ts'
import { bootstrapList as bootstrapDiscovery } from '../discovery/bootstrap-list.ts'
import { scopedMdns } from '../discovery/index.ts'
import { dtnService } from '../dtn/index.ts'
import { gossipMessageId, gossipService, GOSSIP_TOPICS, SCORE_THRESHOLDS, scoreParams } from '../gossip/index.ts'
import { connectionSettling } from '../liveness/connection-settling.ts'
import { networkWatcher } from '../liveness/network-watcher.ts'
import { pingMonitor } from '../liveness/ping-monitor.ts'
import { peerKeeper } from '../liveness/peer-keeper.ts'
import { pinoComponentLogger } from '../logging/logger.ts'
import { rpc } from '../rpc/rpc.ts'
import { sampler } from '../sampling/sampler.ts'
import { CONNECTION_DEFAULTS, KAD_PROTOCOL, LIBP2P_FRAMED_PROTOCOLS, TEMPUS_VERSION } from './constants.ts'
import { dhtComponents } from './dht-components.ts'
import { peerDirectory } from './peer-directory.ts'
import { userAgentFor } from './peer-type.ts'
import type { AdmissionService } from '../admission/service.ts'
import type { AdmissionState } from '../admission/state.ts'
import type { TokenManager } from '../admission/token-manager.ts'
import type { PeerType } from '../core/peer-type.ts'
import type { BundleStore, DtnService } from '../dtn/index.ts'
import type { AnomalyStore, DeliveredAnomaly, GossipService } from '../gossip/index.ts'
import type { IssuerReplicas } from '../issuer-client/replicas.ts'
import type { DialRateLimiter } from '../liveness/dial-limiter.ts'
import type { ConnectionSettling } from '../liveness/connection-settling.ts'
import type { NetworkWatcher } from '../liveness/network-watcher.ts'
import type { PingMonitor } from '../liveness/ping-monitor.ts'
import type { DefaultPeerKeeper } from '../liveness/peer-keeper.ts'
import type { PinoLogger } from '../logging/logger.ts'
import type { Rpc } from '../rpc/rpc.ts'
import type { Sampler } from '../sampling/sampler.ts'
import type { ViewSettings } from '../sampling/view-settings.ts'
import type { MintLog } from '../sampling/sampler-types.ts'
import type { TempusConfig } from './config.ts'
import type { DefaultPeerDirectory } from './peer-directory.ts'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Identify } from '@libp2p/identify'
import type { PrivateKey } from '@libp2p/interface'
import type { KadDHT } from '@libp2p/kad-dht'
import type { Ping } from '@libp2p/ping'
import type { PeerStoreCache } from './peer-store-cache.ts'
import type { Datastore } from 'interface-datastore'
import type { Libp2pOptions } from 'libp2p'
import type { Registry } from 'prom-client'

/** @chainsafe/libp2p-noise's protocol id (its `protocol`): the inbound negotiation guard ends at its proposal */
const NOISE_PROTOCOL = '/noise'

export type TempusServices = {
  peerCache: PeerStoreCache
  identify: Identify
  settling: ConnectionSettling
  ping: Ping
  dht: KadDHT
  pubsub: GossipSub
  directory: DefaultPeerDirectory
  keeper: DefaultPeerKeeper
  network: NetworkWatcher
  liveness: PingMonitor
  admission: AdmissionService
  sampling: Sampler
  rpc: Rpc
  gossip: GossipService
  dtn: DtnService
}

/** What the options are made of besides the configuration. */
export interface Libp2pParts {
  privateKey: PrivateKey
  datastore: Datastore
  log: PinoLogger
  registry: Registry
  admission: AdmissionState
  tokens: TokenManager
  client: IssuerReplicas
  anomalies: AnomalyStore
  bundles: BundleStore
  dialBudget: DialRateLimiter
  /** this node's own listening addresses, which it never dials (own-addresses.ts) */
  ownAddresses?: OwnAddresses
  /** the enrolment's overlay and bootstrap list */
  enrollment: { overlay: string, bootstrap: string[] }
  onAnomaly?: (anomaly: DeliveredAnomaly) => void
  now: () => number
  random: () => number
  /** the node keeps its identity in a data directory: it may have run before (the sampler then relays only what it could not have handed on already) */
  persistentIdentity?: boolean
  /** where the time of the node's last descriptor per view is kept (its data directory) */
  mintLog?: MintLog
  /** the overlay's descriptor spacing per view, when not the default (TempusNodeOptions.descriptorSpacingMs) */
  descriptorSpacingMs?: Partial<Record<PeerType, number>>
}

export function libp2pOptions (parsed: TempusConfig, parts: Libp2pParts): Libp2pOptions<TempusServices> {
  const { privateKey, datastore, log, registry, admission, tokens, client, anomalies, bundles, dialBudget, enrollment, now, random } = parts
  const peerDiscovery = []
  const bootstrapList = [...new Set([...parsed.bootstrap, ...enrollment.bootstrap])]
  if (bootstrapList.length > 0) {
    // listed, not dialled: the peer keeper dials the few it keeps (src/liveness/sentinel-choice.ts)
    peerDiscovery.push(bootstrapDiscovery({ list: bootstrapList }))
  }
  if (parsed.mdns.enabled) {
    peerDiscovery.push(scopedMdns({ interval: parsed.mdns.interval, serviceTag: parsed.mdns.serviceTag, interfaces: parsed.mdns.interfaces }))
  }

  // Noise with each X25519 key made a KeyObject once (noise-crypto.ts)
  const admittingNoise = admittingEncrypter(coalescingWrites(noiseFrameLength(noise({ crypto: noiseCrypto }))), admission)
  // a resumed dial's hello goes with its security proposal (resuming-encrypter.ts)
  const earlyHellos = new EarlyHellos()
  // each connection deadline when this node keeps up (patient-transport.ts); libp2p's own are caps over them
  const handshake = { dialMs: parsed.connections.dialTimeout, addressDialMs: Math.min(CONNECTION_DEFAULTS.addressDialTimeoutMs, parsed.connections.dialTimeout), inboundUpgradeMs: parsed.connections.inboundUpgradeTimeout }
  return {
    start: false,
    privateKey,
    datastore,
    logger: pinoComponentLogger(log),
    nodeInfo: { name: 'tempus-mesh', version: TEMPUS_VERSION, userAgent: userAgentFor(parsed.type) },
    // a loopback address only when its listener is reachable on no other (announce-filter.ts)
    addresses: { listen: parsed.listen, announce: parsed.announce, announceFilter: withoutRedundantLoopback },
    // connection deadlines moved on while this node's own loop runs late (patient-transport.ts)
    transports: [patientTransport(tcp({ inboundSocketInactivityTimeout: 5 * 60_000, outboundSocketInactivityTimeout: 5 * 60_000 }), {
      addressDialMs: handshake.addressDialMs,
      inboundUpgradeMs: handshake.inboundUpgradeMs,
      onExtended: direction => { admission.handshakeExtensions[direction]++ }
    })],
    // Noise, then admission inside it, before the muxer: nothing else runs on an unadmitted
    // connection. First in the list, where tickets are on: a resumption on a ticket before
    // Noise, or (one byte) the same Noise and admission (resuming-encrypter.ts); `/noise`
    // stays for nodes of a version without it
    connectionEncrypters: [
      ...(admission.tickets == null ? [] : [coalescingWrites(resumingEncrypter(admittingNoise, admission, earlyHellos))]),
      admittingNoise
    ],
    // an inbound connection's negotiation before its security handshake is held to an honest dialler's bounds
    connectionGater: admissionGater(admission, {
      isOwnAddress: parts.ownAddresses?.isOwn,
      securityProtocols: [...(admission.tickets == null ? [] : [RESUME_PROTOCOL]), NOISE_PROTOCOL],
      onOutbound: (peer, maConn) => { earlyHellos.prepare?.(peer, maConn) }
    }),
    // no Yamux keep-alive: the ping monitor (src/liveness) already probes every
    // connection with Yamux's ping frame and acts on the answer, where the
    // keep-alive only logs a failure; it pinged once at every connection's
    // start (two frames each way before the first call) and again every 30 s,
    // and stopping its task at each close built an AbortError
    // each stream's protocol negotiation held to an honest side's bounds; a peer that breaks them is charged
    // and each muxer remembers when its peer last pinged it: the ping monitor leaves such a connection to that end (src/liveness/heard-pings.ts)
    streamMuxers: [negotiationGuardedMuxer(hearingPings(yamux({ enableKeepAlive: false })), {
      onViolation: (peer, detail) => { admission.raise(peer, 'malformed-frame', detail) },
      framing: protocol => LIBP2P_FRAMED_PROTOCOLS.get(protocol)
    })],
    peerDiscovery,
    connectionManager: {
      maxConnections: parsed.connections.maxConnections,
      maxIncomingPendingConnections: parsed.connections.maxIncomingPendingConnections,
      inboundConnectionThreshold: parsed.connections.inboundConnectionThreshold,
      maxParallelDials: parsed.connections.maxParallelDials,
      // hard caps: the patient deadlines above fall first unless this node ran late
      ...hardCaps(handshake),
      allow: parsed.connections.allow,
      // redials are the peer keeper's job (backoff with jitter, no cap for sentinels)
      reconnectRetries: 0
    },
    // liveness is the ping monitor's (src/liveness/ping-monitor.ts): libp2p's
    // aborts a connection at the first failed heartbeat, even one that failed
    // only because the last heartbeat was still waiting for a slow answer
    connectionMonitor: { enabled: false },
    // the process's own figures are collected once per process and added to this registry (src/node/process-metrics.ts)
    metrics: parsed.metrics.enabled ? prometheusMetrics({ registry, collectDefaultMetrics: false }) : undefined,
    services: {
      // before every other service: they read the peer store through it (src/node/peer-store-cache.ts)
      peerCache: peerStoreCache({ now }),
      // first after it: the services after it take the admission state from it (src/admission/provider.ts)
      admission: admissionService(admission, {
        tokens,
        client,
        crlPollIntervalMs: parsed.admission.crlPollInterval,
        crlWaitMs: parsed.admission.pollWait,
        sweepIntervalMs: parsed.admission.sweepInterval,
        outage: { mode: parsed.admission.issuerOutage, graceMs: parsed.admission.outageGrace },
        log: log.child({ component: 'tempus:admission' }),
        registry
      }),
      // identify (and through it gossipsub's streams and the DHT) waits until
      // a connection has settled: most are closed after one exchange
      // (src/liveness/connection-settling.ts)
      identify: identify({ runOnConnectionOpen: false }),
      settling: connectionSettling({ settleMs: parsed.liveness.settleDelay, registry }),
      ping: ping(),
      // the DHT does not choose which connections are kept (src/node/dht-components.ts)
      dht: (components: any) => kadDHT({
        protocol: KAD_PROTOCOL,
        clientMode: parsed.type === 'edge',
        // a private overlay lives on private and loopback addresses too
        peerInfoMapper: passthroughMapper,
        logPrefix: 'libp2p:tempus-kad',
        metricsPrefix: 'tempus_kad'
      })(dhtComponents(components)),
      pubsub: gossipsub({
        emitSelf: false,
        fallbackToFloodsub: false,
        allowPublishToZeroTopicPeers: true,
        // one signature per message, the frame's (protocols/gossip.md, "One
        // signature"): gossipsub signs nothing, and a message's id is a hash of
        // its topic and every byte of its frame, so only a byte-identical copy
        // (same verdict) can share an honest message's place in the seen-cache
        globalSignaturePolicy: 'StrictNoSign',
        msgIdFn: gossipMessageId,
        scoreParams: scoreParams(GOSSIP_TOPICS, peer => admission.suspicion.score(peer)),
        scoreThresholds: SCORE_THRESHOLDS
      }),
      gossip: gossipService({ store: anomalies, tokens, now, onAnomaly: parts.onAnomaly, registry }),
      dtn: dtnService({
        store: bundles,
        type: parsed.type,
        now,
        routing: parsed.dtn.routing,
        copies: parsed.dtn.copies,
        preferredCarriers: parsed.dtn.preferredCarriers,
        fragmentSize: parsed.dtn.fragmentSize,
        maxPayload: parsed.dtn.maxPayload,
        lifetimeMs: parsed.dtn.lifetime,
        hopLimit: parsed.dtn.hopLimit,
        overlay: enrollment.overlay,
        encrypt: parsed.dtn.encrypt,
        periodMs: parsed.dtn.period,
        registry
      }),
      directory: peerDirectory({ now, admittedType: peer => admission.admitted.get(peer)?.claims.typ }),
      keeper: peerKeeper({
        backoff: {
          initialDelayMs: parsed.redial.initialDelay,
          maxDelayMs: parsed.redial.maxDelay,
          factor: parsed.redial.factor,
          jitter: parsed.redial.jitter
        },
        earlyBackoff: { maxDelayMs: parsed.redial.earlyMaxDelay, forMs: parsed.redial.earlyFor },
        minConnections: parsed.connections.minConnections,
        sentinelLinks: parsed.connections.sentinelLinks,
        lostPeers: parsed.redial.lostPeers,
        maintainIntervalMs: parsed.liveness.maintainInterval,
        now,
        random,
        dialBudget
      }),
      liveness: pingMonitor({
        intervalMs: parsed.liveness.pingInterval,
        timeoutMs: parsed.liveness.pingTimeout,
        failuresToDrop: parsed.liveness.pingFailures,
        registry
      }),
      network: networkWatcher({
        pollIntervalMs: parsed.liveness.networkPollInterval,
        isolatedPollIntervalMs: parsed.liveness.isolatedNetworkPollInterval,
        probeTimeoutMs: parsed.liveness.pingTimeout
      }),
      rpc: rpc({ rules: parsed.rpc.rules as any, callsPerSecondPerPeer: parsed.rpc.callsPerSecondPerPeer, maxInboundPerPeer: parsed.rpc.maxInFlightPerPeer, sessions: parsed.rpc.sessions, registry }),
      sampling: sampler({
        type: parsed.type,
        keepConnections: 2 * parsed.connections.minConnections,
        bootstrap: bootstrapList,
        persistentIdentity: parts.persistentIdentity,
        mintLog: parts.mintLog,
        descriptorSpacingMs: parts.descriptorSpacingMs,
        dialBudget,
        views: {
          edge: viewSettings(parsed.sampling.edge),
          bridge: viewSettings(parsed.sampling.bridge),
          sentinel: viewSettings(parsed.sampling.sentinel)
        },
        registry
      })
    }
  }
}

function viewSettings (v: TempusConfig['sampling'][PeerType]): ViewSettings {
  return { capacity: v.capacity, shuffleLength: v.shuffleLength, periodMs: v.period, observerPeriodMs: v.observerPeriod }
}

/**
 * `createTempusNode(config)`: libp2p v3 composed with tempus' services, its
 * identity, its persisted peer store and its admin API.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { bootstrap } from '@libp2p/bootstrap'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { gossipsub } from '@libp2p/gossipsub'
import { AnomalyStore, fastMessageId, gossipService, GOSSIP_TOPICS, SCORE_THRESHOLDS, scoreParams } from '../gossip/index.ts'
import type { DeliveredAnomaly, GossipService } from '../gossip/index.ts'
import { BundleStore, dtnService } from '../dtn/index.ts'
import { MAX_RECEIPTS_HELD } from '../dtn/constants.ts'
import type { DtnService } from '../dtn/index.ts'
import { AnomalyRelay, BundleRelay, createFederationEndpoint, Pins, SqlitePinStore, TrustAnchors } from '../federation/index.ts'
import type { FederationEndpoint, FederationService } from '../federation/index.ts'
import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { ping } from '@libp2p/ping'
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import { tcp } from '@libp2p/tcp'
import { MemoryDatastore } from 'datastore-core'
import { FsDatastore } from 'datastore-fs'
import { createLibp2p } from 'libp2p'
import { Registry } from 'prom-client'
import { admittingEncrypter } from '../admission/encrypter.ts'
import { enrolledIssuers, loadEnrollment, saveRenewedCredential } from '../admission/enrollment.ts'
import { completePendingRekey } from '../admission/rekey.ts'
import { admissionGater } from '../admission/gater.ts'
import { admissionService } from '../admission/service.ts'
import { admissionStateFor } from '../admission/state.ts'
import type { AdmissionState, OwnToken } from '../admission/state.ts'
import { TokenManager } from '../admission/token-manager.ts'
import { sampler } from '../sampling/sampler.ts'
import { rpc } from '../rpc/rpc.ts'
import { IssuerReplicas } from '../issuer-client/replicas.ts'
import { generateApiToken, loadOrCreateApiToken } from './api-token.ts'
import { EncryptedFileKeyStore, loadOrCreateIdentity, resolvePassphrase } from '../identity/index.ts'
import { scopedMdns } from '../discovery/index.ts'
import { networkWatcher } from '../liveness/network-watcher.ts'
import { peerKeeper } from '../liveness/peer-keeper.ts'
import { DialRateLimiter } from '../liveness/dial-limiter.ts'
import { createLogger, pinoComponentLogger } from '../logging/logger.ts'
import { ConfigError, NotEnrolledError } from './errors.ts'
import { parseConfig } from './config.ts'
import { KAD_PROTOCOL, TEMPUS_VERSION } from './constants.ts'
import { dataPath, openDataDir, prepareDatastore, recordIdentity, removeRuntimeInfo, storeRecovery, writeRuntimeInfo } from './data-dir.ts'
import { peerDirectory } from './peer-directory.ts'
import { userAgentFor } from './peer-type.ts'
import { healthOf } from './health.ts'
import type { Health } from './health.ts'
import type { AdmissionService } from '../admission/service.ts'
import type { Sampler, ViewSettings } from '../sampling/sampler.ts'
import type { HandleOptions, Rpc } from '../rpc/rpc.ts'
import type { StreamHandler } from '@libp2p/interface'
import type { Enrollment } from '../admission/enrollment.ts'
import type { TokenResult } from '../issuer-client/wire.ts'
import type { NetworkWatcher } from '../liveness/network-watcher.ts'
import type { DefaultPeerKeeper } from '../liveness/peer-keeper.ts'
import type { PinoLogger } from '../logging/logger.ts'
import type { TempusConfig, TempusConfigInput } from './config.ts'
import type { PeerType } from '../core/peer-type.ts'
import type { DefaultPeerDirectory } from './peer-directory.ts'
import type { DataLock } from '../storage/index.ts'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Identify } from '@libp2p/identify'
import type { Libp2p, PeerId, PrivateKey } from '@libp2p/interface'
import type { KadDHT } from '@libp2p/kad-dht'
import type { Ping } from '@libp2p/ping'
import type { Datastore } from 'interface-datastore'

export type TempusServices = {
  identify: Identify
  ping: Ping
  dht: KadDHT
  pubsub: GossipSub
  directory: DefaultPeerDirectory
  keeper: DefaultPeerKeeper
  network: NetworkWatcher
  admission: AdmissionService
  sampling: Sampler
  rpc: Rpc
  gossip: GossipService
  dtn: DtnService
}

/**
 * The admin API as the node sees it: something started with the node and
 * stopped with it, whose URL goes into the runtime file. `src/api/` provides
 * it (`startAdminApi`); the node never imports it.
 */
export interface StartedAdminApi {
  url: string
  /** body bytes held now and at most, across all requests */
  bodyBytes: () => { inFlight: number, peak: number, capacity: number }
  close: () => Promise<void>
}

/** Starts the admin API on a node: `startAdminApi` from `src/api/server.ts`, given by whoever runs the node. */
export type AdminApiStarter = (init: { node: TempusNode, token: string, host: string, port: number, log: PinoLogger }) => Promise<StartedAdminApi>

export interface TempusNodeOptions {
  /**
   * Starts the admin API with the node when `config.api.enabled`: the CLI,
   * the dev mesh and the tests pass `startAdminApi` (src/api/server.ts). An
   * embedder that serves no API leaves it out.
   */
  adminApi?: AdminApiStarter
  /**
   * Where the node keeps its identity key, peer store, API token and runtime
   * file. Without it the node is ephemeral: a fresh key, an in-memory store.
   */
  dataDir?: string
  /** use this key instead of the data directory's (tests, embedding) */
  privateKey?: PrivateKey
  /** passphrase for the identity key; default: env, file, or the dev default */
  passphrase?: string
  /** scrypt cost for a newly created key file (tests lower it) */
  scryptN?: number
  /** a pino logger; by default JSON lines on stderr at the config's level */
  logger?: PinoLogger
  /** injected clock, ms since the epoch */
  now?: () => number
  /** injected random source in [0, 1) */
  random?: () => number
  /** start the node at once (default true) */
  start?: boolean
  /** what enrolment gave this node; read from `<dataDir>/enrollment.json` when absent */
  enrollment?: Enrollment
  /** a token to start with (the token manager fetches fresh ones from the issuer) */
  token?: TokenResult
  /** the application hook for anomalies: called once for each new one */
  onAnomaly?: (anomaly: DeliveredAnomaly) => void | Promise<void>
  /**
   * stores of the data directory whose loss the operator accepts
   * (`tempus start --reset-store NAME`): each is moved aside as
   * `<file>.damaged-<time>` and created anew, logged and recorded in
   * `<dataDir>/events.log`
   */
  resetStores?: string[]
}

export interface PeerSummary {
  peerId: string
  /** from the peer's verified token; null until it was admitted */
  type: PeerType | null
  addresses: string[]
  connected: boolean
  /** ISO time the peer was last connected, or null if never */
  lastSeen: string | null
  /** admitted now: a token that has not run out */
  admitted: boolean
  /** ISO expiry of the token it last showed */
  tokenExpiresAt: string | null
  suspicion: { score: number, state: string }
  revoked: boolean
  /** ids of the open connections to it (an id changes only when the connection was replaced) */
  connectionIds: string[]
}

export interface NodeStatus {
  peerId: string
  type: PeerType
  version: string
  status: 'starting' | 'started' | 'stopping' | 'stopped'
  addrs: string[]
  connections: number
  peers: number
  uptimeSeconds: number
  dhtMode: 'client' | 'server'
  api: string | null
  admission: {
    overlay: string
    epoch: number | null
    tokenExpiresAt: string | null
    /** the membership credential's expiry, and the refusal that makes a new enrolment necessary (`expired`, `invalid-credential`, `revoked`) */
    credentialExpiresAt: string | null
    credentialRefused: string | null
    /** every issuer replica this node asks, and whether it answered last time (times ISO) */
    issuers: Array<{ url: string, healthy: boolean, lastAnswerAt: string | null, lastError: string | null, consecutiveFailures: number, retryAt: string | null }>
    /** the replica that answered last (a refusal is an answer), or null before any did */
    issuerLastAnswered: string | null
    revocationList: number | null
    admittedPeers: number
    /** ISO time the current issuer outage began (src/admission/outage-policy.ts), or null */
    issuerOutageSince: string | null
    /** the `admission.issuerOutage` policy */
    issuerOutagePolicy: string
    /** connections kept up through the outage although their peers' tokens lapsed */
    keptConnections: number
  }
  anomalies: {
    held: number
    published: number
    delivered: number
    caughtUp: number
    rejected: Record<string, number>
  }
  bundles: {
    /** bytes held (fragments and delivered payloads) */
    bytes: number
    fragments: number
    inbox: number
    outbox: number
    sent: number
    delivered: number
    transmissions: number
    refused: Record<string, number>
  }
}

export class TempusNode {
  readonly libp2p: Libp2p<TempusServices>
  readonly config: TempusConfig
  readonly log: PinoLogger
  readonly dataDir?: string
  readonly metricsRegistry: Registry
  /** the admin API, once started (when `config.api.enabled` and the runner gave `adminApi`) */
  api?: StartedAdminApi
  readonly admission: AdmissionState
  readonly tokens: TokenManager
  /** every issuer replica, and their health */
  readonly issuers: IssuerReplicas
  readonly enrollment: Enrollment
  private readonly apiToken: string | undefined
  private readonly startApi?: AdminApiStarter
  private readonly now: () => number
  private startedAt = 0

  private readonly federationEndpoint?: FederationEndpoint
  private readonly pinStore?: SqlitePinStore
  /** the data directory's lock, held from creation to stop */
  private readonly lock?: DataLock
  /** anomalies across overlays (a federated bridge) */
  readonly anomalyRelay?: AnomalyRelay
  /** bundles across overlays (a federated bridge with federation.relay.bundles) */
  readonly bundleRelay?: BundleRelay

  constructor (libp2p: Libp2p<TempusServices>, config: TempusConfig, log: PinoLogger, registry: Registry, init: { dataDir?: string, apiToken?: string, startApi?: AdminApiStarter, now: () => number, admission: AdmissionState, tokens: TokenManager, issuers: IssuerReplicas, enrollment: Enrollment, federation?: FederationEndpoint, pinStore?: SqlitePinStore, anomalyRelay?: AnomalyRelay, bundleRelay?: BundleRelay, lock?: DataLock }) {
    this.lock = init.lock
    this.federationEndpoint = init.federation
    this.pinStore = init.pinStore
    this.anomalyRelay = init.anomalyRelay
    this.bundleRelay = init.bundleRelay
    this.onOwnToken = this.onOwnToken.bind(this)
    this.onRecovered = this.onRecovered.bind(this)
    this.libp2p = libp2p
    this.config = config
    this.log = log
    this.metricsRegistry = registry
    this.dataDir = init.dataDir
    this.apiToken = init.apiToken
    this.startApi = init.startApi
    this.now = init.now
    this.admission = init.admission
    this.tokens = init.tokens
    this.issuers = init.issuers
    this.enrollment = init.enrollment
  }

  get peerId (): PeerId {
    return this.libp2p.peerId
  }

  get type (): PeerType {
    return this.config.type
  }

  /** Whitelisted RPC: `expose`, `call`, `send`; `policy` holds the rules. */
  get rpc (): Rpc {
    return this.libp2p.services.rpc
  }

  /**
   * Register an application protocol under default deny: only the allowed
   * PeerIds and types reach `handler`, anyone else gets a reset stream and
   * rising suspicion.
   */
  async handle (protocol: string, handler: StreamHandler, options: HandleOptions): Promise<void> {
    await this.rpc.handle(protocol, handler, options)
  }

  /** Anomaly gossip: `publish(anomaly)`, `list()`, `anomaly` events. */
  get gossip (): GossipService {
    return this.libp2p.services.gossip
  }

  /** A bridge's federation endpoint (when `federation.enabled`): pins, handshakes, `status()`. */
  get federation (): FederationService | undefined {
    return this.federationEndpoint?.federation
  }

  /**
   * RPC with the bridges of other overlays, over the federation endpoint:
   * `call` theirs; they call this node's exposed methods only where
   * `federation.rpc` grants it (default deny).
   */
  get federatedRpc (): Rpc | undefined {
    return this.federationEndpoint?.rpc
  }

  /** The federation endpoint's listen addresses (remote bridges dial these). */
  getFederationMultiaddrs (): string[] {
    return this.federationEndpoint?.getMultiaddrs() ?? []
  }

  /** Delay-tolerant bundles: `send(destination, payload, { lifetimeMs })`, `list()`, `bundle` events. */
  get dtn (): DtnService {
    return this.libp2p.services.dtn
  }

  /** Peer sampling: `sample(type, n)`, `view(type)`, `view:change` events. */
  get sampling (): Sampler {
    return this.libp2p.services.sampling
  }

  getMultiaddrs (): string[] {
    return this.libp2p.getMultiaddrs().map(ma => ma.toString())
  }

  async start (): Promise<void> {
    // a token first: without one no connection can be admitted
    this.tokens.addEventListener('recovered', this.onRecovered)
    await this.tokens.start()
    if (this.admission.ownToken == null) {
      const failure = this.tokens.lastFailure
      this.log.warn({ issuers: this.issuers.urls, code: failure?.code }, `starting without a token (${failure == null ? 'the issuer did not answer yet' : failure.refused ? `the issuer refused: ${failure.code}` : `the issuer is ${failure.code === 'unreachable' ? 'unreachable' : `not usable: ${failure.code}`}`}); no connection can be admitted until it gives one`)
    }
    await this.libp2p.start()
    if (this.federationEndpoint != null) {
      this.tokens.addEventListener('token', this.onOwnToken)
      const own = this.admission.ownToken
      if (own != null) {
        this.federationEndpoint.setOwnToken(own)
      }
      await this.federationEndpoint.start()
      this.anomalyRelay?.start()
      this.bundleRelay?.start()
    }
    this.startedAt = this.now()
    if (this.type !== 'edge') {
      // server mode on a LAN/loopback address: libp2p would only switch on
      // a public address, but sentinels and bridges are the DHT's servers
      await this.libp2p.services.dht.setMode('server')
    }
    if (this.config.api.enabled && this.apiToken != null && this.startApi != null) {
      this.api = await this.startApi({
        node: this,
        token: this.apiToken,
        host: this.config.api.listen.host,
        port: this.config.api.listen.port,
        log: this.log.child({ component: 'tempus:api' })
      })
    }
    if (this.dataDir != null) {
      await writeRuntimeInfo(this.dataDir, {
        pid: process.pid,
        peerId: this.peerId.toString(),
        type: this.type,
        addrs: this.getMultiaddrs(),
        api: this.api?.url,
        startedAt: new Date(this.startedAt).toISOString()
      })
    }
    this.log.info({ peerId: this.peerId.toString(), type: this.type, addrs: this.getMultiaddrs(), api: this.api?.url }, 'node started')
  }

  async stop (): Promise<void> {
    await this.api?.close()
    this.api = undefined
    this.tokens.stop()
    this.tokens.removeEventListener('token', this.onOwnToken)
    this.tokens.removeEventListener('recovered', this.onRecovered)
    this.anomalyRelay?.stop()
    await this.bundleRelay?.stop()
    await this.federationEndpoint?.stop()
    this.pinStore?.close()
    await this.libp2p.stop()
    this.gossip.store.close()
    this.dtn.store.close()
    if (this.dataDir != null) {
      await removeRuntimeInfo(this.dataDir)
    }
    // last: the directory is free once nothing in it is open
    this.lock?.release()
    this.log.info('node stopped')
  }

  /** Every peer the node knows (not itself), connected or not. */
  async peers (): Promise<PeerSummary[]> {
    const connected = new Set(this.libp2p.getPeers().map(p => p.toString()))
    const directory = this.libp2p.services.directory
    const known = await this.libp2p.peerStore.all()
    return known
      .filter(p => !p.id.equals(this.peerId))
      .map(p => {
        const lastSeen = directory.lastSeenOf(p)
        const id = p.id.toString()
        const admitted = this.admission.admitted.get(id)
        return {
          peerId: id,
          type: directory.typeOf(p) ?? null,
          addresses: p.addresses.map(a => a.multiaddr.toString()),
          connected: connected.has(id),
          lastSeen: lastSeen == null ? null : new Date(lastSeen).toISOString(),
          admitted: connected.has(id) && admitted != null && !this.admission.isExpired(id, 0),
          tokenExpiresAt: admitted == null ? null : new Date(admitted.claims.exp * 1000).toISOString(),
          suspicion: { score: Math.round(this.admission.suspicion.score(id) * 100) / 100, state: this.admission.suspicion.state(id) },
          revoked: this.admission.revocations.isRevoked(id),
          connectionIds: this.libp2p.getConnections(p.id).map(c => c.id)
        }
      })
      .sort((a, b) => Number(b.connected) - Number(a.connected) || a.peerId.localeCompare(b.peerId))
  }

  /** Clear a peer's suspicion, quarantine and ban (an operator's decision). */
  async clearPeer (peer: string): Promise<{ peerId: string, suspicion: { score: number, state: string } } | undefined> {
    let id
    try {
      id = peerIdFromString(peer)
    } catch {
      return undefined
    }
    await this.libp2p.services.admission.clear(id)
    this.log.info({ peer }, 'suspicion cleared by the operator')
    return { peerId: peer, suspicion: { score: this.admission.suspicion.score(peer), state: this.admission.suspicion.state(peer) } }
  }

  private onOwnToken (evt: CustomEvent<OwnToken>): void {
    this.federationEndpoint?.setOwnToken(evt.detail)
  }

  /**
   * A token again after an issuer outage: the admission service re-presents
   * it to every connected peer (its `token` event); here the peers lost
   * meanwhile are redialled at once, whatever backoff the outage grew.
   */
  private onRecovered (evt: CustomEvent<{ since: number }>): void {
    if (this.libp2p.status !== 'started') {
      return
    }
    this.log.info({ outageMs: this.now() - evt.detail.since }, 'issuer outage over: redialling lost peers now')
    void this.libp2p.services.keeper.reconnectNow().catch(err => { this.log.warn({ err: err?.name }, 'redial after the outage failed') })
  }

  /** What `/healthz` says: ok, or degraded with the reasons (src/node/health.ts). */
  health (): Health {
    const own = this.admission.ownToken
    return healthOf({
      libp2pStatus: this.libp2p.status,
      ownTokenValid: own != null && own.claims.exp * 1000 > this.now(),
      issuerUnreachable: this.tokens.outageSince() != null,
      admittedConnections: this.libp2p.getConnections().filter(c => this.admission.admitted.has(c.remotePeer.toString())).length
    })
  }

  status (): NodeStatus {
    return {
      peerId: this.peerId.toString(),
      type: this.type,
      version: TEMPUS_VERSION,
      status: this.libp2p.status,
      addrs: this.getMultiaddrs(),
      connections: this.libp2p.getConnections().length,
      peers: this.libp2p.getPeers().length,
      uptimeSeconds: this.startedAt === 0 ? 0 : Math.round((this.now() - this.startedAt) / 1000),
      dhtMode: this.libp2p.services.dht.getMode(),
      api: this.api?.url ?? null,
      admission: {
        overlay: this.enrollment.overlay,
        epoch: this.admission.verifier.current?.epoch ?? null,
        tokenExpiresAt: this.admission.ownToken == null ? null : new Date(this.admission.ownToken.claims.exp * 1000).toISOString(),
        credentialExpiresAt: this.tokens.credentialExpiresAt == null ? null : new Date(this.tokens.credentialExpiresAt).toISOString(),
        credentialRefused: this.tokens.credentialRefused ?? null,
        issuers: this.issuers.status().map(r => ({
          url: r.url,
          healthy: r.healthy,
          lastAnswerAt: iso(r.lastAnswerAt),
          lastError: r.lastError ?? null,
          consecutiveFailures: r.consecutiveFailures,
          retryAt: iso(r.retryAt)
        })),
        issuerLastAnswered: this.issuers.lastAnswered ?? null,
        revocationList: this.admission.revocations.current?.n ?? null,
        admittedPeers: this.libp2p.getPeers().filter(p => this.admission.admitted.has(p.toString())).length,
        issuerOutageSince: ((since) => since == null ? null : new Date(since).toISOString())(this.tokens.outageSince()),
        issuerOutagePolicy: this.config.admission.issuerOutage,
        keptConnections: this.libp2p.services.admission.keptConnections().length
      },
      anomalies: (({ held, published, delivered, caughtUp, rejected }) => ({ held, published, delivered, caughtUp, rejected: rejected as Record<string, number> }))(this.gossip.status()),
      bundles: (({ bytes, fragments, inbox, outbox, sent, delivered, transmissions, refused }) => ({ bytes, fragments, inbox, outbox, sent, delivered, transmissions, refused: refused as Record<string, number> }))(this.dtn.status())
    }
  }
}

function iso (ms: number | undefined): string | null {
  return ms == null ? null : new Date(ms).toISOString()
}

/** One view's section of the config, as the sampling service takes it. */
function viewSettings (v: TempusConfig['sampling'][PeerType]): ViewSettings {
  return { capacity: v.capacity, shuffleLength: v.shuffleLength, periodMs: v.period, observerPeriodMs: v.observerPeriod }
}

/**
 * Create a tempus node. The config is validated first; a `ConfigError`
 * names the offending field.
 */
export async function createTempusNode (config: TempusConfigInput | TempusConfig, options: TempusNodeOptions = {}): Promise<TempusNode> {
  const parsed = parseConfig(config)
  const now = options.now ?? Date.now
  const log = options.logger ?? createLogger({ level: parsed.log.level })
  // the data directory is this process's alone until the node stops
  const lock = options.dataDir == null ? undefined : await openDataDir(options.dataDir, { now, log, resetStores: options.resetStores, identityInDirectory: options.privateKey == null })
  // what composition opened so far, closed in reverse if a later step fails
  const undo: Array<() => unknown> = []
  try {
    return await composeTempusNode(parsed, { ...options, now, logger: log }, lock, undo)
  } catch (err) {
    for (const step of undo.reverse()) {
      await Promise.resolve().then(step).catch(() => {})
    }
    lock?.release()
    throw err
  }
}

async function composeTempusNode (parsed: TempusConfig, options: TempusNodeOptions & { now: () => number, logger: PinoLogger }, lock: DataLock | undefined, undo: Array<() => unknown>): Promise<TempusNode> {
  const now = options.now
  const random = options.random ?? Math.random
  const log = options.logger
  // one dial budget per address and host for every dial the node decides itself (sampling, the peer keeper)
  const dialBudget = new DialRateLimiter({ now })
  const dataDir = options.dataDir

  let privateKey: PrivateKey | undefined = options.privateKey
  let datastore: Datastore
  let apiToken: string | undefined
  if (dataDir != null) {
    if (privateKey == null) {
      const passphrase = options.passphrase != null
        ? { value: options.passphrase, source: 'option' as const }
        : await resolvePassphrase()
      if (passphrase.source === 'dev-default') {
        log.warn('INSECURE: the identity key is encrypted with the built-in development passphrase; set TEMPUS_PASSPHRASE or TEMPUS_PASSPHRASE_FILE for any real deployment')
      }
      // a re-key interrupted after the issuer answered is finished first (never a key with another key's credential)
      if (await completePendingRekey(dataDir)) {
        log.warn({ dataDir }, 'finished an interrupted re-key: the node starts with its new identity key')
      }
      const store = new EncryptedFileKeyStore({ path: dataPath(dataDir, 'identity'), passphrase: passphrase.value, scryptN: options.scryptN })
      const identity = await loadOrCreateIdentity(store)
      privateKey = identity.privateKey
      if (identity.created) {
        log.info({ path: dataPath(dataDir, 'identity') }, 'created a new identity key')
      }
      recordIdentity(dataDir, now)
    }
    const fs = new FsDatastore(await prepareDatastore(dataDir, now))
    await fs.open()
    undo.push(async () => { await fs.close() })
    datastore = fs
    apiToken = await loadOrCreateApiToken(dataPath(dataDir, 'apiToken'))
  } else {
    privateKey ??= await generateKeyPair('Ed25519')
    datastore = new MemoryDatastore()
    apiToken = parsed.api.enabled ? generateApiToken() : undefined
  }

  const enrollment = options.enrollment ?? (dataDir == null ? undefined : await loadEnrollment(dataDir))
  if (enrollment == null) {
    throw new NotEnrolledError(dataDir == null
      ? 'a node needs an enrollment (default deny): enrol its key with the issuer first'
      : `the node in ${dataDir} is not enrolled (default deny); run: tempus enroll --data ${dataDir} --issuer URL --code CODE`)
  }
  if (enrollment.typ !== parsed.type) {
    throw new ConfigError(`type: the node was enrolled as ${enrollment.typ} but is configured as ${parsed.type}`, 'type')
  }
  const peerIdOfKey = peerIdFromPrivateKey(privateKey).toString()
  if (enrollment.peerId !== peerIdOfKey) {
    throw new NotEnrolledError(`the enrollment is for ${enrollment.peerId}, not for this node's key ${peerIdOfKey}`)
  }

  const admission = await admissionStateFor(enrollment, { now, deadlineMs: parsed.admission.deadline })
  const verifier = admission.verifier
  const registry = new Registry()
  // every issuer replica: the operator's list wins over the one enrolment gave
  const client = new IssuerReplicas({ urls: parsed.issuers ?? enrolledIssuers(enrollment), now, random, registry })
  // a renewed credential goes back into the enrollment file it came from (an embedder's enrollment stays in memory)
  const enrollmentDir = options.enrollment == null ? dataDir : undefined
  const tokens = new TokenManager({ client, privateKey, credential: enrollment.credential, state: admission, log: log.child({ component: 'tempus:token-manager' }), now, random, keysPollIntervalMs: parsed.admission.keysPollInterval, dataDir, saveCredential: async credential => { await saveRenewedCredential(enrollmentDir, enrollment, credential) } })
  admission.refreshOwnToken = async () => tokens.catchUp()
  if (options.token != null) {
    const claims = await verifier.verify(options.token.token, { sub: peerIdOfKey, keyCertificate: options.token.keyCertificate })
    admission.setOwnToken({ token: options.token.token, keyCertificate: options.token.keyCertificate, claims })
  }

  // anomalies survive restarts with the data directory (delivered once, ever)
  const anomalies = new AnomalyStore(dataDir == null ? ':memory:' : dataPath(dataDir, 'anomalies'), { recovery: dataDir == null ? undefined : storeRecovery(dataDir, 'anomalies') })
  undo.push(() => { anomalies.close() })
  // bundles: what a caller was told is stored survives kill -9
  const bundles = new BundleStore(dataDir == null ? ':memory:' : dataPath(dataDir, 'bundles'), { totalBytes: parsed.dtn.quota.totalBytes, perSourceBytes: parsed.dtn.quota.perSourceBytes, receipts: MAX_RECEIPTS_HELD }, { recovery: dataDir == null ? undefined : storeRecovery(dataDir, 'bundles') })
  undo.push(() => { bundles.close() })
  const peerDiscovery = []
  const bootstrapList = [...new Set([...parsed.bootstrap, ...enrollment.bootstrap])]
  if (bootstrapList.length > 0) {
    peerDiscovery.push(bootstrap({ list: bootstrapList, timeout: 0 }))
  }
  if (parsed.mdns.enabled) {
    peerDiscovery.push(scopedMdns({ interval: parsed.mdns.interval, serviceTag: parsed.mdns.serviceTag, interfaces: parsed.mdns.interfaces }))
  }

  const libp2p = await createLibp2p<TempusServices>({
    start: false,
    privateKey,
    datastore,
    logger: pinoComponentLogger(log),
    nodeInfo: { name: 'tempus-mesh', version: TEMPUS_VERSION, userAgent: userAgentFor(parsed.type) },
    addresses: { listen: parsed.listen, announce: parsed.announce },
    transports: [tcp({ inboundSocketInactivityTimeout: 5 * 60_000, outboundSocketInactivityTimeout: 5 * 60_000 })],
    // Noise, then admission inside it, before the muxer: nothing else runs on an unadmitted connection
    connectionEncrypters: [admittingEncrypter(noise(), admission)],
    connectionGater: admissionGater(admission),
    streamMuxers: [yamux()],
    peerDiscovery,
    connectionManager: {
      maxConnections: parsed.connections.maxConnections,
      maxIncomingPendingConnections: parsed.connections.maxIncomingPendingConnections,
      inboundConnectionThreshold: parsed.connections.inboundConnectionThreshold,
      maxParallelDials: parsed.connections.maxParallelDials,
      dialTimeout: parsed.connections.dialTimeout,
      inboundUpgradeTimeout: parsed.connections.inboundUpgradeTimeout,
      allow: parsed.connections.allow,
      // redials are the peer keeper's job (backoff with jitter, no cap for sentinels)
      reconnectRetries: 0
    },
    connectionMonitor: {
      pingInterval: parsed.liveness.pingInterval,
      pingTimeout: { minTimeout: Math.min(1_000, parsed.liveness.pingTimeout), maxTimeout: parsed.liveness.pingTimeout },
      abortConnectionOnPingFailure: true
    },
    metrics: parsed.metrics.enabled ? prometheusMetrics({ registry, collectDefaultMetrics: true }) : undefined,
    services: {
      identify: identify(),
      ping: ping(),
      dht: kadDHT({
        protocol: KAD_PROTOCOL,
        clientMode: parsed.type === 'edge',
        // a private overlay lives on private and loopback addresses too
        peerInfoMapper: passthroughMapper,
        logPrefix: 'libp2p:tempus-kad',
        metricsPrefix: 'tempus_kad'
      }),
      pubsub: gossipsub({
        emitSelf: false,
        fallbackToFloodsub: false,
        allowPublishToZeroTopicPeers: true,
        // the author signs (origin, sequence number, topic, data); see src/gossip/scoring.ts
        globalSignaturePolicy: 'StrictSign',
        // a copy already seen is dropped before its signature is checked again
        // (gossipsub verifies before its seen-cache otherwise: one Ed25519
        // verification per copy, up to D per message); only a copy whose
        // signature verified enters this cache, and the id covers the author,
        // so no one can pre-empt an honest message with a forged one
        fastMsgIdFn: fastMessageId,
        scoreParams: scoreParams(GOSSIP_TOPICS, peer => admission.suspicion.score(peer)),
        scoreThresholds: SCORE_THRESHOLDS
      }),
      gossip: gossipService({ state: admission, store: anomalies, tokens, now, onAnomaly: options.onAnomaly, registry }),
      dtn: dtnService({
        state: admission,
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
        minConnections: parsed.connections.minConnections,
        maintainIntervalMs: parsed.liveness.maintainInterval,
        now,
        random,
        dialBudget
      }),
      network: networkWatcher({
        pollIntervalMs: parsed.liveness.networkPollInterval,
        probeTimeoutMs: parsed.liveness.pingTimeout
      }),
      rpc: rpc({ state: admission, rules: parsed.rpc.rules as any, callsPerSecondPerPeer: parsed.rpc.callsPerSecondPerPeer, maxInboundPerPeer: parsed.rpc.maxInFlightPerPeer, registry }),
      sampling: sampler({
        type: parsed.type,
        state: admission,
        keepConnections: 2 * parsed.connections.minConnections,
        dialBudget,
        views: {
          edge: viewSettings(parsed.sampling.edge),
          bridge: viewSettings(parsed.sampling.bridge),
          sentinel: viewSettings(parsed.sampling.sentinel)
        },
        registry
      }),
      admission: admissionService({
        state: admission,
        tokens,
        client,
        crlPollIntervalMs: parsed.admission.crlPollInterval,
        sweepIntervalMs: parsed.admission.sweepInterval,
        outage: { mode: parsed.admission.issuerOutage, graceMs: parsed.admission.outageGrace },
        log: log.child({ component: 'tempus:admission' }),
        registry
      })
    }
  })
  undo.push(async () => { await libp2p.stop() })

  let federation: FederationEndpoint | undefined
  let pinStore: SqlitePinStore | undefined
  let anomalyRelay: AnomalyRelay | undefined
  let bundleRelay: BundleRelay | undefined
  if (parsed.federation.enabled) {
    const anchors = new TrustAnchors(parsed.federation.anchors, now)
    // a second host, with only the federation protocol, for remote bridges
    pinStore = dataDir == null ? undefined : new SqlitePinStore(dataPath(dataDir, 'federation'), { recovery: storeRecovery(dataDir, 'federation') })
    const openedPins = pinStore
    undo.push(() => { openedPins?.close() })
    federation = await createFederationEndpoint({
      privateKey,
      overlay: enrollment.overlay,
      listen: parsed.federation.listen,
      remotes: parsed.federation.remotes,
      anchors,
      pins: new Pins({ store: pinStore, rotationWindowMs: parsed.federation.rotationWindow, now }),
      logger: pinoComponentLogger(log.child({ endpoint: 'federation' })),
      now,
      skewMs: parsed.federation.skew,
      deadlineMs: parsed.admission.deadline,
      ownToken: () => admission.ownToken,
      onAnomaly: async (frame, from) => { await anomalyRelay?.receive(frame, from) },
      // nothing crosses by default: without the policy a crossing is answered "not stored"
      onCrossing: async (crossing, from) => await (bundleRelay?.receive(crossing, from) ?? Promise.resolve(false)),
      rpc: libp2p.services.rpc,
      rpcGrants: parsed.federation.rpc,
      ownRevocationList: () => admission.revocations.current?.jws,
      registry
    })
    // a new revocation list of this overlay goes to the pinned bridges of the others
    const endpoint = federation
    admission.addEventListener('revoked', () => { void endpoint.federation.pushRevocations() })
    const relayLog = log.child({ component: 'tempus:federation:relay' })
    anomalyRelay = new AnomalyRelay({
      gossip: libp2p.services.gossip,
      federation: federation.federation,
      anchors,
      kinds: parsed.federation.relay.anomalyKinds,
      now,
      registry,
      log: (message, detail) => { relayLog.debug(detail ?? {}, message) }
    })
    if (parsed.federation.relay.bundles) {
      bundleRelay = new BundleRelay({
        dtn: libp2p.services.dtn,
        federation: federation.federation,
        anchors,
        overlay: enrollment.overlay,
        signer: () => {
          const own = admission.ownToken
          return own == null ? undefined : { privateKey, peerId: peerIdOfKey, evidence: { token: own.token, keyCertificate: own.keyCertificate } }
        },
        maxPayload: parsed.dtn.maxPayload,
        now,
        log: (message, detail) => { relayLog.debug(detail ?? {}, message) },
        registry
      })
    }
  }
  const node = new TempusNode(libp2p, parsed, log, registry, { dataDir, apiToken, startApi: options.adminApi, now, admission, tokens, issuers: client, enrollment, federation, pinStore, anomalyRelay, bundleRelay, lock })
  if (options.start !== false) {
    // from here the node owns what was opened: its stop closes all of it
    undo.length = 0
    undo.push(async () => { await node.stop() })
    await node.start()
  }
  return node
}

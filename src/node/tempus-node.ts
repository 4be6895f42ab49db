/**
 * `createTempusNode(config)`: libp2p v3 composed with tempus' services, its
 * identity, its persisted peer store and its admin API.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { AnomalyStore } from '../gossip/index.ts'
import type { DeliveredAnomaly, GossipService } from '../gossip/index.ts'
import { BundleStore } from '../dtn/index.ts'
import { MAX_RECEIPTS_HELD } from '../dtn/constants.ts'
import type { DtnService } from '../dtn/index.ts'
import { AnomalyRelay, BundleRelay, SqlitePinStore } from '../federation/index.ts'
import type { FederationEndpoint, FederationService } from '../federation/index.ts'
import { createLibp2p } from 'libp2p'
import { libp2pOptions } from './libp2p-options.ts'
import { stopReconnectQueue } from './reconnect-queue.ts'
import { useCachedPeerStore } from './peer-store-cache.ts'
import { FileMintLog } from './mint-log.ts'
import { addProcessMetrics } from './process-metrics.ts'
import { nodeIdentity } from './node-identity.ts'
import { releaseIdentityKey } from '../identity/identity.ts'
import type { NodeStatus, PeerSummary } from './status.ts'
import { nodeStatus, peerSummaries, suspicionOf } from './report.ts'
import { bridgeFederation } from './federation-wiring.ts'
import type { TempusServices } from './libp2p-options.ts'
import { Registry } from 'prom-client'
import { enrolledIssuers, saveRenewedCredential } from '../admission/enrollment.ts'
import { admissionStateFor } from '../admission/state.ts'
import type { AdmissionState, OwnToken } from '../admission/state.ts'
import { TokenManager } from '../admission/token-manager.ts'
import { IssuerReplicas } from '../issuer-client/replicas.ts'
import type { AddressChange } from '../liveness/network-change.ts'
import type { IssuerApi } from '../issuer-client/replicas.ts'
import { cloneProofToJson } from '../core/clone-proof.ts'
import { DialRateLimiter } from '../liveness/dial-limiter.ts'
import { OwnAddresses } from '../core/own-addresses.ts'
import { createLogger } from '../logging/logger.ts'
import { parseConfig } from './config.ts'
import { dataPath, openDataDir, removeRuntimeInfo, storeRecovery, writeRuntimeInfo } from './data-dir.ts'
import { healthOf } from './health.ts'
import type { Health } from './health.ts'
import { readinessOf } from './readiness.ts'
import type { Readiness } from './readiness.ts'
import type { Sampler } from '../sampling/sampler.ts'
import type { HandleOptions, Rpc } from '../rpc/rpc.ts'
import type { StreamHandler } from '@libp2p/interface'
import type { Enrollment } from '../admission/enrollment.ts'
import type { TokenResult } from '../issuer-client/wire.ts'
import type { PinoLogger } from '../logging/logger.ts'
import type { TempusConfig, TempusConfigInput } from './config.ts'
import type { PeerType } from '../core/peer-type.ts'
import type { DataLock } from '../storage/index.ts'
import type { Libp2p, PeerId, PrivateKey } from '@libp2p/interface'

export type { TempusServices }

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
  /**
   * The overlay's descriptor spacing per Cyclon view, ms (SamplerInit.descriptorSpacingMs):
   * only for an overlay run faster than production (tests, `tempus dev`),
   * and then the same on every node of it
   * @default DESCRIPTOR_SPACING_MS, each view's default period
   */
  descriptorSpacingMs?: Partial<Record<PeerType, number>>
}

export type { NodeStatus, PeerSummary } from './status.ts'

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
  /** writes the peer store held in memory back to the data directory, once libp2p stopped */
  private readonly closeDatastore?: () => Promise<void>
  /** the identity key, released (a token session closed) once libp2p stopped */
  private readonly identityKey?: PrivateKey
  /** anomalies across overlays (a federated bridge) */
  readonly anomalyRelay?: AnomalyRelay
  /** bundles across overlays (a federated bridge with federation.relay.bundles) */
  readonly bundleRelay?: BundleRelay

  constructor (libp2p: Libp2p<TempusServices>, config: TempusConfig, log: PinoLogger, registry: Registry, init: { dataDir?: string, apiToken?: string, startApi?: AdminApiStarter, now: () => number, admission: AdmissionState, tokens: TokenManager, issuers: IssuerReplicas, enrollment: Enrollment, federation?: FederationEndpoint, pinStore?: SqlitePinStore, anomalyRelay?: AnomalyRelay, bundleRelay?: BundleRelay, lock?: DataLock, closeDatastore?: () => Promise<void>, identityKey?: PrivateKey }) {
    this.closeDatastore = init.closeDatastore
    this.lock = init.lock
    this.identityKey = init.identityKey
    this.federationEndpoint = init.federation
    this.pinStore = init.pinStore
    this.anomalyRelay = init.anomalyRelay
    this.bundleRelay = init.bundleRelay
    this.onOwnToken = this.onOwnToken.bind(this)
    this.onRecovered = this.onRecovered.bind(this)
    this.onNewEpoch = this.onNewEpoch.bind(this)
    this.onNetworkChange = this.onNetworkChange.bind(this)
    this.onMeshStarved = this.onMeshStarved.bind(this)
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
    this.tokens.addEventListener('new-epoch', this.onNewEpoch)
    await this.tokens.start()
    if (this.admission.ownToken == null) {
      const failure = this.tokens.lastFailure
      this.log.warn({ issuers: this.issuers.urls, code: failure?.code }, `starting without a token (${failure == null ? 'the issuer did not answer yet' : failure.refused ? `the issuer refused: ${failure.code}` : `the issuer is ${failure.code === 'unreachable' ? 'unreachable' : `not usable: ${failure.code}`}`}); no connection can be admitted until it gives one`)
    }
    await this.libp2p.start()
    if (!stopReconnectQueue(this.libp2p)) {
      this.log.debug('libp2p\'s reconnect queue was not found: it reads the peer store at every disconnect')
    }
    this.libp2p.services.network.addEventListener('network:addresses', this.onNetworkChange)
    this.libp2p.services.gossip.addEventListener('mesh:starved', this.onMeshStarved)
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
    this.tokens.removeEventListener('new-epoch', this.onNewEpoch)
    this.libp2p.services.network.removeEventListener('network:addresses', this.onNetworkChange)
    this.libp2p.services.gossip.removeEventListener('mesh:starved', this.onMeshStarved)
    this.anomalyRelay?.stop()
    await this.bundleRelay?.stop()
    await this.federationEndpoint?.stop()
    this.pinStore?.close()
    await this.libp2p.stop()
    await this.closeDatastore?.()
    if (this.identityKey != null) {
      releaseIdentityKey(this.identityKey)
    }
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
    return await peerSummaries(this.libp2p, this.admission)
  }

  /** Clear every peer's suspicion, quarantine and ban, stored bans included (`tempus peers clear --all`). */
  async clearAllPeers (): Promise<{ cleared: string[] }> {
    const cleared = await this.libp2p.services.admission.clearAll()
    this.log.info({ peers: cleared.length }, `suspicion of every peer cleared by the operator (${cleared.length} peer(s))`)
    return { cleared }
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
    return { peerId: peer, suspicion: suspicionOf(this.admission, peer) }
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
    this.redialNow('the outage')
  }

  /** Every kept and lost peer redialled at once, whatever backoff `after` grew (the keeper's one pass at a time). */
  private redialNow (after: string): void {
    void this.libp2p.services.keeper.reconnectNow().catch(err => { this.log.warn({ err: err?.name }, `redial after ${after} failed`) })
  }

  /**
   * Our token is of the new epoch at last (the issuer rotated its key while
   * this node was away or behind): every dial since then showed a token the
   * fleet refuses, and the backoffs they grew would hold the node's way back
   * for seconds after it can be admitted again. In the 100-process chaos run
   * an edge away over a rotation had its token 9.4 s after its link came
   * back and its first admission 15.5 s after (issue #20).
   */
  private onNewEpoch (evt: CustomEvent<{ epoch: number, previous: number }>): void {
    if (this.libp2p.status !== 'started') {
      return
    }
    this.log.info({ epoch: evt.detail.epoch, previous: evt.detail.previous }, 'a token of the new epoch: redialling lost peers now')
    this.redialNow('the rotation')
  }

  /**
   * The gossipsub mesh is stuck thin: every connected peer of a topic is in
   * it or refused us (the hubs, whose meshes every edge fills). One more
   * peer of this node's own views is dialled, edges first
   * (src/gossip/mesh-starvation.ts).
   */
  private onMeshStarved (): void {
    if (this.libp2p.status !== 'started') {
      return
    }
    void this.libp2p.services.keeper.addNeighbour().catch(err => { this.log.warn({ err: err?.name }, 'dialling one more neighbour failed') })
  }

  /**
   * The host's interfaces changed. With an address added (a link back, a
   * new network) the issuer requests in flight went out on the old network
   * and may never be answered: they are ended and sent again, and what an
   * issuer outage as seen from here postponed (a token retry grown to its
   * backoff cap, the next revocation poll) runs now. The network watcher
   * itself probes the connections and redials the lost peers
   * (src/liveness/network-watcher.ts).
   */
  private onNetworkChange (evt: CustomEvent<AddressChange>): void {
    if (this.libp2p.status !== 'started' || evt.detail.added.length === 0) {
      return
    }
    this.issuers.interrupt()
    this.tokens.networkChanged()
    this.libp2p.services.admission.networkChanged()
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

  /** What `/readyz` says: ready, or not with the reasons (src/node/readiness.ts). */
  readiness (): Readiness {
    const own = this.admission.ownToken
    return readinessOf({
      libp2pStatus: this.libp2p.status,
      storesOpen: this.gossip.store.isOpen && this.dtn.store.isOpen,
      ownTokenExpiresAt: own == null ? undefined : own.claims.exp * 1000,
      now: this.now(),
      admittedPeers: new Set(this.libp2p.getConnections().map(c => c.remotePeer.toString()).filter(p => this.admission.admitted.has(p))).size,
      bootstrapPeers: this.config.bootstrap.length,
      issuers: this.issuers.urls
    })
  }

  status (): NodeStatus {
    return nodeStatus({
      libp2p: this.libp2p,
      config: this.config,
      admission: this.admission,
      tokens: this.tokens,
      issuers: this.issuers,
      overlay: this.enrollment.overlay,
      apiUrl: this.api?.url,
      uptimeMs: this.startedAt === 0 ? 0 : this.now() - this.startedAt
    })
  }
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
  // one dial budget per address and host for every dial the node decides itself (sampling, the peer keeper)
  const dialBudget = new DialRateLimiter({ now })
  const dataDir = options.dataDir

  const { privateKey, datastore, closeDatastore, apiToken, enrollment, peerIdOfKey, ranBefore } = await nodeIdentity(parsed, options, undo)
  // every line this node logs from here says whose it is (several nodes may share one log, and an operator's grep)
  const log = options.logger.child({ self: peerIdOfKey })

  const admission = await admissionStateFor(enrollment, { now, deadlineMs: parsed.admission.deadline, resumption: parsed.admission.resumption })
  const verifier = admission.verifier
  const registry = new Registry()
  if (parsed.metrics.enabled) {
    addProcessMetrics(registry)
  }
  // every issuer replica: the operator's list wins over the one enrolment gave
  const client = new IssuerReplicas({ urls: parsed.issuers ?? enrolledIssuers(enrollment), now, random, registry })
  // a renewed credential goes back into the enrollment file it came from (an embedder's enrollment stays in memory)
  const enrollmentDir = options.enrollment == null ? dataDir : undefined
  const tokens = new TokenManager({ client, privateKey, credential: enrollment.credential, state: admission, log: log.child({ component: 'tempus:token-manager' }), now, random, keysPollIntervalMs: parsed.admission.keysPollInterval, keysWaitMs: parsed.admission.pollWait, dataDir, saveCredential: async credential => { await saveRenewedCredential(enrollmentDir, enrollment, credential) } })
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
  const ownAddresses = new OwnAddresses()
  const libp2p = await createLibp2p<TempusServices>(libp2pOptions(parsed, { privateKey, datastore, log, registry, admission, tokens, client, anomalies, bundles, dialBudget, ownAddresses, enrollment, onAnomaly: options.onAnomaly, now, random, persistentIdentity: ranBefore, mintLog: options.dataDir == null ? undefined : new FileMintLog(options.dataDir), descriptorSpacingMs: options.descriptorSpacingMs }))
  undo.push(async () => { await libp2p.stop() })
  // the peer store its services read, for its embedder too
  useCachedPeerStore(libp2p)
  ownAddresses.watch(libp2p)
  offerCloneProofs(libp2p.services.sampling, client, log)

  // a bridge's second host, with only the federation protocol, for remote bridges; relays take what crosses
  const { endpoint: federation, pinStore, anomalyRelay, bundleRelay } = parsed.federation.enabled
    ? await bridgeFederation(parsed, { privateKey, peerId: peerIdOfKey, overlay: enrollment.overlay, admission, rpc: libp2p.services.rpc, gossip: libp2p.services.gossip, dtn: libp2p.services.dtn, dataDir, log, now, registry }, undo)
    : {}
  const node = new TempusNode(libp2p, parsed, log, registry, { dataDir, apiToken, startApi: options.adminApi, now, admission, tokens, issuers: client, enrollment, federation, pinStore, anomalyRelay, bundleRelay, lock, closeDatastore, identityKey: options.privateKey == null ? privateKey : undefined })
  if (options.start !== false) {
    // from here the node owns what was opened: its stop closes all of it
    undo.length = 0
    undo.push(async () => { await node.stop() })
    await node.start()
  }
  return node
}

/** cloners one node remembers having offered proofs of (each once while remembered) */
const MAX_CLONERS_OFFERED = 1024

/**
 * A proof that a peer cloned a Cyclon descriptor goes to the issuer as
 * grounds for revoking it (protocols/cyclon.md, "Age, and the chain of
 * owners"), once per cloner; the issuer opens a revocation request for
 * admins to approve. A proof the issuer did not take is offered again with
 * the next one.
 */
function offerCloneProofs (sampling: Sampler, issuers: IssuerApi, log: PinoLogger): void {
  const offered = new Set<string>()
  sampling.addEventListener('descriptor:cloned', evt => {
    const { cloner, proof } = evt.detail
    if (offered.has(cloner)) {
      return
    }
    if (offered.size >= MAX_CLONERS_OFFERED) {
      offered.delete(offered.values().next().value as string) // the oldest: a cloner caught again is offered again
    }
    offered.add(cloner)
    issuers.offerCloneProof(cloneProofToJson(proof)).then(
      request => { log.warn({ cloner, request: request.id, approvals: request.approvals, threshold: request.threshold }, 'a peer cloned a descriptor: the proof went to the issuer, whose admins can approve its revocation') },
      (err: any) => {
        offered.delete(cloner)
        log.warn({ cloner, err: err?.code ?? err?.name }, 'the issuer did not take a clone proof')
      })
  })
}

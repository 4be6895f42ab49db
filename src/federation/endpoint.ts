/**
 * A bridge's federation endpoint: a second libp2p host, with the bridge's
 * key, on its own listen address, that speaks `/tempus/federation/1.0.0`
 * and nothing else. Remote bridges connect here, never to the overlay's own
 * endpoint: their tokens are from another issuer, so the overlay's
 * admission refuses them there, and here no overlay protocol (DHT, gossip,
 * sampling, RPC, DTN) is even registered. Admission on this endpoint takes
 * a token only from a bridge of an overlay a trust anchor is configured for
 * (edges and sentinels of that overlay are refused) and still proves
 * possession of the key on a fresh nonce.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { tcp } from '@libp2p/tcp'
import { repeatingTask } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { admittingEncrypter } from '../admission/encrypter.ts'
import { noiseFrameLength } from '../core/noise-frame-length.ts'
import { noiseCrypto } from '../core/noise-crypto.ts'
import { admissionGater } from '../admission/gater.ts'
import { RevocationState } from '../admission/revocation.ts'
import { AdmissionState } from '../admission/state.ts'
import { SuspicionScores } from '../admission/suspicion.ts'
import { OwnAddresses } from '../core/own-addresses.ts'
import { AnchoredBridgeVerifier } from './anchors.ts'
import { rpc } from '../rpc/rpc.ts'
import { FederatedRpcGrants } from './rpc-grants.ts'
import { federationService } from './service.ts'
import { registerPinMetrics } from './metrics.ts'
import type { TrustAnchors } from './anchors.ts'
import type { LocalBridge } from './challenge.ts'
import type { Pins } from './pins.ts'
import type { FederationService } from './service.ts'
import type { OwnToken } from '../admission/state.ts'
import type { SuspicionChange } from '../admission/suspicion.ts'
import type { Rpc } from '../rpc/rpc.ts'
import type { FederatedRpcGrant } from './rpc-grants.ts'
import type { ComponentLogger, Libp2p, PrivateKey } from '@libp2p/interface'
import type { Registry } from 'prom-client'

export interface FederationEndpointInit {
  privateKey: PrivateKey
  overlay: string
  listen: string[]
  /** remote bridges' federation endpoints to keep connected (`/ip4/…/tcp/…/p2p/…`) */
  remotes: string[]
  anchors: TrustAnchors
  pins: Pins
  logger: ComponentLogger
  now?: () => number
  skewMs?: number
  deadlineMs: number
  /** this bridge's own current token (from its overlay's issuer) */
  ownToken: () => OwnToken | undefined
  redialIntervalMs?: number
  /** the node's RPC, whose methods remote bridges may call where a grant allows */
  rpc?: Rpc
  /** RPC grants to bridges of other overlays (none by default) */
  rpcGrants?: FederatedRpcGrant[]
  /** this overlay's newest revocation list (JWS), handed to pinned remote bridges */
  ownRevocationList?: () => string | undefined
  /** the node's Prometheus registry: pins by freshness go there (see `metrics.ts`); none without it */
  registry?: Registry
}

export interface FederationEndpoint {
  libp2p: Libp2p<{ federation: FederationService, rpc: Rpc }>
  state: AdmissionState
  federation: FederationService
  /** RPC with remote bridges: call theirs, and serve ours to those a grant allows */
  rpc: Rpc
  grants: FederatedRpcGrants
  /** mirror a new own token into the endpoint's admission */
  setOwnToken(token: OwnToken): void
  start(): Promise<void>
  stop(): Promise<void>
  getMultiaddrs(): string[]
}

export async function createFederationEndpoint (init: FederationEndpointInit): Promise<FederationEndpoint> {
  const now = init.now ?? Date.now
  if (init.registry != null) {
    registerPinMetrics(init.registry, init.pins)
  }
  const state = new AdmissionState({
    verifier: new AnchoredBridgeVerifier(init.anchors),
    revocations: new RevocationState(),
    suspicion: new SuspicionScores({}, now),
    now,
    deadlineMs: init.deadlineMs
  })
  const own = init.ownToken()
  if (own != null) {
    state.setOwnToken(own)
  }
  const peerId = peerIdFromPrivateKey(init.privateKey).toString()
  const grants = new FederatedRpcGrants(init.rpcGrants ?? [])
  const local = (): LocalBridge | undefined => {
    const token = state.ownToken
    return token == null ? undefined : { overlay: init.overlay, peerId, privateKey: init.privateKey, evidence: { token: token.token, keyCertificate: token.keyCertificate } }
  }
  const ownAddresses = new OwnAddresses()
  const libp2p = await createLibp2p({
    start: false,
    privateKey: init.privateKey,
    logger: init.logger,
    addresses: { listen: init.listen },
    transports: [tcp()],
    connectionEncrypters: [admittingEncrypter(noiseFrameLength(noise({ crypto: noiseCrypto })), state)],
    connectionGater: admissionGater(state, { isOwnAddress: ownAddresses.isOwn }),
    streamMuxers: [yamux()],
    connectionManager: { maxConnections: 64, reconnectRetries: 0 },
    services: {
      federation: federationService({ local, anchors: init.anchors, pins: init.pins, now, skewMs: init.skewMs, ownRevocationList: init.ownRevocationList }),
      // the node's methods, behind the federation grants only (never the node's own rules or
      // an exposure's code-level grant, which were written for this overlay's peers)
      rpc: rpc({
        state,
        allows: (caller, method) => grants.allows(init.pins.fresh(caller.peer)?.overlay, caller.peer, method),
        exposures: init.rpc,
        overlayOf: peer => init.pins.fresh(peer)?.overlay
      })
    }
  })
  ownAddresses.watch(libp2p)
  // a remote bridge that misbehaves (a call not granted, a malformed frame) is cut off once quarantined
  const onSuspicion = (evt: CustomEvent<SuspicionChange>): void => {
    if (evt.detail.state === 'quarantined' || evt.detail.state === 'banned') {
      void libp2p.hangUp(peerIdFromString(evt.detail.peer)).catch(() => {})
    }
  }
  const dialRemotes = (): void => {
    for (const remote of init.remotes) {
      const ma = multiaddr(remote)
      const id = ma.getComponents().find(c => c.name === 'p2p')?.value
      if (id != null && libp2p.getConnections().some(c => c.remotePeer.toString() === id)) {
        continue
      }
      libp2p.dial(ma, { signal: AbortSignal.timeout(10_000) }).catch(() => {})
    }
  }
  // the remote bridges this one keeps connected, dialled again until they are
  const redial = repeatingTask(dialRemotes, init.redialIntervalMs ?? 10_000)
  return {
    libp2p,
    state,
    federation: libp2p.services.federation,
    rpc: libp2p.services.rpc,
    grants,
    setOwnToken: token => { state.setOwnToken(token) },
    async start () {
      await libp2p.start()
      state.addEventListener('suspicion', onSuspicion)
      dialRemotes()
      redial.start()
    },
    async stop () {
      redial.stop()
      state.removeEventListener('suspicion', onSuspicion)
      await libp2p.stop()
    },
    getMultiaddrs: () => libp2p.getMultiaddrs().map(String)
  }
}

/**
 * What a running node reports about itself and its peers, built from its
 * parts: `TempusNode.status()` and `peers()` (`/v1/status`,
 * `/v1/mesh/peers`, `tempus status`, `tempus peers`). Reads only.
 */
import { TEMPUS_VERSION } from './constants.ts'
import type { NodeStatus, PeerSummary } from './status.ts'
import type { TempusServices } from './libp2p-options.ts'
import type { TempusConfig } from './config.ts'
import type { AdmissionState } from '../admission/state.ts'
import type { TokenManager } from '../admission/token-manager.ts'
import type { IssuerReplicas } from '../issuer-client/replicas.ts'
import type { Libp2p } from '@libp2p/interface'

function iso (ms: number | undefined): string | null {
  return ms == null ? null : new Date(ms).toISOString()
}

/** A peer's suspicion as the operator reads it: score, state, when a quarantine ends, and why the score rose. */
export function suspicionOf (admission: AdmissionState, peer: string): PeerSummary['suspicion'] {
  const s = admission.suspicion
  return {
    score: Math.round(s.score(peer) * 100) / 100,
    state: s.state(peer),
    quarantinedUntil: iso(s.quarantinedUntil(peer)),
    offences: s.recentOffences(peer).map(r => ({ ...r, at: new Date(r.at).toISOString() }))
  }
}

/** Every peer the node knows (not itself), connected or not; connected first. */
export async function peerSummaries (libp2p: Libp2p<TempusServices>, admission: AdmissionState): Promise<PeerSummary[]> {
  const connected = new Set(libp2p.getPeers().map(p => p.toString()))
  const directory = libp2p.services.directory
  const keeper = libp2p.services.keeper
  const known = await libp2p.peerStore.all()
  return known
    .filter(p => !p.id.equals(libp2p.peerId))
    .map(p => {
      const id = p.id.toString()
      const end = directory.lastEndOf(id)
      const admitted = admission.admitted.get(id)
      const redial = keeper.redialOf(p.id)
      return {
        peerId: id,
        type: directory.typeOf(p) ?? null,
        addresses: p.addresses.map(a => a.multiaddr.toString()),
        connected: connected.has(id),
        lastSeen: iso(directory.lastSeenOf(p)),
        admitted: connected.has(id) && admitted != null && !admission.isExpired(id, 0),
        tokenExpiresAt: admitted == null ? null : iso(admitted.claims.exp * 1000),
        suspicion: suspicionOf(admission, id),
        revoked: admission.revocations.isRevoked(id),
        connectionIds: libp2p.getConnections(p.id).map(c => c.id),
        lastConnectionEnd: end == null ? null : { ...end, at: new Date(end.at).toISOString() },
        keptSentinel: keeper.keptSentinels.has(id),
        redial: redial == null ? null : { failures: redial.failures, nextAt: new Date(redial.nextAt).toISOString(), lastError: redial.lastError ?? null }
      }
    })
    .sort((a, b) => Number(b.connected) - Number(a.connected) || a.peerId.localeCompare(b.peerId))
}

export interface StatusSources {
  libp2p: Libp2p<TempusServices>
  config: TempusConfig
  admission: AdmissionState
  tokens: TokenManager
  issuers: IssuerReplicas
  overlay: string
  apiUrl: string | undefined
  uptimeMs: number
}

/** The node's own status. */
export function nodeStatus (s: StatusSources): NodeStatus {
  const { libp2p, admission, tokens } = s
  const gossip = libp2p.services.gossip.status()
  const dtn = libp2p.services.dtn.status()
  return {
    peerId: libp2p.peerId.toString(),
    type: s.config.type,
    version: TEMPUS_VERSION,
    status: libp2p.status,
    addrs: libp2p.getMultiaddrs().map(String),
    connections: libp2p.getConnections().length,
    peers: libp2p.getPeers().length,
    uptimeSeconds: Math.round(s.uptimeMs / 1000),
    dhtMode: libp2p.services.dht.getMode(),
    api: s.apiUrl ?? null,
    admission: {
      overlay: s.overlay,
      epoch: admission.verifier.current?.epoch ?? null,
      tokenExpiresAt: admission.ownToken == null ? null : iso(admission.ownToken.claims.exp * 1000),
      credentialExpiresAt: iso(tokens.credentialExpiresAt),
      credentialRefused: tokens.credentialRefused ?? null,
      issuers: s.issuers.status().map(r => ({
        url: r.url,
        healthy: r.healthy,
        lastAnswerAt: iso(r.lastAnswerAt),
        lastError: r.lastError ?? null,
        consecutiveFailures: r.consecutiveFailures,
        retryAt: iso(r.retryAt)
      })),
      issuerLastAnswered: s.issuers.lastAnswered ?? null,
      revocationList: admission.revocations.current?.n ?? null,
      admittedPeers: libp2p.getPeers().filter(p => admission.admitted.has(p.toString())).length,
      issuerOutageSince: iso(tokens.outageSince()),
      issuerOutagePolicy: s.config.admission.issuerOutage,
      keptConnections: libp2p.services.admission.keptConnections().length
    },
    anomalies: { held: gossip.held, published: gossip.published, delivered: gossip.delivered, caughtUp: gossip.caughtUp, rejected: gossip.rejected as Record<string, number> },
    bundles: { bytes: dtn.bytes, fragments: dtn.fragments, inbox: dtn.inbox, outbox: dtn.outbox, sent: dtn.sent, delivered: dtn.delivered, transmissions: dtn.transmissions, refused: dtn.refused as Record<string, number> }
  }
}

/**
 * What one dashboard snapshot shows, shaped from what the node already
 * reports (`/v1/status`, `/v1/mesh/peers`, the views, the metrics registry,
 * the stores). Pure: the feed gathers the inputs, this decides what the
 * page sees, bounded in rows, with times turned into ages and seconds left.
 */
import { MAX_ADDRESSES, MAX_ANOMALY_ROWS, MAX_BUNDLE_ROWS, MAX_ROWS } from './constants.ts'
import { UNKNOWN_PEER } from './refused-peers.ts'
import type { RefusedPeer } from './refused-peers.ts'
import type { SeriesPoint } from './series.ts'
import type { PeerType } from '../../core/peer-type.ts'

const TYPES: PeerType[] = ['edge', 'bridge', 'sentinel']

/** the parts of the node's status (`/v1/status`) the dashboard reads */
export interface StatusInput {
  peerId: string
  type: PeerType
  status: string
  version: string
  connections: number
  peers: number
  uptimeSeconds: number
  admission: {
    overlay: string
    epoch: number | null
    tokenExpiresAt: string | null
    credentialExpiresAt: string | null
    credentialRefused: string | null
    issuers: Array<{ url: string, healthy: boolean, lastAnswerAt: string | null }>
    admittedPeers: number
    issuerOutageSince: string | null
  }
  anomalies: { held: number, published: number, delivered: number }
  bundles: { bytes: number, inbox: number, outbox: number, fragments: number, delivered: number }
}

/** the parts of a peer summary (`/v1/mesh/peers`) the dashboard reads */
export interface PeerInput {
  peerId: string
  type: PeerType | null
  addresses: string[]
  connected: boolean
  lastSeen: string | null
  admitted: boolean
  suspicion: { score: number, state: string }
  revoked: boolean
}

export interface AnomalyInput {
  id: string
  origin: string
  kind: string
  severity: number
  timestamp: number
  expires: number
  receivedAt: number
  provenance?: { overlay: string }
}

export interface BundlesInput {
  inbox: Array<{ id: string, source: string, sourceOverlay?: string, createdAt: number, receivedAt: number, expiresAt: number, size: number }>
  outbox: Array<{ id: string, destination: string, createdAt: number, expiresAt: number, size: number, fragments: number, deliveredAt?: number }>
  carried: Array<{ id: string, source: string, destination: string, expiresAt: number, fragments: number, bytes: number, copies: number }>
  quotaBytes: number
}

export interface FederationInput {
  anchors: Array<{ overlay: string, root: string }>
  pins: Array<{ remoteId: string, overlay: string, establishedAt: number, rotationDue: number, state: string }>
}

/** one sample of a labelled Prometheus metric */
export interface MetricSample {
  labels: Record<string, string | number>
  value: number
}

export interface DashboardInput {
  now: number
  status: StatusInput
  peers: PeerInput[]
  views: Record<PeerType, { member: boolean, size: number, capacity: number, sampled: number }>
  /** `tempus_admissions_total` */
  admissions: MetricSample[]
  /** `tempus_rpc_served_by_method_total` */
  rpcServed: MetricSample[]
  /** newest first */
  anomalies: AnomalyInput[]
  bundles: BundlesInput
  /** undefined: not a federated bridge */
  federation: FederationInput | undefined
  refusedPeers: RefusedPeer[]
}

export type PeerState = 'connected' | 'known' | 'refused' | 'throttled' | 'quarantined' | 'banned' | 'revoked'

export interface GraphNode {
  id: string
  type: PeerType | null
  self: boolean
  state: PeerState
}

export interface GraphEdge {
  from: string
  to: string
  /** connected: a live, admitted connection; known: in the peer store, not connected now; refused: admission refused it */
  kind: 'connected' | 'known' | 'refused'
}

export interface DashboardSnapshot {
  at: number
  node: {
    peerId: string
    type: PeerType
    overlay: string
    status: string
    version: string
    epoch: number | null
    tokenSecondsLeft: number | null
    credentialExpiresAt: string | null
    credentialSecondsLeft: number | null
    credentialRefused: string | null
    issuers: { reachable: number, total: number, list: Array<{ url: string, healthy: boolean }> }
    issuerOutageSince: string | null
    connections: number
    admittedPeers: number
    uptimeSeconds: number
  }
  peers: {
    total: number
    connected: number
    byType: Record<PeerType | 'unknown', number>
    rows: Array<{ peerId: string, type: PeerType | null, admitted: boolean, connected: boolean, state: string, score: number, lastSeenSecondsAgo: number | null, addresses: string[], revoked: boolean }>
  }
  graph: { nodes: GraphNode[], edges: GraphEdge[] }
  views: Record<PeerType, { member: boolean, size: number, capacity: number, sampled: number }>
  refusals: { total: number, byReason: Record<string, number>, recent: Array<RefusedPeer & { secondsAgo: number }> }
  rpc: { rows: Array<{ method: string, granted: number, refused: number }>, granted: number, refused: number }
  anomalies: {
    held: number
    rows: Array<{ id: string, kind: string, severity: number, origin: string, ageSeconds: number, latencyMs: number, verified: boolean, overlay: string | null }>
    latencyMs: { median: number | null, max: number | null }
  }
  bundles: {
    bytes: number
    quotaBytes: number
    usedFraction: number
    inbox: Array<{ id: string, source: string, size: number, ageSeconds: number }>
    outbox: Array<{ id: string, destination: string, size: number, fragments: number, state: 'delivered' | 'pending' | 'expired' }>
    carried: Array<{ id: string, source: string, destination: string, bytes: number, copies: number, secondsLeft: number }>
    counts: { inbox: number, outbox: number, fragments: number, delivered: number }
  }
  federation: {
    enabled: boolean
    anchors: Array<{ overlay: string, root: string }>
    pins: Array<{ remoteId: string, overlay: string, state: string, rotationDue: string, secondsLeft: number }>
  }
}

function secondsUntil (iso: string | null, now: number): number | null {
  if (iso == null) return null
  const at = Date.parse(iso)
  return Number.isFinite(at) ? Math.round((at - now) / 1000) : null
}

function secondsSince (iso: string | null, now: number): number | null {
  const left = secondsUntil(iso, now)
  return left == null ? null : Math.max(0, -left)
}

/** the state a peer is shown in: its worst standing first */
export function peerState (peer: PeerInput, refused: boolean): PeerState {
  if (peer.revoked) return 'revoked'
  if (peer.suspicion.state === 'banned' || peer.suspicion.state === 'quarantined' || peer.suspicion.state === 'throttled') return peer.suspicion.state
  if (refused) return 'refused'
  return peer.connected ? 'connected' : 'known'
}

function median (values: number[]): number | null {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid] ?? null : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2
}

/** Refusals since start by reason, from `tempus_admissions_total` (both directions summed). */
export function refusalsByReason (admissions: MetricSample[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const s of admissions) {
    if (s.labels.outcome === 'refused') {
      const reason = String(s.labels.reason ?? 'unknown')
      out[reason] = (out[reason] ?? 0) + s.value
    }
  }
  return out
}

/** Served calls by method: granted (answered, or the handler failed) and refused (not granted, malformed, over a limit, dropped). */
export function rpcByMethod (served: MetricSample[]): DashboardSnapshot['rpc'] {
  const rows = new Map<string, { method: string, granted: number, refused: number }>()
  for (const s of served) {
    const method = String(s.labels.method ?? 'unknown')
    const row = rows.get(method) ?? { method, granted: 0, refused: 0 }
    if (s.labels.outcome === 'ok' || s.labels.outcome === 'handler-failed') row.granted += s.value
    else row.refused += s.value
    rows.set(method, row)
  }
  const list = [...rows.values()].filter(r => r.granted + r.refused > 0).sort((a, b) => a.method.localeCompare(b.method))
  return { rows: list, granted: list.reduce((n, r) => n + r.granted, 0), refused: list.reduce((n, r) => n + r.refused, 0) }
}

/**
 * The graph of the connections this node knows of: itself in the middle,
 * every known peer (solid edge when connected, faint when only known), and
 * the peers admission refused (red), capped at `MAX_ROWS` peers with the
 * connected and the refused first.
 */
export function connectionGraph (self: { peerId: string, type: PeerType }, peers: PeerInput[], refused: RefusedPeer[]): DashboardSnapshot['graph'] {
  const refusedIds = new Set(refused.map(r => r.peerId).filter(id => id !== UNKNOWN_PEER))
  const nodes: GraphNode[] = [{ id: self.peerId, type: self.type, self: true, state: 'connected' }]
  const edges: GraphEdge[] = []
  const seen = new Set([self.peerId])
  const ordered = [...peers].sort((a, b) => Number(b.connected) - Number(a.connected))
  for (const p of ordered) {
    if (seen.has(p.peerId) || nodes.length > MAX_ROWS) continue
    seen.add(p.peerId)
    const state = peerState(p, refusedIds.has(p.peerId) && !p.connected)
    nodes.push({ id: p.peerId, type: p.type, self: false, state })
    edges.push({ from: self.peerId, to: p.peerId, kind: state === 'refused' ? 'refused' : p.connected ? 'connected' : 'known' })
  }
  for (const r of refused) {
    if (seen.has(r.peerId) || r.peerId === UNKNOWN_PEER || nodes.length > MAX_ROWS) continue
    seen.add(r.peerId)
    nodes.push({ id: r.peerId, type: null, self: false, state: 'refused' })
    edges.push({ from: self.peerId, to: r.peerId, kind: 'refused' })
  }
  return { nodes, edges }
}

export function shapeSnapshot (input: DashboardInput): DashboardSnapshot {
  const { now, status } = input
  const a = status.admission
  const refusedIds = new Set(input.refusedPeers.map(r => r.peerId))
  const byType: Record<PeerType | 'unknown', number> = { edge: 0, bridge: 0, sentinel: 0, unknown: 0 }
  for (const p of input.peers) byType[p.type ?? 'unknown']++
  const byReason = refusalsByReason(input.admissions)
  const latencies = input.anomalies.map(x => Math.max(0, x.receivedAt - x.timestamp))
  const quota = input.bundles.quotaBytes
  return {
    at: now,
    node: {
      peerId: status.peerId,
      type: status.type,
      overlay: a.overlay,
      status: status.status,
      version: status.version,
      epoch: a.epoch,
      tokenSecondsLeft: secondsUntil(a.tokenExpiresAt, now),
      credentialExpiresAt: a.credentialExpiresAt,
      credentialSecondsLeft: secondsUntil(a.credentialExpiresAt, now),
      credentialRefused: a.credentialRefused,
      issuers: { reachable: a.issuers.filter(i => i.healthy).length, total: a.issuers.length, list: a.issuers.map(i => ({ url: i.url, healthy: i.healthy })) },
      issuerOutageSince: a.issuerOutageSince,
      connections: status.connections,
      admittedPeers: a.admittedPeers,
      uptimeSeconds: status.uptimeSeconds
    },
    peers: {
      total: input.peers.length,
      connected: input.peers.filter(p => p.connected).length,
      byType,
      rows: input.peers.slice(0, MAX_ROWS).map(p => ({
        peerId: p.peerId,
        type: p.type,
        admitted: p.admitted,
        connected: p.connected,
        state: peerState(p, refusedIds.has(p.peerId) && !p.connected),
        score: p.suspicion.score,
        lastSeenSecondsAgo: p.connected ? 0 : secondsSince(p.lastSeen, now),
        addresses: p.addresses.slice(0, MAX_ADDRESSES),
        revoked: p.revoked
      }))
    },
    graph: connectionGraph(status, input.peers, input.refusedPeers),
    views: Object.fromEntries(TYPES.map(t => [t, { ...input.views[t] }])) as DashboardSnapshot['views'],
    refusals: {
      total: Object.values(byReason).reduce((n, v) => n + v, 0),
      byReason,
      recent: input.refusedPeers.slice(0, MAX_ROWS).map(r => ({ ...r, secondsAgo: Math.max(0, Math.round((now - r.lastAt) / 1000)) }))
    },
    rpc: rpcByMethod(input.rpcServed),
    anomalies: {
      held: status.anomalies.held,
      rows: input.anomalies.slice(0, MAX_ANOMALY_ROWS).map(x => ({
        id: x.id,
        kind: x.kind,
        severity: x.severity,
        origin: x.origin,
        ageSeconds: Math.max(0, Math.round((now - x.timestamp) / 1000)),
        latencyMs: Math.max(0, x.receivedAt - x.timestamp),
        // the store holds only anomalies whose signature and origin were checked on arrival
        verified: true,
        overlay: x.provenance?.overlay ?? null
      })),
      latencyMs: { median: median(latencies), max: latencies.length === 0 ? null : Math.max(...latencies) }
    },
    bundles: {
      bytes: status.bundles.bytes,
      quotaBytes: quota,
      usedFraction: quota > 0 ? Math.min(1, status.bundles.bytes / quota) : 0,
      inbox: input.bundles.inbox.slice(0, MAX_BUNDLE_ROWS).map(b => ({ id: b.id, source: b.sourceOverlay == null ? b.source : `${b.source} (${b.sourceOverlay})`, size: b.size, ageSeconds: Math.max(0, Math.round((now - b.receivedAt) / 1000)) })),
      outbox: input.bundles.outbox.slice(0, MAX_BUNDLE_ROWS).map(b => ({ id: b.id, destination: b.destination, size: b.size, fragments: b.fragments, state: b.deliveredAt != null ? 'delivered' : b.expiresAt <= now ? 'expired' : 'pending' })),
      carried: input.bundles.carried.slice(0, MAX_BUNDLE_ROWS).map(b => ({ id: b.id, source: b.source, destination: b.destination, bytes: b.bytes, copies: b.copies, secondsLeft: Math.max(0, Math.round((b.expiresAt - now) / 1000)) })),
      counts: { inbox: status.bundles.inbox, outbox: status.bundles.outbox, fragments: status.bundles.fragments, delivered: status.bundles.delivered }
    },
    federation: input.federation == null
      ? { enabled: false, anchors: [], pins: [] }
      : {
          enabled: true,
          anchors: input.federation.anchors.slice(0, MAX_ROWS),
          pins: input.federation.pins.slice(0, MAX_ROWS).map(p => ({ remoteId: p.remoteId, overlay: p.overlay, state: p.state, rotationDue: new Date(p.rotationDue).toISOString(), secondsLeft: Math.round((p.rotationDue - now) / 1000) }))
        }
  }
}

/** The point of history this snapshot's inputs give. */
export function seriesPoint (input: Pick<DashboardInput, 'now' | 'views' | 'admissions'>): SeriesPoint {
  return {
    t: input.now,
    views: { edge: input.views.edge.size, bridge: input.views.bridge.size, sentinel: input.views.sentinel.size },
    sampler: { edge: input.views.edge.sampled, bridge: input.views.bridge.sampled, sentinel: input.views.sentinel.sampled },
    refusals: refusalsByReason(input.admissions)
  }
}

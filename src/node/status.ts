/**
 * What a running node says about itself and its peers (`/v1/status`,
 * `/v1/mesh/peers`, `tempus status`): JSON, times as ISO strings.
 */
import type { PeerType } from '../core/peer-type.ts'
import type { ConnectionEnd } from './peer-directory.ts'

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
  /**
   * its suspicion now: `quarantinedUntil` (ISO) while quarantined, and
   * `offences`, the last ones charged (oldest first, ISO times): why the
   * score rose
   */
  suspicion: { score: number, state: string, quarantinedUntil: string | null, offences: Array<{ offence: string, cause?: string, at: string, weight: number }> }
  revoked: boolean
  /** ids of the open connections to it (an id changes only when the connection was replaced) */
  connectionIds: string[]
  /** how the last connection to it ended since this process started (ISO time), or null */
  lastConnectionEnd: (Omit<ConnectionEnd, 'at'> & { at: string }) | null
  /** one of the sentinels this node keeps a connection to (its rendezvous choice, and stand-ins for those out of reach) */
  keptSentinel: boolean
  /**
   * the peer keeper's failed dials to it since it was last connected: how
   * many in a row, when the next may be (ISO) and why the last failed (its
   * error's name and message start); null when none is pending
   */
  redial: { failures: number, nextAt: string, lastError: string | null } | null
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

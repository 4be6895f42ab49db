/**
 * What `/healthz` says: `ok` only while the node holds a valid token of its
 * own and has at least one admitted connection; `degraded` with the reasons
 * otherwise, so an issuer outage or an empty mesh is visible where the
 * operator looks first. Pure.
 */

/**
 * - `no-token`: this node holds no valid token of its own (an issuer
 *   outage, or a credential the issuer refused): no new connection can be
 *   admitted
 * - `issuer-unreachable`: no issuer has answered this node's token requests
 *   for a while (an issuer outage, src/admission/outage-policy.ts)
 * - `no-peers`: no admitted connection
 */
export type HealthReason = 'no-token' | 'issuer-unreachable' | 'no-peers'

export interface Health {
  /** `ok` and `degraded` while running; libp2p's state otherwise */
  status: 'ok' | 'degraded' | 'starting' | 'stopping' | 'stopped'
  /** why it is degraded; absent when ok */
  reasons?: HealthReason[]
}

export interface HealthInput {
  libp2pStatus: 'starting' | 'started' | 'stopping' | 'stopped'
  ownTokenValid: boolean
  issuerUnreachable: boolean
  admittedConnections: number
}

export function healthOf (input: HealthInput): Health {
  if (input.libp2pStatus !== 'started') {
    return { status: input.libp2pStatus }
  }
  const reasons: HealthReason[] = []
  if (!input.ownTokenValid) {
    reasons.push('no-token')
  }
  if (input.issuerUnreachable) {
    reasons.push('issuer-unreachable')
  }
  if (input.admittedConnections === 0) {
    reasons.push('no-peers')
  }
  return reasons.length === 0 ? { status: 'ok' } : { status: 'degraded', reasons }
}

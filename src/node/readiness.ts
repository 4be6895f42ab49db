/**
 * What `/readyz` says, and what `tempus start` tells systemd (`READY=1`):
 * a node is ready once it can do its job in the mesh — its stores are open,
 * it holds a valid token of its own, and it is admitted to at least one
 * peer, or it is alone by design (no bootstrap peers configured: the first
 * sentinel of a mesh). Otherwise every reason, each with what to do. Unlike
 * `/healthz` (the process answers; degraded is for alerts), not ready is a
 * state a supervisor or a load balancer waits on. Pure.
 */

/**
 * - `not-started`: libp2p is starting or stopping
 * - `stores-closed`: the bundle or anomaly store is not open
 * - `no-token`: the node holds no token of its own yet
 * - `token-expired`: its last token ran out and no fresh one came
 * - `no-admitted-peer`: bootstrap peers are configured and none admitted it
 */
export type NotReadyReason = 'not-started' | 'stores-closed' | 'no-token' | 'token-expired' | 'no-admitted-peer'

export interface NotReady {
  code: NotReadyReason
  /** what is wrong and what to do, for a person */
  detail: string
}

export interface Readiness {
  ready: boolean
  /** empty when ready */
  reasons: NotReady[]
  admittedPeers: number
  /** no bootstrap peers configured: ready without a peer */
  aloneByDesign: boolean
  /** ISO expiry of the node's own token, or null */
  tokenExpiresAt: string | null
}

export interface ReadinessInput {
  libp2pStatus: 'starting' | 'started' | 'stopping' | 'stopped'
  storesOpen: boolean
  /** the own token's `exp` in ms since the epoch, or undefined without one */
  ownTokenExpiresAt?: number
  now: number
  /** open connections to admitted peers */
  admittedPeers: number
  bootstrapPeers: number
  /** the issuer replicas the node asks, to name in the advice */
  issuers: readonly string[]
}

export function readinessOf (input: ReadinessInput): Readiness {
  const reasons: NotReady[] = []
  const issuers = input.issuers.length === 0 ? 'the issuer' : input.issuers.join(', ')
  if (input.libp2pStatus !== 'started') {
    reasons.push({ code: 'not-started', detail: `the node is ${input.libp2pStatus}` })
  }
  if (!input.storesOpen) {
    reasons.push({ code: 'stores-closed', detail: 'the bundle or anomaly store is not open: see the node\'s log for the store error, then restart it (tempus start --reset-store NAME accepts a lost store)' })
  }
  if (input.ownTokenExpiresAt == null) {
    reasons.push({ code: 'no-token', detail: `no token from the issuer yet: check that ${issuers} is up and reachable from this host, and that this node's credential was not refused (tempus status)` })
  } else if (input.ownTokenExpiresAt <= input.now) {
    reasons.push({ code: 'token-expired', detail: `the node's token expired at ${new Date(input.ownTokenExpiresAt).toISOString()} and no fresh one came: check that ${issuers} is up and reachable from this host` })
  }
  const aloneByDesign = input.bootstrapPeers === 0
  if (!aloneByDesign && input.admittedPeers === 0) {
    reasons.push({ code: 'no-admitted-peer', detail: `no peer has admitted this node yet: check that the ${input.bootstrapPeers} bootstrap peer(s) in config.yaml are running and reachable, and that they are of the same overlay (their logs name refused peers)` })
  }
  return {
    ready: reasons.length === 0,
    reasons,
    admittedPeers: input.admittedPeers,
    aloneByDesign,
    tokenExpiresAt: input.ownTokenExpiresAt == null ? null : new Date(input.ownTokenExpiresAt).toISOString()
  }
}

/**
 * The node's own admission, as Prometheus gauges read at scrape time from
 * the token manager: how long its credential and token have left, whether
 * the issuer refused the credential (the node is then locked out until it
 * enrols again), and whether it is in an issuer outage. An operator alerts
 * on these before a node falls out of the mesh.
 */
import { Gauge } from 'prom-client'
import type { AdmissionState } from './state.ts'
import type { TokenManager } from './token-manager.ts'
import type { Registry } from 'prom-client'

export interface AdmissionMetricsInit {
  registry: Registry
  tokens: TokenManager
  state: AdmissionState
  now: () => number
}

export function registerAdmissionMetrics (init: AdmissionMetricsInit): void {
  const { registry, tokens, state, now } = init
  const seconds = (at: number | undefined): number => at == null ? Number.NaN : (at - now()) / 1000
  new Gauge({
    name: 'tempus_credential_expires_in_seconds',
    help: 'seconds until this node\'s membership credential expires (negative: expired; the node renews it at half its life)',
    registers: [registry],
    collect () { this.set(seconds(tokens.credentialExpiresAt)) }
  })
  new Gauge({
    name: 'tempus_credential_refused',
    help: '1 when the issuer refused this node\'s credential (expired or revoked): it gets no token until it enrols again with a new code',
    registers: [registry],
    collect () { this.set(tokens.credentialRefused == null ? 0 : 1) }
  })
  new Gauge({
    name: 'tempus_token_expires_in_seconds',
    help: 'seconds until this node\'s own admission token expires (negative: lapsed)',
    registers: [registry],
    collect () { this.set(seconds(state.ownToken == null ? undefined : state.ownToken.claims.exp * 1000)) }
  })
  new Gauge({
    name: 'tempus_issuer_outage',
    help: '1 while this node is in an issuer outage (no replica answered since its last token, and its token lapsed or requests keep failing)',
    registers: [registry],
    collect () { this.set(tokens.outageSince() == null ? 0 : 1) }
  })
}

/**
 * Admission as Prometheus figures (`tempus_admission_*`, `tempus_suspicion_*`,
 * `tempus_token_*`, `tempus_credential_*`, `tempus_issuer_outage`), on the
 * node's one registry. Gauges are read at scrape time from the state, the
 * suspicion scores and the token manager, so nothing is counted twice; the
 * only counters kept here are the ones no state holds (admissions and
 * escalations, counted from the state's own events). An operator alerts on
 * these before a node falls out of the mesh, or when the mesh is attacked.
 *
 * Labels are bounded: direction (2), outcome (3), reason (the refusal
 * reasons, a closed set), suspicion state (4). Never a PeerId.
 */
import { Counter, Gauge } from 'prom-client'
import type { AdmissionState } from './state.ts'
import type { TokenManager } from './token-manager.ts'
import type { Registry } from 'prom-client'

export interface AdmissionMetricsInit {
  registry: Registry
  state: AdmissionState
  /** the node's own token and credential (absent: those figures are not registered) */
  tokens?: TokenManager
  now?: () => number
}

export function registerAdmissionMetrics (init: AdmissionMetricsInit): void {
  const { registry, tokens, state } = init
  const now = init.now ?? state.now
  const registers = [registry]

  const admissions = new Counter({
    name: 'tempus_admissions_total',
    help: 'admission exchanges by direction, outcome (admitted, refreshed: a fresh token re-presented on a live connection, refused) and reason (none, or why it was refused)',
    labelNames: ['direction', 'outcome', 'reason'],
    registers
  })
  state.addEventListener('admitted', evt => {
    admissions.inc({ direction: evt.detail.direction, outcome: evt.detail.refreshed ? 'refreshed' : 'admitted', reason: 'none' })
  })
  state.addEventListener('refused', evt => {
    admissions.inc({ direction: evt.detail.direction, outcome: 'refused', reason: evt.detail.reason })
  })
  const resumptions = new Counter({
    name: 'tempus_admission_resumptions_total',
    help: 'resumption tickets presented (either side), before Noise or inside it: resumed, or why the full exchange ran instead (expired, epoch, replayed, unknown-key, forged, not-for-this-link, malformed, bad-binder, no-ticket-secret, no-token, no-muxer, declined-by-peer, no-ticket-to-show)',
    labelNames: ['outcome'],
    registers
  })
  state.noteResumption = (outcome) => { resumptions.inc({ outcome }) }
  new Counter({
    name: 'tempus_admission_inbound_shed_total',
    help: 'inbound connections refused before any handshake because this node was too starved to finish the ones under way (inbound-load.ts); a rise says the host needs more CPU',
    registers,
    collect () {
      this.reset()
      this.inc(state.inbound.shedTotal)
    }
  })
  new Counter({
    name: 'tempus_handshake_deadlines_extended_total',
    help: 'connection deadlines (an outbound address\'s connect and upgrade, an inbound upgrade) moved on because this node\'s own event loop ran late (patient-transport.ts); a rise says the host needs more CPU',
    labelNames: ['direction'],
    registers,
    collect () {
      this.reset()
      this.inc({ direction: 'inbound' }, state.handshakeExtensions.inbound)
      this.inc({ direction: 'outbound' }, state.handshakeExtensions.outbound)
    }
  })
  new Gauge({
    name: 'tempus_inbound_handshakes',
    help: 'inbound handshakes (Noise and the admission exchange) under way now',
    registers,
    collect () { this.set(state.inbound.pending) }
  })
  new Gauge({
    name: 'tempus_admitted_peers',
    help: 'peers admitted now (their last token was accepted)',
    registers,
    collect () { this.set(state.admitted.size) }
  })

  new Gauge({
    name: 'tempus_suspicion_peers',
    help: 'peers with a suspicion score, by state (ok: the score is decaying; throttled; quarantined: refused for a cooldown; banned)',
    labelNames: ['state'],
    registers,
    collect () {
      for (const [s, n] of Object.entries(state.suspicion.tally())) {
        this.set({ state: s }, n)
      }
    }
  })
  const escalations = new Counter({
    name: 'tempus_suspicion_escalations_total',
    help: 'peers that crossed a suspicion threshold upwards, by the state they reached (throttled, quarantined, banned)',
    labelNames: ['state'],
    registers
  })
  const rank = { ok: 0, throttled: 1, quarantined: 2, banned: 3 }
  state.addEventListener('suspicion', evt => {
    if (rank[evt.detail.state] > rank[evt.detail.previous]) {
      escalations.inc({ state: evt.detail.state })
    }
  })

  if (tokens == null) {
    return
  }
  const seconds = (at: number | undefined): number => at == null ? Number.NaN : (at - now()) / 1000
  new Gauge({
    name: 'tempus_credential_expires_in_seconds',
    help: 'seconds until this node\'s membership credential expires (negative: expired; the node renews it at half its life)',
    registers,
    collect () { this.set(seconds(tokens.credentialExpiresAt)) }
  })
  new Gauge({
    name: 'tempus_credential_refused',
    help: '1 when the issuer refused this node\'s credential (expired or revoked): it gets no token until it enrols again with a new code',
    registers,
    collect () { this.set(tokens.credentialRefused == null ? 0 : 1) }
  })
  new Counter({
    name: 'tempus_credential_renewals_total',
    help: 'membership credentials renewed since start',
    registers,
    collect () { this.reset(); this.inc(tokens.renewed) }
  })
  new Gauge({
    name: 'tempus_token_expires_in_seconds',
    help: 'seconds until this node\'s own admission token expires (negative: lapsed)',
    registers,
    collect () { this.set(seconds(state.ownToken == null ? undefined : state.ownToken.claims.exp * 1000)) }
  })
  new Counter({
    name: 'tempus_token_refreshes_total',
    help: 'requests for this node\'s own token by outcome: ok, refused (by the issuer), unavailable (no issuer answered), invalid (the answer did not verify)',
    labelNames: ['outcome'],
    registers,
    collect () {
      this.reset()
      this.inc({ outcome: 'ok' }, tokens.fetched)
      for (const [outcome, n] of Object.entries(tokens.fetchFailures)) {
        this.inc({ outcome }, n)
      }
    }
  })
  new Gauge({
    name: 'tempus_issuer_outage',
    help: '1 while this node is in an issuer outage (no replica answered since its last token, and its token lapsed or requests keep failing)',
    registers,
    collect () { this.set(tokens.outageSince() == null ? 0 : 1) }
  })
}

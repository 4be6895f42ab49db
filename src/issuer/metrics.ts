/**
 * The issuer's own figures (`tempus_issuer_*`) on its registry
 * (`Issuer.metrics`, served at its loopback-only `/metrics`): requests by
 * route and status, their duration, tokens issued, enrolments by outcome
 * (each one that succeeds uses an enrolment code). Counted in the HTTP
 * hooks, so the issuer's logic is untouched. A route is the pattern Fastify
 * matched (`/v1/revoke/:id`), never the URL a client sent: bounded.
 */
import { Counter, Histogram } from 'prom-client'
import type { Registry } from 'prom-client'

export class IssuerHttpMetrics {
  private readonly requests: Counter<'route' | 'method' | 'status'>
  private readonly duration: Histogram<'route'>
  private readonly tokens: Counter
  private readonly enrolments: Counter<'outcome'>

  constructor (registry: Registry) {
    // an issuer whose HTTP API is started again (tests, a restart in process) keeps its counts
    const existing = <T>(name: string): T | undefined => registry.getSingleMetric(name) as T | undefined
    const registers = [registry]
    this.requests = existing('tempus_issuer_requests_total') ?? new Counter({
      name: 'tempus_issuer_requests_total',
      help: 'HTTP requests answered by route (the matched pattern; unmatched for any other path), method and status code',
      labelNames: ['route', 'method', 'status'],
      registers
    })
    this.duration = existing('tempus_issuer_request_duration_seconds') ?? new Histogram({
      name: 'tempus_issuer_request_duration_seconds',
      help: 'time from a request to its answer, by route (held polls of /v1/crl and /v1/keys, which wait for a change, are counted in tempus_issuer_requests_total but not timed here)',
      labelNames: ['route'],
      // a token takes a signature and a group commit: milliseconds; a slow store shows in seconds
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers
    })
    this.tokens = existing('tempus_issuer_tokens_issued_total') ?? new Counter({
      name: 'tempus_issuer_tokens_issued_total',
      help: 'admission tokens handed out over HTTP (token requests that succeeded)',
      registers
    })
    this.enrolments = existing('tempus_issuer_enrolments_total') ?? new Counter({
      name: 'tempus_issuer_enrolments_total',
      help: 'enrolments by outcome: ok (an enrolment code was used), or the error code (invalid-code, wrong-type, attestation-failed, …)',
      labelNames: ['outcome'],
      registers
    })
  }

  /** `seconds` undefined: a held poll (`Prefer: wait`), whose time is its wait, not the issuer's work: counted, not timed */
  answered (route: string | undefined, method: string, status: number, seconds: number | undefined): void {
    const r = route ?? 'unmatched'
    this.requests.inc({ route: r, method, status: String(status) })
    if (seconds != null) {
      this.duration.observe({ route: r }, seconds)
    }
  }

  tokenIssued (): void {
    this.tokens.inc()
  }

  enrolled (outcome: string): void {
    this.enrolments.inc({ outcome })
  }
}

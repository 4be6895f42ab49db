/**
 * Which issuer replica a node asks next, and which it leaves alone for a
 * while. Pure: no I/O, the clock and the random source are injected.
 *
 * Every operation gets its own order of all replicas and tries each at most
 * once, so an operation costs at most one attempt per replica:
 * 1. the replicas that are up, or down but due for a retry, rotated by one
 *    per operation from a random start (so one node spreads its requests
 *    over all of them, and a fleet of nodes does not start on the same one);
 * 2. then the replicas still down, earliest retry first: when every replica
 *    is down they are all tried anyway, and when the up ones fail in this
 *    very operation the down ones are its last chance.
 *
 * A replica that failed (no connection, a timeout, a 5xx, a 429, an answer
 * that is not the API's) is down until a retry time drawn from a jittered
 * exponential backoff over its consecutive failures; any answer of the API,
 * refusals included, brings it up again.
 */
import { backoffDelay } from '../core/backoff.ts'
import type { BackoffPolicy } from '../core/backoff.ts'

export interface ReplicaHealthInit {
  /**
   * how long a failed replica is left alone, growing with its consecutive failures
   * @default 1 s doubling to 60 s, half of it jittered
   */
  backoff?: BackoffPolicy
  /** the clock, ms since the epoch */
  now?: () => number
  /** random source in [0, 1): the first replica asked and the backoff's jitter */
  random?: () => number
}

/** One replica's health, as the node's status shows it. */
export interface ReplicaStatus {
  url: string
  /** answered last time it was asked (or was never asked) */
  healthy: boolean
  /** when it last answered (refusals included), ms since the epoch */
  lastAnswerAt?: number
  /** the code of its last failure, kept after it recovers */
  lastError?: string
  consecutiveFailures: number
  /** while down: when it is asked again, ms since the epoch */
  retryAt?: number
}

/** An error as an issuer client throws it: the issuer's code and the HTTP status (0: no answer). */
export interface AttemptError {
  code?: unknown
  status?: unknown
}

/**
 * Does this failure say the replica, not the request, is at fault, so the
 * same operation goes at once to the next one? No answer (connection
 * refused, reset, timeout), a 5xx, an answer that is not the API's
 * (`bad-response`) and 429: a replica shedding load or limiting this node is
 * no verdict on the request, and another replica may take it. Every other
 * 4xx (invalid-credential, revoked, twin, …) is the issuer's answer, which
 * every replica of one store would give alike.
 */
export function failsOver (err: unknown): boolean {
  const { code, status } = (err ?? {}) as AttemptError
  const answered = typeof status === 'number' ? status : 0
  return answered === 0 || answered >= 500 || answered === 429 || code === 'bad-response'
}

export const DEFAULT_REPLICA_BACKOFF: BackoffPolicy = { initialDelayMs: 1_000, maxDelayMs: 60_000, factor: 2, jitter: 0.5 }

interface Replica {
  url: string
  lastAnswerAt?: number
  lastError?: string
  failures: number
  retryAt: number
}

export class ReplicaHealth {
  private readonly replicas: Replica[]
  private readonly backoff: BackoffPolicy
  private readonly now: () => number
  private readonly random: () => number
  private cursor: number
  /** the replica that answered last (its answer may have been a refusal) */
  lastAnswered?: string

  constructor (urls: readonly string[], init: ReplicaHealthInit = {}) {
    if (urls.length === 0) {
      throw new RangeError('at least one issuer replica is needed')
    }
    this.replicas = urls.map(url => ({ url, failures: 0, retryAt: 0 }))
    this.backoff = init.backoff ?? DEFAULT_REPLICA_BACKOFF
    this.now = init.now ?? Date.now
    this.random = init.random ?? Math.random
    this.cursor = Math.floor(this.random() * urls.length)
  }

  get urls (): string[] {
    return this.replicas.map(r => r.url)
  }

  /** The order in which the next operation tries the replicas (each once). */
  order (): string[] {
    const now = this.now()
    const ready = this.replicas.filter(r => r.failures === 0 || r.retryAt <= now)
    const resting = this.replicas.filter(r => !ready.includes(r)).sort((a, b) => a.retryAt - b.retryAt)
    const start = ready.length === 0 ? 0 : this.cursor % ready.length
    this.cursor = (this.cursor + 1) % Number.MAX_SAFE_INTEGER
    return [...ready.slice(start), ...ready.slice(0, start), ...resting].map(r => r.url)
  }

  /** `url` answered (an answer or a refusal): it is up. */
  answered (url: string): void {
    const replica = this.find(url)
    replica.failures = 0
    replica.retryAt = 0
    replica.lastAnswerAt = this.now()
    this.lastAnswered = url
  }

  /** `url` failed with `code`: down until a jittered retry time. */
  failed (url: string, code: string): void {
    const replica = this.find(url)
    replica.lastError = code
    replica.retryAt = this.now() + backoffDelay(this.backoff, replica.failures, this.random)
    replica.failures++
  }

  /** replicas that answered the last time they were asked */
  healthy (): number {
    return this.replicas.filter(r => r.failures === 0).length
  }

  status (): ReplicaStatus[] {
    return this.replicas.map(r => ({
      url: r.url,
      healthy: r.failures === 0,
      ...(r.lastAnswerAt == null ? {} : { lastAnswerAt: r.lastAnswerAt }),
      ...(r.lastError == null ? {} : { lastError: r.lastError }),
      consecutiveFailures: r.failures,
      ...(r.failures === 0 ? {} : { retryAt: r.retryAt })
    }))
  }

  private find (url: string): Replica {
    const replica = this.replicas.find(r => r.url === url)
    if (replica == null) {
      throw new RangeError(`not one of the replicas: ${url}`)
    }
    return replica
  }
}

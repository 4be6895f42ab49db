/**
 * Every issuer replica a node knows, behind the calls a node makes to its
 * issuer (`IssuerApi`): a token, a renewal, the keys, the revocation list.
 * Replicas serve one overlay from one store, so any of them gives the same
 * answer; what differs is whether it is alive.
 *
 * An operation runs whole on one replica (a challenge is the replica's own,
 * so challenge → token or challenge → renew never straddle two) and, when
 * that replica fails (see `failsOver`), runs again at once, from a fresh
 * challenge, on the next one in `ReplicaHealth`'s order: one dead replica
 * costs the node no refresh. Each attempt is bounded by the client's
 * timeout per request, and an operation tries each replica at most once,
 * so an operation is bounded by replicas × requests × timeout.
 */
import { randomBytes } from 'node:crypto'
import { Counter, Gauge } from 'prom-client'
import { IssuerClient, IssuerClientError, isInterrupted, isNoRoute } from './client.ts'
import { ReplicaHealth, failsOver } from './replica-health.ts'
import type { CloneProofJson } from '../core/clone-proof.ts'
import type { KeySet, RenewResult, RevocationRequest, TokenResult } from './wire.ts'
import type { ReplicaStatus } from './replica-health.ts'
import type { BackoffPolicy } from '../core/backoff.ts'
import type { PrivateKey } from '@libp2p/interface'
import type { Registry } from 'prom-client'

/** What a node asks of its issuer; one `IssuerClient` or `IssuerReplicas`. */
export interface IssuerApi {
  /** the base URL of every replica */
  readonly urls: readonly string[]
  /** the replica that answered last (its answer may have been a refusal) */
  readonly lastAnswered?: string
  token(key: PrivateKey, credential: string): Promise<TokenResult>
  renew(key: PrivateKey, credential: string): Promise<RenewResult>
  keys(): Promise<KeySet>
  /** the keys if not the ones tagged `known`, the issuer holding the request up to `waitMs` for newer ones (`IssuerClient.awaitKeys`) */
  awaitKeys(known?: string, options?: { waitMs?: number, signal?: AbortSignal }): Promise<{ keys?: KeySet, tag?: string, held: boolean }>
  revocationList(known?: number): Promise<{ n: number, jws: string } | undefined>
  /** the list if newer than `known`, the issuer holding the request up to `waitMs` for a newer one (`IssuerClient.awaitRevocationList`) */
  awaitRevocationList(known?: number, options?: { waitMs?: number, signal?: AbortSignal }): Promise<{ list?: { n: number, jws: string }, held: boolean }>
  /** offer a clone proof as grounds for revocation (`IssuerClient.offerCloneProof`) */
  offerCloneProof(proof: CloneProofJson): Promise<RevocationRequest>
  /** end the requests in flight: the host's network changed under them (`IssuerClient.interrupt`) */
  interrupt(): void
}

export interface IssuerReplicasInit {
  /** the replicas' base URLs, validated (`parseIssuerUrls`) */
  urls: readonly string[]
  /**
   * one request's timeout on one replica, ms
   * @default 5000
   */
  timeoutMs?: number
  /**
   * the node process's client instance id, the same on every replica (the
   * issuer tells two processes of one credential apart by it)
   * @default 16 random bytes, base64url
   */
  instance?: string
  /**
   * how long a failed replica is left alone
   * @default 1 s doubling to 60 s, half of it jittered
   */
  backoff?: BackoffPolicy
  now?: () => number
  random?: () => number
  /** registers `tempus_issuer_replicas_healthy` and `tempus_issuer_failovers_total` here */
  registry?: Registry
}

export const DEFAULT_REPLICA_TIMEOUT_MS = 5_000

export class IssuerReplicas implements IssuerApi {
  readonly health: ReplicaHealth
  private readonly clients: Map<string, IssuerClient>
  /** operations that moved on to another replica after one failed */
  failovers = 0
  private readonly failoverCounter?: Counter

  constructor (init: IssuerReplicasInit) {
    this.health = new ReplicaHealth(init.urls, { backoff: init.backoff, now: init.now, random: init.random })
    const instance = init.instance ?? randomBytes(16).toString('base64url')
    this.clients = new Map(this.health.urls.map(url => [url, new IssuerClient({ url, instance, timeoutMs: init.timeoutMs ?? DEFAULT_REPLICA_TIMEOUT_MS, now: init.now })]))
    if (init.registry != null) {
      const health = this.health
      new Gauge({
        name: 'tempus_issuer_replicas_healthy',
        help: 'issuer replicas that answered the last time this node asked them',
        registers: [init.registry],
        collect () { this.set(health.healthy()) }
      })
      this.failoverCounter = new Counter({ name: 'tempus_issuer_failovers_total', help: 'issuer requests sent again to another replica after one failed (no connection, timeout, 5xx, 429)', registers: [init.registry] })
    }
  }

  get urls (): string[] {
    return this.health.urls
  }

  get lastAnswered (): string | undefined {
    return this.health.lastAnswered
  }

  status (): ReplicaStatus[] {
    return this.health.status()
  }

  async token (key: PrivateKey, credential: string): Promise<TokenResult> {
    return this.run(async client => client.token(key, credential))
  }

  async renew (key: PrivateKey, credential: string): Promise<RenewResult> {
    return this.run(async client => client.renew(key, credential))
  }

  async keys (): Promise<KeySet> {
    return this.run(async client => client.keys())
  }

  async awaitKeys (known?: string, options: { waitMs?: number, signal?: AbortSignal } = {}): Promise<{ keys?: KeySet, tag?: string, held: boolean }> {
    return await this.run(async client => await client.awaitKeys(known, options))
  }

  async revocationList (known?: number): Promise<{ n: number, jws: string } | undefined> {
    return this.run(async client => client.revocationList(known))
  }

  async awaitRevocationList (known?: number, options: { waitMs?: number, signal?: AbortSignal } = {}): Promise<{ list?: { n: number, jws: string }, held: boolean }> {
    return await this.run(async client => await client.awaitRevocationList(known, options))
  }

  /** Run `operation` on one replica after another until one answers (or refuses). */
  async offerCloneProof (proof: CloneProofJson): Promise<RevocationRequest> {
    return this.run(async client => client.offerCloneProof(proof))
  }

  /** End every replica's requests in flight (`IssuerClient.interrupt`); an operation goes on to the next replica at once. */
  interrupt (): void {
    for (const client of this.clients.values()) {
      client.interrupt()
    }
  }

  private async run<T>(operation: (client: IssuerClient) => Promise<T>): Promise<T> {
    const tried: string[] = []
    let last: any
    /** the last failure that was not for want of a route: a replica reached (it answered, or timed out) speaks for the issuer */
    let reached: any
    for (const url of this.health.order()) {
      if (tried.length > 0) {
        this.failovers++
        this.failoverCounter?.inc()
      }
      try {
        const result = await operation(this.clients.get(url) as IssuerClient)
        this.health.answered(url)
        return result
      } catch (err: any) {
        if (!failsOver(err)) {
          // the issuer's answer: every replica would say the same
          this.health.answered(url)
          throw err
        }
        const code = errorCode(err)
        if (!isInterrupted(err)) {
          // a request cut short here says nothing about the replica
          this.health.failed(url, code)
        }
        tried.push(`${url} (${code})`)
        last = err
        if (!isNoRoute(err)) reached = err
      }
    }
    if (tried.length === 1) {
      throw last
    }
    // the last failure's code and status (an outage stays `unreachable`), and every replica's in the
    // message; no route only if no replica was reached (a 503 or a 429 from one keeps its backoff)
    const said = reached ?? last
    throw new IssuerClientError(String(said?.code ?? 'unreachable'), typeof said?.status === 'number' ? said.status : 0, `no issuer replica answered: ${tried.join(', ')}`, said?.reason)
  }
}

/** A failure's code as the status shows it: `timeout` and the like for no answer, `http-503` for a bare 5xx. */
function errorCode (err: any): string {
  if (err?.code === 'unreachable') {
    return err.reason === 'timeout' ? 'timeout' : `unreachable${err.reason == null ? '' : `: ${String(err.reason)}`}`
  }
  return String(err?.code ?? err?.name ?? 'error')
}

/**
 * A budget of outgoing dials per address (host:port) and per host, pure
 * (the clock is injected). Addresses reach a node from other peers: view
 * entries, and through them the peer store the peer keeper dials from. Even
 * signed by the peers they describe, an admitted peer may sign any address
 * for itself, and many colluding identities may all name one victim; without
 * a budget, every shuffle and every maintenance round would dial it again
 * (a reflection vector). The budget is spent per address actually dialled,
 * whoever asks (sampling, the peer keeper), so the node as a whole never
 * hammers one address or one host.
 */
import { TempusError } from '../core/tempus-error.ts'
import { KeyedTokenBuckets } from './token-bucket.ts'
import type { BucketRate } from './token-bucket.ts'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface DialLimiterInit {
  now: () => number
  /** @default DIAL_LIMITS.perAddress */
  perAddress?: BucketRate
  /** @default DIAL_LIMITS.perHost */
  perHost?: BucketRate
  /** addresses (and hosts) tracked at most; full buckets are forgotten first. @default 4096 */
  maxTracked?: number
}

/**
 * Defaults. One address: an honest node dials a given peer's address when
 * it shuffles with it (about once in c periods, c ≥ 10) or redials it after
 * a drop (backoff from 1 s), so 3 at once and one per 5 s after that never
 * holds an honest dial back for long; an attacker gets the victim dialled at
 * most 12 times a minute by each node. One host: many honest nodes may share
 * a host (a NAT, a dev mesh of 50 nodes on one machine), so the host budget
 * is larger: 20 at once, 5 a second after that.
 */
export const DIAL_LIMITS: { perAddress: BucketRate, perHost: BucketRate } = {
  perAddress: { burst: 3, perSecond: 0.2 },
  perHost: { burst: 20, perSecond: 5 }
}

/** The host and host:port a multiaddr dials, or undefined when it names no host. */
export function dialKeys (addr: Multiaddr): { host: string, address: string } | undefined {
  let host: string | undefined
  let port: string | undefined
  for (const c of addr.getComponents()) {
    if (host == null && ['ip4', 'ip6', 'dns', 'dns4', 'dns6', 'dnsaddr'].includes(c.name)) {
      host = `${c.name}/${(c.value ?? '').toLowerCase()}`
    } else if (host != null && port == null && ['tcp', 'udp'].includes(c.name)) {
      port = `${c.name}/${c.value ?? ''}`
    }
  }
  if (host == null) {
    return undefined
  }
  return { host, address: `${host}/${port ?? ''}` }
}

/** The keys `addr` is budgeted under: its host and address, or itself as both when it names no host (a relay circuit, a unix socket). */
function budgetKeys (addr: Multiaddr): { host: string, address: string } {
  return dialKeys(addr) ?? { host: addr.toString(), address: addr.toString() }
}

/** A dial not started because every address of the peer is over the node's dial budget: a deferral, nobody's offence. */
export class DialBudgetError extends TempusError {
  readonly code = 'dial-budget'
  override readonly name = 'DialBudgetError'
  /** when the first of the peer's addresses has budget again, ms from now */
  readonly retryInMs: number
  constructor (peer: string, retryInMs: number) {
    super(`every address of ${peer} is over this node's dial budget; it is dialled again in ${retryInMs} ms`)
    this.retryInMs = retryInMs
  }
}

export class DialRateLimiter {
  private readonly perAddress: KeyedTokenBuckets
  private readonly perHost: KeyedTokenBuckets

  constructor (init: DialLimiterInit) {
    const max = init.maxTracked ?? 4096
    this.perAddress = new KeyedTokenBuckets(init.perAddress ?? DIAL_LIMITS.perAddress, init.now, max)
    this.perHost = new KeyedTokenBuckets(init.perHost ?? DIAL_LIMITS.perHost, init.now, max)
  }

  /**
   * Spend one dial to `addr` if both its address and its host have budget
   * left; false (nothing spent) if either is exhausted. An address without
   * a host (a relay circuit, a unix socket) is budgeted as its own host.
   */
  take (addr: Multiaddr): boolean {
    const keys = budgetKeys(addr)
    if (!this.perAddress.has(keys.address) || !this.perHost.has(keys.host)) {
      return false
    }
    this.perAddress.spend(keys.address)
    this.perHost.spend(keys.host)
    return true
  }

  /** How long until `addr` may be dialled (its address and its host both have budget), ms. */
  waitMs (addr: Multiaddr): number {
    const keys = budgetKeys(addr)
    return Math.max(this.perAddress.waitMs(keys.address), this.perHost.waitMs(keys.host))
  }

  /** The addresses of `addrs` that may be dialled now, their budget spent. */
  takeEach (addrs: Multiaddr[]): Multiaddr[] {
    return addrs.filter(a => this.take(a))
  }

  /**
   * What to dial for `peer` among `addrs`: those within the budget, each
   * ending in the peer's id (so the dialler checks whom it reached). Throws
   * `DialBudgetError` when every one is over the budget.
   */
  dialTargets (peer: string, addrs: Multiaddr[]): Multiaddr[] {
    const allowed = this.takeEach(addrs)
    if (allowed.length === 0) {
      throw new DialBudgetError(peer, Math.min(...addrs.map(a => this.waitMs(a))))
    }
    return allowed.map(a => a.getComponents().some(c => c.name === 'p2p') ? a : a.encapsulate(`/p2p/${peer}`))
  }
}

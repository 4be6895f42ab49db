/**
 * The upkeep every kept connection gets starts once the connection has
 * settled, not when it opens.
 *
 * libp2p runs identify on every connection the moment it opens, and
 * identify's answer is what tells the registrar's topologies about the
 * peer: gossipsub then opens a stream each way, sends its subscriptions
 * and may graft the peer into its mesh, and the DHT adds the peer to its
 * routing table. Most connections a tempus node opens do not stay: a
 * Cyclon partner or a sample partner that is not connected is dialled for
 * one exchange and closed after it (sampling/idle-connection.ts), about a
 * third of a connection per node per second in an idle 50-node mesh
 * (`bench:idle`). Each paid an identify both ways (a verification of the
 * peer's record and a peer-store write on each side), gossipsub's streams
 * and subscriptions, a graft that the close undid at once (a mesh link
 * that lived for one exchange), and the DHT's bookkeeping, for nothing.
 *
 * So a connection's upkeep waits `settleMs` after it opens, and is started
 * only if the connection is still open then. A node that means to keep a
 * connection says so (`settle`: the peer keeper's dials), and its upkeep
 * starts at once. The other side learns that from the identify request
 * that upkeep begins with, and settles the connection as it answers, so
 * both sides' gossipsub streams come up together.
 *
 * What does not wait: admission (it runs inside the handshake), the
 * exchanges themselves, gossip catch-up and DTN's offer (a brief contact is
 * what delay-tolerant delivery lives on), RPC calls, pings.
 */
import { Counter } from 'prom-client'
import { LIVENESS_DEFAULTS } from './constants.ts'
import { serviceDependencies } from '@libp2p/interface'
import type { ComponentLogger, Connection, Libp2pEvents, Logger, Startable, TypedEventTarget } from '@libp2p/interface'
import type { Registrar } from '@libp2p/interface-internal'
import type { Registry } from 'prom-client'

/** libp2p's identify protocol */
const IDENTIFY_PROTOCOL = '/ipfs/id/1.0.0'

/** Every field optional. */
export interface ConnectionSettlingInit {
  /**
   * How long a connection stays open before its upkeep starts (ms); 0
   * starts it as the connection opens (libp2p's own behaviour).
   * @default LIVENESS_DEFAULTS.settleDelayMs (1.5 s)
   */
  settleMs?: number
  /** the node's Prometheus registry: `tempus_connection_upkeep_total` by outcome goes there; none without it */
  registry?: Registry
}

/** the little of libp2p's identify service this needs */
export interface IdentifyLike {
  identify: (connection: Connection, options?: { signal?: AbortSignal }) => Promise<unknown>
  /** the protocol it answers on; @default '/ipfs/id/1.0.0' */
  readonly protocol?: string
}

export interface ConnectionSettlingComponents {
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
  registrar: Registrar
  /** libp2p's identify service, configured with `runOnConnectionOpen: false` */
  identify: IdentifyLike
}

/** why a connection settled: it stayed open `settleMs`, this node asked, or the peer identified it (it began its upkeep) */
export type SettledHow = 'time' | 'asked' | 'peer'

export interface ConnectionSettlingStats {
  /** connections whose upkeep started because they stayed open `settleMs` */
  settledByTime: number
  /** connections whose upkeep started at once because the node meant to keep them */
  settledAsked: number
  /** connections whose upkeep started when the peer began its own (an identify request came in) */
  settledByPeer: number
  /** connections that closed before they settled (their upkeep was never paid) */
  closedUnsettled: number
  /** connections open and not yet settled */
  waiting: number
}

export class ConnectionSettling implements Startable {
  private readonly components: ConnectionSettlingComponents
  private readonly log: Logger
  private readonly settleMs: number
  private readonly settledSet = new WeakSet<Connection>()
  /** the settle timer of each open connection that has not settled */
  private readonly waiting = new Map<Connection, ReturnType<typeof setTimeout>>()
  private running = false
  private readonly counts: Record<'settledByTime' | 'settledAsked' | 'settledByPeer' | 'closedUnsettled', number> = { settledByTime: 0, settledAsked: 0, settledByPeer: 0, closedUnsettled: 0 }

  constructor (components: ConnectionSettlingComponents, init: ConnectionSettlingInit = {}) {
    this.components = components
    this.log = components.logger.forComponent('tempus:connection-settling')
    const settleMs = init.settleMs ?? LIVENESS_DEFAULTS.settleDelayMs
    if (!Number.isFinite(settleMs) || settleMs < 0) {
      throw new RangeError(`settleMs must be a number of milliseconds ≥ 0, not ${settleMs}`)
    }
    this.settleMs = settleMs
    this.onOpen = this.onOpen.bind(this)
    if (init.registry != null) {
      const counts = this.counts
      new Counter({
        name: 'tempus_connection_upkeep_total',
        help: 'connections by how their upkeep (identify, gossipsub, DHT) began: settled by time, asked by this node, begun by the peer; or closed before it began (upkeep never paid)',
        labelNames: ['outcome'],
        registers: [init.registry],
        collect () {
          this.reset()
          this.inc({ outcome: 'settled_by_time' }, counts.settledByTime)
          this.inc({ outcome: 'settled_asked' }, counts.settledAsked)
          this.inc({ outcome: 'settled_by_peer' }, counts.settledByPeer)
          this.inc({ outcome: 'closed_before' }, counts.closedUnsettled)
        }
      })
    }
  }

  readonly [Symbol.toStringTag] = 'tempus/connection-settling'
  /** `components.identify` */
  readonly [serviceDependencies]: string[] = ['@libp2p/identify']

  start (): void {
    this.running = true
    this.components.events.addEventListener('connection:open', this.onOpen)
  }

  /**
   * Identify's answering handler starts this side's upkeep too: an identify
   * request is the peer starting its own. (afterStart: identify has
   * registered its handler by then; `force` replaces it in place, so the
   * node's protocol list does not change.)
   */
  async afterStart (): Promise<void> {
    const protocol = this.components.identify.protocol ?? IDENTIFY_PROTOCOL
    const { handler, options } = this.components.registrar.getHandler(protocol)
    await this.components.registrar.handle(protocol, async (stream, connection) => {
      this.begin(connection, 'peer')
      await handler(stream, connection)
    }, { ...options, force: true })
  }

  stop (): void {
    this.running = false
    this.components.events.removeEventListener('connection:open', this.onOpen)
    for (const timer of this.waiting.values()) {
      clearTimeout(timer)
    }
    this.waiting.clear()
  }

  /** Has this connection's upkeep started? */
  isSettled (connection: Connection): boolean {
    return this.settledSet.has(connection)
  }

  /** The node means to keep this connection: its upkeep starts now (once). */
  settle (connection: Connection): void {
    this.begin(connection, 'asked')
  }

  stats (): ConnectionSettlingStats {
    return { ...this.counts, waiting: this.waiting.size }
  }

  private onOpen (evt: CustomEvent<Connection>): void {
    const connection = evt.detail
    if (this.settledSet.has(connection) || this.waiting.has(connection)) {
      return
    }
    if (this.settleMs === 0) {
      this.begin(connection, 'time')
      return
    }
    const timer = setTimeout(() => { this.begin(connection, 'time') }, this.settleMs)
    timer.unref?.()
    this.waiting.set(connection, timer)
    connection.addEventListener('close', () => {
      const pending = this.waiting.get(connection)
      if (pending != null) {
        clearTimeout(pending)
        this.waiting.delete(connection)
        this.counts.closedUnsettled++
      }
    }, { once: true })
  }

  private begin (connection: Connection, how: SettledHow): void {
    const timer = this.waiting.get(connection)
    if (timer != null) {
      clearTimeout(timer)
      this.waiting.delete(connection)
    }
    if (!this.running || this.settledSet.has(connection) || connection.status !== 'open') {
      return
    }
    this.settledSet.add(connection)
    this.counts[how === 'time' ? 'settledByTime' : how === 'asked' ? 'settledAsked' : 'settledByPeer']++
    this.components.identify.identify(connection).catch((err: Error) => {
      // a connection closed meanwhile, or a peer that did not answer: the
      // peer is simply not in the topologies (libp2p's own identify drops
      // the same failure)
      this.log('identify on %s to %p failed - %s', connection.id, connection.remotePeer, err.name)
    })
  }
}

/** The service factory for libp2p's `services` (next to `identify({ runOnConnectionOpen: false })`). */
export function connectionSettling (init: ConnectionSettlingInit = {}): (components: ConnectionSettlingComponents) => ConnectionSettling {
  return (components) => new ConnectionSettling(components, init)
}

/**
 * Closing a connection dialled only for an exchange once nothing else
 * uses it. Cyclon meets a new random partner every period, so a connection
 * dialled only for a shuffle or a sample exchange is closed afterwards
 * (`withPartner`, shuffle-wire.ts). Closed whatever it carried, it took
 * with it an RPC call that had picked the same connection meanwhile (the
 * hub-attack test's `unavailable`, issue #16). So it is closed only while
 * every stream on it is upkeep that every connection carries and that ends
 * with it: identify, ping, gossipsub's long-lived streams, the token's
 * re-presentation. Any other stream keeps it open: an RPC call, a DTN
 * session, a gossip catch-up, a DHT query, another shuffle or sample
 * exchange (either way), and a stream whose protocol is still being
 * negotiated (it has just been opened, for anything). A connection kept
 * so is looked at again when one of those streams ends and at the
 * sampler's next tick, and closed when none is left, if the node still
 * holds more than it keeps.
 *
 * libp2p's own pruner (`connection-pruner.js`) closes connections the same
 * way (`safelyCloseConnectionIfUnused`, a list of closable protocols) but
 * only above `maxConnections`, which also caps inbound connections; the
 * node keeps far fewer than it accepts, so it decides itself, with the
 * same rule. No libp2p import: connections and streams are seen through
 * the little this needs of them.
 */
import { REFRESH_PROTOCOL } from '../admission/constants.ts'

/** streams every connection carries for its own upkeep */
export const UPKEEP_PROTOCOLS: readonly string[] = [
  '/ipfs/id/1.0.0',
  '/ipfs/id/push/1.0.0',
  '/ipfs/ping/1.0.0',
  REFRESH_PROTOCOL
]

/** gossipsub keeps one stream each way open on every connection to a peer that speaks it */
export const UPKEEP_PREFIXES: readonly string[] = ['/meshsub/', '/floodsub/']

/** the little of a stream this needs (a libp2p `Stream`) */
export interface StreamLike {
  protocol?: string
  status?: string
  addEventListener?: (type: 'close', listener: () => void, options?: { once?: boolean }) => void
}

/** the little of a connection this needs (a libp2p `Connection`) */
export interface ConnectionLike {
  status: string
  streams: readonly StreamLike[]
  close: () => Promise<void>
  abort: (err: Error) => void
}

/** Does this stream keep its connection open? (upkeep does not; a stream closed or reset does not) */
export function keepsConnection (stream: StreamLike): boolean {
  if (stream.status != null && stream.status !== 'open') {
    return false
  }
  const protocol = stream.protocol ?? ''
  if (protocol === '') {
    return true // being negotiated: just opened, for anything
  }
  return !UPKEEP_PROTOCOLS.includes(protocol) && !UPKEEP_PREFIXES.some(p => protocol.startsWith(p))
}

/** May a connection dialled for an exchange be closed now (no stream of its keeps it)? */
export function isIdle (connection: { streams: readonly StreamLike[] }): boolean {
  return !connection.streams.some(keepsConnection)
}

/**
 * Closes connections dialled only for an exchange once nothing else uses
 * them, while `wanted()` says the node holds more than it keeps. One that
 * is busy is kept, and looked at again when one of its busy streams ends
 * (an event) and at each `sweep()` (the sampler's tick: a stream that was
 * still negotiating may have become upkeep, which ends with no event).
 */
export class IdleCloser {
  private readonly wanted: () => boolean
  private readonly kept = new Set<ConnectionLike>()
  /** connections to close once idle whatever `wanted()` says */
  private readonly always = new WeakSet<ConnectionLike>()

  constructor (wanted: () => boolean) {
    this.wanted = wanted
  }

  /** connections kept open for a later look */
  get lingering (): number {
    return this.kept.size
  }

  /**
   * An exchange is over with this connection: closed now if idle and
   * wanted, else kept for a later look. `always`: closed once idle even
   * while the node holds no more than it keeps (a hub it does not keep,
   * which the node would not dial to fill its count either).
   */
  async release (connection: ConnectionLike, options: { always?: boolean } = {}): Promise<void> {
    this.kept.add(connection)
    if (options.always === true) {
      this.always.add(connection)
    }
    await this.look(connection)
  }

  /** Look again at every connection kept. */
  async sweep (): Promise<void> {
    await Promise.all([...this.kept].map(async c => { await this.look(c) }))
  }

  private async look (connection: ConnectionLike): Promise<void> {
    if (connection.status !== 'open' || !this.kept.has(connection)) {
      this.kept.delete(connection)
      return
    }
    if (!this.always.has(connection) && !this.wanted()) {
      return // the node holds no more than it keeps: the next sweep looks again
    }
    const busy = connection.streams.filter(keepsConnection)
    if (busy.length === 0) {
      this.kept.delete(connection)
      await connection.close().catch((err: Error) => { connection.abort(err) })
      return
    }
    let looked = false
    const again = (): void => {
      if (!looked) {
        looked = true
        this.look(connection).catch(() => {})
      }
    }
    for (const stream of busy) {
      stream.addEventListener?.('close', again, { once: true })
    }
  }
}

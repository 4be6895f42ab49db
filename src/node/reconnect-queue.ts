/**
 * libp2p's reconnect queue, stopped on a tempus node.
 *
 * At every peer's disconnect the queue reads that peer's record from the
 * peer store (a lock, a datastore read, a decode) to look for a keep-alive
 * tag, and redials a peer that has one. A tempus node sets none: the DHT's
 * are left out (dht-components.ts) and nothing else writes one; its peer
 * keeper (src/liveness) decides whom to redial. So each read found nothing,
 * on both sides of every connection that closed: 2 % of a reconnect's CPU
 * in a profile of connect → call → close cycles (issue #19). libp2p has no
 * setting for it (`reconnectRetries: 0` still reads), so the queue's own
 * `stop` is called once libp2p has started.
 */
import type { Libp2p } from '@libp2p/interface'

interface Stoppable { stop?: () => void }

/** Stop the queue; false when this libp2p keeps it somewhere else (nothing stopped, nothing broken). */
export function stopReconnectQueue (libp2p: Libp2p): boolean {
  const manager = (libp2p as unknown as { components?: { connectionManager?: { reconnectQueue?: Stoppable } } }).components?.connectionManager
  const queue = manager?.reconnectQueue
  if (typeof queue?.stop !== 'function') {
    return false
  }
  queue.stop()
  return true
}

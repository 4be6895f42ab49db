/**
 * The DHT's view of the node's components, without its say over which
 * connections are kept.
 *
 * A query dials the DHT servers closest to its key, and nothing closed
 * those connections: every node's first query reached every sentinel and
 * bridge of a small fleet, which then held a connection from each node
 * (the 100-process chaos run: sentinels at 83 connections, bridges at 68,
 * while each node keeps 3 sentinels). A connection the DHT opened for a
 * query (the peer had none before) is closed once no stream but upkeep uses
 * it, as sampling does with its partners (src/sampling/idle-connection.ts),
 * unless the peer keeper keeps that peer.
 *
 * kad-dht tags the 20 peers of its routing table closest to the node with
 * `keep-alive-kad-dht`, and libp2p then dials every peer so tagged when the
 * node starts and again whenever one disconnects. In a tempus overlay the
 * DHT servers are the sentinels and bridges, fewer than 20 in a fleet of
 * hundreds, so every node kept every hub: at 100 nodes each sentinel held
 * 60–95 connections and starved first on a loaded host (issue #20). Which
 * connections a node keeps is the peer keeper's decision (a few sentinels
 * by rendezvous hashing, src/liveness/sentinel-choice.ts): the DHT still
 * tags its closest peers (`kad-close`, which libp2p's pruner weighs) and
 * dials whom a query needs, but a keep-alive tag it writes is left out.
 */
import { KEEP_ALIVE } from '@libp2p/interface'
import { KEPT_TAG } from '../core/peer-tags.ts'
import { IdleCloser } from '../sampling/idle-connection.ts'
import type { Connection, PeerData, PeerId, PeerStore, Stream } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'

/** `data` without a keep-alive tag being set (its removal goes through: it clears one a peer store persisted from before) */
function withoutKeepAlive (data: PeerData): PeerData {
  if (data.tags == null) {
    return data
  }
  const entries = data.tags instanceof Map ? [...data.tags.entries()] : Object.entries(data.tags)
  return { ...data, tags: Object.fromEntries(entries.filter(([name, value]) => value == null || !name.startsWith(KEEP_ALIVE))) }
}

/** A peer store that writes everything the DHT asks but the setting of keep-alive tags. */
export function dhtPeerStore (peerStore: PeerStore): PeerStore {
  return new Proxy(peerStore, {
    get (target, key, receiver) {
      if (key === 'merge' || key === 'patch' || key === 'save') {
        const write = Reflect.get(target, key, receiver) as (id: unknown, data: PeerData, options?: unknown) => Promise<unknown>
        return async (id: unknown, data: PeerData, options?: unknown) => await write.call(target, id, withoutKeepAlive(data), options)
      }
      const value = Reflect.get(target, key, receiver)
      return typeof value === 'function' ? value.bind(target) : value
    }
  })
}

/**
 * A connection manager whose `openStream` (the one call the DHT dials
 * through) hands a connection it had to open to `closer` once the stream
 * ends, unless the peer is kept.
 */
export function dhtConnectionManager (connectionManager: ConnectionManager, peerStore: PeerStore, closer: IdleCloser): ConnectionManager {
  const openStream = async (to: PeerId, protocol: string | string[], options?: any): Promise<Stream> => {
    const before = new Set(connectionManager.getConnections(to).map(c => c.id))
    const stream = await connectionManager.openStream(to, protocol, options)
    const opened = connectionManager.getConnections(to).filter(c => !before.has(c.id))
    if (opened.length > 0) {
      stream.addEventListener('close', () => { void releaseUnlessKept(peerStore, closer, to, opened) }, { once: true })
    }
    return stream
  }
  return new Proxy(connectionManager, {
    get (target, key, receiver) {
      if (key === 'openStream') {
        return openStream
      }
      const value = Reflect.get(target, key, receiver)
      return typeof value === 'function' ? value.bind(target) : value
    }
  })
}

/** how often connections still in use after a query are looked at again (a stream still negotiating then may have turned out to be upkeep, which ends with no event) */
const SWEEP_MS = 5_000

async function releaseUnlessKept (peerStore: PeerStore, closer: IdleCloser, peer: PeerId, connections: Connection[]): Promise<void> {
  const kept = await peerStore.get(peer).then(p => p.tags.has(KEPT_TAG), () => false)
  if (!kept) {
    await Promise.all(connections.map(async c => { await closer.release(c) }))
    sweepLater(closer)
  }
}

const sweeping = new WeakSet<IdleCloser>()

/** While `closer` holds connections, look at them again every SWEEP_MS (a timer that never keeps the process alive; none once they are gone). */
function sweepLater (closer: IdleCloser): void {
  if (closer.lingering === 0 || sweeping.has(closer)) {
    return
  }
  sweeping.add(closer)
  setTimeout(() => {
    sweeping.delete(closer)
    closer.sweep().catch(() => {}).finally(() => { sweepLater(closer) })
  }, SWEEP_MS).unref?.()
}

/** The node's components as the DHT sees them: the same, with `dhtPeerStore` and `dhtConnectionManager`. */
export function dhtComponents<C extends { peerStore: PeerStore, connectionManager: ConnectionManager }> (components: C): C {
  let peerStore: PeerStore | undefined
  let connectionManager: ConnectionManager | undefined
  // a query's connection is closed whatever the node's count: the DHT's dials are not the keeper's choice
  const closer = new IdleCloser(() => true)
  return new Proxy(components, {
    get (target, key, receiver) {
      if (key === 'peerStore') {
        peerStore ??= dhtPeerStore(Reflect.get(target, key, receiver) as PeerStore)
        return peerStore
      }
      if (key === 'connectionManager') {
        connectionManager ??= dhtConnectionManager(Reflect.get(target, key, receiver) as ConnectionManager, Reflect.get(target, 'peerStore', receiver) as PeerStore, closer)
        return connectionManager
      }
      return Reflect.get(target, key, receiver)
    }
  })
}

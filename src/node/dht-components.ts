/**
 * The DHT's view of the node's components, without its say over which
 * connections are kept.
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
import type { PeerData, PeerStore } from '@libp2p/interface'

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

/** The node's components as the DHT sees them: the same, with `dhtPeerStore`. */
export function dhtComponents<C extends { peerStore: PeerStore }> (components: C): C {
  let peerStore: PeerStore | undefined
  return new Proxy(components, {
    get (target, key, receiver) {
      if (key === 'peerStore') {
        peerStore ??= dhtPeerStore(Reflect.get(target, key, receiver) as PeerStore)
        return peerStore
      }
      return Reflect.get(target, key, receiver)
    }
  })
}

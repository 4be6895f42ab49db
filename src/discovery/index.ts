/**
 * @packageDocumentation
 * LAN discovery for tempus nodes: mDNS scoped per interface. A node answers
 * on a link only with the addresses it listens on in that link's subnet
 * (never loopback, never another link's), says nothing on a link where it
 * does not listen, and believes an answer only for addresses on the link it
 * came from.
 *
 * @example
 * ```ts
 * import { createLibp2p } from 'libp2p'
 * import { scopedMdns } from './discovery/index.ts'
 *
 * const node = await createLibp2p({
 *   addresses: { listen: ['/ip4/0.0.0.0/tcp/4001'] },
 *   peerDiscovery: [scopedMdns({ interval: 10_000, serviceTag: 'tempus-mesh.local' })]
 * })
 * ```
 */
import { ScopedMdns } from './mdns.ts'
import type { ScopedMdnsComponents, ScopedMdnsInit } from './mdns.ts'
import type { PeerDiscovery } from '@libp2p/interface'

export type { ScopedMdnsComponents, ScopedMdnsInit }
export { ScopedMdns }
export { MDNS_LIMITS } from './constants.ts'

export function scopedMdns (init: ScopedMdnsInit = {}): (components: ScopedMdnsComponents) => PeerDiscovery {
  return components => new ScopedMdns(components, init)
}

/**
 * What a node tells its peers it listens on (identify, its signed peer
 * record, the descriptors its views carry): its addresses without the
 * loopback ones, unless loopback is all it has.
 *
 * A loopback address reaches the peer only from the peer's own host. A node
 * listening on every interface (the default) would otherwise announce
 * `127.0.0.1:<port>` to the whole fleet, and every node that dials it from
 * another host reaches whatever listens on that port on its own host:
 * itself, when the fleet uses one port (src/core/own-addresses.ts refuses that dial
 * too), or a local service. Nodes on one host still reach each other on
 * the host's other addresses; a mesh bound to loopback alone (`tempus dev`)
 * keeps announcing loopback, its only way in. Pure.
 */
import type { Multiaddr } from '@multiformats/multiaddr'

export function isLoopback (ma: Multiaddr): boolean {
  const first = ma.getComponents()[0]
  if (first?.name === 'ip4') {
    return (first.value ?? '').startsWith('127.')
  }
  if (first?.name === 'ip6') {
    return first.value === '::1'
  }
  return false
}

export function withoutLoopbackUnlessOnly (addrs: Multiaddr[]): Multiaddr[] {
  const reachable = addrs.filter(ma => !isLoopback(ma))
  return reachable.length > 0 ? reachable : addrs
}

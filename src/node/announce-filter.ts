/**
 * What a node tells its peers it listens on (identify, its signed peer
 * record, the descriptors its views carry): its addresses without a
 * loopback one whose port it also announces on another address (a listener
 * on every interface, expanded by libp2p to each of them, loopback
 * included).
 *
 * A loopback address reaches the peer only from the peer's own host. A node
 * listening on every interface (the default) would otherwise announce
 * `127.0.0.1:<port>` to the whole fleet, and every node that dials it from
 * another host reaches whatever listens on that port on its own host:
 * itself, when the fleet uses one port (src/core/own-addresses.ts refuses that dial
 * too), or a local service. Nodes on one host still reach each other on
 * the host's other addresses, the same listener. A listener bound to
 * loopback alone (`tempus dev`) stays announced, even beside an address
 * observed or announced on another port: it is the only way to it. Pure.
 */
import { getNetConfig, isLoopback } from '@libp2p/utils'
import type { Multiaddr } from '@multiformats/multiaddr'

/** the TCP port a multiaddr names, if any */
function tcpPort (ma: Multiaddr): number | undefined {
  try {
    const config = getNetConfig(ma)
    return config.protocol === 'tcp' ? config.port : undefined
  } catch {
    return undefined
  }
}

export function withoutRedundantLoopback (addrs: Multiaddr[]): Multiaddr[] {
  const elsewhere = new Set(addrs.filter(ma => !isLoopback(ma)).map(tcpPort))
  return addrs.filter(ma => !isLoopback(ma) || tcpPort(ma) == null || !elsewhere.has(tcpPort(ma)))
}

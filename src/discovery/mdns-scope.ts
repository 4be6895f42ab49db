/**
 * Which addresses an mDNS announcement may carry on which interface, and
 * which announced addresses a node may believe. Pure: an interface table and
 * multiaddrs in, multiaddrs out.
 *
 * An mDNS packet leaves on one link and is read by every host on it. The
 * rule is the one a router applies: on an interface, announce only the
 * addresses that are reachable through it, which are the addresses inside
 * that interface's own subnet. Loopback addresses never leave loopback, an
 * address of another link never appears on this one (it would map the
 * host's other networks for a stranger), and a node that listens on no
 * address of a link says nothing on it at all. The same rule read backwards
 * bounds what a node accepts: an announcement heard on a link can only point
 * at addresses on that link, so nobody on the LAN can make a node dial an
 * address elsewhere (a reflection vector) by announcing it.
 */
import { BlockList, isIP } from 'node:net'
import type { Multiaddr } from '@multiformats/multiaddr'

/** One address of one interface, as `os.networkInterfaces()` gives it. */
export interface InterfaceAddress {
  /** the interface's name, e.g. `eth0` */
  name: string
  address: string
  family: 'IPv4' | 'IPv6'
  /** `address/prefix`, null when the OS does not know the netmask */
  cidr: string | null
  internal: boolean
}

export type InterfaceTable = NodeJS.Dict<Array<{ address: string, family: string, cidr: string | null, internal: boolean }>>

/**
 * The links mDNS can run on, one per interface (its first IPv4 address names
 * it for multicast; `subnetsOf` covers all its addresses): interfaces that are
 * not loopback and whose subnet is known (mDNS here is IPv4 multicast, as the
 * libp2p mDNS spec's reference implementations use). With `only`, just the
 * interfaces of those names.
 */
export function mdnsLinks (table: InterfaceTable, only?: readonly string[]): InterfaceAddress[] {
  const links: InterfaceAddress[] = []
  for (const [name, addresses] of Object.entries(table)) {
    if (only != null && only.length > 0 && !only.includes(name)) {
      continue
    }
    for (const a of addresses ?? []) {
      if (a.family === 'IPv4' && !a.internal && a.cidr != null) {
        links.push({ name, address: a.address, family: 'IPv4', cidr: a.cidr, internal: false })
        break // a second address of the same interface is the same link: one socket, one answer
      }
    }
  }
  return links
}

/** Every subnet (IPv4 and IPv6, link-local IPv6 excluded) of the interface named `name`. */
export function subnetsOf (table: InterfaceTable, name: string): BlockList {
  const subnets = new BlockList()
  for (const a of table[name] ?? []) {
    if (a.internal || a.cidr == null || isLinkLocalV6(a.address)) {
      continue
    }
    const [net, prefix] = a.cidr.split('/')
    if (net == null || prefix == null) {
      continue
    }
    subnets.addSubnet(net, Number(prefix), a.family === 'IPv6' ? 'ipv6' : 'ipv4')
  }
  return subnets
}

/** Is `ip` inside one of `subnets`? */
export function onLink (subnets: BlockList, ip: string): boolean {
  const family = isIP(ip)
  if (family === 0 || (family === 6 && isLinkLocalV6(ip))) {
    return false
  }
  return subnets.check(ip, family === 6 ? 'ipv6' : 'ipv4')
}

/**
 * The multiaddrs (TCP over IPv4 or IPv6) whose host lies inside `subnets`:
 * what may be announced on that link, or believed from it.
 */
export function addrsOnLink (subnets: BlockList, addrs: readonly Multiaddr[]): Multiaddr[] {
  return addrs.filter(ma => {
    const host = hostOf(ma)
    return host != null && onLink(subnets, host)
  })
}

function hostOf (ma: Multiaddr): string | undefined {
  const [first, second] = ma.getComponents()
  if (first == null || (first.name !== 'ip4' && first.name !== 'ip6') || second?.name !== 'tcp') {
    return undefined
  }
  return first.value
}

function isLinkLocalV6 (ip: string): boolean {
  return /^fe[89ab][0-9a-f]:/i.test(ip)
}

/**
 * LAN discovery by mDNS, scoped per interface (see `mdns-scope.ts` for the
 * rule). `@libp2p/mdns` answers every query with every private and loopback
 * address of the node out of the default interface, so a node listening on
 * 127.0.0.1 alone still told the LAN its PeerId and loopback port. Here each
 * link gets its own multicast socket: a query heard from a link is answered
 * on that link with that link's addresses only, and an answer heard from a
 * link is believed only for addresses on that link.
 *
 * Every socket is bound to the mDNS port on all addresses (a socket bound to
 * a unicast address receives no multicast on Linux), so each one hears the
 * group on every joined link; the sender's source address says which link a
 * packet came from, and only that link's socket acts on it.
 */
import { networkInterfaces } from 'node:os'
import { peerDiscoverySymbol, serviceCapabilities } from '@libp2p/interface'
import { repeatingTask } from '@libp2p/utils'
import { TypedEventEmitter } from 'main-event'
import makeMdns from 'multicast-dns'
import { MDNS_LIMITS } from './constants.ts'
import { announcedTexts, announcement, asksFor, parseAnnouncement } from './mdns-packet.ts'
import { MdnsPacing } from './mdns-pacing.ts'
import { addrsOnLink, mdnsLinks, onLink, subnetsOf } from './mdns-scope.ts'
import type { InterfaceAddress, InterfaceTable } from './mdns-scope.ts'
import type { ComponentLogger, Logger, PeerDiscovery, PeerDiscoveryEvents, Startable } from '@libp2p/interface'
import type { AddressManager } from '@libp2p/interface-internal'
import type { RepeatingTask } from '@libp2p/utils'
import type { RemoteInfo } from 'node:dgram'
import type { BlockList } from 'node:net'
import type { MulticastDNS } from 'multicast-dns'

export interface ScopedMdnsInit {
  /** how often to query each link (and re-read the interface table), in ms. @default 10000 */
  interval?: number
  /** the service name queried and announced. @default 'tempus-mesh.local' */
  serviceTag?: string
  /** only these interfaces (names); all non-loopback IPv4 links when empty. @default [] */
  interfaces?: string[]
  /** the UDP port (tests use another). @default 5353 */
  port?: number
  /** the interface table source. @default os.networkInterfaces */
  readInterfaces?: () => InterfaceTable
  /** our instance name in the PTR record (random by default, as in libp2p's mDNS) */
  peerName?: string
  /** the clock the pacing reads. @default Date.now */
  now?: () => number
}

export interface ScopedMdnsComponents {
  addressManager: AddressManager
  logger: ComponentLogger
}

interface Link {
  iface: InterfaceAddress
  subnets: BlockList
  socket: MulticastDNS
  /** when to ask, answer and pass on, on this link (fresh when the link comes back) */
  pacing: MdnsPacing
}

export class ScopedMdns extends TypedEventEmitter<PeerDiscoveryEvents> implements PeerDiscovery, Startable {
  private readonly components: ScopedMdnsComponents
  private readonly log: Logger
  private readonly interval: number
  private readonly serviceTag: string
  private readonly only: string[]
  private readonly port: number
  private readonly readInterfaces: () => InterfaceTable
  private readonly peerName: string
  private readonly now: () => number
  /** the DNS id of our queries, to tell our own query's echo from another node's */
  private readonly queryId: number
  /** by `name address` */
  private readonly links = new Map<string, Link>()
  private task?: RepeatingTask
  private started = false

  constructor (components: ScopedMdnsComponents, init: ScopedMdnsInit = {}) {
    super()
    this.components = components
    this.log = components.logger.forComponent('tempus:mdns')
    this.interval = init.interval ?? 10_000
    this.serviceTag = init.serviceTag ?? 'tempus-mesh.local'
    this.only = init.interfaces ?? []
    this.port = init.port ?? MDNS_LIMITS.port
    this.readInterfaces = init.readInterfaces ?? networkInterfaces
    this.peerName = init.peerName ?? randomName()
    this.now = init.now ?? Date.now
    this.queryId = 1 + (crypto.getRandomValues(new Uint16Array(1))[0] as number) % 0xffff
  }

  readonly [peerDiscoverySymbol] = this
  readonly [Symbol.toStringTag] = 'tempus/mdns'
  readonly [serviceCapabilities] = ['@libp2p/peer-discovery']

  isStarted (): boolean {
    return this.started
  }

  start (): void {
    this.started = true
  }

  /** Listen addresses are known once the transports listen: start querying then. */
  afterStart (): void {
    this.task = repeatingTask(() => { this.tick() }, this.interval, { runImmediately: true })
    this.task.start()
  }

  async stop (): Promise<void> {
    this.started = false
    this.task?.stop()
    await Promise.all([...this.links.keys()].map(async key => this.close(key)))
  }

  /** The links announced on now, for the status and the tests. */
  activeLinks (): Array<{ name: string, address: string }> {
    return [...this.links.values()].map(l => ({ name: l.iface.name, address: l.iface.address }))
  }

  /** Re-read the interfaces, open or close a socket per link, query on each. */
  private tick (): void {
    if (!this.started) {
      return
    }
    const table = this.readInterfaces()
    const wanted = new Map<string, { iface: InterfaceAddress, subnets: BlockList }>()
    for (const iface of mdnsLinks(table, this.only)) {
      const subnets = subnetsOf(table, iface.name)
      // a link where the node listens on nothing hears nothing from it either
      if (this.ownAddrsOn(subnets).length > 0) {
        wanted.set(`${iface.name} ${iface.address}`, { iface, subnets })
      }
    }
    for (const key of [...this.links.keys()]) {
      if (!wanted.has(key)) {
        void this.close(key)
      }
    }
    for (const [key, { iface, subnets }] of wanted) {
      let link = this.links.get(key)
      if (link == null) {
        link = this.open(iface, subnets)
        this.links.set(key, link)
      }
      link.subnets = subnets
      if (link.pacing.mayQuery(this.now())) {
        link.socket.query({ id: this.queryId, questions: [{ name: this.serviceTag, type: 'PTR' }] })
      }
    }
  }

  private ownAddrsOn (subnets: BlockList): ReturnType<typeof addrsOnLink> {
    return addrsOnLink(subnets, this.components.addressManager.getAddresses())
  }

  private open (iface: InterfaceAddress, subnets: BlockList): Link {
    const socket = makeMdns({ port: this.port, ip: MDNS_LIMITS.group, interface: iface.address, bind: '0.0.0.0', reuseAddr: true, loopback: true })
    const pacing = new MdnsPacing({ intervalMs: this.interval, refreshMs: MDNS_LIMITS.ttlSeconds * 1000 / 2, maxRemembered: MDNS_LIMITS.maxRemembered })
    const link: Link = { iface, subnets, socket, pacing }
    const fromThisLink = (rinfo: RemoteInfo): boolean => onLink(link.subnets, rinfo.address)
    socket.on('query', (packet, rinfo) => {
      if (!fromThisLink(rinfo) || !asksFor(packet, this.serviceTag)) {
        return
      }
      const now = this.now()
      if (packet.id !== this.queryId) {
        pacing.foreignQuery(now)
      }
      if (!pacing.mayAnswer(now)) {
        return
      }
      const answers = announcement(this.peerName, this.serviceTag, this.ownAddrsOn(link.subnets))
      if (answers.length > 0) {
        socket.respond({ answers })
      }
    })
    socket.on('response', (packet, rinfo) => {
      if (!fromThisLink(rinfo)) {
        return
      }
      const announced = announcedTexts(packet, this.serviceTag, this.peerName)
      // an unchanged announcement heard lately was passed on already: not parsed again
      if (announced == null || !pacing.isNews(`${announced.instance} ${announced.texts.join(' ')}`, this.now())) {
        return
      }
      const heard = parseAnnouncement(announced.texts)
      if (heard == null) {
        return
      }
      const multiaddrs = addrsOnLink(link.subnets, heard.multiaddrs)
      if (multiaddrs.length === 0) {
        this.log('ignored an mDNS answer for %p on %s: no address on the link', heard.id, iface.name)
        return
      }
      this.safeDispatchEvent('peer', { detail: { id: heard.id, multiaddrs } })
    })
    socket.on('warning', (err: Error) => { this.log('mDNS warning on %s: %s', iface.name, err.message) })
    socket.on('error', (err: Error) => {
      this.log.error('mDNS socket on %s failed: %s; retrying at the next interval', iface.name, err.message)
      void this.close(`${iface.name} ${iface.address}`)
    })
    this.log('mDNS on %s (%s)', iface.name, iface.address)
    return link
  }

  private async close (key: string): Promise<void> {
    const link = this.links.get(key)
    if (link == null) {
      return
    }
    this.links.delete(key)
    link.socket.removeAllListeners('query')
    link.socket.removeAllListeners('response')
    // keep a listener: a late socket error must not become an uncaught 'error' event
    link.socket.on('error', () => {})
    await new Promise<void>(resolve => { link.socket.destroy(() => { resolve() }) })
  }
}

function randomName (): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789'
  let name = ''
  for (const byte of crypto.getRandomValues(new Uint8Array(32))) {
    name += alphabet[byte % alphabet.length]
  }
  return name
}

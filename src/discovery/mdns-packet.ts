/**
 * The mDNS records a tempus node answers with and how an answer is read
 * back, in the libp2p mDNS layout (a PTR `<name>.<serviceTag>` and one TXT
 * `dnsaddr=<multiaddr>/p2p/<peer id>` per address). Pure and bounded: an
 * answer from the LAN is a stranger's input, so it is read with limits and
 * every multiaddr must name the same peer.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { CODE_P2P, multiaddr } from '@multiformats/multiaddr'
import { MDNS_LIMITS } from './constants.ts'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Answer, Packet } from 'dns-packet'

const PREFIX = 'dnsaddr='

/** The answers announcing `addrs` (each ending in `/p2p/<id>`); empty when there is nothing to announce. */
export function announcement (peerName: string, serviceTag: string, addrs: readonly Multiaddr[]): Answer[] {
  const texts = addrs
    .map(ma => PREFIX + ma.toString())
    // a TXT string holds at most 255 bytes (RFC 6763 §6.1)
    .filter(text => Buffer.byteLength(text) <= 255)
    .slice(0, MDNS_LIMITS.maxAddrs)
  if (texts.length === 0) {
    return []
  }
  const name = `${peerName}.${serviceTag}`
  return [
    { name: serviceTag, type: 'PTR', class: 'IN', ttl: MDNS_LIMITS.ttlSeconds, data: name },
    ...texts.map((data): Answer => ({ name, type: 'TXT', class: 'IN', ttl: MDNS_LIMITS.ttlSeconds, data }))
  ]
}

/** Is this a query for our service tag? */
export function asksFor (packet: Packet, serviceTag: string): boolean {
  return (packet.questions ?? []).slice(0, MDNS_LIMITS.maxRecords).some(q => q.name === serviceTag && (q.type === 'PTR' || (q.type as string) === 'ANY'))
}

export interface HeardPeer {
  id: PeerId
  /** without the `/p2p/` suffix */
  multiaddrs: Multiaddr[]
}

/** What an answer says, unparsed: the announcing instance and its `dnsaddr=` texts. */
export interface AnnouncedTexts {
  instance: string
  texts: string[]
}

/**
 * The instance and address texts of an announcement for `serviceTag`
 * other than our own, read without parsing a multiaddr: cheap enough to
 * run on every answer heard, so an unchanged one can be dropped before
 * the parse (`mdns-pacing.ts`).
 */
export function announcedTexts (packet: Packet, serviceTag: string, ownName: string): AnnouncedTexts | undefined {
  const records = [...(packet.answers ?? []), ...(packet.additionals ?? [])]
  if (records.length > MDNS_LIMITS.maxRecords) {
    return undefined
  }
  const ptr = records.find(r => r.type === 'PTR' && r.name === serviceTag) as { data?: unknown } | undefined
  const instance = ptr?.data
  if (typeof instance !== 'string' || instance === `${ownName}.${serviceTag}`) {
    return undefined
  }
  const texts: string[] = []
  for (const r of records) {
    if (r.type !== 'TXT' || r.name !== instance) {
      continue
    }
    for (const d of [r.data].flat().slice(0, MDNS_LIMITS.maxAddrs + 1)) {
      const text = typeof d === 'string' ? d : Buffer.from(d as Uint8Array).toString('utf8')
      if (text.startsWith(PREFIX)) {
        texts.push(text.slice(PREFIX.length))
      }
    }
  }
  if (texts.length === 0 || texts.length > MDNS_LIMITS.maxAddrs) {
    return undefined
  }
  return { instance, texts }
}

/** The peer the address texts announce, or undefined unless every one parses and names the same peer. */
export function parseAnnouncement (texts: readonly string[]): HeardPeer | undefined {
  let id: PeerId | undefined
  const multiaddrs: Multiaddr[] = []
  for (const text of texts) {
    let ma: Multiaddr
    try {
      ma = multiaddr(text)
    } catch {
      return undefined
    }
    const p2p = ma.getComponents().findLast(c => c.code === CODE_P2P)?.value
    if (p2p == null || (id != null && id.toString() !== p2p)) {
      return undefined
    }
    try {
      id ??= peerIdFromString(p2p)
    } catch {
      return undefined
    }
    multiaddrs.push(ma.decapsulateCode(CODE_P2P))
  }
  return id == null ? undefined : { id, multiaddrs }
}

/**
 * The peer an answer announces, or undefined when it is not a well-formed
 * announcement of one other peer for `serviceTag`.
 */
export function readAnnouncement (packet: Packet, serviceTag: string, ownName: string): HeardPeer | undefined {
  const announced = announcedTexts(packet, serviceTag, ownName)
  return announced == null ? undefined : parseAnnouncement(announced.texts)
}

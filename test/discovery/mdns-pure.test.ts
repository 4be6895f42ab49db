import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { MDNS_LIMITS } from '../../src/discovery/constants.ts'
import { announcement, asksFor, readAnnouncement } from '../../src/discovery/mdns-packet.ts'
import { MdnsPacing } from '../../src/discovery/mdns-pacing.ts'
import { addrsOnLink, mdnsLinks, onLink, subnetsOf } from '../../src/discovery/mdns-scope.ts'
import type { InterfaceTable } from '../../src/discovery/mdns-scope.ts'
import type { Answer, Packet } from 'dns-packet'

const TAG = 'tempus-mesh.local'
const table: InterfaceTable = {
  lo: [{ address: '127.0.0.1', family: 'IPv4', cidr: '127.0.0.1/8', internal: true }],
  eth0: [
    { address: '192.168.1.10', family: 'IPv4', cidr: '192.168.1.10/24', internal: false },
    { address: 'fd00::10', family: 'IPv6', cidr: 'fd00::10/64', internal: false },
    { address: 'fe80::1', family: 'IPv6', cidr: 'fe80::1/64', internal: false }
  ],
  wg0: [{ address: '10.8.0.2', family: 'IPv4', cidr: '10.8.0.2/24', internal: false }]
}
const newId = async (): Promise<string> => peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
const response = (answers: Answer[]): Packet => ({ type: 'response', answers, additionals: [] } as unknown as Packet)
const txt = (name: string, data: string[]): Answer => ({ name, type: 'TXT', class: 'IN', ttl: 120, data } as Answer)
const ptr = (name: string): Answer => ({ name: TAG, type: 'PTR', class: 'IN', ttl: 120, data: `${name}.${TAG}` })

describe('mDNS scope (pure)', () => {
  it('runs on non-loopback IPv4 links only, or on the named ones', () => {
    assert.deepEqual(mdnsLinks(table).map(l => l.name), ['eth0', 'wg0'])
    assert.deepEqual(mdnsLinks(table, ['wg0']).map(l => l.name), ['wg0'])
    // two addresses on one interface are one link: one socket, one answer per query
    const twoAddrs: InterfaceTable = { eth0: [...(table.eth0 ?? []), { address: '192.168.7.10', family: 'IPv4', cidr: '192.168.7.10/24', internal: false }] }
    assert.deepEqual(mdnsLinks(twoAddrs).map(l => l.address), ['192.168.1.10'])
    assert.equal(onLink(subnetsOf(twoAddrs, 'eth0'), '192.168.7.99'), true, 'the link covers both subnets')
  })

  it('keeps only the addresses of a link: never loopback, another link, link-local IPv6 or non-TCP', () => {
    const eth0 = subnetsOf(table, 'eth0')
    const addrs = ['/ip4/127.0.0.1/tcp/1', '/ip4/192.168.1.10/tcp/1', '/ip4/10.8.0.2/tcp/1', '/ip6/fd00::10/tcp/1', '/ip6/fe80::1/tcp/1', '/ip4/192.168.1.10/udp/1/quic-v1', '/dns4/example.org/tcp/1'].map(a => multiaddr(a))
    assert.deepEqual(addrsOnLink(eth0, addrs).map(String), ['/ip4/192.168.1.10/tcp/1', '/ip6/fd00::10/tcp/1'])
    assert.equal(onLink(eth0, '192.168.1.200'), true)
    assert.equal(onLink(eth0, '192.168.2.1'), false)
    assert.equal(onLink(eth0, 'not an ip'), false)
  })

  it('announces nothing when there is nothing to announce, and answers only its own tag', () => {
    assert.deepEqual(announcement('me', TAG, []), [])
    assert.equal(asksFor({ type: 'query', questions: [{ name: TAG, type: 'PTR' }] } as unknown as Packet, TAG), true)
    assert.equal(asksFor({ type: 'query', questions: [{ name: '_p2p._udp.local', type: 'PTR' }] } as unknown as Packet, TAG), false)
  })

  it('reads back its own announcement, without the /p2p suffix', async () => {
    const id = await newId()
    const answers = announcement('them', TAG, [multiaddr(`/ip4/192.168.1.20/tcp/4001/p2p/${id}`)])
    const heard = readAnnouncement(response(answers), TAG, 'me')
    assert.equal(heard?.id.toString(), id)
    assert.deepEqual(heard?.multiaddrs.map(String), ['/ip4/192.168.1.20/tcp/4001'])
    assert.equal(readAnnouncement(response(answers), TAG, 'them'), undefined, 'our own answer is not a peer')
  })

  it('refuses announcements that mix peers, carry too much, or do not parse', async () => {
    const [a, b] = [await newId(), await newId()]
    const mixed = response([ptr('x'), txt(`x.${TAG}`, [`dnsaddr=/ip4/192.168.1.20/tcp/1/p2p/${a}`, `dnsaddr=/ip4/192.168.1.21/tcp/1/p2p/${b}`])])
    assert.equal(readAnnouncement(mixed, TAG, 'me'), undefined)
    const many = Array.from({ length: MDNS_LIMITS.maxAddrs + 1 }, (_, i) => `dnsaddr=/ip4/192.168.1.${i + 1}/tcp/1/p2p/${a}`)
    assert.equal(readAnnouncement(response([ptr('x'), txt(`x.${TAG}`, many)]), TAG, 'me'), undefined)
    assert.equal(readAnnouncement(response([ptr('x'), txt(`x.${TAG}`, ['dnsaddr=/ip4/999.1.1.1/tcp/1'])]), TAG, 'me'), undefined)
    assert.equal(readAnnouncement(response([ptr('x'), txt(`x.${TAG}`, ['dnsaddr=/ip4/192.168.1.2/tcp/1'])]), TAG, 'me'), undefined, 'no PeerId')
    // TXT records of another instance name do not count for this PTR
    assert.equal(readAnnouncement(response([ptr('x'), txt(`y.${TAG}`, [`dnsaddr=/ip4/192.168.1.2/tcp/1/p2p/${a}`])]), TAG, 'me'), undefined)
    const flood = Array.from({ length: MDNS_LIMITS.maxRecords }, () => txt(`x.${TAG}`, [`dnsaddr=/ip4/192.168.1.2/tcp/1/p2p/${a}`]))
    assert.equal(readAnnouncement(response([ptr('x'), ...flood]), TAG, 'me'), undefined)
  })

  it('paces a link: another node\'s query suppresses ours, one answer a second, an unchanged announcement once per refresh', () => {
    const pacing = new MdnsPacing({ intervalMs: 10_000, refreshMs: 60_000, maxRemembered: 3 })
    assert.equal(pacing.mayQuery(0), true, 'nothing heard yet: ask')
    pacing.foreignQuery(1_000)
    assert.equal(pacing.mayQuery(11_000), false, 'asked by another an interval ago: its answers were heard')
    assert.equal(pacing.mayQuery(16_000), true, 'the other node went quiet: ask')

    assert.equal(pacing.mayAnswer(20_000), true)
    assert.equal(pacing.mayAnswer(20_500), false, 'a query flood gets one answer a second')
    assert.equal(pacing.mayAnswer(21_000), true)

    assert.equal(pacing.isNews('a /ip4/10.0.0.1/tcp/1', 0), true)
    assert.equal(pacing.isNews('a /ip4/10.0.0.1/tcp/1', 59_999), false, 'unchanged and fresh')
    assert.equal(pacing.isNews('a /ip4/10.0.0.2/tcp/1', 1), true, 'changed addresses are news')
    assert.equal(pacing.isNews('a /ip4/10.0.0.1/tcp/1', 60_000), true, 'due a refresh')
    // bounded: the oldest is forgotten
    pacing.isNews('b', 60_001)
    pacing.isNews('c', 60_002)
    assert.equal(pacing.isNews('a /ip4/10.0.0.2/tcp/1', 60_003), true, 'the oldest was forgotten at the bound')
  })
})

/**
 * What mDNS puts on a LAN and what a node believes from it, watched by a
 * bystander in another network namespace on the same bridge.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { MDNS_SERVICE_TAG } from '../../src/node/constants.ts'
import { NetnsLab, canUseNetns } from '../fixtures/netns.ts'
import { TestNet } from '../fixtures/nodes.ts'
import type { LabHost, NodeProcess } from '../fixtures/netns.ts'

const unavailable = await canUseNetns()

describe('mDNS scoped to the links a node listens on', { skip: unavailable }, () => {
  const lab = new NetnsLab()
  const net = new TestNet()
  let nodeHost: LabHost
  let bystanderHost: LabHost
  let otherHost: LabHost
  /** a second link of the node's host, a subnet nobody else is on */
  let otherLinkIp: string

  before(async () => {
    const hosts = await lab.create(3)
    nodeHost = hosts[0] as LabHost
    bystanderHost = hosts[1] as LabHost
    otherHost = hosts[2] as LabHost
    otherLinkIp = `10.99.${process.pid % 250}.1`
    // a veth pair with both ends in the node's namespace: a link of its own (no dummy driver here)
    await lab.ip('-n', nodeHost.ns, 'link', 'add', 'tmlan2', 'type', 'veth', 'peer', 'name', 'tmlan2p')
    await lab.ip('-n', nodeHost.ns, 'addr', 'add', `${otherLinkIp}/24`, 'dev', 'tmlan2')
    await lab.ip('-n', nodeHost.ns, 'link', 'set', 'tmlan2', 'up')
    await lab.ip('-n', nodeHost.ns, 'link', 'set', 'tmlan2p', 'up')
  })
  after(async () => { await lab.destroy(); await net.stop() })

  const config = (listen: string): Record<string, unknown> & { type: 'edge' } => ({
    type: 'edge',
    listen: [listen],
    bootstrap: [],
    mdns: { enabled: true, interval: '1s' },
    api: { enabled: false },
    log: { level: 'silent' }
  })
  const bystander = (): NodeProcess => lab.startScript(bystanderHost, 'mdns-observer.js', JSON.stringify({ ip: bystanderHost.ip, serviceTag: MDNS_SERVICE_TAG, everyMs: 300, maxQueries: 100 }))
  const answersFrom = (proc: NodeProcess, ip: string): Array<Record<string, any>> =>
    proc.events.filter(e => e.event === 'packet' && e.from === ip && e.type === 'response')
  const dnsaddrs = (packet: Record<string, any>): string[] =>
    (packet.records as Array<{ type: string, data: unknown }>).filter(r => r.type === 'TXT').flatMap(r => [r.data].flat() as string[])

  it('a node listening on every address answers on a link with that link\'s address only', async () => {
    const node = await lab.startNode(nodeHost, config('/ip4/0.0.0.0/tcp/4001'), net)
    const id = (await node.waitFor(e => e.event === 'started', 'the node to start')).peerId
    const watcher = bystander()
    await watcher.waitFor(() => answersFrom(watcher, nodeHost.ip).length >= 3, 'three answers from the node')
    for (const answer of answersFrom(watcher, nodeHost.ip)) {
      assert.deepEqual(dnsaddrs(answer), [`dnsaddr=/ip4/${nodeHost.ip}/tcp/4001/p2p/${id}`], 'neither loopback nor the other link may appear')
    }
    await watcher.stop()
    await node.stop()
  })

  it('a node listening on loopback only says nothing on the LAN', async () => {
    const node = await lab.startNode(nodeHost, config('/ip4/127.0.0.1/tcp/4002'), net)
    await node.waitFor(e => e.event === 'started', 'the loopback node to start')
    // the control: a node that does listen on the link answers the same queries
    const control = await lab.startNode(otherHost, config(`/ip4/${otherHost.ip}/tcp/4003`), net)
    await control.waitFor(e => e.event === 'started', 'the control node to start')
    const watcher = bystander()
    await watcher.waitFor(() => answersFrom(watcher, otherHost.ip).length >= 3, 'three answers from the control node')
    const fromNode = watcher.events.filter(e => e.event === 'packet' && e.from === nodeHost.ip)
    assert.deepEqual(fromNode, [], 'no query and no answer from a host that listens only on loopback')
    assert.ok(!JSON.stringify(watcher.events).includes('127.0.0.1'), 'no loopback address on the LAN')
    await watcher.stop()
    await control.stop()
    await node.stop()
  })

  it('an announcement is believed only for addresses on the link it was heard on', async () => {
    const node = await lab.startNode(nodeHost, config(`/ip4/${nodeHost.ip}/tcp/4004`), net)
    await node.waitFor(e => e.event === 'started', 'the node to start')
    const watcher = bystander()
    await watcher.waitFor(e => e.event === 'ready', 'the bystander to be ready')
    // the node answers the bystander's queries once its socket is open: from then on it hears the link
    await watcher.waitFor(() => answersFrom(watcher, nodeHost.ip).length >= 1, 'the node to be on the link')
    const offLink = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const onLink = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const forged = (name: string, addrs: string[]): Record<string, unknown> => ({
      respond: {
        answers: [
          { name: MDNS_SERVICE_TAG, type: 'PTR', class: 'IN', ttl: 120, data: `${name}.${MDNS_SERVICE_TAG}` },
          { name: `${name}.${MDNS_SERVICE_TAG}`, type: 'TXT', class: 'IN', ttl: 120, data: addrs.map(a => `dnsaddr=${a}`) }
        ]
      }
    })
    // elsewhere (a reflection target) and loopback: not on the link
    watcher.send(forged('offlink', [`/ip4/203.0.113.7/tcp/22/p2p/${offLink}`, `/ip4/127.0.0.1/tcp/22/p2p/${offLink}`, `/ip4/${otherLinkIp}/tcp/22/p2p/${offLink}`]))
    watcher.send(forged('onlink', [`/ip4/${bystanderHost.ip}/tcp/4999/p2p/${onLink}`]))
    await node.waitFor(e => e.event === 'discovery' && e.peer === onLink, 'the on-link announcement to be heard')
    assert.equal(node.events.some(e => e.event === 'discovery' && e.peer === offLink), false, 'an off-link announcement is not a discovery')
    await watcher.stop()
    await node.stop()
  })
})

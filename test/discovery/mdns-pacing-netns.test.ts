/**
 * mDNS on a LAN of several tempus nodes, watched by a silent bystander:
 * one node asks for the link, the others stay quiet and still hear every
 * answer, and an unchanged announcement reaches libp2p once, not once per
 * query. Before (every node asking every interval, every answer passed
 * on) the packets handled grew with the cube of the nodes on the link.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { MDNS_SERVICE_TAG } from '../../src/node/constants.ts'
import { NetnsLab, canUseNetns } from '../fixtures/netns.ts'
import { TestNet } from '../fixtures/nodes.ts'
import type { LabHost, NodeProcess } from '../fixtures/netns.ts'

const unavailable = await canUseNetns()
const NODES = 4
/** answers from every node the bystander waits for: as many query rounds */
const ROUNDS = 8

describe('mDNS pacing on a shared link', { skip: unavailable }, () => {
  const lab = new NetnsLab()
  const net = new TestNet()
  let hosts: LabHost[]
  before(async () => { hosts = await lab.create(NODES + 1) })
  after(async () => { await lab.destroy(); await net.stop() })

  it('one node asks for the link, and an unchanged announcement is passed on once', async () => {
    const watcherHost = hosts[NODES] as LabHost
    // silent: it asks nothing, so every query it hears is a node's
    const watcher = lab.startScript(watcherHost, 'mdns-observer.js', JSON.stringify({ ip: watcherHost.ip, serviceTag: MDNS_SERVICE_TAG, everyMs: 60_000, maxQueries: 0 }))
    await watcher.waitFor(e => e.event === 'ready', 'the bystander to be ready')
    const nodes: NodeProcess[] = []
    const ids: string[] = []
    for (const host of hosts.slice(0, NODES)) {
      const node = await lab.startNode(host, {
        type: 'edge',
        listen: [`/ip4/${host.ip}/tcp/4001`],
        bootstrap: [],
        mdns: { enabled: true, interval: '1s' },
        api: { enabled: false },
        log: { level: 'silent' }
      }, net)
      nodes.push(node)
      ids.push((await node.waitFor(e => e.event === 'started', 'a node to start')).peerId)
    }
    const packets = (type: string, from: string): number => watcher.events.filter(e => e.event === 'packet' && e.type === type && e.from === from).length
    // every node answered ROUNDS queries after the last one started
    const base = hosts.slice(0, NODES).map(h => packets('response', h.ip))
    await watcher.waitFor(() => hosts.slice(0, NODES).every((h, i) => packets('response', h.ip) >= (base[i] as number) + ROUNDS), `${ROUNDS} more answers from every node`, 120_000)

    const queriesBy = hosts.slice(0, NODES).map(h => packets('query', h.ip))
    // each node asks once as it comes up; after that, one asks for all (two for a moment when their timers cross)
    assert.ok(queriesBy.filter(q => q > 2).length <= 1, `at most one node keeps asking; queries per node: ${queriesBy.join(', ')}`)
    for (const [i, node] of nodes.entries()) {
      for (const [j, id] of ids.entries()) {
        if (i === j) continue
        const heard = node.events.filter(e => e.event === 'discovery' && e.peer === id).length
        assert.ok(heard >= 1, `node ${i} discovered node ${j}`)
        assert.ok(heard <= 2, `node ${i} passed node ${j}'s unchanged announcement on ${heard} times over ${ROUNDS}+ answers`)
      }
    }
    await watcher.stop()
    await Promise.all(nodes.map(async n => { await n.stop() }))
  })
})

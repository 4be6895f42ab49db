import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { NetnsLab, canUseNetns } from '../fixtures/netns.ts'
import { TestNet } from '../fixtures/nodes.ts'
import type { LabHost, NodeProcess } from '../fixtures/netns.ts'

const unavailable = await canUseNetns()

describe('network change across namespaces', { skip: unavailable }, () => {
  const lab = new NetnsLab()
  const net = new TestNet()
  before(async () => { await lab.create(6) })
  after(async () => { await lab.destroy(); await net.stop() })

  /**
   * A sentinel on `there` and an edge on `here` that bootstraps from it,
   * connected. The edge polls its interfaces every 200 ms and keeps the
   * ping monitor out of the way (the watcher must act first); `redial` is
   * its backoff.
   */
  const pair = async (here: LabHost, there: LabHost, redial: { initialDelay: string, maxDelay: string }, liveness: Record<string, string> = { networkPollInterval: '200ms', pingTimeout: '1s', pingInterval: '1h' }): Promise<{ edge: NodeProcess, sentinelId: string }> => {
    const sentinel = await lab.startNode(there, {
      type: 'sentinel', listen: [`/ip4/${there.ip}/tcp/4001`], mdns: { enabled: false }, api: { enabled: false }, log: { level: 'silent' }
    }, net)
    const started = await sentinel.waitFor(e => e.event === 'started', 'sentinel to start')
    const edge = await lab.startNode(here, {
      type: 'edge',
      listen: ['/ip4/0.0.0.0/tcp/4001'],
      bootstrap: started.addrs,
      mdns: { enabled: false },
      api: { enabled: false },
      log: { level: 'silent' },
      liveness,
      redial
    }, net)
    await edge.waitFor(e => e.event === 'connect' && e.peer === started.peerId, 'edge to reach the sentinel')
    return { edge, sentinelId: started.peerId }
  }

  it('closes a connection left stale by an address change and redials the sentinel from the new address', async () => {
    const [h1, h2] = lab.hosts
    assert.ok(h1 != null && h2 != null)
    const { edge, sentinelId } = await pair(h1, h2, { initialDelay: '100ms', maxDelay: '1s' })
    const connects = edge.events.filter(e => e.event === 'connect').length

    // the edge's address changes under its live connection
    const next = h1.ip.replace(/\.\d+$/, '.77')
    // keep the new (secondary) address when the primary one is deleted
    await lab.inNs(h1.ns, 'sysctl', '-qw', `net.ipv4.conf.${h1.dev}.promote_secondaries=1`)
    await lab.ip('-n', h1.ns, 'addr', 'add', `${next}/24`, 'dev', h1.dev)
    await lab.ip('-n', h1.ns, 'addr', 'del', `${h1.ip}/24`, 'dev', h1.dev)

    // one poll may see the addition and the next the removal, or one sees both
    await edge.waitFor(e => e.event === 'network-change' && e.removed.includes(`${h1.dev}/${h1.ip}`), 'the watcher to see the old address go')
    const changes = edge.events.filter(e => e.event === 'network-change')
    assert.ok(changes.some(e => e.added.includes(`${h1.dev}/${next}`)), 'the new address was seen')
    // the check that saw the addition may still be probing when the old
    // address goes, and close the connection itself: count over both
    assert.equal(changes.reduce((n, e) => n + (e.closed as number), 0), 1, 'the stale connection was closed, once')
    await edge.waitFor(e => e.event === 'connect' && e.peer === sentinelId && edge.events.indexOf(e) >= connects, 'the edge to reconnect from its new address')
  })

  it('sees its link go down and come back, and redials at once instead of after its backoff', async () => {
    const [, , h3, h4] = lab.hosts
    assert.ok(h3 != null && h4 != null)
    // a backoff longer than this test waits for anything: only the link's return can bring the redial
    const { edge, sentinelId } = await pair(h3, h4, { initialDelay: '2m', maxDelay: '2m' })

    // the cable is pulled: the address stays, the carrier goes (libuv's
    // interface list, os.networkInterfaces, leaves out an interface that is
    // not running, so the watcher sees its addresses go and come back)
    await lab.setLink(h3, 'down')
    await edge.waitFor(e => e.event === 'network-change' && e.removed.includes(`${h3.dev}/${h3.ip}`), 'the watcher to see the link go')
    await edge.waitFor(e => e.event === 'disconnect' && e.peer === sentinelId, 'the dead connection to be closed')
    const since = edge.events.length

    await lab.setLink(h3, 'up')
    await edge.waitFor(e => e.event === 'network-change' && e.added.includes(`${h3.dev}/${h3.ip}`), 'the watcher to see the link back')
    await edge.waitFor(e => e.event === 'connect' && e.peer === sentinelId && edge.events.indexOf(e) >= since, 'the edge to redial the sentinel')
  })

  it('reads its interfaces often while it has no connection, so a link back is seen at once however slow the usual poll', async () => {
    const [, , , , h5, h6] = lab.hosts
    assert.ok(h5 != null && h6 != null)
    // the usual poll once an hour: only the cadence of a node with no connection can see the link
    // come back within this test; the ping monitor (every 300 ms) finds the dead connection
    const { edge, sentinelId } = await pair(h5, h6, { initialDelay: '2m', maxDelay: '2m' }, {
      networkPollInterval: '1h', isolatedNetworkPollInterval: '100ms', pingInterval: '300ms', pingTimeout: '500ms'
    })
    await lab.setLink(h5, 'down')
    await edge.waitFor(e => e.event === 'disconnect' && e.peer === sentinelId, 'the ping monitor to drop the dead connection')
    await edge.waitFor(e => e.event === 'network-change' && e.removed.includes(`${h5.dev}/${h5.ip}`), 'the watcher, with no connection, to see the link go')
    const since = edge.events.length
    await lab.setLink(h5, 'up')
    await edge.waitFor(e => e.event === 'network-change' && e.added.includes(`${h5.dev}/${h5.ip}`) && edge.events.indexOf(e) >= since, 'the watcher to see the link back')
    await edge.waitFor(e => e.event === 'connect' && e.peer === sentinelId && edge.events.indexOf(e) >= since, 'the edge to redial the sentinel')
  })
})

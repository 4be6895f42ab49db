import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { NetnsLab, canUseNetns } from '../fixtures/netns.ts'
import { TestNet } from '../fixtures/nodes.ts'

const unavailable = await canUseNetns()

describe('mDNS across network namespaces', { skip: unavailable }, () => {
  const lab = new NetnsLab()
  const net = new TestNet()
  before(async () => { await lab.create(2) })
  after(async () => { await lab.destroy(); await net.stop() })

  it('two nodes on one Linux bridge find and connect to each other with no bootstrap list', async () => {
    const [h1, h2] = lab.hosts
    assert.ok(h1 != null && h2 != null)
    const config = (ip: string): Record<string, unknown> & { type: 'edge' } => ({
      type: 'edge',
      listen: [`/ip4/${ip}/tcp/4001`],
      bootstrap: [],
      mdns: { enabled: true, interval: '1s' },
      api: { enabled: false },
      log: { level: 'silent' }
    })
    const a = await lab.startNode(h1, config(h1.ip), net)
    const b = await lab.startNode(h2, config(h2.ip), net)
    const aId = (await a.waitFor(e => e.event === 'started', 'A to start')).peerId
    const bId = (await b.waitFor(e => e.event === 'started', 'B to start')).peerId
    await a.waitFor(e => e.event === 'discovery' && e.peer === bId, 'A to discover B over mDNS')
    await a.waitFor(e => e.event === 'connect' && e.peer === bId, 'A to connect to B')
    await b.waitFor(e => e.event === 'connect' && e.peer === aId, 'B to connect to A')
  })
})

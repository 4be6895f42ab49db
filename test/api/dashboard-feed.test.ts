/**
 * The dashboard feed's pacing against a real node, with a tick much shorter
 * than the minimum gap: regular ticks and a burst of anomalies together
 * never put two snapshots closer than the gap, and the burst still reaches
 * the page. (The regular tick once went out regardless of the gap, so a
 * snapshot brought forward could be followed a millisecond later by the
 * regular one.)
 */
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { after, before, describe, it } from 'node:test'
import { DashboardFeed } from '../../src/api/dashboard/feed.ts'
import { createLogger } from '../../src/logging/logger.ts'
import { TestNet } from '../fixtures/nodes.ts'
import { EventStream } from '../fixtures/event-stream.ts'
import { eventually } from '../fixtures/wait.ts'
import type { StreamEvent } from '../fixtures/event-stream.ts'
import type { TempusNode } from '../../src/node/tempus-node.ts'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'

const TICK_MS = 30
const GAP_MS = 250

describe('dashboard feed pacing', () => {
  const net = new TestNet()
  let node: TempusNode
  let peer: TempusNode
  let feed: DashboardFeed
  let server: Server
  let url: string
  const streams: EventStream[] = []

  before(async () => {
    node = await net.node({ type: 'sentinel' })
    peer = await net.node({ type: 'edge', bootstrap: node.getMultiaddrs() })
    feed = new DashboardFeed({ node, log: createLogger({ level: 'silent' }), now: Date.now, sessionExpiry: () => Number.POSITIVE_INFINITY, tickMs: TICK_MS, minGapMs: GAP_MS })
    server = createServer((_req, res) => { feed.open(res, 's') })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
    feed.start()
  })
  after(async () => {
    for (const s of streams) s.close()
    feed.stop()
    server.closeAllConnections()
    await new Promise<void>(resolve => server.close(() => { resolve() }))
    await net.stop()
  })

  it('neither regular ticks nor a burst put two snapshots closer than the gap, and the burst reaches the page', async () => {
    const stream = await EventStream.open(url)
    streams.push(stream)
    assert.equal(stream.status, 200)
    const snapshots = (): StreamEvent[] => stream.events.filter(e => e.event === 'snapshot')
    // several regular ticks' worth (a tick is far shorter than the gap)
    await stream.until(() => snapshots().length >= 4, 'four snapshots')
    await eventually(() => peer.libp2p.services.pubsub.getSubscribers('tempus/anomaly/1').length > 0, 'the edge on the anomaly topic')
    const ids: string[] = []
    for (let i = 0; i < 20; i++) {
      ids.push((await peer.gossip.publish({ kind: 'burst', digest: 'ef'.repeat(16), severity: 1, metadata: { i: String(i) } })).id)
    }
    const last = ids.at(-1) ?? assert.fail('no anomaly published')
    await stream.next(e => e.event === 'snapshot' && e.data.anomalies.rows.some((a: { id: string }) => a.id === last), 'the last anomaly on the page')
    const count = snapshots().length
    await stream.until(() => snapshots().length >= count + 2, 'two more snapshots after the burst')
    const times = snapshots().map(e => e.at)
    for (let i = 1; i < times.length; i++) {
      const gap = (times[i] ?? 0) - (times[i - 1] ?? 0)
      // measured at the client: allow a little jitter under the server's gap
      assert.ok(gap >= GAP_MS - 60, `snapshots ${i - 1} and ${i} only ${gap} ms apart (gap ${GAP_MS} ms)`)
    }
  })
})

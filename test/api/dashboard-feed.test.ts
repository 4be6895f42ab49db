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
import { eventually } from '../fixtures/wait.ts'
import type { TempusNode } from '../../src/node/tempus-node.ts'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'

const TICK_MS = 30
const GAP_MS = 250

interface Snapshot { at: number, ids: string[] }

describe('dashboard feed pacing', () => {
  const net = new TestNet()
  let node: TempusNode
  let peer: TempusNode
  let feed: DashboardFeed
  let server: Server
  let url: string
  const ac = new AbortController()

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
    ac.abort()
    feed.stop()
    server.closeAllConnections()
    await new Promise<void>(resolve => server.close(() => { resolve() }))
    await net.stop()
  })

  it('neither regular ticks nor a burst put two snapshots closer than the gap, and the burst reaches the page', async () => {
    const snapshots: Snapshot[] = []
    let wake: () => void = () => {}
    const res = await fetch(url, { signal: ac.signal })
    assert.equal(res.status, 200)
    void (async () => {
      const decoder = new TextDecoder()
      let buffer = ''
      try {
        for await (const chunk of res.body ?? []) {
          buffer += decoder.decode(chunk, { stream: true })
          let end
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end)
            buffer = buffer.slice(end + 2)
            if (/^event: snapshot$/m.test(block)) {
              const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? 'null')
              snapshots.push({ at: Date.now(), ids: data.anomalies.rows.map((a: { id: string }) => a.id) })
              wake()
            }
          }
        }
      } catch {}
    })()
    const until = async (done: () => boolean, what: string): Promise<void> => {
      const deadline = Date.now() + 15_000
      while (!done()) {
        const left = deadline - Date.now()
        if (left <= 0) throw new Error(`timed out waiting for ${what}`)
        await new Promise<void>(resolve => {
          const timer = setTimeout(resolve, left)
          wake = () => { clearTimeout(timer); resolve() }
        })
      }
    }
    // several regular ticks' worth (a tick is far shorter than the gap)
    await until(() => snapshots.length >= 4, 'four snapshots')
    await eventually(() => peer.libp2p.services.pubsub.getSubscribers('tempus/anomaly/1').length > 0, 'the edge on the anomaly topic')
    const ids: string[] = []
    for (let i = 0; i < 20; i++) {
      ids.push((await peer.gossip.publish({ kind: 'burst', digest: 'ef'.repeat(16), severity: 1, metadata: { i: String(i) } })).id)
    }
    const last = ids.at(-1) ?? assert.fail('no anomaly published')
    await until(() => snapshots.some(s => s.ids.includes(last)), 'the last anomaly on the page')
    const count = snapshots.length
    await until(() => snapshots.length >= count + 2, 'two more snapshots after the burst')
    for (let i = 1; i < snapshots.length; i++) {
      const gap = (snapshots[i]?.at ?? 0) - (snapshots[i - 1]?.at ?? 0)
      // measured at the client: allow a little jitter under the server's gap
      assert.ok(gap >= GAP_MS - 60, `snapshots ${i - 1} and ${i} only ${gap} ms apart (gap ${GAP_MS} ms)`)
    }
  })
})

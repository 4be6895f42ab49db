/**
 * The dashboard's HTTP side against a real node: the login takes the token
 * only as a bounded JSON body from its own origin, the session opens the
 * pages and the feed and nothing under /v1, the feed is capped per session
 * and paced, logout ends the session and its streams, and only the files
 * it names are served.
 */
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { MAX_STREAMS_PER_SESSION, MIN_GAP_MS } from '../../src/api/dashboard/constants.ts'
import { TestNet } from '../fixtures/nodes.ts'
import { EventStream } from '../fixtures/event-stream.ts'
import { eventually } from '../fixtures/wait.ts'
import type { TempusNode } from '../../src/node/tempus-node.ts'

describe('dashboard over HTTP', () => {
  const net = new TestNet()
  let node: TempusNode
  let peer: TempusNode
  let token: string
  let base: string
  const streams: EventStream[] = []

  const login = async (body: string, headers: Record<string, string> = {}): Promise<Response> =>
    await fetch(`${base}/dashboard/login`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body })
  const session = async (): Promise<string> => {
    const res = await login(JSON.stringify({ token }))
    assert.equal(res.status, 204)
    return (res.headers.get('set-cookie') ?? '').split(';')[0] ?? ''
  }
  const open = async (headers: Record<string, string>): Promise<EventStream> => {
    const s = await EventStream.open(`${base}/dashboard/events`, headers)
    streams.push(s)
    return s
  }

  before(async () => {
    const dataDir = await net.tempDir()
    node = await net.node({ type: 'sentinel', api: { enabled: true, listen: '127.0.0.1:0' }, options: { dataDir, passphrase: 'p' } })
    peer = await net.node({ type: 'edge', bootstrap: node.getMultiaddrs() })
    token = (await readFile(join(dataDir, 'api-token'), 'utf8')).trim()
    base = node.api?.url ?? assert.fail('no API')
  })
  after(async () => {
    for (const s of streams) s.close()
    await net.stop()
  })

  it('takes the token only as a small JSON body from its own origin; a wrong one gets 401 and no cookie', async () => {
    const cases: Array<[string, Record<string, string>, number]> = [
      ['token=abc', { 'content-type': 'application/x-www-form-urlencoded' }, 400],
      [JSON.stringify({ token, extra: 1 }), {}, 400],
      [JSON.stringify({ token: 7 }), {}, 400],
      [JSON.stringify({ token: 'x'.repeat(513) }), {}, 400],
      [JSON.stringify({ token: 'x'.repeat(2000) }), {}, 413],
      [JSON.stringify({ token }), { origin: 'http://evil.example' }, 403],
      [JSON.stringify({ token: `${token}x` }), {}, 401]
    ]
    for (const [body, headers, status] of cases) {
      const res = await login(body, headers)
      assert.equal(res.status, status, `${body.slice(0, 40)} ${JSON.stringify(headers)}`)
      assert.equal(res.headers.get('set-cookie'), null)
      await res.body?.cancel()
    }
    const ok = await login(JSON.stringify({ token }), { origin: base })
    assert.equal(ok.status, 204)
    assert.match(ok.headers.get('set-cookie') ?? '', /^tempus_dashboard=[A-Za-z0-9_-]{43}; Path=\/dashboard; Max-Age=43200; HttpOnly; SameSite=Strict$/)
  })

  it('the session opens the page and the feed, not /v1; the page carries a CSP without inline script', async () => {
    const cookie = await session()
    const page = await fetch(`${base}/dashboard/`, { headers: { cookie } })
    assert.equal(page.status, 200)
    const csp = page.headers.get('content-security-policy') ?? ''
    assert.match(csp, /default-src 'none'/)
    assert.match(csp, /script-src 'self'(;|$)/)
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/)
    assert.equal(page.headers.get('x-frame-options'), 'DENY')
    assert.doesNotMatch(await page.text(), /<script>|<script [^>]*>[^<]/, 'no inline script')
    assert.equal((await fetch(`${base}/v1/status`, { headers: { cookie } })).status, 401, 'the cookie is no bearer token')
    const anonymous = await fetch(`${base}/dashboard/`, { redirect: 'manual' })
    assert.equal(anonymous.status, 303)
    assert.equal(anonymous.headers.get('location'), '/dashboard/login')
  })

  it('serves only the files it names', async () => {
    for (const name of ['dashboard.js', 'graph.js', 'login.js', 'dashboard.css', 'uPlot.esm.js', 'uPlot.min.css']) {
      const res = await fetch(`${base}/dashboard/static/${name}`)
      assert.equal(res.status, 200, name)
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff')
      await res.body?.cancel()
    }
    for (const path of ['/dashboard/static/package.json', '/dashboard/static/..%2F..%2F..%2Fpackage.json', '/dashboard/static/index.html', '/dashboard/static/x'.padEnd(80, 'x')]) {
      const res = await fetch(`${base}${path}`)
      assert.ok([400, 401, 404].includes(res.status), `${path}: ${res.status}`)
      await res.body?.cancel()
    }
  })

  it('the feed: history first, then snapshots; at most a few streams per session; the bearer token opens one too', async () => {
    const cookie = await session()
    const first = await open({ cookie })
    assert.equal(first.status, 200)
    const history = await first.next(e => e.event === 'history', 'the history')
    assert.ok(Array.isArray(history.data.t))
    const snap = await first.next(e => e.event === 'snapshot' && e.data.peers.connected >= 1, 'a snapshot with the edge connected')
    assert.equal(snap.data.node.peerId, node.peerId.toString())
    assert.equal(first.events[0]?.event, 'history')
    for (let i = 1; i < MAX_STREAMS_PER_SESSION; i++) {
      assert.equal((await open({ cookie })).status, 200)
    }
    const refused = await open({ cookie })
    assert.equal(refused.status, 503, 'one stream too many for this session')
    const bearer = await open({ authorization: `Bearer ${token}` })
    assert.equal(bearer.status, 200)
    await bearer.next(e => e.event === 'snapshot', 'a snapshot on the bearer stream')
    assert.equal((await open({})).status, 401)
  })

  it('paces snapshots: a burst of anomalies brings one forward, never two closer than the minimum gap', async () => {
    const stream = await open({ cookie: await session() })
    await stream.next(e => e.event === 'snapshot', 'the first snapshot')
    await eventually(() => peer.libp2p.services.pubsub.getSubscribers('tempus/anomaly/1').length > 0, 'the edge on the anomaly topic')
    const from = stream.events.length
    const ids: string[] = []
    for (let i = 0; i < 30; i++) {
      ids.push((await peer.gossip.publish({ kind: 'burst', digest: 'cd'.repeat(16), severity: 1, metadata: { i: String(i) } })).id)
    }
    const last = ids.at(-1)
    await stream.next(e => e.event === 'snapshot' && e.data.anomalies.rows.some((a: { id: string }) => a.id === last), 'the last anomaly on the page')
    const times = stream.events.slice(from).filter(e => e.event === 'snapshot').map(e => e.at)
    for (let i = 1; i < times.length; i++) {
      // measured at the client: allow a little jitter under the server's gap
      assert.ok((times[i] ?? 0) - (times[i - 1] ?? 0) >= MIN_GAP_MS - 60, `snapshots ${times[i - 1]} and ${times[i]} closer than ${MIN_GAP_MS} ms`)
    }
  })

  it('logout ends the session and its open streams', async () => {
    const cookie = await session()
    const stream = await open({ cookie })
    await stream.next(e => e.event === 'snapshot', 'a snapshot')
    const out = await fetch(`${base}/dashboard/logout`, { method: 'POST', headers: { cookie } })
    assert.equal(out.status, 204)
    assert.match(out.headers.get('set-cookie') ?? '', /Max-Age=0/)
    await stream.untilEnded('the stream to end with its session')
    assert.equal((await open({ cookie })).status, 401)
    assert.equal((await fetch(`${base}/dashboard/`, { headers: { cookie }, redirect: 'manual' })).status, 303)
  })
})

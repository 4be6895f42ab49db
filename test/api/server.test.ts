import assert from 'node:assert/strict'
import { request } from 'node:http'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { TestNet } from '../fixtures/nodes.ts'
import { eventually, waitForEvent } from '../fixtures/wait.ts'
import type { TempusNode } from '../../src/node/tempus-node.ts'

/** A raw request, so the Host header can be set freely. */
async function get (url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number, body: string, headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, res => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', chunk => { body += chunk })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body, headers: res.headers }) })
    })
    req.on('error', reject)
    req.end()
  })
}

describe('admin API', () => {
  const net = new TestNet()
  let node: TempusNode
  let peer: TempusNode
  let token: string
  let base: string

  before(async () => {
    const dataDir = await net.tempDir()
    node = await net.node({ type: 'sentinel', api: { enabled: true, listen: '127.0.0.1:0' }, options: { dataDir, passphrase: 'p', scryptN: 1 << 10 } })
    peer = await net.node({ type: 'edge', bootstrap: node.getMultiaddrs() })
    token = (await readFile(join(dataDir, 'api-token'), 'utf8')).trim()
    base = node.api?.url ?? assert.fail('no API')
    assert.match(base, /^http:\/\/127\.0\.0\.1:\d+$/)
  })
  after(async () => { await net.stop() })

  it('answers /healthz without a token: ok once the node holds a token and an admitted connection', async () => {
    const health = await eventually(async () => {
      const res = await get(`${base}/healthz`)
      assert.equal(res.status, 200)
      const body = JSON.parse(res.body)
      return body.status === 'ok' ? body : undefined
    }, 'healthz says ok once the edge is admitted')
    assert.deepEqual(health, { status: 'ok' })
  })

  it('refuses missing, wrong and malformed tokens with the same answer', async () => {
    for (const headers of [{} as Record<string, string>, { authorization: 'Bearer nope' }, { authorization: `Bearer ${token}x` }, { authorization: token }, { authorization: `Basic ${token}` }]) {
      const res = await get(`${base}/v1/mesh/peers`, headers)
      assert.equal(res.status, 401)
      assert.equal(res.body, '{"error":"unauthorized"}')
    }
  })

  it('refuses a foreign Host header (DNS rebinding)', async () => {
    const res = await get(`${base}/v1/mesh/peers`, { authorization: `Bearer ${token}`, host: 'evil.example:80' })
    assert.equal(res.status, 421)
  })

  it('lists peers with id, type, addresses, connected and last seen', async () => {
    const peers = await eventually(async () => {
      const res = await get(`${base}/v1/mesh/peers`, { authorization: `Bearer ${token}` })
      assert.equal(res.status, 200)
      const list = JSON.parse(res.body).peers as any[]
      return list.find(p => p.peerId === peer.peerId.toString() && p.type === 'edge') != null ? list : undefined
    }, 'the edge to be listed')
    const entry = peers.find(p => p.peerId === peer.peerId.toString())
    assert.deepEqual(Object.keys(entry).sort(), ['addresses', 'admitted', 'connected', 'connectionIds', 'keptSentinel', 'lastConnectionEnd', 'lastSeen', 'peerId', 'redial', 'revoked', 'suspicion', 'tokenExpiresAt', 'type'])
    assert.equal(entry.admitted, true)
    assert.deepEqual(entry.suspicion, { score: 0, state: 'ok', quarantinedUntil: null, offences: [] })
    assert.equal(entry.connected, true)
  })

  it('serves status and Prometheus metrics including libp2p\'s', async () => {
    const status = JSON.parse((await get(`${base}/v1/status`, { authorization: `Bearer ${token}` })).body)
    assert.equal(status.peerId, node.peerId.toString())
    assert.equal(status.dhtMode, 'server')
    const metrics = await get(`${base}/metrics`, { authorization: `Bearer ${token}` })
    assert.equal(metrics.status, 200)
    assert.match(String(metrics.headers['content-type']), /text\/plain/)
    assert.match(metrics.body, /^libp2p_connection_manager_connections/m)
    assert.match(metrics.body, /^process_cpu_user_seconds_total/m)
  })

  it('publishes an anomaly (POST /v1/mesh/gossip) that the peer receives, lists it (GET /v1/anomalies), and refuses bad input with the field named', async () => {
    const post = async (body: string, type = 'application/json'): Promise<Response> => await fetch(`${base}/v1/mesh/gossip`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': type }, body })
    await eventually(() => peer.libp2p.services.pubsub.getSubscribers('tempus/anomaly/1').length > 0, 'the peer on the anomaly topic')
    const res = await post(JSON.stringify({ kind: 'ioc-hash', digest: 'AB'.repeat(32), severity: 9, metadata: { rule: 'r-17' }, lifetime: '10m' }))
    assert.equal(res.status, 201)
    const { anomaly } = await res.json() as { anomaly: { id: string, origin: string, digest: string, expires: number, timestamp: number } }
    assert.equal(anomaly.origin, node.peerId.toString())
    assert.equal(anomaly.digest, 'ab'.repeat(32))
    assert.equal(anomaly.expires - anomaly.timestamp, 600_000)
    await eventually(() => peer.gossip.list().some(a => a.id === anomaly.id), 'the peer to receive it')
    const listed = await fetch(`${base}/v1/anomalies?kind=ioc-hash`, { headers: { authorization: `Bearer ${token}` } }).then(async r => await r.json() as { anomalies: Array<{ id: string }> })
    assert.deepEqual(listed.anomalies.map(a => a.id), [anomaly.id])
    const bad: Array<[string, RegExp]> = [
      [JSON.stringify({ kind: 'x', digest: 'zz', severity: 1 }), /digest/],
      [JSON.stringify({ kind: 'x', digest: 'ab', severity: 11 }), /severity/],
      [JSON.stringify({ kind: 'x', digest: 'ab', severity: 1, extra: true }), /extra|Unrecognized/i],
      [JSON.stringify({ kind: 'x', digest: 'ab', severity: 1, lifetime: '9d' }), /lifetime/],
      ['[1,2]', /JSON object/],
      ['{"kind":', /JSON object/]
    ]
    for (const [body, detail] of bad) {
      const r = await post(body)
      assert.equal(r.status, 400, body)
      assert.match(((await r.json()) as { detail: string }).detail, detail, body)
    }
    assert.equal((await post('kind=x', 'application/x-www-form-urlencoded')).status, 400)
    assert.equal((await get(`${base}/v1/mesh/gossip`, { authorization: `Bearer ${token}` })).status, 405)
    assert.equal((await fetch(`${base}/v1/mesh/gossip`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).status, 401)
    assert.equal(node.gossip.list().length, 1, 'nothing refused was published')
  })

  it('sends a bundle (POST /v1/bundles) that the peer receives, lists the boxes (GET /v1/bundles), and refuses bad input with the field named', async () => {
    const auth = { authorization: `Bearer ${token}` }
    const post = async (body: unknown): Promise<Response> => await fetch(`${base}/v1/bundles`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) })
    const received = waitForEvent(peer.dtn, 'bundle', () => true, 30_000)
    const res = await post({ destination: peer.peerId.toString(), text: 'über the API', lifetime: '10m' })
    assert.equal(res.status, 202)
    const { id, size } = await res.json() as { id: string, size: number }
    assert.equal(size, Buffer.byteLength('über the API'))
    const got = (await received).detail
    assert.equal(got.id, id)
    assert.equal(Buffer.from(got.payload).toString(), 'über the API')
    const binary = await post({ destination: peer.peerId.toString(), payload: Buffer.from([0, 1, 2, 255]).toString('base64') })
    assert.equal(binary.status, 202)
    const outbox = await fetch(`${base}/v1/bundles?box=outbox`, { headers: auth }).then(async r => await r.json() as { bundles: Array<{ id: string, destination: string }> })
    assert.ok(outbox.bundles.some(b => b.id === id && b.destination === peer.peerId.toString()))
    await eventually(() => peer.dtn.list('inbox').length === 2, 'both at the peer')
    const bad: Array<[unknown, RegExp]> = [
      [{ destination: 'nowhere', text: 'x' }, /destination/],
      [{ destination: '*', text: 'x', payload: 'eA==' }, /exactly one/],
      [{ destination: '*' }, /exactly one/],
      [{ destination: '*', payload: '***' }, /payload/],
      [{ destination: '*', text: 'x', lifetime: '8d' }, /lifetime/],
      [{ destination: '*', text: 'x', copies: 0 }, /copies/],
      [{ destination: '*', text: 'x', extra: 1 }, /extra|Unrecognized/i],
      ['[1]', /JSON object/]
    ]
    for (const [body, detail] of bad) {
      const r = await post(body)
      assert.equal(r.status, 400, JSON.stringify(body))
      assert.match(((await r.json()) as { detail: string }).detail, detail, JSON.stringify(body))
    }
    assert.equal((await fetch(`${base}/v1/bundles?box=trash`, { headers: auth })).status, 400)
    assert.equal((await get(`${base}/v1/bundles`, auth, 'PUT')).status, 405)
    assert.equal((await fetch(`${base}/v1/bundles`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).status, 401)
    assert.equal(node.dtn.list('outbox').length, 2, 'nothing refused was stored')
  })

  it('answers unknown paths and wrong methods without detail', async () => {
    const unknown = await get(`${base}/v1/nope`, { authorization: `Bearer ${token}` })
    assert.equal(unknown.status, 404)
    assert.equal(unknown.body, '{"error":"not-found"}')
    const wrong = await get(`${base}/v1/status`, { authorization: `Bearer ${token}` }, 'POST')
    assert.equal(wrong.status, 405)
    assert.equal(wrong.body, '{"error":"method-not-allowed"}')
    assert.equal(wrong.headers.allow, 'GET, HEAD')
  })
})

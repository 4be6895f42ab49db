/**
 * The admin API against hostile requests (issue #13 items 1 and 13): no
 * request, body, abort, slow or destroyed socket ends the node; a stranger
 * gets the same 401 for every path, real or not; large bodies are refused
 * on their Content-Length before a byte is read, and the body bytes held
 * at once are capped.
 */
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { abortedMidBody, chunkedOversize, crashCounter, declaredOversize, destroyedAfterHeaders, longerThanDeclared, raw, shorterThanDeclared, trickled } from '../fixtures/http-hostile.ts'
import { TestNet } from '../fixtures/nodes.ts'
import type { Target } from '../fixtures/http-hostile.ts'
import type { TempusNode } from '../../src/node/tempus-node.ts'

const MB42 = 42 * 1024 * 1024

describe('admin API under hostile requests', () => {
  const net = new TestNet()
  const crashes = crashCounter()
  let node: TempusNode
  let base: string
  let admin: Target
  let stranger: Target

  before(async () => {
    const dataDir = await net.tempDir()
    node = await net.node({ type: 'sentinel', api: { enabled: true, listen: '127.0.0.1:0' }, options: { dataDir, passphrase: 'p', scryptN: 1 << 10 } })
    const token = (await readFile(join(dataDir, 'api-token'), 'utf8')).trim()
    base = node.api?.url ?? assert.fail('no API')
    admin = { base, headers: { authorization: `Bearer ${token}` } }
    stranger = { base }
  })
  after(async () => {
    await net.stop()
    crashes.stop()
  })

  const alive = async (): Promise<void> => {
    const res = await fetch(`${base}/healthz`)
    assert.equal(res.status, 200)
    // alive and answering; a lone node with no peer is degraded, not down
    assert.deepEqual(await res.json(), { status: 'degraded', reasons: ['no-peers'] })
  }
  const bodyBytes = (): { inFlight: number, peak: number, capacity: number } => node.api?.bodyBytes() ?? assert.fail('no API')

  it('without a token, every path answers the same 401, real or not, any method, any body (item 13)', async () => {
    const paths = ['/v1/status', '/v1/mesh/peers', '/v1/nope', '/v1/mesh/gossip', '/nothing/at/all', '/v1/mesh/peers/x/clear', '/v1/%E0%A4%A', '/healthz/', '/metrics']
    for (const path of paths) {
      for (const method of ['GET', 'POST', 'PUT', 'DELETE']) {
        const res = await raw(stranger, method, path, { 'content-type': 'application/json' }, method === 'GET' ? '' : '{}')
        assert.equal(res.status, 401, `${method} ${path}`)
        assert.ok(res.text.split('\r\n\r\n')[1]?.includes('{"error":"unauthorized"}'), `${method} ${path}`)
      }
    }
    await alive()
  })

  it('four 42 MB bodies are refused on their Content-Length before they are read (item 13)', async () => {
    // to a route with a 64 KiB limit, and without a token: 413 / 401 before the client has sent them
    for (const [target, expected] of [[admin, 413], [stranger, 401]] as const) {
      const results = await Promise.all(Array.from({ length: 4 }, async () => await declaredOversize(target, '/v1/mesh/gossip', MB42)))
      for (const res of results) {
        assert.equal(res.status, expected)
        assert.ok(res.sent < MB42, `answered before the client finished (${res.sent} bytes sent)`)
      }
    }
    assert.ok(bodyBytes().peak <= 64 * 1024, `nothing was held (${bodyBytes().peak})`)
    await alive()
  })

  it('four 42 MB bundles at once: the body budget lets one in and refuses the others with 503 before reading them', async () => {
    const results = await Promise.all(Array.from({ length: 4 }, async () => await declaredOversize(admin, '/v1/bundles', MB42)))
    const statuses = results.map(r => r.status).sort()
    const busy = results.filter(r => r.status === 503)
    assert.ok(busy.length >= 1, String(statuses))
    for (const res of busy) {
      assert.ok(res.sent < MB42, `refused before it was sent (${res.sent})`)
      assert.match(res.text, /retry-after: 1/i)
    }
    assert.ok(bodyBytes().peak <= bodyBytes().capacity, `held at most the budget (${bodyBytes().peak} of ${bodyBytes().capacity})`)
    assert.ok(bodyBytes().peak < 2 * MB42, `never two of them at once (${bodyBytes().peak})`)
    assert.equal(bodyBytes().inFlight, 0, 'every share came back')
    await alive()
  })

  it('chunked oversize, lying lengths, aborted bodies, destroyed sockets', async () => {
    const chunked = await chunkedOversize(admin, '/v1/mesh/gossip', 32 * 1024 * 1024)
    assert.ok(chunked.status === 413 || (chunked.status == null && chunked.closedByServer), String(chunked.status))
    await alive()
    for (const target of [admin, stranger]) {
      const shorter = await shorterThanDeclared(target, '/v1/mesh/gossip')
      assert.ok(shorter.status == null || shorter.status >= 400, String(shorter.status))
      await alive()
      const longer = await longerThanDeclared(target, '/v1/mesh/gossip')
      assert.ok(longer.status == null || longer.status >= 400, String(longer.status))
      await alive()
      await abortedMidBody(target, '/v1/mesh/gossip')
      await alive()
      await destroyedAfterHeaders(target, '/v1/mesh/gossip')
      await destroyedAfterHeaders(target, '/v1/mesh/peers', 'GET')
      await alive()
    }
    assert.equal(bodyBytes().inFlight, 0)
  })

  it('a body trickled a byte at a time is cut off by the request timeout', async () => {
    const res = await trickled(admin, '/v1/mesh/gossip')
    assert.ok(res.closedByServer, 'the server closed the slow request')
    assert.ok(res.status == null || res.status === 408, String(res.status))
    await alive()
  })

  it('wrong content type, invalid, deep and huge JSON, prototype poisoning: 400 with the problem named', async () => {
    const cases: Array<[string, string, RegExp]> = [
      ['{"kind":"x"}', 'text/plain', /application\/json/],
      ['kind=x', 'application/x-www-form-urlencoded', /application\/json/],
      ['{"kind":"x"}', 'application/json; charset=utf-16', /./],
      ['{"kind":"x"}', 'application/jsonp', /application\/json/],
      ['{"kind":', 'application/json', /JSON/],
      ['['.repeat(30_000) + ']'.repeat(30_000), 'application/json', /JSON object/],
      [JSON.stringify({ kind: 'x', digest: 'ab', severity: 1, metadata: { a: { b: { c: { d: [[[[1]]]] } } } } }), 'application/json', /metadata/],
      [JSON.stringify(Object.fromEntries(Array.from({ length: 4000 }, (_, i) => [`k${i}`, i]))), 'application/json', /./],
      ['{"kind":"x","digest":"ab","severity":1,"__proto__":{"admin":true}}', 'application/json', /./]
    ]
    for (const [body, type, detail] of cases) {
      const res = await fetch(`${base}/v1/mesh/gossip`, { method: 'POST', headers: { ...admin.headers, 'content-type': type }, body })
      assert.equal(res.status, 400, body.slice(0, 40))
      const answer = await res.json() as { error: string, detail: string }
      assert.equal(answer.error, 'bad-request')
      assert.match(answer.detail, detail, body.slice(0, 40))
    }
    assert.equal(node.gossip.list().length, 0, 'nothing refused was published')
    await alive()
  })

  it('bad percent-encoding, invalid methods, huge headers', async () => {
    assert.equal((await raw(admin, 'GET', '/v1/mesh/peers/%E0%A4%A/clear')).status, 400)
    assert.equal((await raw(admin, 'FOO', '/v1/status')).status, 400)
    assert.equal((await raw(stranger, 'FOO', '/v1/status')).status, 400)
    assert.equal((await raw(admin, 'GET', '/v1/status', { 'x-huge': 'a'.repeat(20_000) })).status, 431)
    assert.equal((await raw(admin, 'DELETE', '/v1/mesh/gossip', { 'content-type': 'application/json' }, '{}')).status, 405)
    assert.equal((await raw(admin, 'GET', '/v1/anomalies?limit=5000')).status, 400)
    assert.equal((await raw(admin, 'GET', '/v1/anomalies?since=yesterday')).status, 400)
    await alive()
  })

  it('after all of it: no unhandled rejection, no uncaught exception, the API still serves', async () => {
    const res = await fetch(`${base}/v1/status`, { headers: admin.headers })
    assert.equal(res.status, 200)
    assert.equal(crashes.rejections, 0)
    assert.equal(crashes.exceptions, 0)
  })
})

/**
 * What the admin API and the issuer API share answers a known path's other
 * methods 405 with `Allow`, after the guard, without reading a body, and
 * without a route per path and method (a dev mesh runs one admin API per
 * node: those routes were 215 kB of heap each).
 */
import assert from 'node:assert/strict'
import { request } from 'node:http'
import { after, before, describe, it } from 'node:test'
import { createHttpServer, listen } from '../../src/http/server.ts'
import { createLogger } from '../../src/logging/logger.ts'
import type { HttpServer, Listening } from '../../src/http/server.ts'

interface Answer { status: number, body: string, allow?: string }

/** One request; `announce` sends a Content-Length and never the body. */
async function send (base: string, method: string, path: string, headers: Record<string, string> = {}, announce?: number): Promise<Answer> {
  return await new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method, headers: { ...headers, ...(announce == null ? {} : { 'content-type': 'application/json', 'content-length': String(announce) }) } }, res => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', chunk => { body += chunk })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body, allow: res.headers.allow }) })
    })
    req.on('error', reject)
    if (announce == null) {
      req.end()
    } else {
      req.flushHeaders()
    }
  })
}

describe('405 for a known path\'s other methods', () => {
  let server: HttpServer
  let listening: Listening
  let base: string
  const auth = { authorization: 'Bearer right' }

  before(async () => {
    server = await createHttpServer({
      name: 'test',
      log: createLogger({ level: 'silent' }),
      bodyLimit: 1024,
      maxInFlightBodyBytes: 1 << 20,
      details: true,
      guard: request => request.headers.authorization === 'Bearer right' ? undefined : { status: 401, code: 'unauthorized' }
    })
    const { app } = server
    app.get('/v1/status', async () => ({ ok: true }))
    app.post('/v1/peers/clear', async () => ({ cleared: 'all' }))
    app.post<{ Params: { id: string } }>('/v1/peers/:id/clear', async request => ({ cleared: request.params.id }))
    app.delete<{ Params: { id: string } }>('/v1/peers/:id', async request => ({ deleted: request.params.id }))
    server.answerOtherMethods()
    listening = await listen(app, '127.0.0.1', 0)
    base = `http://${listening.authority}`
  })
  after(async () => { await listening.close() })

  it('answers the methods a path does not serve with 405 and what it does serve', async () => {
    assert.deepEqual(await send(base, 'POST', '/v1/status', auth), { status: 405, body: '{"error":"method-not-allowed"}', allow: 'GET, HEAD' })
    assert.equal((await send(base, 'GET', '/v1/status', auth)).status, 200)
    assert.equal((await send(base, 'HEAD', '/v1/status', auth)).status, 200)
    // a parametric path, and a static one beside it
    assert.deepEqual(await send(base, 'GET', '/v1/peers/abc/clear', auth), { status: 405, body: '{"error":"method-not-allowed"}', allow: 'POST' })
    assert.equal((await send(base, 'POST', '/v1/peers/abc/clear', auth)).body, '{"cleared":"abc"}')
    assert.equal((await send(base, 'PUT', '/v1/peers/clear', auth)).allow, 'POST')
    assert.equal((await send(base, 'GET', '/v1/peers/abc', auth)).allow, 'DELETE')
    // a method no route uses at all, and a path no route has
    assert.equal((await send(base, 'PATCH', '/v1/peers/abc', auth)).status, 405)
    assert.deepEqual(await send(base, 'GET', '/v1/nope', auth), { status: 404, body: '{"error":"not-found"}', allow: undefined })
    // the router takes an empty segment for a parameter (POST is served there), so 405 does too
    assert.equal((await send(base, 'GET', '/v1/peers//clear', auth)).allow, 'POST')
    assert.equal((await send(base, 'GET', '/v1/peers/a/b/clear', auth)).status, 404, 'a parameter is one segment')
  })

  it('after the guard: a caller without the token learns nothing of a path\'s methods', async () => {
    const anon = await send(base, 'POST', '/v1/status')
    assert.equal(anon.status, 401)
    assert.equal(anon.allow, undefined)
  })

  it('does not wait for a body it will not read', async () => {
    // 100 kB announced, never sent: the answer comes at once (the request timeout is 10 s)
    const answer = await send(base, 'DELETE', '/v1/status', auth, 100_000)
    assert.equal(answer.status, 405)
  })

  it('one route per path served, none per method refused', () => {
    assert.ok(server.app.hasRoute({ method: 'GET', url: '/v1/status' }))
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const) {
      assert.equal(server.app.hasRoute({ method, url: '/v1/status' }), false, method)
    }
  })
})

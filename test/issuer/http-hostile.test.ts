/**
 * The issuer's HTTP API against hostile requests (issue #13 items 1, 2, 3,
 * 13): no request, body, abort, slow or destroyed socket ends the process;
 * anonymous endpoints are rate limited per address; the audit log's
 * entries need a signed admin request while checkpoints and proofs stay
 * public.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { generateEd25519, privateKeyToPem, rawPublicKey } from '../../src/core/keys.ts'
import { ADMIN_REQUEST_HEADERS, signAdminRequest } from '../../src/issuer-client/admin-request.ts'
import { IssuerClient, IssuerClientError } from '../../src/issuer-client/client.ts'
import { startIssuerHttp } from '../../src/issuer/http.ts'
import { createLogger } from '../../src/logging/logger.ts'
import { abortedMidBody, chunkedOversize, crashCounter, declaredOversize, destroyedAfterHeaders, longerThanDeclared, raw, shorterThanDeclared, trickled } from '../fixtures/http-hostile.ts'
import { tempus } from '../fixtures/cli.ts'
import { startTestIssuer } from '../fixtures/issuer.ts'
import type { TestIssuer } from '../fixtures/issuer.ts'

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url')
/** the issuer's documented body limit (protocols/issuer.md) */
const ISSUER_MAX_BODY = 16 * 1024

describe('issuer HTTP API under hostile requests', () => {
  let t: TestIssuer
  const crashes = crashCounter()

  before(async () => { t = await startTestIssuer() })
  after(async () => {
    await t.stop()
    crashes.stop()
  })

  const alive = async (): Promise<void> => {
    const res = await fetch(`${t.url}/healthz`)
    assert.equal(res.status, 200)
    assert.deepEqual(await res.json(), { status: 'ok' })
  }

  it('a chunked body over the cap on POST /v1/enroll and /v1/token is refused with 413, and the issuer lives (item 1)', async () => {
    for (const path of ['/v1/enroll', '/v1/token', '/v1/challenge', '/v1/revoke']) {
      // just over the cap and sent whole (the shape that once ended the issuer), over fetch and over a raw socket
      const body = new ReadableStream({
        start (controller) {
          for (let i = 0; i < 64; i++) {
            controller.enqueue(new Uint8Array(1024).fill(0x61))
          }
          controller.close()
        }
      })
      const whole = await fetch(`${t.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, duplex: 'half' } as RequestInit).then(r => r.status, () => undefined)
      assert.ok(whole === 413 || whole == null, `${path}: ${whole}`)
      await alive()
      const small = await chunkedOversize({ base: t.url }, path, 64 * 1024)
      assert.ok(small.status === 413 || (small.status == null && small.closedByServer), `${path}: ${small.status}`)
      await alive()
      // and a large one streamed until the server gives up on it
      const res = await chunkedOversize({ base: t.url }, path, 32 * 1024 * 1024)
      // 413 and close; the client, still writing, may see the reset before it reads the 413
      assert.ok(res.status === 413 || (res.status == null && res.closedByServer), `${path}: ${res.status}`)
      assert.ok(res.sent < 32 * 1024 * 1024, `${path}: refused before the client finished (${res.sent} bytes sent)`)
      await alive()
      assert.equal(crashes.rejections, 0, `${path}: no unhandled rejection (the old server's refusal path threw one)`)
    }
    const { peak } = t.http.bodyBytes()
    assert.ok(peak > 0 && peak <= ISSUER_MAX_BODY, `the server read up to one body's limit, no more (${peak})`)
  })

  it('a Content-Length over the cap is refused before the body is read', async () => {
    const res = await declaredOversize({ base: t.url }, '/v1/enroll', 42 * 1024 * 1024)
    assert.equal(res.status, 413)
    assert.ok(res.sent < 42 * 1024 * 1024, `answered before the client finished (${res.sent} bytes sent)`)
    assert.match(res.text, /connection: close/i, 'the unread body is not drained')
    assert.ok(t.http.bodyBytes().peak <= t.http.bodyBytes().capacity)
    await alive()
  })

  it('bodies that lie about their length, aborted bodies, destroyed sockets', async () => {
    for (const path of ['/v1/enroll', '/v1/token']) {
      const shorter = await shorterThanDeclared({ base: t.url }, path)
      assert.ok(shorter.status == null || shorter.status >= 400, `${path}: ${shorter.status}`)
      await alive()
      const longer = await longerThanDeclared({ base: t.url }, path)
      // the first request ({}) fails its schema; the garbage after it ends the connection, maybe before that answer
      assert.ok(longer.status == null || longer.status === 400, `${path}: ${longer.status}`)
      await alive()
      await abortedMidBody({ base: t.url }, path)
      await alive()
      await destroyedAfterHeaders({ base: t.url }, path)
      await alive()
    }
    await destroyedAfterHeaders({ base: t.url }, '/v1/keys', 'GET')
    await alive()
    // every share of the body budget came back
    assert.equal(t.http.bodyBytes().inFlight, 0)
  })

  it('a body trickled a byte at a time is cut off by the request timeout', async () => {
    const res = await trickled({ base: t.url }, '/v1/enroll')
    assert.ok(res.closedByServer, 'the server closed the slow request')
    assert.ok(res.status == null || res.status === 408, String(res.status))
    await alive()
  })

  it('wrong content type, invalid JSON, deep and huge JSON, prototype poisoning: 400 with a code and what to change', async () => {
    const post = async (body: string, type = 'application/json'): Promise<Response> =>
      await fetch(`${t.url}/v1/enroll`, { method: 'POST', headers: { 'content-type': type }, body })
    const cases: Array<[string, string?]> = [
      ['{"code":"x"}', 'text/plain'],
      ['code=x', 'application/x-www-form-urlencoded'],
      ['{"code":'],
      ['['.repeat(8000) + ']'.repeat(8000)],
      [JSON.stringify({ code: 'x', publicKey: 'a', challenge: 'a', signature: 'a', attestation: { a: { b: { c: [[[[[[1]]]]]] } } } })],
      [JSON.stringify(Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, i])))],
      ['{"code":"x","publicKey":"a","challenge":"a","signature":"a","__proto__":{"admin":true}}'],
      ['{"code":"x","publicKey":"a","challenge":"a","signature":"a","constructor":{"prototype":{"admin":true}}}']
    ]
    for (const [body, type] of cases) {
      const res = await post(body, type)
      assert.equal(res.status, 400, body.slice(0, 40))
      const answer = await res.json() as { error: string, detail?: string }
      assert.equal(answer.error, 'bad-request', body.slice(0, 40))
      assert.equal(typeof answer.detail, 'string', body.slice(0, 40))
    }
    await alive()
  })

  it('bad percent-encoding answers 400, not 500 (item 13); invalid methods and huge headers are refused', async () => {
    const bad = await raw({ base: t.url }, 'GET', '/v1/revoke/%E0%A4%A')
    assert.equal(bad.status, 400)
    assert.equal((await fetch(`${t.url}/v1/revoke/%E0%A4%A`)).status, 400)
    assert.equal((await raw({ base: t.url }, 'FOO', '/v1/keys')).status, 400)
    assert.equal((await raw({ base: t.url }, 'PUT', '/v1/keys')).status, 405)
    assert.equal((await raw({ base: t.url }, 'DELETE', '/v1/enroll', { 'content-type': 'application/json' }, '{}')).status, 405)
    assert.equal((await raw({ base: t.url }, 'GET', '/v1/keys', { 'x-huge': 'a'.repeat(20_000) })).status, 431)
    assert.equal((await raw({ base: t.url }, 'GET', '/v1/keys\u0001')).status, 400)
    assert.equal((await raw({ base: t.url }, 'GET', '/v1/audit/consistency?from=x&to=1')).status, 400)
    assert.equal((await raw({ base: t.url }, 'GET', `/v1/revoke/${'a'.repeat(300)}`)).status, 414)
    await alive()
  })

  it('after all of it: no unhandled rejection, no uncaught exception, the issuer still enrols', async () => {
    const key = await generateKeyPair('Ed25519')
    const client = new IssuerClient({ url: t.url })
    const enrolled = await client.enroll(key, (await t.issuer.createCode('edge')))
    await client.token(key, enrolled.credential)
    assert.equal(crashes.rejections, 0)
    assert.equal(crashes.exceptions, 0)
  })
})

describe('issuer audit log: entries for admins, proofs for everyone (item 3)', () => {
  let t: TestIssuer
  const admin = generateEd25519()
  const stranger = generateEd25519()

  before(async () => {
    t = await startTestIssuer()
    await t.issuer.addAdmin(b64(rawPublicKey(admin.publicKey)), 'alice')
    const key = await generateKeyPair('Ed25519')
    await new IssuerClient({ url: t.url }).enroll(key, (await t.issuer.createCode('sentinel')))
  })
  after(async () => { await t.stop() })

  const get = async (path: string, headers: Record<string, string> = {}): Promise<Response> => await fetch(`${t.url}${path}`, { headers })

  it('refuses entries without a signature, with a stranger\'s, a stale, a tampered or a replayed one: a bare 401', async () => {
    const path = '/v1/audit/entries?from=0&limit=50'
    const refusals: Array<[string, Record<string, string>, string?]> = [
      ['none', {}],
      ['a stranger\'s key', signAdminRequest(stranger, 'GET', path, Date.now())],
      ['stale', signAdminRequest(admin, 'GET', path, Date.now() - 10 * 60_000)],
      ['from the future', signAdminRequest(admin, 'GET', path, Date.now() + 10 * 60_000)],
      ['signed for another query', signAdminRequest(admin, 'GET', '/v1/audit/entries?from=0&limit=5', Date.now())],
      ['signed for another method', signAdminRequest(admin, 'POST', path, Date.now())],
      ['malformed', { ...signAdminRequest(admin, 'GET', path, Date.now()), [ADMIN_REQUEST_HEADERS.signature]: '!!' }]
    ]
    for (const [what, headers] of refusals) {
      const res = await get(path, headers)
      assert.equal(res.status, 401, what)
      assert.deepEqual(await res.json(), { error: 'unauthorized' }, what)
    }
    const signed = signAdminRequest(admin, 'GET', path, Date.now())
    assert.equal((await get(path, signed)).status, 200)
    assert.equal((await get(path, signed)).status, 401, 'the same signed request twice: a replay')
  })

  it('serves entries to an admin\'s signed request (IssuerClient.auditEntries), members and types included', async () => {
    const client = new IssuerClient({ url: t.url })
    const entries = await client.auditEntries(admin, { from: 0, limit: 100 })
    assert.ok(entries.some(e => e.kind === 'enroll' && e.data.typ === 'sentinel'))
    await assert.rejects(client.auditEntries(stranger), (e: IssuerClientError) => e.status === 401 && e.code === 'unauthorized')
    await assert.rejects(client.auditEntries(admin, { limit: 5000 }), (e: IssuerClientError) => e.status === 400)
  })

  it('tempus admin audit reads them with an admin key file; a stranger\'s key is refused', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tempus-admin-'))
    try {
      await writeFile(join(dir, 'alice.pem'), privateKeyToPem(admin.privateKey), { mode: 0o600 })
      await writeFile(join(dir, 'mallory.pem'), privateKeyToPem(stranger.privateKey), { mode: 0o600 })
      const ok = await tempus(['admin', 'audit', '--key', join(dir, 'alice.pem'), '--issuer', t.url, '--limit', '1000', '--json'])
      assert.equal(ok.code, 0, ok.stderr)
      const { entries } = JSON.parse(ok.stdout) as { entries: Array<{ kind: string, data: { typ?: string } }> }
      assert.ok(entries.some(e => e.kind === 'enroll' && e.data.typ === 'sentinel'))
      const refused = await tempus(['admin', 'audit', '--key', join(dir, 'mallory.pem'), '--issuer', t.url])
      assert.notEqual(refused.code, 0)
      assert.match(refused.stderr, /unauthorized/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('keeps checkpoints, consistency and inclusion proofs public', async () => {
    const checkpoint = await get('/v1/audit/checkpoint')
    assert.equal(checkpoint.status, 200)
    const { size } = await checkpoint.json() as { size: number }
    assert.equal((await get('/v1/audit/checkpoints')).status, 200)
    assert.equal((await get(`/v1/audit/consistency?from=1&to=${size}`)).status, 200)
    const inclusion = await get(`/v1/audit/inclusion?index=0&size=${size}`)
    assert.equal(inclusion.status, 200)
    assert.ok(Array.isArray(((await inclusion.json()) as { proof: unknown }).proof))
    assert.equal((await get(`/v1/audit/inclusion?index=${size}&size=${size}`)).status, 400)
  })
})

describe('issuer metrics and refusal codes', () => {
  let t: TestIssuer
  before(async () => { t = await startTestIssuer() })
  after(async () => { await t.stop() })

  it('serves its Prometheus metrics (twins included) to a loopback scraper', async () => {
    const res = await fetch(`${t.url}/metrics`)
    assert.equal(res.status, 200)
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/)
    assert.match(await res.text(), /tempus_issuer_twin_suspected_total/)
  })

  it('answers a code of the wrong type with 403 wrong-type, and pages checkpoints', async () => {
    const code = (await t.issuer.createCode('sentinel'))
    const key = await generateKeyPair('Ed25519')
    await assert.rejects(new IssuerClient({ url: t.url }).enroll(key, code, undefined, 'edge'), (e: IssuerClientError) => e.code === 'wrong-type' && e.status === 403)
    const all = await (await fetch(`${t.url}/v1/audit/checkpoints`)).json() as { checkpoints: Array<{ size: number }> }
    assert.ok(all.checkpoints.length >= 1)
    const last = all.checkpoints.at(-1)?.size ?? 0
    const page = await (await fetch(`${t.url}/v1/audit/checkpoints?from=${last}&limit=1`)).json() as { checkpoints: Array<{ size: number }> }
    assert.deepEqual(page.checkpoints.map(c => c.size), [last])
    assert.equal((await fetch(`${t.url}/v1/audit/checkpoints?limit=5000`)).status, 400)
  })
})

describe('issuer rate limits per address (item 2)', () => {
  let t: TestIssuer
  before(async () => { t = await startTestIssuer() })
  after(async () => { await t.stop() })

  it('the (N+1)th anonymous request in a window gets 429 with Retry-After; an honest token request still goes through', async () => {
    const limited = await startIssuerHttp({ issuer: t.issuer, log: createLogger({ level: 'silent' }), perAddressPerSecond: 4, auditPerAddressPerSecond: 3, rateWindowMs: 60_000 })
    try {
      for (const path of ['/v1/audit/checkpoint', '/v1/audit/checkpoints', '/v1/audit/consistency?from=1&to=1', '/v1/audit/inclusion?index=0']) {
        for (let i = 0; i < 3; i++) {
          assert.equal((await fetch(`${limited.url}${path}`)).status, 200, `${path} #${i + 1}`)
        }
        const over = await fetch(`${limited.url}${path}`)
        assert.equal(over.status, 429, path)
        assert.equal((await over.json() as { error: string }).error, 'rate-limited')
        assert.ok(Number(over.headers.get('retry-after')) >= 1, 'Retry-After')
      }
      for (const path of ['/v1/keys', '/v1/crl', '/v1/overlay']) {
        for (let i = 0; i < 4; i++) {
          assert.equal((await fetch(`${limited.url}${path}`)).status, 200, `${path} #${i + 1}`)
        }
        assert.equal((await fetch(`${limited.url}${path}`)).status, 429, path)
      }
      const burst = await Promise.all(Array.from({ length: 6 }, async () => (await fetch(`${limited.url}/v1/revoke/nope`)).status))
      assert.deepEqual(burst.filter(s => s === 429).length, 2, String(burst))
      // reads exhausted, yet the node's own enrolment and token (one challenge each) pass: each route has its own budget
      const client = new IssuerClient({ url: limited.url })
      const key = await generateKeyPair('Ed25519')
      const enrolled = await client.enroll(key, (await t.issuer.createCode('edge')))
      assert.ok((await client.token(key, enrolled.credential)).token.length > 0)
      await client.challenge()
      await client.challenge()
      await assert.rejects(client.challenge(), (e: IssuerClientError) => e.code === 'rate-limited' && e.status === 429)
      // the healthz probe is never limited
      assert.equal((await fetch(`${limited.url}/healthz`)).status, 200)
    } finally {
      await limited.close()
    }
  })
})

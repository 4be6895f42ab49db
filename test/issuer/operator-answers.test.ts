/**
 * What an operator trying the issuer by hand found (issue #17, item 5): an
 * unregistered admin key is told so; honest clients get the detail of a
 * mistake in their request but never of a refused proof; HEAD works where
 * GET does; `If-None-Match` on the revocation list compares weakly and
 * takes a list; each enrolment and token is logged at info, without a
 * secret.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { DOMAINS } from '../../src/core/domains.ts'
import { generateEd25519, rawPublicKey, signDomain } from '../../src/core/keys.ts'
import { IssuerClient } from '../../src/issuer-client/client.ts'
import { startIssuerHttp } from '../../src/issuer/http.ts'
import { createLogger } from '../../src/logging/logger.ts'
import { startTestIssuer } from '../fixtures/issuer.ts'
import type { IssuerHttp } from '../../src/issuer/http.ts'
import type { TestIssuer } from '../fixtures/issuer.ts'

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url')

describe('the issuer answers an operator can act on (issue #17)', () => {
  let t: TestIssuer
  let http: IssuerHttp
  const lines: Array<Record<string, any>> = []
  const raw: string[] = []

  before(async () => {
    t = await startTestIssuer()
    // a second listener on the same issuer, whose log the test reads
    http = await startIssuerHttp({ issuer: t.issuer, log: createLogger({ level: 'info', destination: { write: (line: string) => { raw.push(line); lines.push(JSON.parse(line)) } } }), perAddressPerSecond: 100_000, auditPerAddressPerSecond: 100_000 })
  })
  after(async () => {
    await http.close()
    await t.stop()
  })

  it('an approval signed by an unregistered admin key is answered not-admin, with what to do; a forged one invalid-proof, with nothing', async () => {
    const member = await generateKeyPair('Ed25519')
    const enrolled = await new IssuerClient({ url: http.url }).enroll(member, await t.issuer.createCode('edge'))
    const request = await t.issuer.requestRevocation(enrolled.peerId, 'lost laptop')
    const stranger = generateEd25519()
    const approve = async (signature: string): Promise<{ status: number, body: any }> => {
      const res = await fetch(`${http.url}/v1/revoke`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ request: request.id, adminKey: b64(rawPublicKey(stranger.publicKey)), signature }) })
      return { status: res.status, body: await res.json() }
    }
    const honest = await approve(b64(signDomain(stranger.privateKey, DOMAINS.revocationApproval, Buffer.from(request.payload, 'base64url'))))
    assert.equal(honest.status, 403)
    assert.equal(honest.body.error, 'not-admin')
    assert.match(honest.body.detail, /not a registered admin.*tempus issuer admin add/)
    const forged = await approve(b64(new Uint8Array(64)))
    assert.deepEqual(forged, { status: 403, body: { error: 'invalid-proof' } })
  })

  it('a mistake in the request comes with its detail; a refused code, challenge or credential with its code alone', async () => {
    const bad = await fetch(`${http.url}/v1/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: 'x' }) })
    assert.equal(bad.status, 400)
    const answer = await bad.json() as { error: string, detail: string }
    assert.equal(answer.error, 'bad-request')
    assert.match(answer.detail, /publicKey/, 'names what is missing')
    const key = await generateKeyPair('Ed25519')
    await assert.rejects(new IssuerClient({ url: http.url }).enroll(key, 'no-such-code'), (err: any) => err.code === 'invalid-code' && !/\(/.test(err.message))
    const raw = await fetch(`${http.url}/v1/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ credential: 'a.b.c', challenge: 'AAAA', signature: 'AAAA' }) })
    assert.equal(raw.status, 403)
    assert.deepEqual(Object.keys(await raw.json() as object), ['error'], 'no detail for a refused challenge or credential')
    // the client shows the detail it was given
    await assert.rejects(new IssuerClient({ url: http.url }).offerCloneProof({ type: 'edge' } as any), (err: any) => err.code === 'bad-request' && /\(.+\)/.test(err.message))
  })

  it('HEAD answers wherever GET does (not 405)', async () => {
    for (const path of ['/healthz', '/v1/keys', '/v1/overlay', '/v1/crl', '/v1/audit/checkpoint', '/v1/audit/checkpoints', '/metrics']) {
      const get = await fetch(`${http.url}${path}`)
      const head = await fetch(`${http.url}${path}`, { method: 'HEAD' })
      assert.equal(head.status, get.status, path)
      assert.equal(await head.text(), '', `${path}: no body`)
    }
  })

  it('If-None-Match on /v1/crl: a weak tag, a list of tags or * is matched (RFC 9110 weak comparison)', async () => {
    const first = await fetch(`${http.url}/v1/crl`)
    const etag = first.headers.get('etag') as string
    assert.match(etag, /^"\d+"$/)
    const n = etag.slice(1, -1)
    for (const tag of [etag, `W/${etag}`, `"999999", W/${etag}`, `W/"999999",${etag}`, '*']) {
      const res = await fetch(`${http.url}/v1/crl`, { headers: { 'if-none-match': tag } })
      assert.equal(res.status, 304, tag)
    }
    for (const tag of ['"999999"', `W/"${n}0"`, n]) {
      const res = await fetch(`${http.url}/v1/crl`, { headers: { 'if-none-match': tag } })
      assert.equal(res.status, 200, tag)
    }
  })

  it('each enrolment and token is logged at info, without the code, the credential or the token', async () => {
    const key = await generateKeyPair('Ed25519')
    const code = await t.issuer.createCode('sentinel')
    const client = new IssuerClient({ url: http.url })
    const enrolled = await client.enroll(key, code)
    const token = await client.token(key, enrolled.credential)
    const enrolment = lines.find(l => l.msg === 'node enrolled' && l.peerId === enrolled.peerId)
    assert.ok(enrolment, 'the enrolment is logged')
    assert.equal(enrolment.level, 30)
    assert.equal(enrolment.typ, 'sentinel')
    const issued = lines.find(l => l.msg === 'token issued' && l.peerId === enrolled.peerId)
    assert.ok(issued, 'the token is logged')
    assert.equal(issued.level, 30)
    assert.equal(issued.expiresAt, new Date(token.expiresAt).toISOString())
    const all = raw.join('')
    for (const secret of [code, enrolled.credential, token.token]) {
      assert.ok(!all.includes(secret), 'no secret in the log')
    }
  })
})

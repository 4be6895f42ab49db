import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { DOMAINS } from '../../src/core/domains.ts'
import { AdmissionError } from '../../src/admission/errors.ts'
import { generateEd25519, publicKeyFromRawBytes, rawPublicKey, signDomain } from '../../src/core/keys.ts'
import { verifyRevocationList } from '../../src/admission/revocation.ts'
import { TokenVerifier } from '../../src/admission/verifier.ts'
import { attest, testAttestor } from '../../src/issuer/attestation.ts'
import { checkpointsConsistent } from '../../src/issuer/audit-log.ts'
import { IssuerClient, IssuerClientError } from '../../src/issuer-client/client.ts'
import { startTestIssuer } from '../fixtures/issuer.ts'
import type { TestIssuer } from '../fixtures/issuer.ts'

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url')

describe('issuer', () => {
  let t: TestIssuer
  let client: IssuerClient
  before(async () => {
    t = await startTestIssuer()
    client = new IssuerClient({ url: t.url })
  })
  after(async () => { await t.stop() })

  const verifierFor = (now = Date.now): TokenVerifier => new TokenVerifier({
    overlay: t.issuer.overlay,
    issuer: t.issuer.id,
    root: publicKeyFromRawBytes(new Uint8Array(Buffer.from(t.issuer.rootPublicKey, 'base64url'))),
    now
  })

  it('enrols a node with a one-time code and issues it tokens bound to its PeerId', async () => {
    const key = await generateKeyPair('Ed25519')
    const code = (await t.issuer.createCode('sentinel'))
    const enrolled = await client.enroll(key, code)
    assert.equal(enrolled.peerId, peerIdFromPrivateKey(key).toString())
    assert.equal(enrolled.typ, 'sentinel')
    assert.equal(enrolled.overlay, 'test-overlay')
    const { token, expiresAt } = await client.token(key, enrolled.credential)
    assert.ok(expiresAt - Date.now() > 170_000 && expiresAt - Date.now() <= 180_000)
    const verifier = verifierFor()
    await verifier.setCurrent(enrolled.keys.current)
    const claims = await verifier.verify(token, { sub: enrolled.peerId })
    assert.equal(claims.typ, 'sentinel')
    await assert.rejects(verifier.verify(token, { sub: peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString() }), (e: AdmissionError) => e.reason === 'wrong-subject')
    // the code is spent
    await assert.rejects(client.enroll(await generateKeyPair('Ed25519'), code), (e: IssuerClientError) => e.code === 'invalid-code' && e.status === 403)
  })

  it('of 100 concurrent enrolments with one code, exactly one succeeds', async () => {
    const code = (await t.issuer.createCode('edge', 1))
    const keys = await Promise.all(Array.from({ length: 100 }, async () => generateKeyPair('Ed25519')))
    const results = await Promise.allSettled(keys.map(async k => client.enroll(k, code)))
    assert.equal(results.filter(r => r.status === 'fulfilled').length, 1)
    for (const r of results) {
      if (r.status === 'rejected') {
        assert.equal((r.reason as IssuerClientError).code, 'invalid-code')
      }
    }
  })

  it('refuses a token without proof of possession, a replayed challenge, and a forged credential', async () => {
    const key = await generateKeyPair('Ed25519')
    const other = await generateKeyPair('Ed25519')
    const enrolled = await client.enroll(key, (await t.issuer.createCode('edge')))
    // the other key cannot use this credential
    await assert.rejects(client.token(other, enrolled.credential), (e: IssuerClientError) => e.code === 'invalid-proof')
    // a forged credential
    const parts = enrolled.credential.split('.')
    const forged = [parts[0], Buffer.from(JSON.stringify({ sub: peerIdFromPrivateKey(other).toString() })).toString('base64url'), parts[2]].join('.')
    await assert.rejects(client.token(other, forged), (e: IssuerClientError) => e.code === 'invalid-credential')
    // a replayed challenge + signature
    const challenge = await client.challenge()
    const { domainBytes } = await import('../../src/core/keys.ts')
    const { challengeMessage } = await import('../../src/issuer/issuer.ts')
    const signature = await key.sign(domainBytes(DOMAINS.issuerChallenge, ...challengeMessage('token', challenge)))
    const body = { credential: enrolled.credential, challenge: b64(challenge), signature: b64(signature) }
    const first = await fetch(`${t.url}/v1/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    assert.equal(first.status, 200)
    const replay = await fetch(`${t.url}/v1/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    assert.equal(replay.status, 403)
    assert.deepEqual(await replay.json(), { error: 'invalid-challenge' })
  })

  it('validates bodies and says the code and what to change (issue #17)', async () => {
    for (const body of ['not json', '[]', JSON.stringify({ code: 7 }), JSON.stringify({ code: 'x', publicKey: '!!', challenge: 'a', signature: 'b' })]) {
      const res = await fetch(`${t.url}/v1/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
      assert.equal(res.status, 400)
      const answer = await res.json() as { error: string, detail?: string }
      assert.equal(answer.error, 'bad-request')
      assert.equal(typeof answer.detail, 'string', body)
    }
    const big = await fetch(`${t.url}/v1/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: 'x'.repeat(20_000) }) })
    assert.equal(big.status, 413)
    assert.equal((await big.json() as { error: string }).error, 'too-large')
    assert.equal((await fetch(`${t.url}/v1/nothing`)).status, 404)
  })

  it('rotates strictly: announced before it signs, then the old epoch is refused as rotated-key', async () => {
    const key = await generateKeyPair('Ed25519')
    const enrolled = await client.enroll(key, (await t.issuer.createCode('edge')))
    const verifier = verifierFor()
    await verifier.setCurrent(enrolled.keys.current)
    const old = await client.token(key, enrolled.credential)
    const announced = await t.issuer.announceKey()
    const keys = await client.keys()
    assert.equal(keys.announced, announced.certificate)
    // announced but not active: tokens still come from the old key
    const stillOld = await client.token(key, enrolled.credential)
    assert.equal(stillOld.keyCertificate, enrolled.keys.current)
    await verifier.addKeyCertificate(keys.announced as string)
    await verifier.verify(stillOld.token, { sub: enrolled.peerId })

    await t.issuer.activateKey()
    const fresh = await client.token(key, enrolled.credential)
    assert.equal(fresh.keyCertificate, announced.certificate)
    // a token of the new epoch moves the verifier forward…
    await verifier.verify(fresh.token, { sub: enrolled.peerId })
    assert.equal(verifier.current?.epoch, announced.epoch)
    // …and from then on the old epoch is refused with a reason its holder acts on
    await assert.rejects(verifier.verify(old.token, { sub: enrolled.peerId }), (e: AdmissionError) => e.reason === 'rotated-key')
  })

  it('accepts skew within ±30 s and refuses beyond', async () => {
    const key = await generateKeyPair('Ed25519')
    const enrolled = await client.enroll(key, (await t.issuer.createCode('bridge')))
    const { token } = await client.token(key, enrolled.credential)
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString())
    const at = (ms: number) => verifierFor(() => ms)
    const ok = async (ms: number): Promise<void> => { const v = at(ms); await v.setCurrent((await client.keys()).current); await v.verify(token) }
    const refused = async (ms: number, reason: string): Promise<void> => {
      const v = at(ms)
      await v.setCurrent((await client.keys()).current)
      await assert.rejects(v.verify(token), (e: AdmissionError) => e.reason === reason)
    }
    await ok(claims.nbf * 1000 - 29_000)
    await refused(claims.nbf * 1000 - 31_000, 'not-yet-valid')
    await ok(claims.exp * 1000 + 29_000)
    await refused(claims.exp * 1000 + 31_000, 'expired')
  })

  it('revokes only at k distinct valid approvals of the same payload', async () => {
    const key = await generateKeyPair('Ed25519')
    const enrolled = await client.enroll(key, (await t.issuer.createCode('edge')))
    const admins = [generateEd25519(), generateEd25519(), generateEd25519()]
    for (const [i, a] of admins.entries()) { await t.issuer.addAdmin(b64(rawPublicKey(a.publicKey)), `admin-${i}`) }
    const outsider = generateEd25519()
    const request = (await t.issuer.requestRevocation(enrolled.peerId, 'lost device'))
    const sign = (a: typeof outsider, payload: string): string => b64(signDomain(a.privateKey, DOMAINS.revocationApproval, Buffer.from(payload, 'base64url')))
    const approve = async (a: typeof outsider, payload = request.payload): Promise<Response> => fetch(`${t.url}/v1/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ request: request.id, adminKey: b64(rawPublicKey(a.publicKey)), signature: sign(a, payload) })
    })
    const before = (await t.issuer.revocationList()).n
    // an outsider, and an admin signing a different payload, count for nothing
    assert.equal((await approve(outsider)).status, 403)
    const other = (await t.issuer.requestRevocation(enrolled.peerId, 'another reason'))
    assert.equal((await approve(admins[1] as typeof outsider, other.payload)).status, 403)
    // one admin, twice: still one approval
    assert.equal((await approve(admins[0] as typeof outsider)).status, 200)
    const twice = await (await approve(admins[0] as typeof outsider)).json() as any
    assert.equal(twice.approvals, 1)
    assert.equal(twice.state, 'pending')
    assert.equal((await t.issuer.isRevoked(enrolled.peerId)), false)
    assert.equal((await t.issuer.revocationList()).n, before)
    // the k-th distinct admin revokes and publishes
    const done = await (await approve(admins[2] as typeof outsider)).json() as any
    assert.equal(done.state, 'done')
    assert.equal((await t.issuer.isRevoked(enrolled.peerId)), true)
    const crl = await client.revocationList()
    assert.ok(crl != null && crl.n === before + 1)
    const list = await verifyRevocationList(crl.jws, publicKeyFromRawBytes(new Uint8Array(Buffer.from(t.issuer.rootPublicKey, 'base64url'))), t.issuer.overlay, Date.now())
    assert.ok(list.revoked.some(e => e.sub === enrolled.peerId))
    assert.equal(await client.revocationList(crl.n), undefined, 'ETag: not modified')
    // the revoked key gets no more tokens
    await assert.rejects(client.token(key, enrolled.credential), (e: IssuerClientError) => e.code === 'revoked')
  })

  it('checks attestation evidence when configured', async () => {
    const attestor = generateEd25519()
    const strict = await startTestIssuer({ attestation: testAttestor(rawPublicKey(attestor.publicKey)) })
    try {
      const c = new IssuerClient({ url: strict.url })
      const key = await generateKeyPair('Ed25519')
      await assert.rejects(c.enroll(key, (await strict.issuer.createCode('edge'))), (e: IssuerClientError) => e.code === 'attestation-failed')
      const impostor = generateEd25519()
      await assert.rejects(c.enroll(key, (await strict.issuer.createCode('edge')), ch => attest(impostor.privateKey, key.publicKey.raw, ch)), (e: IssuerClientError) => e.code === 'attestation-failed')
      const ok = await c.enroll(key, (await strict.issuer.createCode('edge')), ch => attest(attestor.privateKey, key.publicKey.raw, ch))
      assert.equal(ok.typ, 'edge')
    } finally {
      await strict.stop()
    }
  })

  it('keeps a verifiable audit log: tampering fails verify, checkpoints are consistent', async () => {
    const root = publicKeyFromRawBytes(new Uint8Array(Buffer.from(t.issuer.rootPublicKey, 'base64url')))
    const a = await (await fetch(`${t.url}/v1/audit/checkpoint`)).json() as any
    await t.issuer.createCode('edge')
    const b = await (await fetch(`${t.url}/v1/audit/checkpoint`)).json() as any
    assert.ok(b.size > a.size)
    const { proof } = await (await fetch(`${t.url}/v1/audit/consistency?from=${a.size}&to=${b.size}`)).json() as any
    assert.ok(checkpointsConsistent(a, b, proof, root))
    assert.ok(!checkpointsConsistent(a, { ...b, root: a.root }, proof, root))
    const kinds = new Set((await t.issuer.audit.entries(0, 1000)).map(e => e.kind))
    for (const k of ['init', 'enroll', 'token', 'key-announced', 'key-activated', 'approval', 'revoke', 'crl']) {
      assert.ok(kinds.has(k), `audit has ${k}`)
    }
    assert.deepEqual((await t.issuer.audit.verify(root)).problems, [])
    // an edited entry is caught
    const changed = await t.issuer.db.transaction(async tx => await tx.run('UPDATE audit SET entry = replace(entry, \'"typ":"sentinel"\', \'"typ":"edge"\') WHERE idx = (SELECT MIN(idx) FROM audit WHERE entry LIKE \'%"kind":"enroll"%\')'))
    assert.equal(changed, 1)
    const result = (await t.issuer.audit.verify(root))
    assert.equal(result.ok, false)
    assert.ok(result.problems.some(p => /leaf hash/.test(p)))
  })
})

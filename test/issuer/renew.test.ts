/**
 * Issue #14 item 4 (first half): a member renews its membership credential
 * with the credential it holds and a proof of possession made for renewal.
 * Steps on one real issuer whose clock the test moves:
 * 1. a valid credential is renewed (same subject and type, a later expiry),
 *    audited, and the new one buys tokens;
 * 2. an expired credential is refused (`invalid-credential`);
 * 3. a revoked member is refused (`revoked`);
 * 4. a member enrolled again as another type cannot renew the old type's credential;
 * 5. a forged proof (another key's, or this key's made for a token request) is refused;
 * 6. renewals spend the per-peer budget tokens spend.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { credentialLifetime } from '../../src/admission/credential.ts'
import { DOMAINS } from '../../src/core/domains.ts'
import { domainBytes, generateEd25519, rawPublicKey, signDomain } from '../../src/core/keys.ts'
import { IssuerClient, IssuerClientError } from '../../src/issuer-client/client.ts'
import { startIssuerHttp } from '../../src/issuer/http.ts'
import { challengeMessage } from '../../src/issuer-client/wire.ts'
import { createLogger } from '../../src/logging/logger.ts'
import { startTestIssuer } from '../fixtures/issuer.ts'
import type { ChallengePurpose } from '../../src/issuer-client/wire.ts'
import type { TestIssuer } from '../fixtures/issuer.ts'
import type { PrivateKey } from '@libp2p/interface'

const DAY = 24 * 3_600_000
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url')

describe('credential renewal at the issuer', () => {
  let t: TestIssuer
  let client: IssuerClient
  let clock = Date.now()
  const now = (): number => clock

  before(async () => {
    t = await startTestIssuer({ now })
    client = new IssuerClient({ url: t.url })
  })
  after(async () => { await t.stop() })

  const refusal = async (promise: Promise<unknown>): Promise<string> => {
    try {
      await promise
    } catch (err) {
      assert.ok(err instanceof IssuerClientError, String(err))
      return err.code
    }
    assert.fail('not refused')
  }

  /** POST /v1/renew with a proof signed by `signer` for `purpose` */
  const renewWith = async (credential: string, signer: PrivateKey, purpose: ChallengePurpose): Promise<{ status: number, error?: string }> => {
    const raw = await client.challenge()
    const signature = await signer.sign(domainBytes(DOMAINS.issuerChallenge, ...challengeMessage(purpose, raw)))
    const res = await fetch(`${t.url}/v1/renew`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ credential, challenge: b64(raw), signature: b64(signature) }) })
    return { status: res.status, error: (await res.json() as { error?: string }).error }
  }

  it('renews a valid credential: same subject and type, a later expiry, audited, and it buys tokens', async () => {
    const key = await generateKeyPair('Ed25519')
    const enrolled = await client.enroll(key, (await t.issuer.createCode('bridge')))
    const old = credentialLifetime(enrolled.credential)
    assert.ok(old != null)
    clock += 4 * DAY
    const renewed = await client.renew(key, enrolled.credential)
    const lifetime = credentialLifetime(renewed.credential)
    assert.ok(lifetime != null)
    assert.equal(lifetime.sub, enrolled.peerId)
    assert.equal(lifetime.typ, 'bridge')
    assert.ok(lifetime.expiresAt > old.expiresAt)
    assert.equal(renewed.expiresAt, lifetime.expiresAt)
    const audited = (await t.issuer.audit.entries(0, 1000)).filter(e => e.kind === 'renew')
    assert.deepEqual(audited.map(e => e.data.peerId), [enrolled.peerId])
    // past the old credential's expiry, the renewed one still buys tokens
    clock += 4 * DAY
    assert.equal(await refusal(client.token(key, enrolled.credential)), 'invalid-credential')
    assert.equal(typeof (await client.token(key, renewed.credential)).token, 'string')
  })

  it('refuses an expired credential', async () => {
    const key = await generateKeyPair('Ed25519')
    const enrolled = await client.enroll(key, (await t.issuer.createCode('edge')))
    clock += 7 * DAY + 1_000
    assert.equal(await refusal(client.renew(key, enrolled.credential)), 'invalid-credential')
  })

  it('refuses a revoked member', async () => {
    const key = await generateKeyPair('Ed25519')
    const enrolled = await client.enroll(key, (await t.issuer.createCode('edge')))
    await t.issuer.setRevocationThreshold(1)
    const admin = generateEd25519()
    await t.issuer.addAdmin(b64(rawPublicKey(admin.publicKey)), 'renew-admin')
    const request = (await t.issuer.requestRevocation(enrolled.peerId, 'lost device'))
    await t.issuer.approve(request.id, b64(rawPublicKey(admin.publicKey)), b64(signDomain(admin.privateKey, DOMAINS.revocationApproval, Buffer.from(request.payload, 'base64url'))))
    assert.equal(await refusal(client.renew(key, enrolled.credential)), 'revoked')
  })

  it('refuses the credential of a type the member no longer has', async () => {
    const key = await generateKeyPair('Ed25519')
    const asEdge = await client.enroll(key, (await t.issuer.createCode('edge')))
    await client.enroll(key, (await t.issuer.createCode('sentinel')))
    assert.equal(await refusal(client.renew(key, asEdge.credential)), 'revoked')
  })

  it('refuses a forged proof: another key\'s, or one made for a token request', async () => {
    const key = await generateKeyPair('Ed25519')
    const enrolled = await client.enroll(key, (await t.issuer.createCode('edge')))
    const thief = await generateKeyPair('Ed25519')
    assert.deepEqual(await renewWith(enrolled.credential, thief, 'renew'), { status: 403, error: 'invalid-proof' })
    assert.deepEqual(await renewWith(enrolled.credential, key, 'token'), { status: 403, error: 'invalid-proof' })
    assert.deepEqual(await renewWith(enrolled.credential, key, 'enroll'), { status: 403, error: 'invalid-proof' })
    assert.equal((await renewWith(enrolled.credential, key, 'renew')).status, 200)
  })

  it('spends the per-peer budget of token requests', async () => {
    const http = await startIssuerHttp({ issuer: t.issuer, log: createLogger({ level: 'silent' }), perPeerPerMinute: 2 })
    try {
      const limited = new IssuerClient({ url: http.url })
      const key = await generateKeyPair('Ed25519')
      const enrolled = await limited.enroll(key, (await t.issuer.createCode('edge')))
      await limited.token(key, enrolled.credential)
      await limited.renew(key, enrolled.credential)
      assert.equal(await refusal(limited.renew(key, enrolled.credential)), 'rate-limited')
      assert.equal(await refusal(limited.token(key, enrolled.credential)), 'rate-limited')
    } finally {
      await http.close()
    }
  })
})

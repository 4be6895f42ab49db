/** Signed admin requests on an injected clock: the skew window, replays, the bounded nonce memory. */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { generateEd25519, rawPublicKey } from '../../src/core/keys.ts'
import { ADMIN_REQUEST_HEADERS, AdminRequestVerifier, signAdminRequest } from '../../src/issuer-client/admin-request.ts'

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url')

describe('signed admin requests', async () => {
  const alice = generateEd25519()
  const aliceKey = b64(rawPublicKey(alice.publicKey))
  const target = '/v1/audit/entries?from=0&limit=10'
  const verifier = (clock: { t: number }, maxRemembered?: number): AdminRequestVerifier =>
    new AdminRequestVerifier({ adminName: k => k === aliceKey ? 'alice' : undefined, now: () => clock.t, skewMs: 30_000, maxRemembered })

  it('accepts within ±skew, refuses outside it, on the injected clock', async () => {
    const clock = { t: 1_000_000_000 }
    const v = verifier(clock)
    assert.deepEqual(await v.verify('GET', target, signAdminRequest(alice, 'GET', target, clock.t - 30_000)), { ok: true, admin: 'alice' })
    assert.deepEqual(await v.verify('GET', target, signAdminRequest(alice, 'GET', target, clock.t + 30_000)), { ok: true, admin: 'alice' })
    assert.deepEqual(await v.verify('GET', target, signAdminRequest(alice, 'GET', target, clock.t - 30_001)), { ok: false, reason: 'stale' })
    assert.deepEqual(await v.verify('GET', target, signAdminRequest(alice, 'GET', target, clock.t + 30_001)), { ok: false, reason: 'stale' })
  })

  it('refuses a replay inside the window and, once the window has passed, as stale', async () => {
    const clock = { t: 1_000_000_000 }
    const v = verifier(clock)
    const headers = signAdminRequest(alice, 'GET', target, clock.t)
    assert.equal((await v.verify('GET', target, headers)).ok, true)
    assert.deepEqual(await v.verify('GET', target, headers), { ok: false, reason: 'replayed' })
    clock.t += 30_001
    assert.deepEqual(await v.verify('GET', target, headers), { ok: false, reason: 'stale' })
  })

  it('binds method, target, time and nonce; refuses unknown keys and malformed headers', async () => {
    const clock = { t: 1_000_000_000 }
    const v = verifier(clock)
    const headers = signAdminRequest(alice, 'GET', target, clock.t)
    assert.deepEqual(await v.verify('POST', target, headers), { ok: false, reason: 'bad-signature' })
    assert.deepEqual(await v.verify('GET', target + '0', headers), { ok: false, reason: 'bad-signature' })
    assert.deepEqual(await v.verify('GET', target, { ...headers, [ADMIN_REQUEST_HEADERS.time]: String(clock.t + 1) }), { ok: false, reason: 'bad-signature' })
    assert.deepEqual(await v.verify('GET', target, { ...headers, [ADMIN_REQUEST_HEADERS.nonce]: 'A'.repeat(22) }), { ok: false, reason: 'bad-signature' })
    assert.deepEqual(await v.verify('GET', target, signAdminRequest(generateEd25519(), 'GET', target, clock.t)), { ok: false, reason: 'unknown-key' })
    assert.deepEqual(await v.verify('GET', target, {}), { ok: false, reason: 'missing' })
    assert.deepEqual(await v.verify('GET', target, { ...headers, [ADMIN_REQUEST_HEADERS.time]: '-1' }), { ok: false, reason: 'malformed' })
    assert.deepEqual(await v.verify('GET', target, { ...headers, [ADMIN_REQUEST_HEADERS.key]: [aliceKey, aliceKey] }), { ok: false, reason: 'malformed' })
  })

  it('remembers a bounded number of nonces: full means busy until the window moves on', async () => {
    const clock = { t: 1_000_000_000 }
    const v = verifier(clock, 3)
    for (let i = 0; i < 3; i++) {
      assert.equal((await v.verify('GET', target, signAdminRequest(alice, 'GET', target, clock.t))).ok, true)
    }
    assert.deepEqual(await v.verify('GET', target, signAdminRequest(alice, 'GET', target, clock.t)), { ok: false, reason: 'busy' })
    clock.t += 30_001
    assert.equal((await v.verify('GET', target, signAdminRequest(alice, 'GET', target, clock.t))).ok, true)
  })
})

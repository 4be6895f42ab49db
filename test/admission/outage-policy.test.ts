/**
 * Issue #14 item 5: the issuer-outage policy (pure), the token manager's
 * view of an outage (a real issuer that answers 5xx, then again), the
 * config that chooses the policy, and what /healthz says.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { inOutage, keepsLapsed, MAX_OUTAGE_GRACE_MS, nextWindow, OUTAGE_AFTER_FAILURES, OUTAGE_HEAL_MS } from '../../src/admission/outage-policy.ts'
import { admissionStateFor } from '../../src/admission/state.ts'
import { TokenManager } from '../../src/admission/token-manager.ts'
import { IssuerClient } from '../../src/issuer-client/client.ts'
import { createLogger } from '../../src/logging/logger.ts'
import { parseConfig } from '../../src/node/config.ts'
import { healthOf } from '../../src/node/health.ts'
import { startTestIssuer } from '../fixtures/issuer.ts'
import type { OutagePolicy } from '../../src/admission/outage-policy.ts'
import type { TestIssuer } from '../fixtures/issuer.ts'

const MIN = 60_000
const keep: OutagePolicy = { mode: 'keep-established', graceMs: 30 * MIN, healMs: OUTAGE_HEAL_MS }
const failClosed: OutagePolicy = { ...keep, mode: 'fail-closed' }

describe('issuer-outage policy (pure)', () => {
  const since = 1_000_000
  const established = { openedAt: since - 5 * MIN, revoked: false }

  it('keep-established keeps a connection admitted before the outage, for at most the grace', () => {
    assert.equal(keepsLapsed(keep, { since }, established, since + 4 * MIN), true)
    assert.equal(keepsLapsed(keep, { since }, established, since + 30 * MIN), true)
    assert.equal(keepsLapsed(keep, { since }, established, since + 30 * MIN + 1), false, 'the grace is a bound')
  })

  it('never keeps a revoked peer, a connection opened during the outage, or anything without an outage', () => {
    assert.equal(keepsLapsed(keep, { since }, { ...established, revoked: true }, since + MIN), false)
    assert.equal(keepsLapsed(keep, { since }, { openedAt: since + 1, revoked: false }, since + MIN), false)
    assert.equal(keepsLapsed(keep, undefined, established, since + MIN), false)
  })

  it('fail-closed keeps nothing', () => {
    assert.equal(keepsLapsed(failClosed, { since }, established, since + MIN), false)
  })

  it('after the outage a kept peer has the heal bound to show a fresh token, then it is closed', () => {
    const ended = { since, endedAt: since + 5 * MIN }
    assert.equal(keepsLapsed(keep, ended, established, since + 5 * MIN + OUTAGE_HEAL_MS), true)
    assert.equal(keepsLapsed(keep, ended, established, since + 5 * MIN + OUTAGE_HEAL_MS + 1), false)
  })

  it('an outage is an unanswered issuer with a lapsed own token or several failures in a row', () => {
    assert.equal(inOutage(undefined, 10, false), false, 'a refusal is an answer')
    assert.equal(inOutage(since, 1, true), false, 'one failed request is a blip')
    assert.equal(inOutage(since, OUTAGE_AFTER_FAILURES, true), true)
    assert.equal(inOutage(since, 1, false), true, 'no valid token and no answer')
  })

  it('the window follows the outage and outlives it by the heal bound', () => {
    let w = nextWindow(undefined, since, OUTAGE_HEAL_MS, since)
    assert.deepEqual(w, { since })
    w = nextWindow(w, since, OUTAGE_HEAL_MS, since + MIN)
    assert.deepEqual(w, { since }, 'the same outage keeps its start')
    w = nextWindow(w, undefined, OUTAGE_HEAL_MS, since + 2 * MIN)
    assert.deepEqual(w, { since, endedAt: since + 2 * MIN })
    assert.deepEqual(nextWindow(w, undefined, OUTAGE_HEAL_MS, since + 2 * MIN + OUTAGE_HEAL_MS), w)
    assert.equal(nextWindow(w, undefined, OUTAGE_HEAL_MS, since + 2 * MIN + OUTAGE_HEAL_MS + 1), undefined)
    assert.deepEqual(nextWindow(w, since + 3 * MIN, OUTAGE_HEAL_MS, since + 3 * MIN), { since: since + 3 * MIN }, 'a new outage starts a new window')
  })
})

describe('the token manager tells an outage from a refusal', () => {
  let t: TestIssuer
  let clock = Date.now()
  const now = (): number => clock
  let down = false

  before(async () => {
    t = await startTestIssuer({ now })
    const token = t.issuer.token.bind(t.issuer)
    // an issuer whose store fails answers 500: unavailable, as a dead one is
    t.issuer.token = async (req, beforeIssue) => {
      if (down) throw new Error('store unavailable')
      return await token(req, beforeIssue)
    }
  })
  after(async () => { await t.stop() })

  it('an outage begins at the first unavailable answer and ends with the next token, told once by `recovered`', async () => {
    const key = await generateKeyPair('Ed25519')
    const enrollment = { ...await new IssuerClient({ url: t.url }).enroll(key, (await t.issuer.createCode('edge'))), issuerUrl: t.url }
    const tokens = new TokenManager({
      client: new IssuerClient({ url: t.url }),
      privateKey: key,
      credential: enrollment.credential,
      state: await admissionStateFor(enrollment, { now }),
      log: createLogger({ level: 'silent' }),
      now,
      keysPollIntervalMs: 3_600_000,
      backoff: { initialDelayMs: 3_600_000, maxDelayMs: 3_600_000, factor: 1, jitter: 0 }
    })
    const recovered: number[] = []
    tokens.addEventListener('recovered', evt => { recovered.push(evt.detail.since) })
    assert.ok(await tokens.refresh())
    assert.equal(tokens.issuerUnreachableSince, undefined)

    down = true
    const since = clock
    assert.equal(await tokens.refresh(), undefined)
    assert.equal(tokens.lastFailure?.unavailable, true)
    assert.equal(tokens.issuerUnreachableSince, since)
    assert.equal(tokens.outageSince(), undefined, 'one failure with a valid token is not an outage yet')
    for (let i = 1; i < OUTAGE_AFTER_FAILURES; i++) {
      clock += 1_000
      await tokens.refresh()
    }
    assert.equal(tokens.outageSince(), since, 'the outage began at the first failure')

    down = false
    clock += 1_000
    assert.ok(await tokens.refresh())
    assert.equal(tokens.outageSince(), undefined)
    assert.deepEqual(recovered, [since])
    tokens.stop()

    // no issuer at all, and no token: an outage from the first failure
    const offline = new TokenManager({
      client: new IssuerClient({ url: 'http://127.0.0.1:1' }),
      privateKey: key,
      credential: enrollment.credential,
      state: await admissionStateFor(enrollment, { now }),
      log: createLogger({ level: 'silent' }),
      now,
      backoff: { initialDelayMs: 3_600_000, maxDelayMs: 3_600_000, factor: 1, jitter: 0 }
    })
    await offline.refresh()
    assert.equal(offline.outageSince(), clock)
    offline.stop()
  })
})

describe('the outage policy in the config, and /healthz', () => {
  it('defaults to keep-established for 30 min, bounds the grace, names the field', () => {
    const config = parseConfig({ type: 'edge' })
    assert.equal(config.admission.issuerOutage, 'keep-established')
    assert.equal(config.admission.outageGrace, 30 * MIN)
    assert.equal(parseConfig({ type: 'edge', admission: { issuerOutage: 'fail-closed', outageGrace: '2h' } }).admission.outageGrace, 2 * 60 * MIN)
    assert.throws(() => parseConfig({ type: 'edge', admission: { issuerOutage: 'keep-forever' } }), { name: 'ConfigError', field: 'admission.issuerOutage' })
    assert.throws(() => parseConfig({ type: 'edge', admission: { outageGrace: '10s' } }), (err: any) => err.name === 'ConfigError' && err.field === 'admission.outageGrace' && /between 1m and 24h/.test(err.message))
    assert.throws(() => parseConfig({ type: 'edge', admission: { outageGrace: MAX_OUTAGE_GRACE_MS + 1 } }), { name: 'ConfigError', field: 'admission.outageGrace' })
  })

  it('healthz is ok only with a valid token and an admitted connection; degraded says why', () => {
    const healthy = { libp2pStatus: 'started' as const, ownTokenValid: true, issuerUnreachable: false, admittedConnections: 2 }
    assert.deepEqual(healthOf(healthy), { status: 'ok' })
    assert.deepEqual(healthOf({ ...healthy, admittedConnections: 0 }), { status: 'degraded', reasons: ['no-peers'] })
    assert.deepEqual(healthOf({ ...healthy, ownTokenValid: false, issuerUnreachable: true }), { status: 'degraded', reasons: ['no-token', 'issuer-unreachable'] })
    assert.deepEqual(healthOf({ ...healthy, libp2pStatus: 'stopping' }), { status: 'stopping' })
  })
})

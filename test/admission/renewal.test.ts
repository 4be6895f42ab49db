/**
 * Issue #14 item 4 (first half): a node keeps its membership credential
 * alive. One real issuer and a token manager share a clock the test moves a
 * day at a time:
 * 1. across three credential lifetimes the node always gets a token, the
 *    issuer never answers `invalid-credential`, and the enrollment file
 *    (0600) carries the renewed credential;
 * 2. concurrent renewals are one renewal;
 * 3. a revoked member's refused credential is reported once, at error
 *    level, with the command that enrols it again, and the refresh log says
 *    it holds no token rather than that a current one stays valid;
 * 4. a credential that expired while the node was off is reported as such,
 *    without asking the issuer to renew it.
 * And a real node with a data directory: its renewal goes into
 * `enrollment.json`, and a restart fetches tokens with the renewed credential.
 */
import assert from 'node:assert/strict'
import { stat, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { credentialLifetime } from '../../src/admission/credential.ts'
import { DOMAINS } from '../../src/core/domains.ts'
import { ENROLLMENT_FILE, loadEnrollment, saveEnrollment, saveRenewedCredential } from '../../src/admission/enrollment.ts'
import { generateEd25519, rawPublicKey, signDomain } from '../../src/core/keys.ts'
import { admissionStateFor } from '../../src/admission/state.ts'
import { TokenManager } from '../../src/admission/token-manager.ts'
import { IssuerClient } from '../../src/issuer-client/client.ts'
import { createLogger } from '../../src/logging/logger.ts'
import { startTestIssuer } from '../fixtures/issuer.ts'
import { TestNet } from '../fixtures/nodes.ts'
import type { Enrollment } from '../../src/admission/enrollment.ts'
import type { TestIssuer } from '../fixtures/issuer.ts'
import type { PeerType } from '../../src/core/peer-type.ts'
import type { PrivateKey } from '@libp2p/interface'

const DAY = 24 * 3_600_000
const CREDENTIAL_TTL_MS = 7 * DAY
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url')

interface LogLine { level: number, msg: string, code?: string }

describe('a node renews its membership credential', () => {
  let t: TestIssuer
  let clock = Date.now()
  const now = (): number => clock
  /** the issuer's answers to token and renewal requests, by outcome */
  const answers = { tokens: 0, renewals: 0, invalidCredential: 0 }

  before(async () => {
    t = await startTestIssuer({ now, credentialTtlMs: CREDENTIAL_TTL_MS })
    const token = t.issuer.token.bind(t.issuer)
    const renew = t.issuer.renew.bind(t.issuer)
    const count = async <T>(what: 'tokens' | 'renewals', call: () => Promise<T>): Promise<T> => {
      try {
        const result = await call()
        answers[what]++
        return result
      } catch (err: any) {
        if (err?.code === 'invalid-credential') answers.invalidCredential++
        throw err
      }
    }
    t.issuer.token = async (req, beforeIssue) => count('tokens', async () => token(req, beforeIssue))
    t.issuer.renew = async (req, beforeIssue) => count('renewals', async () => renew(req, beforeIssue))
  })
  after(async () => { await t.stop() })

  const enroll = async (key: PrivateKey, typ: PeerType = 'edge'): Promise<Enrollment> =>
    ({ ...await new IssuerClient({ url: t.url }).enroll(key, (await t.issuer.createCode(typ))), issuerUrl: t.url })

  const manager = async (key: PrivateKey, enrollment: Enrollment, dataDir?: string, url = t.url): Promise<{ tokens: TokenManager, logs: LogLine[] }> => {
    const logs: LogLine[] = []
    const log = createLogger({ level: 'debug', destination: { write: (line: string) => { logs.push(JSON.parse(line)) } } })
    const tokens = new TokenManager({
      client: new IssuerClient({ url }),
      privateKey: key,
      credential: enrollment.credential,
      state: await admissionStateFor(enrollment, { now }),
      log,
      now,
      dataDir,
      saveCredential: async credential => { await saveRenewedCredential(dataDir, enrollment, credential) },
      keysPollIntervalMs: 3_600_000,
      // the schedule's own retries lie beyond these steps: the test drives every request
      backoff: { initialDelayMs: 3_600_000, maxDelayMs: 3_600_000, factor: 1, jitter: 0 }
    })
    return { tokens, logs }
  }

  it('keeps a valid token through three credential lifetimes and persists each renewal', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tempus-renew-'))
    const key = await generateKeyPair('Ed25519')
    const enrollment = await enroll(key)
    await saveEnrollment(dataDir, enrollment)
    const enrolled = enrollment.credential
    const { tokens } = await manager(key, enrollment, dataDir)
    const before = { ...answers }
    try {
      await tokens.start()
      // 3 lifetimes and a day: each day a token refresh, as the node's timer would do it
      for (let day = 1; day <= 3 * 7 + 1; day++) {
        clock += DAY
        const own = await tokens.refresh()
        assert.ok(own != null, `a token on day ${day}`)
        assert.ok(own.claims.exp * 1000 > clock, `a current token on day ${day}`)
      }
      assert.equal(answers.invalidCredential - before.invalidCredential, 0, 'no invalid-credential refusal')
      assert.equal(answers.tokens - before.tokens, 3 * 7 + 2)
      assert.ok(tokens.renewed >= 5, `renewed ${tokens.renewed} times`)
      assert.equal(answers.renewals - before.renewals, tokens.renewed)
      const lifetime = credentialLifetime(tokens.credential)
      assert.ok(lifetime != null && lifetime.expiresAt - clock > CREDENTIAL_TTL_MS / 2 - DAY)
      // the enrollment file carries the renewed credential, and stays 0600
      const persisted = await loadEnrollment(dataDir)
      assert.equal(persisted?.credential, tokens.credential)
      assert.notEqual(persisted?.credential, enrolled)
      assert.equal((await stat(join(dataDir, ENROLLMENT_FILE))).mode & 0o777, 0o600)
    } finally {
      tokens.stop()
      await rm(dataDir, { recursive: true, force: true })
    }
  })

  it('never runs two renewals at once', async () => {
    const key = await generateKeyPair('Ed25519')
    const enrollment = await enroll(key)
    const { tokens } = await manager(key, enrollment)
    const before = answers.renewals
    clock += 4 * DAY
    await Promise.all([tokens.renewCredential(), tokens.renewCredential(), tokens.refresh(), tokens.refresh()])
    assert.equal(answers.renewals - before, 1)
    assert.equal(tokens.renewed, 1)
    assert.equal(enrollment.credential, tokens.credential, 'the in-memory enrollment follows the renewal')
  })

  it('reports a revoked member\'s credential once, at error level, with the command that enrols it again', async () => {
    const key = await generateKeyPair('Ed25519')
    const enrollment = await enroll(key)
    await t.issuer.setRevocationThreshold(1)
    const admin = generateEd25519()
    await t.issuer.addAdmin(b64(rawPublicKey(admin.publicKey)), 'renewal-admin')
    const request = (await t.issuer.requestRevocation(enrollment.peerId, 'lost device'))
    await t.issuer.approve(request.id, b64(rawPublicKey(admin.publicKey)), b64(signDomain(admin.privateKey, DOMAINS.revocationApproval, Buffer.from(request.payload, 'base64url'))))
    const { tokens, logs } = await manager(key, enrollment, '/var/lib/tempus')
    try {
      await tokens.start()
      assert.equal(await tokens.refresh(), undefined)
      clock += 4 * DAY
      await tokens.renewCredential()
      assert.equal(tokens.credentialRefused, 'revoked')
      assert.deepEqual(tokens.lastFailure, { code: 'revoked', refused: true, unavailable: false })
      const errors = logs.filter(l => l.level >= 50)
      assert.equal(errors.length, 1, JSON.stringify(errors))
      assert.match(errors[0]?.msg ?? '', /refused by the issuer: revoked/)
      assert.ok(errors[0]?.msg.includes(`tempus enroll --data /var/lib/tempus --issuer ${t.url} --code CODE`))
      assert.ok(!logs.some(l => /stays valid/.test(l.msg)), 'no claim that a token stays valid')
    } finally {
      tokens.stop()
    }
  })

  it('says the node holds no token when the issuer is unreachable, and tells an expired credential from a refusal', async () => {
    const key = await generateKeyPair('Ed25519')
    const enrollment = await enroll(key)
    const offline = await manager(key, enrollment, undefined, 'http://127.0.0.1:1')
    await offline.tokens.refresh()
    assert.deepEqual(offline.tokens.lastFailure, { code: 'unreachable', refused: false, unavailable: true })
    const warned = offline.logs.find(l => l.level === 40)
    assert.match(warned?.msg ?? '', /the issuer is unreachable; this node holds no token/)
    const { tokens, logs } = await manager(key, enrollment)
    // the node was off for longer than the credential lives
    clock += CREDENTIAL_TTL_MS + DAY
    const before = answers.renewals
    await tokens.renewCredential()
    assert.equal(tokens.credentialRefused, 'expired')
    assert.equal(answers.renewals, before, 'an expired credential is not sent to be renewed')
    assert.ok(logs.some(l => l.level === 50 && /has expired/.test(l.msg) && /tempus enroll --data DIR/.test(l.msg)))
  })
})

describe('a real node keeps its renewed credential', () => {
  const net = new TestNet()
  after(async () => { await net.stop() })

  it('writes the renewal into its enrollment file and restarts with it', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tempus-renew-node-'))
    try {
      // the node's clock only: the issuer answers on real time
      let shift = 0
      const now = (): number => Date.now() + shift
      const node = await net.node({ type: 'edge', options: { dataDir, passphrase: 'p', now } })
      const enrolled = (await loadEnrollment(dataDir))?.credential
      assert.equal(node.status().admission.credentialRefused, null)
      shift = 4 * DAY
      await node.tokens.renewCredential()
      assert.equal(node.tokens.renewed, 1)
      // the fresh credential's half-life counts on this node's clock (four days
      // ahead of the issuer's): a token refresh now does not renew it again
      await node.tokens.refresh()
      assert.equal(node.tokens.renewed, 1, 'no second renewal for a clock that runs ahead')
      const persisted = await loadEnrollment(dataDir)
      assert.notEqual(persisted?.credential, enrolled)
      assert.equal(persisted?.credential, node.tokens.credential)
      assert.equal(node.enrollment.credential, node.tokens.credential)
      assert.equal(node.status().admission.credentialExpiresAt, new Date(node.tokens.credentialExpiresAt ?? 0).toISOString())
      // the operator's alert: the credential's remaining life, refused or not, as gauges
      const gauge = async (name: string): Promise<number | undefined> => (await node.metricsRegistry.getSingleMetric(name)?.get())?.values[0]?.value
      const left = ((node.tokens.credentialExpiresAt ?? 0) - now()) / 1000
      const reported = await gauge('tempus_credential_expires_in_seconds') ?? Number.NaN
      assert.ok(reported <= left + 1 && reported > left - 60, `credential seconds left: ${reported} vs ${left}`)
      assert.equal(await gauge('tempus_credential_refused'), 0)
      assert.equal(await gauge('tempus_issuer_outage'), 0)
      // the token came on the issuer's real time, four days behind this node's clock
      assert.ok((await gauge('tempus_token_expires_in_seconds') ?? 0) < -3 * DAY / 1000)
      await node.stop()
      shift = 0
      const restarted = await net.node({ type: 'edge', options: { dataDir, passphrase: 'p', now } })
      assert.equal(restarted.tokens.credential, persisted?.credential)
      assert.ok(restarted.admission.ownToken != null, 'a token with the renewed credential')
    } finally {
      await rm(dataDir, { recursive: true, force: true })
    }
  })
})

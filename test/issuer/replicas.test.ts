/**
 * Issue #14 item 3: a node uses every issuer replica.
 *
 * The pure part (`ReplicaHealth`, `failsOver`, the URL checks) without I/O,
 * then one real issuer served on three HTTP listeners (three replicas of one
 * state, as replicas on one database are for a node):
 * 1. requests are spread over all three;
 * 2. with one listener closed and one that accepts TCP but never answers, a
 *    token manager refreshes with no failed refresh, the status shows both
 *    down (why) and names the replica that answered last;
 * 3. the closed one, back on its port, is used again once its retry time
 *    has come;
 * 4. a real node given `issuers` in its config shows their health in its
 *    status, and `tempus status` prints it.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { ENROLLMENT_FILE, enrolledIssuers, loadEnrollment } from '../../src/admission/enrollment.ts'
import { admissionStateFor } from '../../src/admission/state.ts'
import { TokenManager } from '../../src/admission/token-manager.ts'
import { issuerRows } from '../../src/cli/commands/info.ts'
import { INTERRUPTED, IssuerClient, IssuerClientError, isInterrupted, onceMoreIfInterrupted } from '../../src/issuer-client/client.ts'
import { startIssuerHttp } from '../../src/issuer/http.ts'
import { IssuerUrlError, parseIssuerUrls } from '../../src/issuer-client/issuer-url.ts'
import { ReplicaHealth, failsOver } from '../../src/issuer-client/replica-health.ts'
import { IssuerReplicas } from '../../src/issuer-client/replicas.ts'
import { createLogger } from '../../src/logging/logger.ts'
import { startTestIssuer } from '../fixtures/issuer.ts'
import { TestNet } from '../fixtures/nodes.ts'
import { eventually, waitForEvent } from '../fixtures/wait.ts'
import type { Enrollment } from '../../src/admission/enrollment.ts'
import type { IssuerHttp } from '../../src/issuer/http.ts'
import type { TestIssuer } from '../fixtures/issuer.ts'
import type { Server, Socket } from 'node:net'

const FIXED = { initialDelayMs: 1_000, maxDelayMs: 60_000, factor: 2, jitter: 0 }

describe('replica health (pure)', () => {
  it('rotates over the replicas that are up, one step per operation, from a random start', () => {
    const h = new ReplicaHealth(['a', 'b', 'c'], { now: () => 0, random: () => 0.5 })
    assert.deepEqual([h.order(), h.order(), h.order(), h.order()], [['b', 'c', 'a'], ['c', 'a', 'b'], ['a', 'b', 'c'], ['b', 'c', 'a']])
  })

  it('leaves a failed replica for last until its retry time, which grows with its failures', () => {
    let clock = 0
    const h = new ReplicaHealth(['a', 'b', 'c'], { now: () => clock, random: () => 0, backoff: FIXED })
    h.failed('b', 'timeout')
    assert.deepEqual(h.order(), ['a', 'c', 'b'])
    assert.deepEqual(h.order(), ['c', 'a', 'b'])
    assert.deepEqual(h.status()[1], { url: 'b', healthy: false, lastError: 'timeout', consecutiveFailures: 1, retryAt: 1_000 })
    clock = 999
    assert.deepEqual(h.order(), ['a', 'c', 'b'])
    clock = 1_000
    assert.deepEqual([h.order(), h.order(), h.order()].map(o => o[0]), ['a', 'b', 'c'], 'due again: back in the rotation')
    h.failed('b', 'http-503')
    assert.equal(h.status()[1]?.retryAt, 1_000 + 2_000, 'the second failure in a row waits twice as long')
    h.answered('b')
    assert.deepEqual(h.status()[1], { url: 'b', healthy: true, lastAnswerAt: 1_000, lastError: 'http-503', consecutiveFailures: 0 })
    assert.equal(h.lastAnswered, 'b')
    assert.equal(h.healthy(), 3)
  })

  it('tries every replica when all are down, earliest retry first', () => {
    let clock = 0
    const h = new ReplicaHealth(['a', 'b', 'c'], { now: () => clock, random: () => 0, backoff: FIXED })
    h.failed('c', 'timeout')
    clock = 10
    h.failed('a', 'timeout')
    clock = 20
    h.failed('b', 'timeout')
    assert.deepEqual(h.order(), ['c', 'a', 'b'])
    assert.equal(h.healthy(), 0)
  })

  it('jitters the retry time with the injected random source', () => {
    const delays = [0, 0.5, 0.999].map(r => {
      const h = new ReplicaHealth(['a'], { now: () => 0, random: () => r, backoff: { ...FIXED, initialDelayMs: 10_000, jitter: 0.5 } })
      h.failed('a', 'timeout')
      return h.status()[0]?.retryAt ?? -1
    })
    assert.deepEqual(delays, [5_000, 7_500, 9_995])
  })

  it('fails over on no answer, 5xx, 429 and a non-API answer; not on a refusal', () => {
    for (const err of [{ code: 'unreachable', status: 0 }, { code: 'not-initialised', status: 503 }, { code: 'rate-limited', status: 429 }, { code: 'bad-response', status: 404 }, { code: 'bad-response', status: 200 }, new Error('socket')]) {
      assert.equal(failsOver(err), true, JSON.stringify(err))
    }
    for (const err of [{ code: 'invalid-credential', status: 403 }, { code: 'revoked', status: 403 }, { code: 'twin', status: 409 }, { code: 'bad-request', status: 400 }]) {
      assert.equal(failsOver(err), false, JSON.stringify(err))
    }
  })

  it('refuses a replica list with credentials, a query, another scheme or a duplicate, naming the entry and not its text', () => {
    assert.deepEqual(parseIssuerUrls(['https://a.example:8443/', 'http://127.0.0.1:1/issuer']), ['https://a.example:8443', 'http://127.0.0.1:1/issuer'])
    const bad: Array<[unknown, RegExp]> = [
      [['https://a', 'https://u:s3cret@b'], /issuer URL 1: .*credentials/],
      [['https://a?token=s3cret'], /issuer URL 0: .*query/],
      [['https://a#s3cret'], /issuer URL 0: .*fragment/],
      [['ftp://a'], /issuer URL 0: the scheme must be http or https/],
      [['https://a', 'https://a/'], /issuer URL 1: listed twice/],
      [[], /1 to 16/],
      [Array.from({ length: 17 }, (_, i) => `https://r${i}`), /1 to 16/]
    ]
    for (const [value, message] of bad) {
      assert.throws(() => parseIssuerUrls(value), (err: Error) => err instanceof IssuerUrlError && message.test(err.message) && !err.message.includes('s3cret'))
    }
  })

  it('prints one row per replica and the one that answered last', () => {
    const rows = issuerRows({
      issuers: [
        { url: 'http://a', healthy: true, lastAnswerAt: '2026-01-01T00:00:00.000Z', lastError: null, consecutiveFailures: 0, retryAt: null },
        { url: 'http://b', healthy: false, lastAnswerAt: null, lastError: 'timeout', consecutiveFailures: 2, retryAt: '2026-01-01T00:01:00.000Z' }
      ],
      issuerLastAnswered: 'http://a'
    })
    assert.deepEqual(rows, [
      ['issuer', 'http://a up, answered 2026-01-01T00:00:00.000Z'],
      ['issuer', 'http://b DOWN (timeout, 2 failures in a row, asked again from 2026-01-01T00:01:00.000Z)'],
      ['issuer answered last', 'http://a']
    ])
  })
})

/** A TCP listener that accepts connections and never answers (an issuer hung mid-request). */
async function silentListener (port = 0): Promise<{ url: string, connected: Promise<void>, close: () => Promise<void> }> {
  const sockets = new Set<Socket>()
  let onConnected = (): void => {}
  const connected = new Promise<void>(resolve => { onConnected = resolve })
  const server: Server = createServer(socket => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    onConnected()
  })
  await new Promise<void>(resolve => server.listen(port, '127.0.0.1', resolve))
  const address = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${address.port}`,
    connected,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>(resolve => server.close(() => { resolve() }))
    }
  }
}

describe('a node over three replicas of one issuer', () => {
  let t: TestIssuer
  let clock = Date.now()
  const now = (): number => clock
  const extra: IssuerHttp[] = []
  const open = async (port = 0): Promise<IssuerHttp> => {
    const http = await startIssuerHttp({ issuer: t.issuer, port, log: createLogger({ level: 'silent' }), perAddressPerSecond: 100_000, auditPerAddressPerSecond: 100_000, perPeerPerMinute: 10_000, now })
    extra.push(http)
    return http
  }

  before(async () => {
    t = await startTestIssuer({ now })
  })
  after(async () => {
    await Promise.allSettled(extra.map(async h => h.close()))
    await t.stop()
  })

  const enroll = async (): Promise<{ key: Awaited<ReturnType<typeof generateKeyPair>>, enrollment: Enrollment }> => {
    const key = await generateKeyPair('Ed25519')
    return { key, enrollment: { ...await new IssuerClient({ url: t.url }).enroll(key, await t.issuer.createCode('edge')), issuerUrl: t.url } }
  }

  it('spreads requests over every replica', async () => {
    const [b, c] = [await open(), await open()]
    const replicas = new IssuerReplicas({ urls: [t.url, b.url, c.url], now, random: () => 0 })
    const { key, enrollment } = await enroll()
    const answered = new Map<string, number>()
    for (let i = 0; i < 6; i++) {
      await replicas.token(key, enrollment.credential)
      const url = replicas.lastAnswered ?? '?'
      answered.set(url, (answered.get(url) ?? 0) + 1)
    }
    assert.deepEqual([...answered.entries()].sort(), [[t.url, 2], [b.url, 2], [c.url, 2]].sort())
    assert.equal(replicas.failovers, 0)
    assert.ok(replicas.status().every(r => r.healthy && r.lastAnswerAt === clock))
  })

  it('refreshes without a failure while one replica is gone and one never answers, shows them down, and uses the gone one again when it is back', async () => {
    const gone = await open()
    const gonePort = Number(new URL(gone.url).port)
    await gone.close()
    const silent = await silentListener()
    const replicas = new IssuerReplicas({ urls: [t.url, gone.url, silent.url], now, random: () => 0, timeoutMs: 300, backoff: { initialDelayMs: 60_000, maxDelayMs: 60_000, factor: 1, jitter: 0 } })
    const { key, enrollment } = await enroll()
    const warnings: string[] = []
    const tokens = new TokenManager({
      client: replicas,
      privateKey: key,
      credential: enrollment.credential,
      state: await admissionStateFor(enrollment, { now }),
      log: createLogger({ level: 'warn', destination: { write: (line: string) => { warnings.push(JSON.parse(line).msg) } } }),
      now,
      random: () => 0
    })
    try {
      // the token manager is not started: the test makes every refresh, so each one's outcome is seen
      for (let i = 1; i <= 6; i++) {
        const own = await tokens.refresh()
        assert.ok(own != null, `refresh ${i} got a token`)
      }
      assert.equal(tokens.fetched, 6)
      assert.equal(tokens.lastFailure, undefined)
      assert.deepEqual(warnings, [], 'no refresh failed')
      assert.equal(replicas.failovers, 2, 'each dead replica cost one failover, then was left alone')
      const [live, down, hung] = replicas.status()
      assert.equal(live?.healthy, true)
      assert.equal(down?.healthy, false)
      assert.match(down?.lastError ?? '', /^unreachable: (ECONNREFUSED|ECONNRESET|UND_ERR_SOCKET)$/)
      assert.equal(hung?.healthy, false)
      assert.equal(hung?.lastError, 'timeout')
      assert.equal(replicas.lastAnswered, t.url)

      // back on its port; once its retry time has come it is asked, and answers
      await open(gonePort)
      clock += 61_000
      let used = false
      for (let i = 1; i <= 6 && !used; i++) {
        assert.ok(await tokens.refresh() != null, `refresh ${i} after the return got a token`)
        used = replicas.lastAnswered === gone.url
      }
      assert.ok(used, 'the returned replica answered again')
      assert.equal(replicas.status()[1]?.healthy, true)
      assert.equal(replicas.status()[1]?.lastAnswerAt, clock)
      assert.deepEqual(warnings, [], 'still no refresh failed')
    } finally {
      tokens.stop()
      await silent.close()
    }
  })

  it('a request a network change ended goes once more (a poll sent on the old network); a second interruption, one after the caller left, or any other failure is thrown', async () => {
    const silent = await silentListener()
    try {
      const hung = new IssuerClient({ url: silent.url, timeoutMs: 60_000 })
      const answering = new IssuerClient({ url: t.url })
      let calls = 0
      const keys = onceMoreIfInterrupted(async () => ++calls === 1 ? await hung.keys() : await answering.keys())
      await silent.connected
      hung.interrupt()
      assert.ok((await keys).current != null)
      assert.equal(calls, 2)
    } finally {
      await silent.close()
    }
    const interrupted = new IssuerClientError('unreachable', 0, 'ended by a network change', INTERRUPTED)
    const counting = (fail: (n: number) => unknown): { run: () => Promise<number>, calls: () => number } => {
      let n = 0
      return { run: async () => { n++; const err = fail(n); if (err != null) throw err; return n }, calls: () => n }
    }
    const twice = counting(() => interrupted)
    await assert.rejects(onceMoreIfInterrupted(twice.run), (err: unknown) => isInterrupted(err))
    assert.equal(twice.calls(), 2)
    const left = counting(() => interrupted)
    await assert.rejects(onceMoreIfInterrupted(left.run, AbortSignal.abort()), (err: unknown) => isInterrupted(err))
    assert.equal(left.calls(), 1)
    const refused = counting(() => new IssuerClientError('unreachable', 0, 'refused', 'ECONNREFUSED'))
    await assert.rejects(onceMoreIfInterrupted(refused.run), { reason: 'ECONNREFUSED' })
    assert.equal(refused.calls(), 1)
  })

  it('a network change ends the requests in flight: an operation hung on one replica goes on to the next at once, and the hung one is not marked down for it', { timeout: 30_000 }, async () => {
    const silent = await silentListener()
    // a minute's timeout: only the interruption can end the hung request within the test's time
    const replicas = new IssuerReplicas({ urls: [silent.url, t.url], now, random: () => 0, timeoutMs: 60_000 })
    try {
      const keys = replicas.keys()
      await silent.connected
      replicas.interrupt()
      assert.ok((await keys).current != null)
      assert.equal(replicas.lastAnswered, t.url)
      assert.equal(replicas.failovers, 1)
      assert.equal(replicas.status()[0]?.healthy, true, 'a request cut short says nothing about its replica')
      // a client alone: the request ends at once, as unreachable and interrupted
      const alone = await silentListener()
      const client = new IssuerClient({ url: alone.url, timeoutMs: 60_000 })
      const hung = client.keys()
      await alone.connected
      client.interrupt()
      await assert.rejects(hung, (err: unknown) => isInterrupted(err))
      // later requests are not cut
      assert.ok((await new IssuerClient({ url: t.url }).keys()).current != null)
      await alone.close()
    } finally {
      await silent.close()
    }
  })

  it('a network change brings a token retry forward from its backoff', { timeout: 30_000 }, async () => {
    const gone = await open()
    const gonePort = Number(new URL(gone.url).port)
    await gone.close()
    const replicas = new IssuerReplicas({ urls: [gone.url], now, random: () => 0 })
    const { key, enrollment } = await enroll()
    const state = await admissionStateFor(enrollment, { now })
    // ten minutes of backoff after the first failure: only the network change can bring the retry within the test's time
    const tokens = new TokenManager({ client: replicas, privateKey: key, credential: enrollment.credential, state, log: createLogger({ level: 'silent' }), now, random: () => 0, backoff: { initialDelayMs: 600_000, maxDelayMs: 600_000, factor: 1, jitter: 0 } })
    const failures: Array<{ code: string, unavailable: boolean, retryInMs: number }> = []
    tokens.addEventListener('failure', evt => { failures.push(evt.detail) })
    try {
      await tokens.start(5_000)
      assert.equal(state.ownToken, undefined)
      assert.equal(tokens.lastFailure?.code, 'unreachable')
      // each failed request is told, with when the next one goes
      assert.deepEqual(failures.map(f => [f.code, f.unavailable, f.retryInMs]), [['unreachable', true, 600_000]])
      await open(gonePort)
      const got = waitForEvent(tokens, 'token')
      tokens.networkChanged()
      await got
      assert.ok(state.ownToken != null)
      assert.equal(tokens.lastFailure, undefined)
    } finally {
      tokens.stop()
    }
  })
})

describe('a real node given every replica in its config', () => {
  const net = new TestNet()
  after(async () => { await net.stop() })

  it('shows each replica\'s health and the one that answered last in its status', async () => {
    const t = await net.issuer()
    const silent = await silentListener()
    try {
      const node = await net.node({ issuers: [silent.url, t.url] })
      // operations start at one replica after the other: the silent one is asked, and fails, soon
      await eventually(async () => {
        assert.ok(await node.tokens.refresh() != null, 'every refresh gets a token')
        return node.status().admission.issuers[0]?.healthy === false
      }, 'the silent replica is marked down')
      assert.ok(await node.tokens.refresh() != null)
      const { issuers, issuerLastAnswered } = node.status().admission
      assert.deepEqual(issuers.map(r => r.url), [silent.url, t.url], 'the config\'s list wins over the enrolment\'s')
      assert.equal(issuers[0]?.healthy, false)
      assert.equal(issuers[0]?.lastError, 'timeout')
      assert.ok(issuers[0]?.retryAt != null)
      assert.equal(issuers[1]?.healthy, true)
      assert.ok(issuers[1]?.lastAnswerAt != null)
      assert.equal(issuerLastAnswered, t.url)
      assert.equal(node.tokens.lastFailure, undefined)
    } finally {
      await silent.close()
    }
  })
})

describe('an enrollment\'s replica list', () => {
  it('puts the enrolled URL first, and refuses a file whose list is not URLs', async () => {
    const base = { overlay: 'o', issuer: 'i', rootPublicKey: 'r', bootstrap: [], peerId: 'p', typ: 'edge', credential: 'c', keys: { current: 'k' } } as const
    assert.deepEqual(enrolledIssuers({ ...base, issuerUrl: 'http://b/', issuers: ['http://a', 'http://b'] } as unknown as Enrollment), ['http://b', 'http://a'])
    assert.deepEqual(enrolledIssuers({ ...base, issuerUrl: 'http://b' } as unknown as Enrollment), ['http://b'])
    const dir = await mkdtemp(join(tmpdir(), 'tempus-replicas-'))
    try {
      await writeFile(join(dir, ENROLLMENT_FILE), JSON.stringify({ ...base, issuerUrl: 'http://b', issuers: ['http://a', 'http://u:s3cret@c'] }))
      await assert.rejects(loadEnrollment(dir), (err: Error) => err.name === 'DataDirError' && /issuer URL 1/.test(err.message) && !err.message.includes('s3cret'))
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

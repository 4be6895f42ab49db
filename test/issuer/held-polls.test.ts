/**
 * Long polls of the revocation list and the keys (`Prefer: wait`,
 * held-polls.ts): the issuer holds a poll from a node that has the newest
 * list (keys) until newer ones exist, and a node keeps one poll of each
 * waiting, so a revocation or a key reaches it without waiting for its next
 * timed poll.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { HeldPolls, preferredWaitMs } from '../../src/issuer/held-polls.ts'
import { IssuerClient } from '../../src/issuer-client/client.ts'
import { pollWhileHeld } from '../../src/issuer-client/held-poll-loop.ts'
import { TestNet } from '../fixtures/nodes.ts'
import { eventually } from '../fixtures/wait.ts'
import { revokeNewMember } from '../fixtures/issuer.ts'

describe('held polls: the waiters', () => {
  it('a wait ends when the store has a newer list, at its end, when its client goes, when full, and when the issuer closes', async () => {
    let newest = 4
    const waiters = new HeldPolls({ newest: async () => newest, checkEveryMs: 20, maxWaiters: 2 })
    // newer: the store moves on while two wait
    const first = waiters.wait(4, 60_000)
    const gone = new AbortController()
    const second = waiters.wait(4, 60_000, gone.signal)
    assert.equal(waiters.size, 2)
    assert.equal(await waiters.wait(4, 60_000), 'full', 'a third is answered at once')
    gone.abort()
    assert.equal(await second, 'gone')
    newest = 5
    assert.equal(await first, 'newer')
    assert.equal(waiters.size, 0)
    // a waiter that already knows an older list than the newest is told at the next check
    assert.equal(await waiters.wait(4, 60_000), 'newer')
    // elapsed: nothing new within the wait
    assert.equal(await waiters.wait(5, 30), 'elapsed')
    // closing: every held wait is answered, later ones at once
    const held = waiters.wait(5, 60_000)
    waiters.close()
    assert.equal(await held, 'closing')
    assert.equal(await waiters.wait(5, 60_000), 'closing')
    assert.equal(waiters.size, 0)
  })

  it('nudge reads the store at once, not at the next check', async () => {
    let newest = 1
    const waiters = new HeldPolls({ newest: async () => newest, checkEveryMs: 3_600_000 })
    const held = waiters.wait(1, 3_600_000)
    newest = 2
    waiters.nudge()
    assert.equal(await held, 'newer')
  })

  it('a failed read of the store keeps the waiters and is told', async () => {
    let fail = true
    const errors: unknown[] = []
    const waiters = new HeldPolls({ newest: async () => { if (fail) throw new Error('store away'); return 2 }, checkEveryMs: 10, onError: err => { errors.push(err) } })
    const held = waiters.wait(1, 60_000)
    await eventually(() => errors.length >= 1, 'a failed read told')
    assert.equal(waiters.size, 1, 'still waiting')
    fail = false
    assert.equal(await held, 'newer')
  })

  it('a node polls again at once after a held poll, stops at the first poll not held, and at its end', async () => {
    let polls = 0
    await pollWhileHeld(async () => ++polls < 3, new AbortController().signal, 1)
    assert.equal(polls, 3, 'two held, the third not: the caller\'s timer takes over')
    const stop = new AbortController()
    polls = 0
    await pollWhileHeld(async () => { if (++polls === 4) stop.abort(); return true }, stop.signal, 1)
    assert.equal(polls, 4, 'held every time: it ends when its node stops')
  })

  it('Prefer: wait=N is read in whole seconds, capped, among other preferences; anything else asks for none', () => {
    assert.equal(preferredWaitMs('wait=10', 30_000), 10_000)
    assert.equal(preferredWaitMs('respond-async, wait=5', 30_000), 5_000)
    assert.equal(preferredWaitMs('wait=5; foo=bar', 30_000), 5_000)
    assert.equal(preferredWaitMs(['return=minimal', 'Wait = 7'], 30_000), 7_000)
    assert.equal(preferredWaitMs('wait=999999', 30_000), 30_000)
    for (const bad of [undefined, '', 'wait', 'wait=', 'wait=-1', 'wait=1.5', 'wait=abc', 'nowait=5', 'wait=1234567']) {
      assert.equal(preferredWaitMs(bad, 30_000), 0, String(bad))
    }
  })
})

describe('held polls: issuer and nodes', () => {
  const net = new TestNet()
  after(async () => { await net.stop() })

  it('the issuer holds a poll from a node with the newest list and answers it with the next list; without Prefer it answers at once', async () => {
    const t = await net.issuer()
    const client = new IssuerClient({ url: t.url })
    const now = (await client.awaitRevocationList()).list
    assert.ok(now != null)
    // no wait asked: 304 at once, not held
    assert.deepEqual(await client.awaitRevocationList(now.n), { held: false })
    // a held poll, answered when the next list is published
    const poll = client.awaitRevocationList(now.n, { waitMs: 25_000 })
    await eventually(() => t.http.heldPolls().crl === 1, 'the poll held')
    const next = await t.issuer.publishRevocationList('test')
    const answer = await poll
    assert.equal(answer.held, true)
    assert.equal(answer.list?.n, next.n, 'the held poll got the new list (not a 304 at the end of its wait)')
    assert.equal(t.http.heldPolls().crl, 0)
    // a poll from a node behind the newest is answered at once with the newest
    const behind = await client.awaitRevocationList(now.n, { waitMs: 25_000 })
    assert.equal(behind.list?.n, next.n)
    // a wait that ends with nothing new: 304, held; counted, not timed as the issuer's work
    const timed = async (): Promise<number> => ((await (t.issuer.metrics.getSingleMetric('tempus_issuer_request_duration_seconds') as any).get()).values as Array<{ metricName: string, labels: { route?: string }, value: number }>)
      .find(v => v.metricName === 'tempus_issuer_request_duration_seconds_count' && v.labels.route === '/v1/crl')?.value ?? 0
    const before = await timed()
    assert.deepEqual(await client.awaitRevocationList(next.n, { waitMs: 1_000 }), { held: true })
    assert.equal(await timed(), before, 'a held poll is not in the latency histogram')
    await client.awaitRevocationList(next.n)
    assert.equal(await timed(), before + 1, 'a poll answered at once is')
  })

  it('a poll ended by its caller leaves the issuer holding nothing', async () => {
    const t = await net.issuer()
    const client = new IssuerClient({ url: t.url })
    const n = (await client.awaitRevocationList()).list?.n
    const stop = new AbortController()
    const poll = client.awaitRevocationList(n, { waitMs: 25_000, signal: stop.signal })
    await eventually(() => t.http.heldPolls().crl === 1, 'the poll held')
    stop.abort()
    await assert.rejects(poll, (err: any) => err.code === 'unreachable' && err.reason === 'interrupted')
    await eventually(() => t.http.heldPolls().crl === 0, 'the issuer let go of the poll its client ended')
  })

  it('a node keeps a poll waiting: a revocation reaches it though its next timed poll is an hour away', async () => {
    const node = await net.node({ type: 'edge', admission: { crlPollInterval: '1h' } })
    await eventually(() => node.admission.revocations.number >= 0, 'the first revocation list')
    const t = await net.issuer()
    await eventually(() => t.http.heldPolls().crl >= 1, 'the node\'s poll held at the issuer')
    const revoked = await revokeNewMember(t, 'held-poll')
    await eventually(() => node.admission.revocations.isRevoked(revoked), 'the revocation, from the held poll')
    // and the node waits again
    await eventually(() => t.http.heldPolls().crl >= 1, 'the next poll held')
    await node.stop()
    await eventually(() => t.http.heldPolls().crl === 0, 'a stopped node leaves no poll behind')
  })

  it('the keys: a poll from a node with the current keys is held and answered when a key is announced; a node learns it though its next timed poll is an hour away', async () => {
    const t = await net.issuer()
    const node = await net.node({ type: 'edge', admission: { keysPollInterval: '1h' } })
    const client = new IssuerClient({ url: t.url })
    const first = await client.awaitKeys()
    assert.ok(first.keys != null && first.tag != null)
    // the same keys: 304 at once without a wait
    assert.deepEqual(await client.awaitKeys(first.tag), { held: false, tag: first.tag })
    const poll = client.awaitKeys(first.tag, { waitMs: 25_000 })
    // this client's poll and the node's
    await eventually(() => t.http.heldPolls().keys >= 2, 'both polls held')
    const announced = await t.issuer.announceKey()
    const answer = await poll
    assert.equal(answer.held, true)
    assert.equal(answer.keys?.announced, announced.certificate, 'the held poll got the announced key (not a 304 at the end of its wait)')
    assert.notEqual(answer.tag, first.tag)
    await eventually(() => node.admission.verifier.certificateFor(announced.kid) != null, 'the node to know the announced key, from its held poll')
    await node.stop()
    await eventually(() => t.http.heldPolls().keys === 0, 'a stopped node leaves no poll behind')
  })
})

/**
 * Issue #13: item 12 (a refused enrolment never spends a code) and item 10's
 * issuer side (a credential refreshed by two processes within one token
 * lifetime is audited, counted, and refused by configuration).
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { IssuerClient, IssuerClientError } from '../../src/issuer-client/client.ts'
import { Issuer } from '../../src/issuer/issuer.ts'
import { TwinWatch } from '../../src/issuer/twins.ts'
import { startTestIssuer } from '../fixtures/issuer.ts'
import { TestNet } from '../fixtures/nodes.ts'
import type { TestIssuer } from '../fixtures/issuer.ts'
import type { TwinEvent } from '../../src/issuer/issuer.ts'

const TTL = 180_000

async function twinCount (issuer: Issuer, stage: 'suspected' | 'confirmed'): Promise<number> {
  const metric = await issuer.metrics.getSingleMetric('tempus_issuer_twin_suspected_total')?.get()
  return metric?.values.find(v => v.labels.stage === stage)?.value ?? 0
}

const twinEntries = async (issuer: Issuer): Promise<Array<Record<string, unknown>>> =>
  (await issuer.audit.entries(0, 1000)).filter(e => e.kind === 'twin-suspected').map(e => e.data)

describe('issuer: a refused enrolment spends no code', () => {
  let t: TestIssuer
  let client: IssuerClient
  before(async () => {
    t = await startTestIssuer()
    client = new IssuerClient({ url: t.url })
  })
  after(async () => { await t.stop() })

  it('an edge asking with a sentinel code is refused wrong-type; the code still enrols a sentinel', async () => {
    const code = (await t.issuer.createCode('sentinel', 1))
    const edge = await generateKeyPair('Ed25519')
    const before = (await t.issuer.audit.size())
    await assert.rejects(client.enroll(edge, code, undefined, 'edge'), (e: IssuerClientError) => e.code === 'wrong-type' && e.status >= 400)
    // nothing enrolled, the refusal audited
    const kinds = (await t.issuer.audit.entries(before)).map(e => e.kind)
    assert.deepEqual(kinds, ['enroll-refused'])
    assert.deepEqual({ ...await t.issuer.db.one('SELECT uses_left FROM codes WHERE code_hash = $1', [createHash('sha256').update(code).digest('hex')]) }, { uses_left: 1 })
    // the same code, asked for as what it is, still works, once
    const sentinel = await generateKeyPair('Ed25519')
    const enrolled = await client.enroll(sentinel, code, undefined, 'sentinel')
    assert.equal(enrolled.typ, 'sentinel')
    await assert.rejects(client.enroll(await generateKeyPair('Ed25519'), code, undefined, 'sentinel'), (e: IssuerClientError) => e.code === 'invalid-code')
  })

  it('a repeated enrolment (its answer lost on the way) gets the credential again and spends no second use', async () => {
    const code = (await t.issuer.createCode('edge', 2))
    const key = await generateKeyPair('Ed25519')
    const first = await client.enroll(key, code, undefined, 'edge')
    const again = await client.enroll(key, code, undefined, 'edge')
    assert.equal(again.peerId, first.peerId)
    await client.token(key, again.credential)
    // one use left, for one other key
    const hash = createHash('sha256').update(code).digest('hex')
    assert.deepEqual({ ...await t.issuer.db.one('SELECT uses_left FROM codes WHERE code_hash = $1', [hash]) }, { uses_left: 1 })
    await client.enroll(await generateKeyPair('Ed25519'), code, undefined, 'edge')
    await assert.rejects(client.enroll(await generateKeyPair('Ed25519'), code, undefined, 'edge'), (e: IssuerClientError) => e.code === 'invalid-code')
    // and the first key still repeats while the code lives
    assert.equal((await client.enroll(key, code, undefined, 'edge')).peerId, first.peerId)
  })

  it('a bad type in the request is a bad request, and spends nothing', async () => {
    const code = (await t.issuer.createCode('edge', 1))
    const key = await generateKeyPair('Ed25519')
    await assert.rejects(client.enroll(key, code, undefined, 'router' as any), (e: IssuerClientError) => e.code === 'bad-request')
    assert.equal((await client.enroll(key, code, undefined, 'edge')).typ, 'edge')
  })

  it('a request without a type takes the code\'s type (older clients)', async () => {
    const enrolled = await client.enroll(await generateKeyPair('Ed25519'), (await t.issuer.createCode('bridge')))
    assert.equal(enrolled.typ, 'bridge')
  })

  it('a key re-enrolled as another type cannot use its old credential', async () => {
    const key = await generateKeyPair('Ed25519')
    const asEdge = await client.enroll(key, (await t.issuer.createCode('edge')), undefined, 'edge')
    const asSentinel = await client.enroll(key, (await t.issuer.createCode('sentinel')), undefined, 'sentinel')
    await client.token(key, asSentinel.credential)
    await assert.rejects(client.token(key, asEdge.credential), (e: IssuerClientError) => e.code === 'revoked')
  })
})

describe('issuer: twins (one credential refreshed from two processes)', () => {
  let clock = 1_800_000_000_000
  const now = (): number => clock
  let t: TestIssuer
  const events: TwinEvent[] = []
  before(async () => {
    t = await startTestIssuer({ now, onTwin: e => { events.push(e) } })
  })
  after(async () => { await t.stop() })

  it('one node refreshing at half the token lifetime, and restarting after its token expired, raises nothing', async () => {
    const key = await generateKeyPair('Ed25519')
    const { credential } = await new IssuerClient({ url: t.url }).enroll(key, (await t.issuer.createCode('edge')))
    const node = new IssuerClient({ url: t.url })
    for (let i = 0; i < 8; i++) {
      await node.token(key, credential)
      clock += TTL / 2
    }
    // a clean restart (a new process: a new instance) once the old token is dead
    clock += TTL / 2 + 1
    const restarted = new IssuerClient({ url: t.url })
    for (let i = 0; i < 3; i++) {
      await restarted.token(key, credential)
      clock += TTL / 2
    }
    assert.deepEqual((await twinEntries(t.issuer)), [])
    assert.equal(await twinCount(t.issuer, 'suspected'), 0)
    assert.equal(events.length, 0)
  })

  it('two processes refreshing one credential within a token life: audited once per stage, counted, both still served', async () => {
    const key = await generateKeyPair('Ed25519')
    const { credential } = await new IssuerClient({ url: t.url }).enroll(key, (await t.issuer.createCode('edge')))
    const original = new IssuerClient({ url: t.url })
    const copy = new IssuerClient({ url: t.url })
    await original.token(key, credential)
    clock += 10_000
    await copy.token(key, credential)
    const suspected = (await twinEntries(t.issuer))
    assert.equal(suspected.length, 1)
    assert.equal(suspected[0]?.stage, 'suspected')
    assert.equal(suspected[0]?.olderSeenMsAgo, 10_000)
    assert.equal(suspected[0]?.newerRefused, false)
    // instance ids never appear whole (knowing one would let a copy pass as it)
    const text = JSON.stringify((await t.issuer.audit.entries(0, 1000)))
    assert.ok(!text.includes(original.instance) && !text.includes(copy.instance))
    assert.equal(await twinCount(t.issuer, 'suspected'), 1)
    // the original refreshes again: both are alive, no restart does that
    clock += TTL / 2 - 10_000
    await original.token(key, credential)
    assert.deepEqual((await twinEntries(t.issuer)).map(e => e.stage), ['suspected', 'confirmed'])
    assert.equal(await twinCount(t.issuer, 'confirmed'), 1)
    // once per pair and stage: further refreshes of both add nothing
    for (let i = 0; i < 4; i++) {
      clock += TTL / 4
      await original.token(key, credential)
      await copy.token(key, credential)
    }
    assert.equal((await twinEntries(t.issuer)).length, 2)
    assert.deepEqual(events.map(e => [e.stage, e.peerId]), [['suspected', suspected[0]?.peerId], ['confirmed', suspected[0]?.peerId]])
  })

  it('a request naming a malformed instance is a bad request', async () => {
    const key = await generateKeyPair('Ed25519')
    const { credential } = await new IssuerClient({ url: t.url }).enroll(key, (await t.issuer.createCode('edge')))
    await assert.rejects(new IssuerClient({ url: t.url, instance: 'x' }).token(key, credential), (e: IssuerClientError) => e.code === 'bad-request')
    await assert.rejects(new IssuerClient({ url: t.url, instance: 'a'.repeat(65) }).token(key, credential), (e: IssuerClientError) => e.code === 'bad-request')
  })
})

describe('issuer: refuseTwins', () => {
  let clock = 1_800_000_000_000
  const now = (): number => clock
  let t: TestIssuer
  before(async () => {
    t = await startTestIssuer({ now, refuseTwins: true })
  })
  after(async () => { await t.stop() })

  it('refuses the newer process with `twin` while the older one lives; serves it one token lifetime after the older one stopped', async () => {
    const key = await generateKeyPair('Ed25519')
    const { credential } = await new IssuerClient({ url: t.url }).enroll(key, (await t.issuer.createCode('sentinel')))
    const original = new IssuerClient({ url: t.url })
    const copy = new IssuerClient({ url: t.url })
    await original.token(key, credential)
    clock += 5_000
    await assert.rejects(copy.token(key, credential), (e: IssuerClientError) => e.code === 'twin')
    // the older one keeps being served
    clock += TTL / 2
    await original.token(key, credential)
    await assert.rejects(copy.token(key, credential), (e: IssuerClientError) => e.code === 'twin')
    assert.deepEqual((await twinEntries(t.issuer)).map(e => [e.stage, e.newerRefused]), [['suspected', true], ['confirmed', true]])
    assert.equal(await twinCount(t.issuer, 'suspected'), 1)
    // the original stops (or was a killed process): after one token lifetime the other is the only one
    clock += TTL + 1
    await copy.token(key, credential)
  })
})

describe('TwinWatch (pure)', () => {
  it('a newcomer is suspected, the older one coming back confirms; memory per subject is bounded and ages out', () => {
    let clock = 0
    const watch = new TwinWatch({ windowMs: 1000, now: () => clock, maxInstancesPerSubject: 3 })
    assert.deepEqual(watch.observe('p', 'a'), { newer: false, report: undefined })
    clock = 100
    assert.equal(watch.observe('p', 'b').report?.stage, 'suspected')
    clock = 200
    assert.equal(watch.observe('p', 'b').report, undefined)
    clock = 300
    const back = watch.observe('p', 'a')
    assert.equal(back.newer, false)
    assert.deepEqual(back.report, { stage: 'confirmed', subject: 'p', older: 'a', newer: 'b', olderSeenMsAgo: 300 })
    // a key holder minting instance ids fills at most maxInstancesPerSubject
    // and never pushes out the instance that held the credential first
    // and gets one suspected report per window, not one audit row per minted id
    let reports = 0
    for (let i = 0; i < 50; i++) {
      clock++
      const seen = watch.observe('p', `m${i}`)
      assert.equal(seen.newer, true)
      if (seen.report?.stage === 'suspected') reports++
    }
    assert.equal(reports, 0, 'the window\'s report was made for b')
    clock++
    assert.equal(watch.observe('p', 'a').newer, false)
    // everything ages out after the window
    clock += 1001
    assert.deepEqual(watch.observe('q', 'x'), { newer: false, report: undefined })
    assert.equal(watch.size, 1)
  })
})

describe('issuer: twins among real nodes', () => {
  const net = new TestNet()
  after(async () => { await net.stop() })

  it('two running nodes with one identity and enrollment (a copied data directory) are flagged at their first tokens', async () => {
    const key = await generateKeyPair('Ed25519')
    const enrollment = await net.enroll(key, 'edge')
    const { issuer } = await net.issuer()
    const original = await net.node({ options: { privateKey: key, enrollment } })
    assert.notEqual(original.admission.ownToken, undefined)
    assert.deepEqual((await twinEntries(issuer)), [])
    const twin = await net.node({ options: { privateKey: key, enrollment } })
    assert.notEqual(twin.admission.ownToken, undefined)
    const flagged = (await twinEntries(issuer))
    assert.equal(flagged.length, 1)
    assert.equal(flagged[0]?.peerId, enrollment.peerId)
    assert.equal(flagged[0]?.stage, 'suspected')
    assert.equal(await twinCount(issuer, 'suspected'), 1)
  })
})

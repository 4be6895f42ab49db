/**
 * Every figure the node and the issuer serve at `/metrics` passes
 * Prometheus's own lint (`promtool check metrics`), and the services' own
 * `tempus_*` figures are there with values once a few paths ran: an
 * admission, a refused dial, RPC calls, a gossip publish, a DTN send, a
 * token and an enrolment at the issuer.
 */
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import { plainNode } from '../fixtures/attacker.ts'
import { TestNet } from '../fixtures/nodes.ts'
import { eventually, waitForEvent } from '../fixtures/wait.ts'
import type { TempusNode } from '../../src/node/tempus-node.ts'

const PROMTOOL = 'promtool'

/** `promtool check metrics` on `text` (stdin): its exit code and what it printed */
async function promtoolCheck (text: string): Promise<{ code: number | null, output: string }> {
  return await new Promise((resolve, reject) => {
    const child = spawn(PROMTOOL, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', chunk => { output += String(chunk) })
    child.stderr.on('data', chunk => { output += String(chunk) })
    child.on('error', reject)
    child.on('close', code => { resolve({ code, output }) })
    child.stdin.end(text)
  })
}

async function scrape (url: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(url, { headers })
  assert.equal(res.status, 200, `${url} answered ${res.status}`)
  return await res.text()
}

/** the value of one sample (`name{labels}` exactly as exposed, labels in their order), or undefined */
function sample (text: string, series: string): number | undefined {
  const line = text.split('\n').find(l => l.startsWith(series + ' '))
  return line == null ? undefined : Number(line.slice(series.length + 1))
}

/** the sum of every sample of `name` whose labels include each of `labels` */
function total (text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line)
    if (m == null || m[1] !== name) continue
    if (Object.entries(labels).every(([k, v]) => (m[2] ?? '').includes(`${k}="${v}"`))) sum += Number(m[3])
  }
  return sum
}

describe('metrics: every family lint-clean, every service counted', () => {
  const net = new TestNet()
  let sentinel: TempusNode
  let edge: TempusNode
  let nodeText: string
  let issuerText: string
  let edgeText: string

  before(async () => {
    // not a skip: a run without promtool would pass without checking anything
    assert.equal(spawnSync(PROMTOOL, ['--version']).error, undefined, 'promtool is needed: apt-get install prometheus (.ci/run does)')
    const dataDir = await net.tempDir()
    sentinel = await net.node({ type: 'sentinel', api: { enabled: true, listen: '127.0.0.1:0' }, options: { dataDir, passphrase: 'p' } })
    edge = await net.node({ type: 'edge', bootstrap: sentinel.getMultiaddrs() })
    await eventually(() => sentinel.admission.admitted.has(edge.peerId.toString()), 'the edge is admitted')

    // a refused dial: a plain libp2p node shows no token
    const refused = waitForEvent(sentinel.admission, 'refused')
    const stranger = await plainNode()
    try {
      await stranger.start()
      // Noise completes, then the admission inside it fails: the dial may or may not report it
      await stranger.dial(multiaddr(sentinel.getMultiaddrs()[0] ?? assert.fail('no address'))).catch(() => {})
      await refused
    } finally {
      await stranger.stop()
    }

    // RPC: one granted call, one refused
    sentinel.rpc.expose('status.get', () => ({ ok: true }))
    sentinel.rpc.policy.replace([{ type: 'edge', allow: ['status.get'] }])
    assert.deepEqual(await edge.rpc.call(sentinel.peerId, 'status.get'), { ok: true })
    await assert.rejects(edge.rpc.call(sentinel.peerId, 'admin.secret'))

    // gossip: a publish (delivered here at once) and a DTN send
    await edge.gossip.publish({ kind: 'metrics-test', digest: 'ab'.repeat(32), severity: 1, metadata: {} })
    const delivered = waitForEvent(sentinel.dtn, 'bundle')
    await edge.dtn.send(sentinel.peerId.toString(), new TextEncoder().encode('hello'))
    await delivered

    // one Cyclon shuffle of the edge with the sentinel (an observer's pull)
    await eventually(async () => { await edge.sampling.tick('sentinel'); return edge.sampling.view('sentinel').length > 0 }, 'the edge knows the sentinel\'s view')

    edgeText = await edge.metricsRegistry.metrics()
    const apiToken = (await readFile(join(dataDir, 'api-token'), 'utf8')).trim()
    nodeText = await scrape(`${sentinel.api?.url ?? assert.fail('no API')}/metrics`, { authorization: `Bearer ${apiToken}` })
    issuerText = await scrape(`${(await net.issuer()).url}/metrics`)
  })
  after(async () => { await net.stop() })

  it('the node\'s /metrics passes promtool check metrics', async () => {
    const { code, output } = await promtoolCheck(nodeText)
    assert.equal(code, 0, output)
  })

  it('counts what ran: admissions, a refusal, RPC, gossip, DTN, suspicion, the node\'s token', () => {
    assert.ok(total(nodeText, 'tempus_admissions_total', { direction: 'inbound', outcome: 'admitted' }) >= 1, 'an inbound admission')
    assert.ok(total(nodeText, 'tempus_admissions_total', { outcome: 'refused' }) >= 1, 'a refused admission')
    assert.ok((sample(nodeText, 'tempus_admitted_peers') ?? 0) >= 1)
    assert.ok(total(nodeText, 'tempus_suspicion_peers') >= 1, 'the stranger has a score')
    assert.equal(sample(nodeText, 'tempus_rpc_served_total{outcome="ok"}'), 1)
    assert.equal(sample(nodeText, 'tempus_rpc_served_total{outcome="refused"}'), 1)
    assert.ok(total(nodeText, 'tempus_gossip_messages_total', { topic: 'tempus/anomaly/1', result: 'accepted' }) >= 1)
    assert.equal(sample(nodeText, 'tempus_gossip_delivered_total'), 1)
    assert.equal(sample(nodeText, 'tempus_gossip_delivery_latency_seconds_count{via="gossip"}'), 1)
    assert.equal(sample(nodeText, 'tempus_dtn_bundles_delivered_total'), 1)
    assert.ok((sample(nodeText, 'tempus_dtn_store_quota_bytes') ?? 0) > 0)
    assert.ok(total(nodeText, 'tempus_sampling_view_capacity_peers') > 0)
    assert.ok((sample(nodeText, 'tempus_token_refreshes_total{outcome="ok"}') ?? 0) >= 1)
    assert.ok((sample(nodeText, 'tempus_token_expires_in_seconds') ?? 0) > 0)
    assert.ok((sample(nodeText, 'tempus_suspicion_escalations_total{state="throttled"}') ?? 0) >= 1, 'the stranger was throttled')
    // the caller's side: calls by outcome and their latency; a shuffle it started
    assert.equal(sample(edgeText, 'tempus_rpc_calls_total{outcome="ok"}'), 1)
    assert.equal(sample(edgeText, 'tempus_rpc_calls_total{outcome="unavailable"}'), 1)
    assert.equal(sample(edgeText, 'tempus_rpc_call_duration_seconds_count{outcome="ok"}'), 1)
    assert.ok(total(edgeText, 'tempus_sampling_shuffles_total', { view: 'sentinel', role: 'initiator' }) >= 1, 'the edge shuffled')
    assert.ok(total(nodeText, 'tempus_sampling_shuffles_total', { view: 'sentinel', role: 'responder', outcome: 'ok' }) >= 1, 'the sentinel answered')
    assert.ok(total(edgeText, 'tempus_admissions_total', { direction: 'outbound', outcome: 'admitted' }) >= 1, 'the edge\'s outbound admission')
    // libp2p's own families are there, renamed lint-clean
    assert.match(nodeText, /^# TYPE libp2p_protocol_streams gauge$/m)
    assert.doesNotMatch(nodeText, /^# TYPE nodejs_active_handles_total /m)
    // never a PeerId in a label
    assert.ok(!nodeText.includes(edge.peerId.toString()) && !nodeText.includes(sentinel.peerId.toString()), 'no PeerId in /metrics')
  })

  it('the issuer counts requests by route, tokens issued and enrolments', () => {
    assert.ok(total(issuerText, 'tempus_issuer_requests_total', { route: '/v1/token', status: '200' }) >= 2, 'both nodes fetched a token')
    assert.ok((sample(issuerText, 'tempus_issuer_tokens_issued_total') ?? 0) >= 2)
    assert.ok((sample(issuerText, 'tempus_issuer_enrolments_total{outcome="ok"}') ?? 0) >= 2, 'two codes used')
    assert.ok(total(issuerText, 'tempus_issuer_request_duration_seconds_count', { route: '/v1/enroll' }) >= 2)
  })

  it('the issuer\'s /metrics passes promtool check metrics', async () => {
    const { code, output } = await promtoolCheck(issuerText)
    assert.equal(code, 0, output)
  })
})

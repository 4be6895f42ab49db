/**
 * The chaos harness in CI (issue #20): 12 node processes, each in a network
 * namespace of its own, 90 s, seed 20, every kind of fault at least once
 * (kill -9 and restart, link down and up, a partition that heals, an issuer
 * replica killed, a signing-key rotation, a 2-of-2 revocation), anomalies
 * and bundles throughout. Asserted: the zero goals (nothing acknowledged
 * lost, no honest node penalised, no crash) and every anomaly at every
 * honest node by the end. Timed figures are printed, not asserted
 * (`npm run chaos` is the benchmark).
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { describe, it } from 'node:test'
import { promisify } from 'node:util'
import { runChaos } from '../../scripts/lib/chaos-run.ts'
import { planChaos } from '../../scripts/lib/chaos-schedule.ts'
import { canUseNetns } from '../fixtures/netns.ts'

// Network namespaces need root (CI runs as root); anywhere else it says why it skips.
const unavailable = await canUseNetns()
const NODES = 12
const DURATION_MS = 90_000
const SEED = 20

describe('chaos: real node processes in network namespaces, faults on a schedule', () => {
  it('the schedule is seeded and holds every kind of fault at this size', () => {
    const plan = planChaos({ nodes: NODES, durationMs: DURATION_MS, seed: SEED, replicas: 2 })
    assert.deepEqual(planChaos({ nodes: NODES, durationMs: DURATION_MS, seed: SEED, replicas: 2 }), plan, 'one seed, one schedule')
    const kinds = new Set(plan.actions.map(a => a.kind))
    for (const kind of ['kill', 'link', 'partition', 'issuer-kill', 'rotate', 'revoke', 'anomaly', 'bundle'] as const) {
      assert.ok(kinds.has(kind), `the schedule holds a ${kind}`)
    }
    // the revoked node takes part in nothing else
    assert.ok(plan.actions.every(a => a.kind === 'revoke' || a.kind === 'partition' || !('node' in a) || a.node !== plan.revoked))
    assert.ok(plan.actions.every(a => a.kind !== 'bundle' || a.to !== plan.revoked))
  })

  it('12 nodes, 90 s, seed 20: nothing lost, no honest node penalised, no crash, every anomaly everywhere', { skip: unavailable, timeout: 300_000 }, async (t) => {
    const lines: string[] = []
    let result
    try {
      // TEMPUS_CHAOS_DUMP=<file>: every node's events, for a post-mortem (scripts/chaos.ts --dump)
      result = await runChaos({ nodes: NODES, durationMs: DURATION_MS, seed: SEED, log: line => { lines.push(line) }, dumpFile: process.env.TEMPUS_CHAOS_DUMP })
    } finally {
      // whatever happened, nothing of the run is left behind
      const { stdout } = await promisify(execFile)('ip', ['netns', 'list'])
      assert.ok(!stdout.includes(`chaos-${process.pid}-`), `namespaces left behind: ${stdout}`)
    }
    const f = result.figures
    t.diagnostic(`chaos figures (issuer ${result.issuer}): ${JSON.stringify(f)}`)
    for (const note of result.notes) t.diagnostic(`note: ${note}`)
    const context = `${JSON.stringify(f)}\n${result.notes.join('\n')}\n${lines.join('\n')}`
    assert.equal(f.lost, 0, `acknowledged anomalies or bundles lost\n${context}`)
    assert.equal(f.honestPenalised, 0, `honest nodes penalised\n${context}`)
    assert.equal(f.crashes, 0, `crashes\n${context}`)
    assert.equal(f.anomalyDelivery, 1, `anomaly delivery\n${context}`)
    assert.ok(f.revocationMissed === 0 && f.revocationP99Ms != null, `every live node applied the revocation\n${context}`)
  })
})

/**
 * The process's own figures (prom-client's default metrics) are collected
 * once per process however many nodes it runs, and every node's `/metrics`
 * still shows them.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { TestNet } from '../fixtures/nodes.ts'

describe('process metrics', () => {
  const net = new TestNet()
  after(async () => { await net.stop() })

  it('one event-loop monitor and one GC observer for all the nodes of a process, shown on each', async () => {
    const a = await net.node({ type: 'bridge' })
    const b = await net.node({ type: 'edge' })
    for (const name of ['nodejs_eventloop_lag_seconds', 'nodejs_gc_duration_seconds', 'process_cpu_user_seconds_total']) {
      const ofA = a.metricsRegistry.getSingleMetric(name)
      const ofB = b.metricsRegistry.getSingleMetric(name)
      assert.ok(ofA != null, `${name} is on the first node's registry`)
      assert.equal(ofA, ofB, `${name} is one collection shared by both nodes, not one per node`)
    }
    for (const node of [a, b]) {
      const text = await node.metricsRegistry.metrics()
      assert.match(text, /^process_cpu_user_seconds_total \d/m)
      assert.match(text, /^nodejs_eventloop_lag_seconds \d/m)
      assert.match(text, /^tempus_/m, 'the node\'s own figures beside them')
    }
  })
})

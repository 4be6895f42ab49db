/**
 * The chaos harness's reconnect figure (scripts/lib/chaos-metrics.ts, pure):
 * after a link comes back, the node's first admission; after a partition
 * heals, a cut node's first admission of a node on the other side (its
 * connections within its own half say nothing of the cut).
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { computeFigures } from '../../scripts/lib/chaos-metrics.ts'
import type { NodeEvent, NodeRecord, RanFault } from '../../scripts/lib/chaos-metrics.ts'

const T = 1_000_000

function node (index: number, events: Array<{ t: number, event: string, [k: string]: unknown }>): NodeRecord {
  return { index, peerId: `peer-${index}`, events: events.map(({ t, ...e }): NodeEvent => ({ ...e, at: T + t })), unexpectedExits: [], report: { anomalies: [], inbox: [], held: [], connections: 1 } }
}

function reconnectP99 (nodes: NodeRecord[], faults: RanFault[]): number | null {
  const f = computeFigures({ nodes, revoked: -1, faults, sent: [], startedAt: T, endedAt: T + 600_000, settleFrom: T + 500_000, windowMs: 10_000, rssMb: [], cpuSeconds: 0, startCpuSeconds: 0 })
  assert.equal(f.reconnectP99Ms, f.linkReconnectP99Ms ?? f.partitionHealP99Ms, 'one kind of fault: the figure is that kind\'s')
  return f.reconnectP99Ms
}

describe('the chaos harness\'s reconnect figure', () => {
  const partition: RanFault = { kind: 'partition', nodes: [0, 1], from: T + 100_000, to: T + 200_000 }

  it('after a partition: the first admission across the cut, not one within the half', () => {
    const nodes = [
      node(0, [
        { t: 150_000, event: 'disconnect', peer: 'peer-2', connections: 1 },
        { t: 201_000, event: 'admitted', peer: 'peer-1' }, // its own half: says nothing of the cut
        { t: 260_000, event: 'admitted', peer: 'peer-2' }
      ]),
      node(1, [{ t: 230_000, event: 'connect', peer: 'peer-3', connections: 2 }]),
      node(2, []),
      node(3, [])
    ]
    assert.equal(reconnectP99(nodes, [partition]), 60_000)
    const f = computeFigures({ nodes, revoked: -1, faults: [partition], sent: [], startedAt: T, endedAt: T + 600_000, settleFrom: T + 500_000, windowMs: 10_000, rssMb: [], cpuSeconds: 0, startCpuSeconds: 0 })
    assert.equal(f.partitionRejoinMs, 30_000, 'the halves were joined again by the first node across')
    assert.equal(f.partitionHealP50Ms, 30_000, 'of the two cut nodes, the median by nearest rank')
  })

  it('after a link: 0 when a connection survived, else the first admission of anyone', () => {
    const link = (i: number): RanFault => ({ kind: 'link', nodes: [i], from: T + 100_000, to: T + 130_000 })
    const kept = [node(0, [{ t: 90_000, event: 'connect', peer: 'peer-1', connections: 1 }])]
    assert.equal(reconnectP99(kept, [link(0)]), 0)
    const alone = [node(0, [
      { t: 110_000, event: 'disconnect', peer: 'peer-1', connections: 0 },
      { t: 133_000, event: 'admitted', peer: 'peer-1' }
    ])]
    assert.equal(reconnectP99(alone, [link(0)]), 3_000)
  })
})

/**
 * The chaos harness's reconnect figure (scripts/lib/chaos-metrics.ts, pure):
 * after a link comes back, the node's first admission; after a partition
 * heals, a cut node's first admission of a node on the other side (its
 * connections within its own half say nothing of the cut).
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { computeFigures, wayBackAt } from '../../scripts/lib/chaos-metrics.ts'
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

  it('a node down when its fault ended (killed, or its link down) is timed from when it came back, not from before', () => {
    // node 0 was killed during the partition and restarted 90 s after it healed; node 1's
    // link went down during it and came back 20 s after; node 1 then went down again
    // before that link was back (followed on to the later end)
    const faults: RanFault[] = [
      partition,
      { kind: 'kill', nodes: [0], from: T + 150_000, to: T + 290_000 },
      { kind: 'link', nodes: [1], from: T + 190_000, to: T + 220_000 },
      { kind: 'link', nodes: [1], from: T + 210_000, to: T + 240_000 },
      { kind: 'link', nodes: [1], from: T + 300_000, to: T + 310_000 } // after: not the partition's
    ]
    assert.equal(wayBackAt(0, partition, faults), T + 290_000)
    assert.equal(wayBackAt(1, partition, faults), T + 240_000)
    assert.equal(wayBackAt(2, partition, faults), T + 200_000, 'no fault of its own: the partition\'s end')
    const nodes = [
      node(0, [{ t: 293_000, event: 'admitted', peer: 'peer-2' }]),
      node(1, [{ t: 244_000, event: 'admitted', peer: 'peer-3' }]),
      node(2, []),
      node(3, [])
    ]
    const f = computeFigures({ nodes, revoked: -1, faults: [partition, ...faults.slice(1, 4)], sent: [], startedAt: T, endedAt: T + 600_000, settleFrom: T + 500_000, windowMs: 10_000, rssMb: [], cpuSeconds: 0, startCpuSeconds: 0 })
    assert.equal(f.partitionHealP99Ms, 4_000, 'the slower of 3 s and 4 s after each came back (not 93 s)')
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

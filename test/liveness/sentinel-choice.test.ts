/**
 * Which sentinels a node keeps (src/liveness/sentinel-choice.ts): a few,
 * stable, spread evenly over the sentinels, and others in place of ones
 * that cannot be reached, never all of them (issue #20: every node kept
 * every sentinel, and at 100 nodes the sentinels starved under 60–95
 * connections each).
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { describe, it } from 'node:test'
import { chooseSentinels, rendezvousOrder } from '../../src/liveness/sentinel-choice.ts'

/** distinct, deterministic PeerId-like strings */
const ids = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `12D3KooW${createHash('sha256').update(`${prefix}${i}`).digest('base64url').slice(0, 44)}`)
const sound = (list: string[]): Array<{ id: string, failing: boolean }> => list.map(id => ({ id, failing: false }))

describe('sentinel choice (rendezvous hashing)', () => {
  it('keeps the first `want` of this node\'s own ranking, the same each time, never itself', () => {
    const sentinels = ids('s', 10)
    const self = sentinels[4] as string
    const order = rendezvousOrder(self, sentinels.filter(s => s !== self))
    const kept = chooseSentinels(self, sound(sentinels), 3)
    assert.deepEqual([...kept], order.slice(0, 3))
    assert.ok(!kept.has(self))
    assert.deepEqual([...chooseSentinels(self, sound([...sentinels].reverse()), 3)], [...kept], 'the order of the input does not matter')
    assert.equal(chooseSentinels(self, sound(sentinels.slice(0, 2)), 3).size, 2, 'fewer than wanted: all there are, but itself')
    assert.equal(chooseSentinels(self, sound(sentinels), 0).size, 0)
  })

  it('spreads the load: each of 20 sentinels is kept by about N·want/S of 1,000 nodes, not by all of them', () => {
    const sentinels = ids('s', 20)
    const load = new Map(sentinels.map(s => [s, 0]))
    for (const node of ids('n', 1_000)) {
      for (const s of chooseSentinels(node, sound(sentinels), 3)) {
        load.set(s, (load.get(s) ?? 0) + 1)
      }
    }
    const counts = [...load.values()]
    assert.equal(counts.reduce((a, b) => a + b, 0), 3_000)
    // 150 expected each; a binomial's spread (σ ≈ 12) with a wide margin
    assert.ok(Math.min(...counts) >= 100 && Math.max(...counts) <= 200, `per-sentinel load ${counts.join(',')}`)
  })

  it('a sentinel that leaves moves only the nodes that had chosen it, each by one', () => {
    const sentinels = ids('s', 12)
    const gone = sentinels[7] as string
    let moved = 0
    for (const node of ids('n', 500)) {
      const before = chooseSentinels(node, sound(sentinels), 3)
      const after = chooseSentinels(node, sound(sentinels.filter(s => s !== gone)), 3)
      if (before.has(gone)) {
        moved++
        assert.equal([...after].filter(s => !before.has(s)).length, 1, 'one new sentinel in its place')
      } else {
        assert.deepEqual([...after], [...before], 'a node that had not chosen it keeps its choice')
      }
    }
    assert.ok(moved > 50 && moved < 200, `${moved} of 500 nodes had chosen it (125 expected)`)
  })

  it('keeps the next in the ranking in place of a failing one, but never more than twice `want`', () => {
    const sentinels = ids('s', 10)
    const self = ids('n', 1)[0] as string
    const order = rendezvousOrder(self, sentinels)
    const failing = (down: string[]): Array<{ id: string, failing: boolean }> => sentinels.map(id => ({ id, failing: down.includes(id) }))
    // the first two cannot be reached: still kept (to come back to), and two more meanwhile
    assert.deepEqual([...chooseSentinels(self, failing(order.slice(0, 2)), 3)], order.slice(0, 5))
    // every sentinel failing (this node is cut off): six dialled, not ten
    assert.deepEqual([...chooseSentinels(self, failing(sentinels), 3)], order.slice(0, 6))
    // a failing one past the first `want` changes nothing
    assert.deepEqual([...chooseSentinels(self, failing([order[5] as string]), 3)], order.slice(0, 3))
  })

  it('sentinels keeping `want` = 3 of each other form one connected graph (10, 20, 50, 100 sentinels)', () => {
    for (const n of [10, 20, 50, 100]) {
      const sentinels = ids(`g${n}-`, n)
      const links = new Map(sentinels.map(s => [s, new Set<string>()]))
      for (const s of sentinels) {
        for (const t of chooseSentinels(s, sound(sentinels), 3)) {
          links.get(s)?.add(t)
          links.get(t)?.add(s)
        }
      }
      const seen = new Set([sentinels[0] as string])
      const queue = [sentinels[0] as string]
      while (queue.length > 0) {
        for (const t of links.get(queue.pop() as string) ?? []) {
          if (!seen.has(t)) { seen.add(t); queue.push(t) }
        }
      }
      assert.equal(seen.size, n, `${n} sentinels: ${seen.size} reachable from the first`)
      const degrees = [...links.values()].map(l => l.size)
      assert.ok(Math.max(...degrees) <= 3 + 12, `${n} sentinels: the busiest holds ${Math.max(...degrees)} sentinel links`)
    }
  })
})

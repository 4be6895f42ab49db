/**
 * The mesh watch (src/gossip/mesh-starvation.ts): it says "one more
 * neighbour" only when gossipsub cannot mend a thin mesh itself, waits its
 * patience and its cooldown, and forgets a PRUNE once its backoff is over.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MeshStarvation } from '../../src/gossip/mesh-starvation.ts'

const HUBS = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'h7']

function watch (): { m: MeshStarvation, clock: { t: number } } {
  const clock = { t: 0 }
  const m = new MeshStarvation({ dLo: 4, backoffMs: 60_000, patience: 2, cooldown: 3, now: () => clock.t })
  return { m, clock }
}

/** one heartbeat a second */
function beat (m: MeshStarvation, clock: { t: number }, mesh: string[], subscribers: string[], topic = 't'): string[] {
  clock.t += 1_000
  return m.beat([{ topic, mesh, subscribers }])
}

describe('mesh starvation', () => {
  it('an edge pruned by every hub it is connected to asks for one more neighbour after `patience` heartbeats, then waits its cooldown', () => {
    const { m, clock } = watch()
    for (const h of HUBS) {
      m.pruned('t', h)
    }
    assert.deepEqual(beat(m, clock, [], HUBS), [])
    assert.deepEqual(beat(m, clock, [], HUBS), ['t'])
    // cooldown: 3 heartbeats with nothing said, however stuck
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(beat(m, clock, [], HUBS), [])
    }
    // still stuck after the cooldown: the patience counted meanwhile, so it asks again at once
    assert.deepEqual(beat(m, clock, [], HUBS), ['t'])
  })

  it('says nothing while gossipsub can still graft someone: a connected subscriber that is neither in the mesh nor pruned', () => {
    const { m, clock } = watch()
    for (const h of HUBS.slice(1)) {
      m.pruned('t', h)
    }
    for (let i = 0; i < 5; i++) {
      assert.deepEqual(beat(m, clock, [], HUBS), [])
    }
  })

  it('says nothing with D_lo mesh peers or more, nor with no subscriber at all (the peer keeper\'s case)', () => {
    const { m, clock } = watch()
    for (let i = 0; i < 5; i++) {
      assert.deepEqual(beat(m, clock, ['a', 'b', 'c', 'd'], ['a', 'b', 'c', 'd']), [])
      assert.deepEqual(beat(m, clock, [], [], 'empty'), [])
    }
  })

  it('a thin mesh whose every other subscriber was pruned counts; one that gains a mesh peer starts over', () => {
    const { m, clock } = watch()
    m.pruned('t', 'h1')
    assert.deepEqual(beat(m, clock, ['e1'], ['e1', 'h1']), [])
    assert.deepEqual(beat(m, clock, ['e1', 'e2', 'e3', 'e4'], ['e1', 'e2', 'e3', 'e4', 'h1']), [])
    assert.deepEqual(beat(m, clock, ['e1'], ['e1', 'h1']), [])
    assert.deepEqual(beat(m, clock, ['e1'], ['e1', 'h1']), ['t'])
  })

  it('a PRUNE counts only within its backoff: after it the hub may be grafted again, and nothing is said', () => {
    const { m, clock } = watch()
    m.pruned('t', 'h1')
    assert.deepEqual(beat(m, clock, [], ['h1']), [])
    clock.t += 60_000
    for (let i = 0; i < 4; i++) {
      assert.deepEqual(beat(m, clock, [], ['h1']), [])
    }
  })

  it('names every stuck topic in one request', () => {
    const { m, clock } = watch()
    m.pruned('a', 'h1')
    m.pruned('b', 'h1')
    const beatBoth = (): string[] => { clock.t += 1_000; return m.beat([{ topic: 'a', mesh: [], subscribers: ['h1'] }, { topic: 'b', mesh: [], subscribers: ['h1'] }, { topic: 'c', mesh: [], subscribers: ['h2'] }]) }
    assert.deepEqual(beatBoth(), [])
    assert.deepEqual(beatBoth(), ['a', 'b'])
  })
})

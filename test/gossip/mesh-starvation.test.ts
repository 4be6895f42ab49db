/**
 * The mesh watch (src/gossip/mesh-starvation.ts): it says "one more
 * neighbour" only when gossipsub cannot mend a thin mesh itself, and waits
 * its patience and its cooldown.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MeshStarvation } from '../../src/gossip/mesh-starvation.ts'
import type { TopicMesh } from '../../src/gossip/mesh-starvation.ts'

const watch = (): MeshStarvation => new MeshStarvation({ dLo: 4, patience: 2, cooldown: 3 })
/** an edge connected to the 7 hubs only, every one of them in backoff */
const PRUNED_BY_HUBS: TopicMesh = { topic: 't', mesh: 0, subscribers: 7, graftable: 0 }

describe('mesh starvation', () => {
  it('an edge pruned by every hub it is connected to asks for one more neighbour after `patience` heartbeats, then waits its cooldown', () => {
    const m = watch()
    assert.deepEqual(m.beat([PRUNED_BY_HUBS]), [])
    assert.deepEqual(m.beat([PRUNED_BY_HUBS]), ['t'])
    // cooldown: 3 heartbeats with nothing said, however stuck
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(m.beat([PRUNED_BY_HUBS]), [])
    }
    // still stuck after the cooldown: the patience counted meanwhile, so it asks again at once
    assert.deepEqual(m.beat([PRUNED_BY_HUBS]), ['t'])
  })

  it('says nothing while gossipsub can still graft someone', () => {
    const m = watch()
    for (let i = 0; i < 5; i++) {
      assert.deepEqual(m.beat([{ ...PRUNED_BY_HUBS, graftable: 1 }]), [])
    }
  })

  it('says nothing with D_lo mesh peers or more, nor with no subscriber at all (the peer keeper\'s case)', () => {
    const m = watch()
    for (let i = 0; i < 5; i++) {
      assert.deepEqual(m.beat([{ topic: 't', mesh: 4, subscribers: 7, graftable: 0 }, { topic: 'u', mesh: 0, subscribers: 0, graftable: 0 }]), [])
    }
  })

  it('a thin mesh counts; one that reached D_lo in between starts over', () => {
    const m = watch()
    const thin = { topic: 't', mesh: 1, subscribers: 8, graftable: 0 }
    assert.deepEqual(m.beat([thin]), [])
    assert.deepEqual(m.beat([{ ...thin, mesh: 4 }]), [])
    assert.deepEqual(m.beat([thin]), [])
    assert.deepEqual(m.beat([thin]), ['t'])
  })

  it('names every stuck topic in one request', () => {
    const m = watch()
    const beat = (): string[] => m.beat([{ ...PRUNED_BY_HUBS, topic: 'a' }, { ...PRUNED_BY_HUBS, topic: 'b' }, { ...PRUNED_BY_HUBS, topic: 'c', graftable: 2 }])
    assert.deepEqual(beat(), [])
    assert.deepEqual(beat(), ['a', 'b'])
  })
})

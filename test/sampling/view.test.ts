import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { seededRandom } from '../../src/sampling/random.ts'
import { nextTickDelay } from '../../src/sampling/schedule.ts'
import { CyclonView } from '../../src/sampling/view.ts'
import type { CyclonEntry } from '../../src/sampling/view.ts'

interface Entry extends CyclonEntry<number> { type: 'a' | 'b' }

function network (n: number, c: number, l: number, seed: number, typeOf: (i: number) => 'a' | 'b'): Array<CyclonView<Entry, number>> {
  const random = seededRandom(seed)
  const views = Array.from({ length: n }, (_, i) => new CyclonView<Entry, number>({
    self: i, capacity: c, shuffleLength: l, random, member: true, selfEntry: () => ({ id: i, age: 0, type: typeOf(i) })
  }))
  // a ring to start from
  views.forEach((v, i) => { v.add({ id: (i + 1) % n, age: 0, type: typeOf((i + 1) % n) }) })
  return views
}

function cycle (views: Array<CyclonView<Entry, number>>, alive: (id: number) => boolean = () => true): void {
  for (const v of views) {
    if (!alive(v.self)) continue
    const shuffle = v.startShuffle()
    if (shuffle == null || !alive(shuffle.partner.id)) continue
    const reply = (views[shuffle.partner.id] as CyclonView<Entry, number>).respond(shuffle.sent)
    v.merge(reply, shuffle.sent)
  }
}

describe('Cyclon view (pure)', () => {
  it('keeps its invariants over many random runs: no duplicates, no self, size ≤ c, one type per store', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const views = network(60, 8, 4, seed, () => 'a')
      for (let k = 0; k < 30; k++) {
        cycle(views)
        for (const v of views) {
          const ids = v.entries().map(e => e.id)
          assert.equal(new Set(ids).size, ids.length, 'no duplicates')
          assert.ok(!ids.includes(v.self), 'no self')
          assert.ok(v.size <= v.capacity, 'size ≤ c')
          assert.ok(v.entries().every(e => e.type === 'a'), 'one type')
        }
      }
      const fill = views.reduce((n, v) => n + v.size, 0) / (views.length * 8)
      assert.ok(fill > 0.9, `views fill up from a ring (${fill})`)
    }
  })

  it('the oldest entry is the partner, removed from the view, and the sent set starts with self at age 0', () => {
    const v = new CyclonView<Entry, number>({ self: 0, capacity: 5, shuffleLength: 3, random: seededRandom(3), member: true, selfEntry: () => ({ id: 0, age: 0, type: 'a' }) })
    v.add({ id: 1, age: 4, type: 'a' })
    v.add({ id: 2, age: 9, type: 'a' })
    v.add({ id: 3, age: 1, type: 'a' })
    const s = v.startShuffle()
    assert.equal(s?.partner.id, 2)
    assert.equal(s?.partner.age, 10)
    assert.ok(!v.has(2))
    assert.deepEqual(s?.sent[0], { id: 0, age: 0, type: 'a' })
    assert.equal(s?.sent.length, 3)
    assert.deepEqual(v.entries().map(e => e.age).sort(), [2, 5])
  })

  it('merge fills empty slots first, then replaces what was sent, and drops self and duplicates', () => {
    const v = new CyclonView<Entry, number>({ self: 0, capacity: 3, shuffleLength: 3, random: seededRandom(5), member: true, selfEntry: () => ({ id: 0, age: 0, type: 'a' }) })
    v.add({ id: 1, age: 0, type: 'a' })
    v.add({ id: 2, age: 0, type: 'a' })
    const sent = [{ id: 0, age: 0, type: 'a' as const }, { id: 1, age: 0, type: 'a' as const }]
    v.merge([{ id: 0, age: 0, type: 'a' }, { id: 2, age: 7, type: 'a' }, { id: 5, age: 1, type: 'a' }, { id: 6, age: 1, type: 'a' }, { id: 7, age: 1, type: 'a' }], sent)
    // 5 fills the empty slot, 6 replaces 1 (sent), 7 has nothing left to replace
    assert.deepEqual(v.entries().map(e => e.id).sort(), [2, 5, 6])
    assert.equal(v.get(2)?.age, 0, 'a duplicate does not overwrite')
  })

  it('when fewer entries come back than were sent, the oldest sent entries (by this view\'s ages) are replaced and the freshest kept', () => {
    const make = (capacity: number): CyclonView<Entry, number> => {
      const v = new CyclonView<Entry, number>({ self: 0, capacity, shuffleLength: 5, random: seededRandom(7), member: true, selfEntry: () => ({ id: 0, age: 0, type: 'a' }) })
      v.add({ id: 1, age: 2, type: 'a' })
      v.add({ id: 2, age: 9, type: 'a' })
      v.add({ id: 3, age: 5, type: 'a' })
      v.add({ id: 4, age: 0, type: 'a' })
      return v
    }
    // sent in an order that is not the age order (as a random pick would be); the copies'
    // ages say the opposite of the view's, and the view's decide
    const sent = [{ id: 0, age: 0, type: 'a' as const }, { id: 4, age: 9, type: 'a' as const }, { id: 2, age: 0, type: 'a' as const }, { id: 1, age: 7, type: 'a' as const }, { id: 3, age: 1, type: 'a' as const }]
    const reply = (): Entry[] => [{ id: 8, age: 1, type: 'a' }, { id: 4, age: 3, type: 'a' }, { id: 9, age: 1, type: 'a' }]
    // full view: two new entries and one duplicate; the two oldest sent (2, then 3) make room
    const full = make(5)
    full.add({ id: 5, age: 1, type: 'a' })
    full.merge(reply(), sent)
    assert.deepEqual(full.entries().map(e => e.id).sort(), [1, 4, 5, 8, 9])
    // one empty slot: 8 fills it, 9 replaces the oldest sent (2)
    const roomy = make(5)
    roomy.merge(reply(), sent)
    assert.deepEqual(roomy.entries().map(e => e.id).sort(), [1, 3, 4, 8, 9])
  })

  it('an observer pulls only: it sends nothing, not even itself', () => {
    const v = new CyclonView<Entry, number>({ self: 9, capacity: 4, shuffleLength: 2, random: seededRandom(1), member: false })
    v.add({ id: 1, age: 0, type: 'b' })
    v.add({ id: 2, age: 0, type: 'b' })
    const s = v.startShuffle()
    assert.ok(s != null)
    assert.deepEqual(s.sent, [])
    v.completeShuffle(s, [{ id: 3, age: 0, type: 'b' }, { id: 4, age: 0, type: 'b' }])
    assert.equal(v.size, 4, 'the two pulled entries, the one left, and the partner that answered')
    assert.ok(v.has(s.partner.id))
    assert.equal(v.get(s.partner.id)?.age, 0)
    assert.ok(!v.has(9))
  })

  it('a partner that does not answer is gone after one shuffle', () => {
    const views = network(30, 6, 3, 11, () => 'a')
    for (let k = 0; k < 20; k++) cycle(views)
    const dead = 7
    const holders = views.filter(v => v.has(dead))
    assert.ok(holders.length > 0)
    // each holder shuffles until it picks the dead node: then it is gone
    for (const v of holders) {
      for (let guard = 0; guard < 50 && v.has(dead); guard++) {
        const s = v.startShuffle()
        if (s != null && s.partner.id !== dead) {
          v.merge((views[s.partner.id] as CyclonView<Entry, number>).respond(s.sent), s.sent)
        }
      }
      assert.ok(!v.has(dead))
    }
  })

  it('samples uniformly over the view', () => {
    const v = new CyclonView<Entry, number>({ self: 0, capacity: 10, shuffleLength: 3, random: seededRandom(42), member: true, selfEntry: () => ({ id: 0, age: 0, type: 'a' }) })
    for (let i = 1; i <= 10; i++) v.add({ id: i, age: 0, type: 'a' })
    const counts = new Map<number, number>()
    for (let k = 0; k < 20_000; k++) {
      for (const e of v.sample(2)) counts.set(e.id, (counts.get(e.id) ?? 0) + 1)
    }
    for (const n of counts.values()) {
      assert.ok(Math.abs(n - 4000) < 300, `each entry drawn ~4000 times, got ${n}`)
    }
  })
})

describe('tick schedule', () => {
  it('members shuffle every period; observers pull every observer period, or every period while their view is empty', () => {
    assert.equal(nextTickDelay({ member: true, size: 0, periodMs: 4_000, observerPeriodMs: 16_000 }), 4_000)
    assert.equal(nextTickDelay({ member: true, size: 20, periodMs: 4_000, observerPeriodMs: 60_000 }), 4_000)
    assert.equal(nextTickDelay({ member: false, size: 0, periodMs: 8_000, observerPeriodMs: 32_000 }), 8_000)
    assert.equal(nextTickDelay({ member: false, size: 1, periodMs: 8_000, observerPeriodMs: 32_000 }), 32_000, 'a view smaller than l is not pulled at the members\' rate')
    assert.equal(nextTickDelay({ member: false, size: 10, periodMs: 8_000, observerPeriodMs: 20_000 }), 20_000)
  })
})

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { seededRandom } from '../../src/sampling/random.ts'
import { numericDigest, SlotDraw, SlotSampler, slotRank } from '../../src/sampling/slot-sampler.ts'

interface E { id: number, tag?: string }

const make = (seed: number, init: Partial<{ groups: number, slotsPerGroup: number, resetEvery: number }> = {}): SlotSampler<E, number> =>
  new SlotSampler<E, number>({ self: -1, groups: 4, slotsPerGroup: 5, resetEvery: Infinity, random: seededRandom(seed), digest: numericDigest, ...init })

const ids = (s: SlotSampler<E, number>): number[] => s.distinct().map(e => e.id).sort((a, b) => a - b)
/** everything a sampler knows, numbers and references: two samplers in the same state give the same */
const state = (s: SlotSampler<E, number>): unknown => ({ num: [...((s as any).num as Int32Array)], refs: [...(s as any).refs] })

describe('slot sampler (pure, Basalt-style bottom-k groups)', () => {
  it('holds the same ids however often each is seen: repetition buys an attacker nothing', () => {
    const once = make(1)
    const flooded = make(1)
    for (let id = 0; id < 500; id++) once.observe({ id })
    for (let round = 0; round < 50; round++) {
      for (let id = 0; id < 50; id++) flooded.observe({ id }) // the "attackers", fifty times over
      if (round === 0) for (let id = 50; id < 500; id++) flooded.observe({ id })
    }
    assert.deepEqual(ids(flooded), ids(once))
  })

  it('one group keeps the k ids of lowest keyed rank among those seen', () => {
    const s = make(2, { groups: 1, slotsPerGroup: 7 })
    const seen = Array.from({ length: 300 }, (_, i) => i * 7 + 3)
    for (const id of seen) s.observe({ id })
    // the seed is private: recover the group's choice by checking it is closed under "lower rank wins"
    const held = new Set(ids(s))
    assert.equal(held.size, 7)
    // one group: its seeds are the first two numbers of the sampler's block
    const seedOf = (s as any).num[0] as number
    const seedB = (s as any).num[1] as number
    const ranked = seen.map(id => ({ id, r: slotRank(numericDigest(id), seedOf, seedB) })).sort((a, b) => a.r - b.r)
    assert.deepEqual([...held].sort((a, b) => a - b), ranked.slice(0, 7).map(x => x.id).sort((a, b) => a - b))
  })

  it('samples ids uniformly: over many seeds, every one of 200 ids is held about equally often', () => {
    const counts = new Array<number>(200).fill(0)
    const runs = 400
    for (let seed = 0; seed < runs; seed++) {
      const s = make(1000 + seed)
      for (let id = 0; id < 200; id++) s.observe({ id })
      for (const e of s.sample(10)) counts[e.id] = (counts[e.id] ?? 0) + 1
    }
    const expected = runs * 10 / 200
    const chi2 = counts.reduce((a, c) => a + (c - expected) ** 2 / expected, 0)
    // 199 degrees of freedom: the 99.9th percentile is about 267
    assert.ok(chi2 < 267, `chi² ${chi2.toFixed(1)} over 199 degrees of freedom`)
  })

  it('never samples itself, and samples distinct ids', () => {
    const s = new SlotSampler<E, number>({ self: 7, groups: 3, slotsPerGroup: 4, resetEvery: Infinity, random: seededRandom(3), digest: numericDigest })
    for (let id = 0; id < 10; id++) s.observe({ id })
    const got = s.sample(100).map(e => e.id)
    assert.ok(!got.includes(7))
    assert.equal(new Set(got).size, got.length)
  })

  it('picks the least-hit slot as partner: ids seen over and over are chosen last', () => {
    const s = make(4, { groups: 1, slotsPerGroup: 6 })
    for (let id = 0; id < 6; id++) s.observe({ id })
    const flooded = ids(s).slice(0, 3)
    for (let k = 0; k < 20; k++) for (const id of flooded) s.observe({ id })
    const chosen = new Set<number>()
    for (let k = 0; k < 3; k++) chosen.add((s.partner() as E).id)
    assert.deepEqual([...chosen].sort(), ids(s).filter(id => !flooded.includes(id)).sort(), 'the three quiet ids first')
    // a partner that cannot be contacted now is passed over
    assert.equal(s.partner(e => e.id === flooded[0])?.id, flooded[0])
    assert.equal(s.partner(() => false), undefined)
  })

  it('keeps the latest copy of an entry it holds (its evidence is the freshest)', () => {
    const s = make(5, { groups: 1, slotsPerGroup: 3 })
    for (let id = 0; id < 3; id++) s.observe({ id, tag: 'old' })
    s.observe({ id: 1, tag: 'new' })
    assert.equal(s.get(1)?.tag, 'new')
  })

  it('forgets a dead id; its slot goes to the next id of its group seen', () => {
    const s = make(6)
    for (let id = 0; id < 100; id++) s.observe({ id })
    const victim = ids(s)[0] as number
    const before = s.filled
    assert.equal(s.forget(victim), 1)
    assert.equal(s.has(victim), false)
    assert.equal(s.filled, before - 1)
    assert.equal(s.forget(victim), 0)
    for (let id = 100; id < 400; id++) s.observe({ id })
    assert.equal(s.filled, before, 'filled again by later ids')
    assert.ok(s.forgetWhere(e => e.id < 200) >= 1)
    assert.ok(ids(s).every(id => id >= 200))
  })

  it('re-seeds one group every resetEvery rounds, ranking again what it held', () => {
    const s = make(7, { groups: 2, slotsPerGroup: 4, resetEvery: 3 })
    for (let id = 0; id < 100; id++) s.observe({ id })
    const seeds = (): number[] => [...((s as any).num as Int32Array).subarray(0, 2)] // seed A of each group
    const before = seeds()
    s.round(); s.round()
    assert.deepEqual(seeds(), before, 'nothing before the third round')
    s.round()
    const after = seeds()
    assert.notEqual(after[0], before[0], 'group 0 re-seeded')
    assert.equal(after[1], before[1], 'group 1 kept')
    assert.equal(s.filled, 8, 'the re-seeded group ranks again what it held: full at once')
    s.round(); s.round(); s.round()
    assert.notEqual(seeds()[1], before[1], 'then group 1, round robin')
  })

  it('wouldKeep says exactly which unheld ids observe would keep; touch adds a hit to a held id only', () => {
    const s = make(5, { groups: 2, slotsPerGroup: 3 })
    for (let id = 0; id < 40; id++) s.observe({ id })
    for (let id = 40; id < 400; id++) {
      const probe = make(5, { groups: 2, slotsPerGroup: 3 })
      for (let j = 0; j < 40; j++) probe.observe({ id: j })
      const predicted = probe.wouldKeep(id)
      probe.observe({ id })
      assert.equal(predicted, probe.has(id), `id ${id}`)
    }
    const held = ids(s)
    assert.ok(held.every(id => !s.wouldKeep(id)), 'a held id is not asked for again')
    assert.equal(s.wouldKeep(-1), false, 'nor is self')
    // touch: the touched id is chosen as partner last
    for (const id of held.slice(1)) s.touch(id)
    assert.equal(s.partner()?.id, held[0])
    assert.equal(s.touch(10_000), false)
  })

  it('every group keeps the k ids of lowest keyed rank of its part, for any number of groups (the reference model)', () => {
    for (const groups of [1, 3, 8]) {
      const s = make(20 + groups, { groups, slotsPerGroup: 6 })
      const seen = Array.from({ length: 900 }, (_, i) => (i * 7919) % 5003)
      for (const id of seen) s.observe({ id })
      // the sampler's keys (its block: seeds A at g, B at G + g, the partition's keys at 5G, 5G + 1)
      const num = (s as any).num as Int32Array
      const part = (id: number): number => slotRank(numericDigest(id), num[5 * groups] as number, num[5 * groups + 1] as number) % groups
      const expected: number[] = []
      for (let g = 0; g < groups; g++) {
        const mine = [...new Set(seen)].filter(id => part(id) === g)
        mine.sort((a, b) => slotRank(numericDigest(a), num[g] as number, num[groups + g] as number) - slotRank(numericDigest(b), num[g] as number, num[groups + g] as number))
        expected.push(...mine.slice(0, 6))
      }
      assert.deepEqual(ids(s), expected.sort((a, b) => a - b), `${groups} groups`)
    }
  })

  it('observeFrom and drawInto + observeDraw leave a sampler as observing each entry drawn would', () => {
    const sender = make(30)
    for (let id = 0; id < 400; id++) sender.observe({ id, tag: `e${id}` })
    const receivers = [make(31), make(31), make(31)]
    for (const r of receivers) for (let id = 300; id < 700; id++) r.observe({ id })
    const [one, from, drawn] = receivers as [SlotSampler<E, number>, SlotSampler<E, number>, SlotSampler<E, number>]
    one.observeAll(sender.distinct()) // every id held, in slot order: what a draw of them all is
    from.observeFrom(sender, 1000)
    const draw = new SlotDraw<E, number>()
    assert.equal(sender.drawInto(1000, draw), sender.filled)
    drawn.observeDraw(draw)
    assert.deepEqual(state(from), state(one))
    assert.deepEqual(state(drawn), state(one))
    assert.equal(from.get(ids(from).find(id => id < 300) as number)?.tag?.startsWith('e'), true, 'entries come with the ids')
  })

  it('drawInto fewer than held: distinct ids among those held, each equally likely', () => {
    const counts = new Map<number, number>()
    const s = make(40, { groups: 2, slotsPerGroup: 10 })
    for (let id = 0; id < 300; id++) s.observe({ id })
    const held = ids(s)
    const draw = new SlotDraw<E, number>()
    const runs = 4000
    for (let k = 0; k < runs; k++) {
      assert.equal(s.drawInto(5, draw), 5)
      const got = draw.ids.slice(0, 5) as number[]
      assert.equal(new Set(got).size, 5)
      for (const id of got) {
        assert.ok(held.includes(id))
        counts.set(id, (counts.get(id) ?? 0) + 1)
      }
    }
    const expected = runs * 5 / held.length
    const chi2 = held.reduce((a, id) => a + ((counts.get(id) ?? 0) - expected) ** 2 / expected, 0)
    // 19 degrees of freedom: the 99.9th percentile is about 43.8
    assert.ok(chi2 < 43.8, `chi² ${chi2.toFixed(1)}`)
    // a draw for another sampler, fewer than held, in place
    const r = make(41)
    r.observeFrom(s, 5)
    assert.equal(r.filled, 5)
  })

  it('breaks ties between least-hit slots uniformly at random', () => {
    const counts = new Map<number, number>()
    for (let seed = 0; seed < 3000; seed++) {
      const s = make(5000 + seed, { groups: 1, slotsPerGroup: 6 })
      for (let id = 0; id < 6; id++) s.observe({ id }) // six ids, one hit each
      const p = (s.partner() as E).id
      counts.set(p, (counts.get(p) ?? 0) + 1)
    }
    assert.equal(counts.size, 6)
    for (const [, c] of counts) assert.ok(c > 3000 / 6 * 0.8 && c < 3000 / 6 * 1.2, `${c} of 3000`)
  })

  it('refuses nonsense parameters by name', () => {
    assert.throws(() => make(1, { groups: 0 }), /groups/)
    assert.throws(() => make(1, { slotsPerGroup: 1.5 }), /slotsPerGroup/)
    assert.throws(() => make(1, { resetEvery: 0 }), /resetEvery/)
  })
})

/**
 * The simulator's fast paths (scripts/lib/flat-views.ts, flat-samplers.ts)
 * against the classes the nodes run (src/sampling/view.ts, slot-sampler.ts):
 * the same operations from the same seed must leave the same ids, ages,
 * hits and partners, and draw the same random numbers, so that the
 * simulator's figures are the nodes' classes' figures.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { seededRandom } from '../../src/sampling/random.ts'
import { numericDigest, SlotSampler } from '../../src/sampling/slot-sampler.ts'
import { CyclonView } from '../../src/sampling/view.ts'
import { exchangeSamples } from '../../scripts/lib/cyclon-attacks.ts'
import { FlatSamplers } from '../../scripts/lib/flat-samplers.ts'
import { FlatViews } from '../../scripts/lib/flat-views.ts'
import type { CyclonEntry } from '../../src/sampling/view.ts'

type Entry = CyclonEntry<number>

describe('the simulator\'s flat views and samplers', () => {
  for (const [n, c, l] of [[60, 8, 4], [200, 20, 8], [30, 5, 5]] as Array<[number, number, number]>) {
    it(`FlatViews shuffles as CyclonView does, draw for draw (N = ${n}, c = ${c}, l = ${l}, a third dead half-way)`, () => {
      const ra = seededRandom(7)
      const rb = seededRandom(7)
      // the simulator's CyclonViews: one shared entry object per node
      const entryOf: Entry[] = Array.from({ length: n }, (_, i) => ({ id: i, age: 0 }))
      const entry = (id: number): Entry => { const e = entryOf[id] as Entry; e.age = 0; return e }
      const same = (e: Entry): Entry => e
      const views = Array.from({ length: n }, (_, i) => new CyclonView<Entry, number>({ self: i, capacity: c, shuffleLength: l, random: ra, member: true, selfEntry: entry, copy: same }))
      const flat = new FlatViews(n, c, l, rb)
      // a start with some views full and some not
      const setup = seededRandom(99)
      for (let u = 0; u < n; u++) {
        const want = 1 + Math.floor(setup() * c)
        for (let t = 0; t < 4 * c && (views[u] as CyclonView<Entry, number>).size < want; t++) {
          const id = Math.floor(setup() * n)
          assert.equal((views[u] as CyclonView<Entry, number>).add(entry(id)), flat.add(u, id))
        }
      }
      const alive = new Uint8Array(n).fill(1)
      const same2 = (u: number): void => {
        const v = views[u] as CyclonView<Entry, number>
        const es = v.entries()
        assert.deepEqual([...flat.entries(u)], es.map(e => e.id), `node ${u}'s ids`)
        // ages as the view holds them (entries() writes them into the shared objects)
        const ages = (v as any).slots.filter((_: unknown, i: number) => i % 3 === 2).slice(0, es.length)
        assert.deepEqual([...(flat as any).v.subarray(u * (flat as any).stride + 1 + c, u * (flat as any).stride + 1 + c + es.length)], ages, `node ${u}'s ages`)
      }
      for (let k = 1; k <= 30; k++) {
        if (k === 15) for (let u = 0; u < n; u += 3) alive[u] = 0
        for (let u = 0; u < n; u++) {
          if (alive[u] === 0) continue
          const v = views[u] as CyclonView<Entry, number>
          let s = v.startShuffle()
          let ok = flat.start(u)
          assert.equal(ok, s != null)
          for (let r = 0; s != null && alive[s.partner.id] === 0 && r < 2; r++) {
            s = v.startShuffle(false)
            ok = flat.start(u, false)
            assert.equal(ok, s != null)
          }
          if (s == null) continue
          assert.equal(flat.partner, s.partner.id)
          assert.deepEqual([...flat.sentIds.subarray(0, flat.sentCount)], s.sent.map(e => e.id))
          if (alive[s.partner.id] === 0) continue
          const reply = (views[s.partner.id] as CyclonView<Entry, number>).respond(s.sent)
          flat.respond(s.partner.id)
          assert.deepEqual([...flat.replyIds.subarray(0, flat.replyCount)], reply.map(e => e.id))
          v.completeShuffle(s, reply)
          flat.complete(u)
          same2(u)
          same2(s.partner.id)
        }
        assert.equal(ra(), rb(), `the same draws after cycle ${k}`)
      }
      for (let u = 0; u < n; u++) same2(u)
    })
  }

  // (an exchange of every slot reads both blocks in place, with the kernel (4, 8 groups) and without it (3); a shorter one draws)
  for (const [groups, k, length] of [[4, 5, 20], [3, 4, 7], [3, 4, 12], [8, 15, 120]] as Array<[number, number, number]>) {
    it(`FlatSamplers keeps the ids SlotSampler keeps, hit for hit and draw for draw (${groups} × ${k} slots, exchanges of ${length})`, () => {
      const n = 80
      const ra = seededRandom(11)
      const rb = seededRandom(11)
      const resetEvery = 7
      const entryOf: Entry[] = Array.from({ length: n }, (_, i) => ({ id: i, age: 0 }))
      const entry = (id: number): Entry => entryOf[id] as Entry
      const slot = Array.from({ length: n }, (_, i) => new SlotSampler<Entry, number>({ self: i, groups, slotsPerGroup: k, resetEvery, random: ra, digest: numericDigest }))
      const flat = new FlatSamplers(n, { groups, slotsPerGroup: k, resetEvery }, rb)
      for (let u = 0; u < n; u++) flat.init(u)
      const ops = seededRandom(5)
      const list = new Int32Array(8)
      for (let round = 1; round <= 40; round++) {
        for (let u = 0; u < n; u++) {
          const s = slot[u] as SlotSampler<Entry, number>
          // a few ids seen (a shuffle's), one by one and as a list
          for (let i = 0; i < 8; i++) list[i] = Math.floor(ops() * n)
          s.observeAll([...list].map(entry))
          flat.observeAll(u, list, 8)
          const one = Math.floor(ops() * n)
          s.observe(entry(one))
          flat.observe(u, one)
          // an exchange with the least-hit slot, or a forgotten partner now and then
          const p = s.partner()
          const q = flat.partner(u)
          assert.equal(q, p?.id ?? -1, `round ${round}, node ${u}'s partner`)
          if (p != null && ops() < 0.1) {
            assert.equal(flat.forget(u, p.id), s.forget(p.id))
          } else if (p != null) {
            exchangeSamples(s, slot[p.id] as SlotSampler<Entry, number>, length, entry)
            flat.exchange(u, p.id, length)
          }
          s.round()
          flat.round(u)
        }
        for (let u = 0; u < n; u++) {
          const s = slot[u] as SlotSampler<Entry, number>
          assert.deepEqual(flat.distinct(u), s.distinct().map(e => e.id), `round ${round}, node ${u}'s ids`)
          // SlotSampler's hits, per slot at 5G + 2 + G·k (slot-sampler.ts), of the slots in use
          const num = (s as any).num as Int32Array
          const at = 5 * groups + 2 + groups * k
          const inUse = (i: number): boolean => i % k < (num[3 * groups + Math.floor(i / k)] as number)
          assert.deepEqual(flat.hits(u), [...num.subarray(at, at + groups * k)].filter((_, i) => inUse(i)), `round ${round}, node ${u}'s hits`)
        }
        assert.equal(ra(), rb(), `the same draws after round ${round}`)
      }
      for (let u = 0; u < 5; u++) assert.deepEqual(flat.sample(u, 6), (slot[u] as SlotSampler<Entry, number>).sample(6).map(e => e.id))
    })
  }
})

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { seededRandom } from '../../src/sampling/random.ts'
import { BootstrapPartners, isBootstrapRound } from '../../src/sampling/bootstrap-partners.ts'
import { SAMPLER_DEFAULTS } from '../../src/sampling/constants.ts'

interface E { id: string }

const rule = { bootstrapRounds: 10, anchorEvery: 10 }
const make = (seed = 1, init: Partial<typeof rule> = {}): BootstrapPartners<E> => new BootstrapPartners<E>({ ...rule, ...init, random: seededRandom(seed) })
const attacker: E = { id: 'attacker' }
const leastHit = (): E => attacker

describe('the sample exchange\'s partner rule (pure)', () => {
  it('the defaults are the simulator\'s: 10 first rounds, then one in 10', () => {
    assert.equal(SAMPLER_DEFAULTS.bootstrapRounds, 10)
    assert.equal(SAMPLER_DEFAULTS.anchorEvery, 10)
  })

  it('rounds 1..bootstrapRounds, then one in anchorEvery at the phase given', () => {
    const rounds = (phase: number): number[] => Array.from({ length: 50 }, (_, i) => i + 1).filter(k => isBootstrapRound(k, rule, phase))
    assert.deepEqual(rounds(0), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 20, 30, 40, 50])
    assert.deepEqual(rounds(3), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 17, 27, 37, 47])
    assert.deepEqual(Array.from({ length: 30 }, (_, i) => i + 1).filter(k => isBootstrapRound(k, { bootstrapRounds: 2, anchorEvery: 0 }, 0)), [1, 2])
  })

  it('a new sampler\'s first rounds go to the first peers its view held, never to its least-hit slot', () => {
    const p = make()
    const first = [{ id: 'a' }, { id: 'b' }, { id: 'c' }]
    p.viewHolds(first)
    p.viewHolds([{ id: 'later' }]) // the first peers stay the bootstrap peers
    const chosen = Array.from({ length: 10 }, () => p.choose(() => [], leastHit))
    assert.ok(chosen.every(c => c?.bootstrap === true && ['a', 'b', 'c'].includes(c.partner.id)), JSON.stringify(chosen))
    // spread over them (30 draws of three ids: each is drawn)
    const more = make(2)
    more.viewHolds(first)
    const ids = new Set(Array.from({ length: 10 }, () => more.choose(() => [], leastHit)?.partner.id))
    assert.equal(ids.size, 3)
  })

  it('after the first rounds: one round in anchorEvery goes to a bootstrap peer, the others to the least-hit slot', () => {
    const p = make(3)
    p.viewHolds([{ id: 'a' }])
    const kinds = Array.from({ length: 110 }, () => p.choose(() => [], leastHit)?.bootstrap)
    assert.ok(kinds.slice(0, 10).every(b => b === true))
    const after = kinds.slice(10)
    assert.equal(after.filter(b => b === true).length, 10)
    // evenly: one in each block of ten rounds
    for (let i = 0; i < 100; i += 10) assert.equal(after.slice(i, i + 10).filter(b => b === true).length, 1)
    assert.equal(p.round, 110)
  })

  it('configured bootstrap peers count beside the recorded ones, each id once; asked only in a bootstrap round', () => {
    const p = make(4, { bootstrapRounds: 40, anchorEvery: 0 })
    let asked = 0
    const configured = (): E[] => { asked++; return [{ id: 's1' }, { id: 'a' }] }
    p.viewHolds([{ id: 'a' }])
    const ids = Array.from({ length: 40 }, () => p.choose(configured, leastHit)?.partner.id)
    assert.deepEqual([...new Set(ids)].sort(), ['a', 's1'])
    assert.equal(asked, 40)
    assert.equal(p.choose(configured, leastHit)?.bootstrap, false)
    assert.equal(asked, 40)
  })

  it('with no bootstrap peer a bootstrap round falls back to the least-hit slot; none at all gives none', () => {
    const p = make()
    assert.deepEqual(p.choose(() => [], leastHit), { partner: attacker, bootstrap: false })
    assert.equal(p.choose(() => [], () => undefined), undefined)
  })

  it('a peer that failed leaves the set; an emptied set is recorded again from the view', () => {
    const p = make()
    p.viewHolds([{ id: 'a' }, { id: 'b' }])
    p.forget('a')
    assert.deepEqual(p.peers.map(e => e.id), ['b'])
    assert.ok(Array.from({ length: 5 }, () => p.choose(() => [], leastHit)).every(c => c?.partner.id === 'b'))
    p.forget('b')
    assert.equal(p.choose(() => [], leastHit)?.bootstrap, false)
    p.viewHolds([{ id: 'c' }])
    assert.deepEqual(p.choose(() => [], leastHit), { partner: { id: 'c' }, bootstrap: true })
  })

  it('refuses settings that are not whole numbers ≥ 0', () => {
    assert.throws(() => make(1, { bootstrapRounds: -1 }), RangeError)
    assert.throws(() => make(1, { anchorEvery: 2.5 }), RangeError)
  })
})

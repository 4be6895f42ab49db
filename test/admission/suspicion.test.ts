import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { SuspicionScores } from '../../src/admission/suspicion.ts'

describe('suspicion scores (pure, injected clock)', () => {
  it('rises by weight, throttles, quarantines for a cooldown, bans, and decays', () => {
    let now = 0
    const s = new SuspicionScores({ halfLifeMs: 60_000, throttleAt: 10, quarantineAt: 25, banAt: 100, quarantineMs: 30_000 }, () => now)
    assert.equal(s.state('p'), 'ok')
    assert.equal(s.raise('p', 10).state, 'throttled')
    const q = s.raise('p', 20)
    assert.equal(q.state, 'quarantined')
    assert.equal(q.previous, 'throttled')
    now += 30_001
    assert.notEqual(s.state('p'), 'quarantined', 'the cooldown ends')
    now += 10 * 60_000
    assert.ok(s.score('p') < 1, 'decay restores reputation')
    assert.equal(s.state('p'), 'ok')
    assert.equal(s.raise('p', 150).state, 'banned')
    now += 24 * 3_600_000
    assert.equal(s.state('p'), 'banned', 'a ban does not decay')
    s.clear('p')
    assert.equal(s.state('p'), 'ok')
    assert.equal(s.score('p'), 0)
  })

  it('judges a charge at the instant it was made: an offence worth exactly a threshold reaches it though the clock ticks on every reading', () => {
    // the mechanism of a CI failure: the score was raised at t and judged at t + 1 ms, decayed under 10
    let now = 0
    const s = new SuspicionScores({}, () => now++)
    assert.equal(s.charge('p', 'malformed-frame').state, 'throttled')
    assert.equal(s.charge('q', 'malformed-frame', 'admission:malformed').state, 'throttled')
    assert.equal(s.raise('r', 25).state, 'quarantined')
  })

  it('bans a peer that is quarantined again and again soon after each release, though its score stays under the ban threshold', () => {
    let now = 0
    const s = new SuspicionScores({ halfLifeMs: 10 * 60_000, quarantineAt: 25, banAt: 100, quarantineMs: 10 * 60_000, repeatBanAfter: 3, repeatWindowMs: 3_600_000 }, () => now)
    // a flooder: 35 per episode, back as soon as each quarantine ends
    assert.equal(s.raise('f', 35).state, 'quarantined')
    now += 10 * 60_000 + 1
    assert.equal(s.raise('f', 35).state, 'quarantined')
    assert.ok(s.score('f') < 100)
    now += 10 * 60_000 + 1
    assert.equal(s.raise('f', 35).state, 'banned')
    assert.ok(s.score('f') < 100, 'banned for repeating, not for its score')
    // an occasional offender, hours apart, is never banned this way
    for (let i = 0; i < 5; i++) {
      assert.equal(s.raise(`o`, 30).state, 'quarantined')
      now += 3 * 3_600_000
    }
  })
})

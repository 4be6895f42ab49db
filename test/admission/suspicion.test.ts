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
})

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DEFAULT_SUSPICION_POLICY, MAX_EPISODES_PER_PEER, OFFENCES, SuspicionScores } from '../../src/admission/suspicion.ts'

// issue #13 item 7: one offence episode is charged once, nothing is charged
// while a peer is quarantined, and repeating or flooding one cause still costs

describe('suspicion episodes (pure, injected clock)', () => {
  it('a burst of 32 refusals of one cause costs what one offence costs', () => {
    let now = 0
    const s = new SuspicionScores({}, () => now)
    for (let i = 0; i < 32; i++) {
      s.charge('p', 'rpc-denied', 'echo.back')
      now += 3
    }
    assert.ok(Math.abs(s.score('p') - OFFENCES['rpc-denied']) < 0.01, `score ${s.score('p')}`)
    assert.equal(s.state('p'), 'ok')
  })

  it('a scanner pays for every cause: five denied methods quarantine it', () => {
    const s = new SuspicionScores({}, () => 0)
    const states = ['a.one', 'a.two', 'a.three', 'a.four', 'a.five'].map(m => s.charge('p', 'rpc-denied', m).state)
    assert.deepEqual(states, ['ok', 'throttled', 'throttled', 'throttled', 'quarantined'])
  })

  it('nothing is charged while a peer is quarantined or banned, and charges resume after the cooldown', () => {
    let now = 0
    const s = new SuspicionScores({}, () => now)
    assert.equal(s.raise('p', 30).state, 'quarantined')
    const at = s.score('p')
    for (let i = 0; i < 100; i++) {
      const change = s.charge('p', i % 2 === 0 ? 'malformed-frame' : 'rpc-denied', i % 3 === 0 ? undefined : `m.f${i}`)
      assert.equal(change.state, 'quarantined')
      assert.equal(change.previous, 'quarantined')
    }
    assert.equal(s.raise('p', 500).state, 'quarantined', 'a raw raise charges nothing either')
    assert.equal(s.score('p'), at)
    now += DEFAULT_SUSPICION_POLICY.quarantineMs + 1
    const before = s.score('p')
    s.charge('p', 'rpc-denied', 'm.f')
    assert.ok(s.score('p') > before + 4.9, 'charged again once the cooldown is over')
    s.ban('b')
    assert.equal(s.charge('b', 'forged-token').state, 'banned')
    assert.equal(s.score('b'), DEFAULT_SUSPICION_POLICY.banAt)
  })

  it('an episode ends when its cause has been quiet for the gap', () => {
    let now = 0
    const s = new SuspicionScores({}, () => now)
    s.charge('p', 'rpc-denied', 'x.y')
    now += DEFAULT_SUSPICION_POLICY.episodeGapMs - 1
    s.charge('p', 'rpc-denied', 'x.y')
    assert.ok(s.score('p') < 5, 'inside the gap: free (and decaying)')
    now += DEFAULT_SUSPICION_POLICY.episodeGapMs + 1
    const before = s.score('p')
    s.charge('p', 'rpc-denied', 'x.y')
    assert.ok(Math.abs(s.score('p') - before - 5) < 0.001, 'after the gap: a new offence')
  })

  it('one cause repeated forever keeps costing, yet an honest repeat every 30 s stays under the throttle threshold', () => {
    let now = 0
    const s = new SuspicionScores({}, () => now)
    let peak = 0
    let charges = 0
    for (let t = 0; t <= 4 * 3_600_000; t += 30_000) {
      now = t
      const before = s.score('p')
      s.charge('p', 'rpc-denied', 'admin.ping')
      if (s.score('p') > before + 1) charges++
      peak = Math.max(peak, s.score('p'))
      assert.equal(s.state('p'), 'ok', `at ${t / 60_000} min: ${s.score('p')}`)
    }
    // once per episodeMaxMs (15 min) over 4 h
    assert.equal(charges, 4 * 60 / 15 + 1)
    assert.ok(peak > 7 && peak < 7.8, `peak ${peak}: 5 / (1 − 2^−1.5) = 7.74`)
  })

  it('a flood of one cause pays a full offence every episodeMaxOffences', () => {
    const s = new SuspicionScores({}, () => 0)
    let state = s.state('f')
    let sent = 0
    for (; sent < 10_000 && state !== 'quarantined'; sent++) {
      state = s.charge('f', 'rpc-denied', 'admin.ping').state
    }
    assert.equal(state, 'quarantined')
    assert.equal(sent, 4 * DEFAULT_SUSPICION_POLICY.episodeMaxOffences + 1, 'the fifth full charge (25) quarantines')
  })

  it('offences without a cause are each charged in full (as before)', () => {
    const s = new SuspicionScores({}, () => 0)
    s.charge('p', 'bad-gossip')
    s.charge('p', 'bad-gossip')
    assert.equal(s.score('p'), 10)
  })

  it('keeps a bounded number of episodes per peer, and long causes are cut', () => {
    const s = new SuspicionScores({ throttleAt: 1e9, quarantineAt: 1e9, banAt: 1e12 }, () => 0)
    for (let i = 0; i < 1_000; i++) {
      s.charge('p', 'rpc-denied', `m.f${i}`)
    }
    assert.equal(s.episodes('p'), MAX_EPISODES_PER_PEER)
    assert.ok(Math.abs(s.score('p') - 5_000) < 1, 'every distinct cause was charged')
    s.charge('q', 'rpc-denied', 'x'.repeat(100_000))
    s.charge('q', 'rpc-denied', 'x'.repeat(100_000) + 'y')
    assert.equal(s.score('q'), 5, 'causes compared on their first 256 characters')
  })
})

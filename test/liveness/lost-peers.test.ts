import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { LostPeers, PeerUnresponsiveError, endedByNetwork } from '../../src/liveness/lost-peers.ts'
import { DialBudgetError } from '../../src/liveness/dial-limiter.ts'

describe('lost peers (pure)', () => {
  it('a network fault is a peer that stopped answering or a network that says it is out of reach; a close, a reset or a verdict on the peer is not', () => {
    assert.equal(endedByNetwork(new PeerUnresponsiveError('no answer to 2 pings in a row')), true)
    for (const code of ['ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']) {
      assert.equal(endedByNetwork(Object.assign(new Error('x'), { code })), true, code)
    }
    for (const code of ['ECONNRESET', 'EPIPE', 'ECONNREFUSED']) {
      assert.equal(endedByNetwork(Object.assign(new Error('x'), { code })), false, code)
    }
    assert.equal(endedByNetwork(undefined), false, 'a graceful close has no error')
    assert.equal(endedByNetwork(new Error('no answer to 2 pings in a row')), false, 'the class says it, not the message')
    assert.equal(endedByNetwork(new DialBudgetError('p', 0)), false)
    assert.equal(endedByNetwork('ETIMEDOUT'), false)
  })

  it('keeps the most recent few, each for the early window only', () => {
    let now = 0
    const lost = new LostPeers({ capacity: 2, forMs: 1000, now: () => now })
    assert.equal(lost.add('a'), undefined)
    now = 10
    assert.equal(lost.add('b'), undefined)
    now = 20
    assert.equal(lost.add('c'), 'a', 'the oldest loss is pushed out')
    assert.deepEqual(lost.ids(), ['b', 'c'])
    now = 30
    assert.equal(lost.add('b'), undefined, 'lost again: now the most recent')
    assert.deepEqual(lost.ids(), ['c', 'b'])
    now = 1019
    assert.equal(lost.has('c'), true, '999 ms after its loss')
    now = 1020
    assert.equal(lost.has('c'), false, '1,000 ms after its loss: no longer redialled')
    assert.deepEqual(lost.ids(), ['b'])
    lost.delete('b')
    assert.deepEqual(lost.ids(), [])
  })

  it('a capacity of 0 remembers nobody', () => {
    const lost = new LostPeers({ capacity: 0, forMs: 1000, now: () => 0 })
    assert.equal(lost.add('a'), undefined)
    assert.equal(lost.has('a'), false)
  })
})

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { gossipMessageId } from '../../src/gossip/message-id.ts'
import { PendingVerdicts } from '../../src/gossip/verdicts.ts'
import type { Message } from '@libp2p/gossipsub'

/** a message as gossipsub hands it to a validator and then to the `message` event (a fresh object each time); StrictNoSign: no author */
function message (topic: string, ...data: number[]): Message {
  return { type: 'unsigned', topic, data: Uint8Array.from(data) }
}

describe('pending validator verdicts (pure)', () => {
  it('a verdict reaches the event of the same message (topic and frame bytes) once, whatever object carries it', () => {
    const verdicts = new PendingVerdicts<string>()
    verdicts.park(message('t', 1), 't1')
    verdicts.park(message('t', 2), 't2')
    verdicts.park(message('u', 1), 'u1')
    // the same bytes on another topic, or one byte more, are another message
    assert.equal(verdicts.take(message('u', 2)), undefined)
    assert.equal(verdicts.take(message('t', 1, 0)), undefined)
    assert.equal(verdicts.take(message('t', 2)), 't2')
    assert.equal(verdicts.take(message('t', 2)), undefined, 'taken once')
    assert.equal(verdicts.take(message('u', 1)), 'u1')
    assert.equal(verdicts.take(message('t', 1)), 't1')
    assert.equal(verdicts.size, 0)
  })

  it('verdicts whose event never comes are bounded: the oldest go first', () => {
    const verdicts = new PendingVerdicts<number>(3)
    for (let n = 1; n <= 5; n++) {
      verdicts.park(message('t', n), n)
    }
    assert.equal(verdicts.size, 3)
    assert.equal(verdicts.take(message('t', 1)), undefined)
    assert.equal(verdicts.take(message('t', 2)), undefined)
    assert.deepEqual([3, 4, 5].map(n => verdicts.take(message('t', n))), [3, 4, 5])
    verdicts.park(message('t', 6), 6)
    verdicts.clear()
    assert.equal(verdicts.size, 0)
  })
})

describe('gossipsub message ids of the tempus topics (pure)', () => {
  it('cover the topic and every byte of the frame', () => {
    const id = (topic: string, ...data: number[]): string => Buffer.from(gossipMessageId({ topic, data: Uint8Array.from(data) })).toString('hex')
    assert.equal(id('t', 1, 2, 3), id('t', 1, 2, 3))
    assert.notEqual(id('t', 1, 2, 3), id('u', 1, 2, 3), 'a frame sent first on another topic does not pre-empt it')
    assert.notEqual(id('t', 1, 2, 3), id('t', 1, 2, 4), 'a copy altered in one byte is another message')
    assert.notEqual(id('t', 1, 2, 3), id('t', 1, 2, 3, 0))
    // the topic and the data cannot trade bytes
    assert.notEqual(id('t1', 2), id('t', 0x31, 2))
  })
})

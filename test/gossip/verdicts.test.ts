import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { PendingVerdicts } from '../../src/gossip/verdicts.ts'
import type { Message } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'

async function author (): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
}

/** a message as gossipsub hands it to a validator and then to the `message` event (a fresh object each time) */
function signed (from: PeerId, sequenceNumber: bigint, data = Uint8Array.of(1, 2, 3)): Message {
  return { type: 'signed', from, sequenceNumber, topic: 't', data: Uint8Array.from(data), signature: new Uint8Array(64), key: from.publicKey as any }
}

describe('pending validator verdicts (pure)', () => {
  it('a verdict reaches the event of the same message (author and sequence number) once, whatever object carries it', async () => {
    const a = await author()
    const b = await author()
    const verdicts = new PendingVerdicts<string>()
    verdicts.park(signed(a, 1n), 'a1')
    verdicts.park(signed(a, 2n), 'a2')
    verdicts.park(signed(b, 1n), 'b1')
    // the same bytes under another id are another message
    assert.equal(verdicts.take(signed(b, 2n)), undefined)
    assert.equal(verdicts.take(signed(a, 2n)), 'a2')
    assert.equal(verdicts.take(signed(a, 2n)), undefined, 'taken once')
    assert.equal(verdicts.take(signed(b, 1n)), 'b1')
    assert.equal(verdicts.take(signed(a, 1n)), 'a1')
    assert.equal(verdicts.size, 0)
  })

  it('an unsigned message has no id to carry a verdict under', () => {
    const verdicts = new PendingVerdicts<string>()
    const unsigned: Message = { type: 'unsigned', topic: 't', data: Uint8Array.of(1) }
    verdicts.park(unsigned, 'x')
    assert.equal(verdicts.size, 0)
    assert.equal(verdicts.take(unsigned), undefined)
  })

  it('verdicts whose event never comes are bounded: the oldest go first', async () => {
    const a = await author()
    const verdicts = new PendingVerdicts<number>(3)
    for (let n = 1; n <= 5; n++) {
      verdicts.park(signed(a, BigInt(n)), n)
    }
    assert.equal(verdicts.size, 3)
    assert.equal(verdicts.take(signed(a, 1n)), undefined)
    assert.equal(verdicts.take(signed(a, 2n)), undefined)
    assert.deepEqual([3n, 4n, 5n].map(s => verdicts.take(signed(a, s))), [3, 4, 5])
    verdicts.park(signed(a, 6n), 6)
    verdicts.clear()
    assert.equal(verdicts.size, 0)
  })
})

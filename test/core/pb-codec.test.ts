import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Uint8ArrayList } from 'uint8arraylist'
import { decodeFailsWith } from '../../src/core/pb-codec.ts'
import { CatchUpResponse } from '../../src/gossip/pb/gossip.ts'

class Fault extends Error {
  override readonly name = 'Fault'
}

describe('decodeFailsWith: a codec whose decode failures are typed', () => {
  const codec = decodeFailsWith(CatchUpResponse, cause => new Fault('does not decode', { cause }))
  const message = { frames: [Uint8Array.from([1, 2]), Uint8Array.from([3])], more: true }

  it('writes and reads the same bytes as the codec it wraps (wire unchanged)', () => {
    const bytes = codec.encode(message)
    assert.deepEqual(bytes, CatchUpResponse.encode(message))
    assert.deepEqual(codec.decode(new Uint8ArrayList(bytes.subarray(0, 3), bytes.subarray(3))), CatchUpResponse.decode(bytes))
  })

  it('throws the fault, with the codec\'s error as its cause, for bytes that do not decode and for a limit passed', () => {
    // a truncated length-delimited field: protons throws a bare RangeError
    assert.throws(() => CatchUpResponse.decode(Uint8Array.from([0x0a, 0x05, 1])), RangeError)
    assert.throws(() => codec.decode(Uint8Array.from([0x0a, 0x05, 1])), (err: any) => err instanceof Fault && err.cause instanceof RangeError)
    // the decode options reach the codec
    assert.throws(() => codec.decode(CatchUpResponse.encode(message), { limits: { frames: 1 } }), (err: any) => err instanceof Fault && (err.cause as Error).name === 'MaxLengthError')
    assert.equal(codec.decode(CatchUpResponse.encode(message), { limits: { frames: 2 } }).frames.length, 2)
  })
})

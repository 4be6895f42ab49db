import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { EncodingError } from '../../src/rpc/errors.ts'
import { FrameDecoder, frame } from '../../src/rpc/frames.ts'

describe('RPC session frames', () => {
  it('cuts frames out of chunks split anywhere, prefix included', () => {
    const payloads = [new Uint8Array(0), Uint8Array.from([1, 2, 3]), new Uint8Array(300).fill(7), new Uint8Array(20_000).fill(9)]
    const wire = Uint8Array.from(payloads.flatMap(p => [...frame(p)]))
    for (const step of [1, 2, 3, 127, 128, 4096, wire.length]) {
      const decoder = new FrameDecoder(80 * 1024)
      const got: Uint8Array[] = []
      for (let at = 0; at < wire.length; at += step) {
        got.push(...decoder.push(wire.subarray(at, at + step)).map(f => f.slice()))
      }
      assert.deepEqual(got, payloads, `chunks of ${step}`)
      assert.equal(decoder.pending, 0)
    }
  })

  it('refuses an oversize frame on its prefix, before its bytes, and a prefix longer than 5 bytes', () => {
    const decoder = new FrameDecoder(100)
    assert.throws(() => decoder.push(frame(new Uint8Array(101)).subarray(0, 1)), EncodingError)
    assert.throws(() => new FrameDecoder(100).push(Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x80])), EncodingError)
    assert.deepEqual(new FrameDecoder(100).push(Uint8Array.from([0x80, 0x80])), [], 'a prefix still arriving')
    assert.equal(new FrameDecoder(100).push(frame(new Uint8Array(100))).length, 1, 'exactly the cap')
  })
})

/**
 * Noise's frame lengths read without an Error per chunk
 * (src/core/noise-frame-length.ts): the same read as Noise's own, and real
 * libp2p nodes over TCP + Noise + Yamux that, with the wrapper, carry the
 * same bytes while building no RangeError per chunk received. It fails if
 * Noise no longer reads its frames through a decoder the wrapper can reach
 * (the connections would then build one per chunk again).
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, describe, it } from 'node:test'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { Uint8ArrayList } from 'uint8arraylist'
import { equals } from 'uint8arrays/equals'
import { NOT_ENOUGH_BYTES, frameLength, noiseFrameLength } from '../../src/core/noise-frame-length.ts'
import { eventually } from '../fixtures/wait.ts'
import type { Libp2p } from '@libp2p/interface'

const ECHO = '/frame-length/echo/1.0.0'

/** RangeErrors built in this process while `run` runs (the global swapped for a counting stand-in, restored after) */
async function rangeErrorsDuring (run: () => Promise<void>): Promise<number> {
  const Real = globalThis.RangeError
  let built = 0
  globalThis.RangeError = new Proxy(Real, {
    construct (target, args) { built++; return Reflect.construct(target, args) },
    apply (target, self, args) { built++; return Reflect.apply(target, self, args) }
  })
  try {
    await run()
  } finally {
    globalThis.RangeError = Real
  }
  return built
}

describe('Noise frame lengths', () => {
  it('reads the same length as Noise, from one chunk or across chunks, and lacks bytes with the one error made once', () => {
    assert.equal(frameLength(Uint8Array.of(0x12, 0x34, 0xff)), 0x1234)
    assert.equal(frameLength(Uint8Array.of(0xff, 0xff)), 65535)
    assert.equal(frameLength(new Uint8ArrayList(Uint8Array.of(0x01), Uint8Array.of(0x02, 9))), 0x0102, 'split across two chunks')
    for (const short of [new Uint8Array(0), Uint8Array.of(7), new Uint8ArrayList(Uint8Array.of(7))]) {
      assert.throws(() => frameLength(short), (err: unknown) => err === NOT_ENOUGH_BYTES && err instanceof RangeError)
    }
  })

  const nodes: Libp2p[] = []
  after(async () => { await Promise.all(nodes.map(async n => { await n.stop() })) })
  const pair = async (wrapped: boolean): Promise<[Libp2p, Libp2p]> => {
    const make = async (): Promise<Libp2p> => {
      const n = await createLibp2p({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [tcp()], connectionEncrypters: [wrapped ? noiseFrameLength(noise()) : noise()], streamMuxers: [yamux()] })
      // echoes raw bytes back (no length prefix of its own: only Noise's frames are counted)
      await n.handle(ECHO, async (stream) => {
        for await (const chunk of stream) {
          stream.send(chunk)
        }
        await stream.close()
      })
      nodes.push(n)
      return n
    }
    const [a, b] = [await make(), await make()]
    await a.dial(b.getMultiaddrs())
    // the responder reads the handshake's last message after the dialler is done: counted out
    await eventually(() => b.getConnections(a.peerId).length > 0, 'the responder to finish its handshake')
    return [a, b]
  }
  /** `count` echoes of `bytes` each from a to b over their connection */
  const echoes = async (a: Libp2p, b: Libp2p, count: number, bytes: number): Promise<void> => {
    for (let i = 0; i < count; i++) {
      const payload = randomBytes(bytes)
      const stream = await a.dialProtocol(b.peerId, ECHO)
      stream.send(payload)
      await stream.close()
      const back = new Uint8ArrayList()
      for await (const chunk of stream) {
        back.append(chunk)
      }
      assert.ok(equals(back.subarray(), payload), 'the bytes came back as sent')
    }
  }

  it('the same exchanges build no RangeError per chunk received, and the bytes arrive as sent, a frame split over many chunks included', async () => {
    // the wrapped pair first: the plain pair's last frames (stream closes) may still arrive after its echoes end
    const wrapped = await pair(true)
    const withWrapper = await rangeErrorsDuring(async () => { await echoes(...wrapped, 20, 200) })
    const plain = await pair(false)
    const without = await rangeErrorsDuring(async () => { await echoes(...plain, 20, 200) })
    assert.ok(without >= 20, `Noise alone: ${without} RangeErrors for 20 echoes`)
    assert.equal(withWrapper, 0, `with the wrapper: ${withWrapper} RangeErrors`)
    await echoes(...wrapped, 2, 300 * 1024)
  })
})

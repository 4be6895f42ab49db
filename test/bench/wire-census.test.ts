/**
 * The wire census of `bench:idle --wire` (scripts/lib/wire-census.ts): what
 * real libp2p nodes send is counted by protocol, and only between `start`
 * and `stop`.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { createLibp2p } from 'libp2p'
import { countWire } from '../../scripts/lib/wire-census.ts'
import type { Libp2p } from '@libp2p/interface'

const ECHO = '/census/echo/1.0.0'

describe('wire census (bench:idle --wire)', () => {
  const census = countWire()
  let a: Libp2p
  let b: Libp2p
  const node = async (): Promise<Libp2p> => await createLibp2p({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] })
  /** one length-prefixed message to b and its echo back */
  const exchange = async (bytes: number): Promise<void> => {
    const stream = await a.dialProtocol(b.getMultiaddrs(), ECHO)
    const lp = lpStream(stream)
    await lp.write(new Uint8Array(bytes))
    assert.equal((await lp.read()).byteLength, bytes)
    await stream.close()
  }

  before(async () => {
    a = await node()
    b = await node()
    await b.handle(ECHO, async (stream) => {
      const lp = lpStream(stream)
      await lp.write((await lp.read()).subarray())
      await stream.close()
    })
  })
  after(async () => {
    await a.stop()
    await b.stop()
  })

  it('counts frames, bytes and streams per protocol and the socket writes while on, nothing while off', async () => {
    await exchange(1000) // not counted: before start
    census.start()
    await exchange(3000)
    await exchange(3000)
    const counts = census.stop()
    await exchange(5000) // not counted: after stop

    assert.ok((counts.bytes.get(ECHO) ?? 0) >= 2 * 2 * 3000, 'both echo exchanges, both ways')
    assert.ok((counts.bytes.get(ECHO) ?? 0) < 2 * 2 * 3000 + 1000, 'not the ones before start or after stop')
    assert.ok((counts.frames.get(ECHO) ?? 0) >= 4)
    assert.equal(counts.streams.get('outbound'), 2, 'the two streams a opened')
    assert.equal(counts.streams.get('inbound'), 2, 'the two b answered on')
    assert.ok(counts.socketWrites >= 4, 'the frames went out through socket writes')
  })
})

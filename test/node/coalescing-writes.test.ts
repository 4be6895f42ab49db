/**
 * Coalesced socket writes (src/node/coalescing-writes.ts): real libp2p
 * nodes over TCP + Noise + Yamux, with and without the wrapper, the same
 * exchanges. With it, fewer system calls carry the same bytes, and what
 * arrives is what was sent, a megabyte through back-pressure included.
 * It fails if @libp2p/tcp no longer hands the encrypter its socket (the
 * wrapper then leaves connections as they are: as many writes as without).
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { createLibp2p } from 'libp2p'
import { equals } from 'uint8arrays/equals'
import { countWire } from '../../scripts/lib/wire-census.ts'
import { coalescingWrites } from '../../src/node/coalescing-writes.ts'
import type { Libp2p } from '@libp2p/interface'

const ECHO = '/coalesce/echo/1.0.0'
const MAX = 2 * 1024 * 1024

describe('coalesced socket writes', () => {
  const census = countWire()
  const nodes: Libp2p[] = []
  const node = async (coalesced: boolean): Promise<Libp2p> => {
    const n = await createLibp2p({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [tcp()], connectionEncrypters: [coalesced ? coalescingWrites(noise()) : noise()], streamMuxers: [yamux()] })
    await n.handle(ECHO, async (stream) => {
      const lp = lpStream(stream, { maxDataLength: MAX })
      await lp.write((await lp.read()).subarray())
      await stream.close()
    })
    nodes.push(n)
    return n
  }
  /** `count` echoes of `bytes` from a to b over one connection; the socket writes of the process meanwhile */
  const echoes = async (a: Libp2p, b: Libp2p, count: number, bytes: number): Promise<number> => {
    await a.dial(b.getMultiaddrs())
    census.start()
    let counted
    try {
      for (let i = 0; i < count; i++) {
        const payload = randomBytes(bytes)
        const stream = await a.dialProtocol(b.peerId, ECHO)
        const lp = lpStream(stream, { maxDataLength: MAX })
        await lp.write(payload)
        assert.ok(equals((await lp.read()).subarray(), payload), 'the bytes came back as sent')
        await stream.close()
      }
    } finally {
      counted = census.stop()
    }
    return counted.socketWrites
  }
  let plain: [Libp2p, Libp2p]
  let coalesced: [Libp2p, Libp2p]

  before(async () => {
    plain = [await node(false), await node(false)]
    coalesced = [await node(true), await node(true)]
  })
  after(async () => {
    await Promise.all(nodes.map(async n => { await n.stop() }))
  })

  it('the same exchanges take fewer socket writes, and the bytes arrive as sent', async () => {
    // the census counts on from one call to the next: the second figure less the first
    const without = await echoes(...plain, 20, 200)
    const withCoalescing = await echoes(...coalesced, 20, 200) - without
    assert.ok(withCoalescing < without * 0.7, `coalesced: ${withCoalescing} socket writes for what took ${without} without`)
  })

  it('a megabyte goes through, back-pressure and all', async () => {
    await echoes(...coalesced, 2, 1024 * 1024)
  })
})

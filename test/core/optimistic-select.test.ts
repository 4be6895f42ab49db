/**
 * A stream whose first bytes go out with its protocol selection
 * (src/core/optimistic-select.ts), between real libp2p nodes (TCP, Noise,
 * Yamux) whose listener is libp2p's own: the data written before the
 * acknowledgement reaches the handler intact, the answer is read after
 * it; a protocol the remote does not speak is refused by name with no
 * handler run, even with a protobuf frame already written behind the
 * selection; the outbound stream limit holds.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { Uint8ArrayList } from 'uint8arraylist'
import { openOptimistically } from '../../src/core/optimistic-select.ts'
import { frame } from '../../src/rpc/frames.ts'
import { RpcRequest } from '../../src/rpc/pb/rpc.ts'
import type { Connection, Libp2p, Stream } from '@libp2p/interface'

const ECHO = '/optimistic/echo/1.0.0'

/** read `n` bytes from a stream's messages */
async function readBytes (stream: Stream, n: number): Promise<Uint8Array> {
  const got = new Uint8ArrayList()
  return await new Promise((resolve, reject) => {
    stream.addEventListener('message', (evt) => {
      got.append(evt.data)
      if (got.byteLength >= n) resolve(Uint8Array.from(got.subarray(0, n)))
    })
    stream.addEventListener('close', () => { reject(new Error(`closed after ${got.byteLength} of ${n} bytes`)) })
  })
}

describe('optimistic protocol selection', () => {
  let server: Libp2p
  let client: Libp2p
  let connection: Connection
  let handled = 0

  before(async () => {
    server = await createLibp2p({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] })
    client = await createLibp2p({ transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] })
    await server.handle(ECHO, (stream) => {
      handled++
      stream.addEventListener('message', (evt) => { stream.send(evt.data) })
      stream.addEventListener('remoteCloseWrite', () => { void stream.close() })
    }, { maxInboundStreams: 8 })
    connection = await client.dial(server.getMultiaddrs())
  })
  after(async () => { await Promise.all([client?.stop(), server?.stop()]) })

  it('hands the bytes written with the selection to the handler, and the answer to the reader after the acknowledgement', async () => {
    const opened = await openOptimistically(connection, ECHO, { timeoutMs: 5_000, maxOutboundStreams: 4 })
    assert.ok(opened != null)
    const payload = crypto.getRandomValues(new Uint8Array(40_000))
    opened.stream.send(payload) // before any answer
    await opened.selected
    assert.equal(opened.stream.protocol, ECHO)
    assert.deepEqual(await readBytes(opened.stream, payload.length), payload)
    await opened.stream.close()
  })

  it('refuses a protocol the remote does not speak by name, and no handler ran for the frame behind it', async () => {
    const before = handled
    const opened = await openOptimistically(connection, '/optimistic/absent/1.0.0', { timeoutMs: 5_000, maxOutboundStreams: 4 })
    assert.ok(opened != null)
    opened.stream.send(frame(RpcRequest.encode({ id: 0n, method: 'echo.back', args: new Uint8Array(0), deadlineMs: 1_000, oneway: false })))
    await assert.rejects(opened.selected, (err: Error) => err.name === 'UnsupportedProtocolError' && err.message.includes('/optimistic/absent/1.0.0'))
    opened.stream.abort(new Error('refused'))
    // the connection still works, and nothing was handled on the way
    const next = await openOptimistically(connection, ECHO, { timeoutMs: 5_000, maxOutboundStreams: 4 })
    assert.ok(next != null)
    next.stream.send(Uint8Array.of(1, 2, 3))
    await next.selected
    assert.deepEqual(await readBytes(next.stream, 3), Uint8Array.of(1, 2, 3))
    assert.equal(handled, before + 1, 'only the echo that was asked for')
    await next.stream.close()
  })

  it('opens none past the outbound limit for the protocol, nor on a closed connection', async () => {
    const fresh = await client.dial(server.getMultiaddrs(), { force: true })
    const held = await Promise.all([1, 2].map(async () => await openOptimistically(fresh, ECHO, { timeoutMs: 5_000, maxOutboundStreams: 2 })))
    assert.ok(held.every(h => h != null))
    await Promise.all(held.map(async h => await h?.selected))
    assert.equal(await openOptimistically(fresh, ECHO, { timeoutMs: 5_000, maxOutboundStreams: 2 }), undefined)
    await fresh.close()
    assert.equal(await openOptimistically(fresh, ECHO, { timeoutMs: 5_000, maxOutboundStreams: 2 }), undefined)
  })
})

/**
 * A resumed connection's record layer (src/admission/sealed-stream.ts)
 * over a pair of in-memory connections: what one turn of the event loop
 * hands it goes out as one record, sealed on the next tick; what later
 * turns hand it, as records of their own; a close, of the stream or of the
 * connection beneath it, seals what is held before it ends; more than a record holds is split; every byte arrives
 * once, in order. A record altered on the way ends the connection.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { multiaddrConnectionPair } from '@libp2p/utils'
import { Uint8ArrayList } from 'uint8arraylist'
import { CipherState } from '../../src/admission/resume-handshake.ts'
import { SealedMessageStream } from '../../src/admission/sealed-stream.ts'
import type { MessageStream } from '@libp2p/interface'

/** both ends sealed, and the records each end's raw connection carried */
function sealedPair (): { a: SealedMessageStream, b: SealedMessageStream, recordsToB: () => number, rawA: MessageStream, rawToB: MessageStream } {
  const [rawA, rawB] = multiaddrConnectionPair()
  const aToB = randomBytes(32)
  const bToA = randomBytes(32)
  const receiving = new CipherState(aToB)
  let opened = 0
  const open = receiving.open.bind(receiving)
  receiving.open = (sealed) => { opened++; return open(sealed) }
  const a = new SealedMessageStream(rawA, new CipherState(aToB), new CipherState(bToA))
  const b = new SealedMessageStream(rawB, new CipherState(bToA), receiving)
  return { a, b, recordsToB: () => opened, rawA, rawToB: rawB }
}

/** everything `stream` receives until it has `n` bytes */
async function receive (stream: MessageStream, n: number): Promise<Uint8Array> {
  const got = new Uint8ArrayList()
  return await new Promise((resolve, reject) => {
    stream.addEventListener('message', (evt) => {
      got.append(evt.data)
      if (got.byteLength >= n) resolve(got.subarray())
    })
    stream.addEventListener('close', () => { if (got.byteLength < n) reject(new Error(`closed after ${got.byteLength} of ${n} bytes`)) })
  })
}

/** the next turn of the event loop */
const nextTurn = async (): Promise<void> => { await new Promise(resolve => setImmediate(resolve)) }

describe('the sealed record layer', () => {
  it('seals what one turn hands it as one record, and each later turn\'s as its own', async () => {
    const { a, b, recordsToB } = sealedPair()
    const chunks = Array.from({ length: 12 }, (_, i) => randomBytes(12 + i))
    const all = Buffer.concat(chunks)
    const arrived = receive(b, all.length + 6)
    for (const c of chunks) a.send(c)
    await nextTurn()
    assert.equal(recordsToB(), 1, 'twelve sends in one turn, one record')
    a.send(Buffer.from('one'))
    await nextTurn()
    a.send(Buffer.from('two'))
    assert.deepEqual(Buffer.from(await arrived), Buffer.concat([all, Buffer.from('onetwo')]))
    assert.equal(recordsToB(), 3)
  })

  it('splits what is larger than a record, and a close sends what is held first', async () => {
    const { a, b, recordsToB } = sealedPair()
    const big = randomBytes(200_000)
    const arrived = receive(b, big.length + 4)
    a.send(big)
    a.send(Buffer.from('last'))
    await a.close() // in the same turn as the sends
    assert.deepEqual(Buffer.from(await arrived), Buffer.concat([big, Buffer.from('last')]))
    assert.ok(recordsToB() >= 4, `${recordsToB()} records for 200 kB`)
  })

  it('sends what is held when the connection beneath is closed in the same turn (libp2p closes its muxer, then the transport\'s connection)', async () => {
    const { a, b, rawA } = sealedPair()
    const arrived = receive(b, 9)
    a.send(Buffer.from('goodbye'))
    a.send(Buffer.from('!!'))
    await rawA.close()
    assert.equal(Buffer.from(await arrived).toString(), 'goodbye!!')
  })

  it('ends the connection on a record that does not open', async () => {
    const { a, b, rawToB } = sealedPair()
    const closed = new Promise<Error | undefined>(resolve => { b.addEventListener('close', (evt) => { resolve(evt.error) }, { once: true }) })
    // a forged record straight onto the raw connection: a length and bytes nobody sealed
    const forged = Buffer.concat([Buffer.from([0, 20]), randomBytes(20)])
    rawToB.dispatchEvent(new MessageEvent('message', { data: forged }))
    assert.ok(await closed != null, 'closed with an error')
    a.abort(new Error('done'))
  })
})

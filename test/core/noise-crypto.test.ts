/**
 * Noise with each X25519 key made a KeyObject once (src/core/noise-crypto.ts):
 * real libp2p nodes over TCP + Noise + Yamux, one with it and one with
 * Noise's own crypto, handshake both ways and carry the same bytes (the
 * wire is unchanged); and each handshake reuses the keys it made instead of
 * importing them again for every agreement. It fails if Noise stops
 * handing back the arrays it was given (the cache would then miss).
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, describe, it } from 'node:test'
import { noise } from '@chainsafe/libp2p-noise'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { noiseCrypto, noiseKeyReuse } from '../../src/core/noise-crypto.ts'
import { eventually } from '../fixtures/wait.ts'
import type { Libp2p } from '@libp2p/interface'

const ECHO = '/noise-crypto/echo/1.0.0'

describe('Noise with its X25519 keys made once', () => {
  it('agrees with Noise\'s own crypto on every key pair and shared key', () => {
    const a = noiseCrypto.generateX25519KeyPair()
    const b = defaultCrypto.generateX25519KeyPair()
    assert.equal(a.publicKey.length, 32)
    assert.equal(a.privateKey.length, 32)
    assert.deepEqual(Buffer.from(noiseCrypto.generateX25519SharedKey(a.privateKey, b.publicKey)), Buffer.from(defaultCrypto.generateX25519SharedKey(b.privateKey, a.publicKey)))
    // a key pair from Noise's own code (not made here) is imported, and agrees the same
    assert.deepEqual(Buffer.from(noiseCrypto.generateX25519SharedKey(b.privateKey, a.publicKey)), Buffer.from(defaultCrypto.generateX25519SharedKey(a.privateKey, b.publicKey)))
    const seeded = noiseCrypto.generateX25519KeyPairFromSeed(new Uint8Array(32).fill(3))
    assert.deepEqual(Buffer.from(seeded.publicKey), Buffer.from(defaultCrypto.generateX25519KeyPairFromSeed(new Uint8Array(32).fill(3)).publicKey))
  })

  const nodes: Libp2p[] = []
  after(async () => { await Promise.all(nodes.map(async n => { await n.stop() })) })
  const make = async (ours: boolean): Promise<Libp2p> => {
    const n = await createLibp2p({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [tcp()], connectionEncrypters: [noise(ours ? { crypto: noiseCrypto } : {})], streamMuxers: [yamux()] })
    await n.handle(ECHO, async (stream) => {
      for await (const chunk of stream) stream.send(chunk)
      await stream.close()
    })
    nodes.push(n)
    return n
  }
  const echo = async (from: Libp2p, to: Libp2p, payload: Uint8Array): Promise<Buffer> => {
    const connection = await from.dial(to.getMultiaddrs())
    // the responder reads the handshake's last message after the dialler is done
    await eventually(() => to.getConnections(from.peerId).length > 0, 'the responder to finish its handshake')
    const stream = await connection.newStream(ECHO)
    stream.send(payload)
    await stream.close()
    const chunks: Buffer[] = []
    for await (const chunk of stream) chunks.push(Buffer.from(chunk.subarray()))
    await connection.close()
    // both ends forget it before the next dial (which would otherwise be handed this one, closing)
    await eventually(() => from.getConnections().length === 0 && to.getConnections().length === 0, 'the connection gone at both ends')
    return Buffer.concat(chunks)
  }

  it('handshakes with a Noise peer of its own crypto both ways, carries the same bytes, and imports each key once', async () => {
    const ours = await make(true)
    const theirs = await make(false)
    const payload = randomBytes(100_000)
    const before = { ...noiseKeyReuse }
    assert.deepEqual(await echo(ours, theirs, payload), payload, 'ours dials')
    assert.deepEqual(await echo(theirs, ours, payload), payload, 'ours answers')
    // per handshake, our side makes three agreements (XX): its ephemeral key twice and its static
    // key once, all made here; the other side's two keys are imported once each, one used twice
    const hits = noiseKeyReuse.hits - before.hits
    const imports = noiseKeyReuse.imports - before.imports
    assert.equal(imports, 4, 'two remote keys per handshake, each imported once')
    assert.equal(hits, 8, 'four agreements\' keys found made already per handshake')
  })
})

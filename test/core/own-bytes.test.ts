/**
 * Bytes a node keeps for long own their memory: a decoded field, a record
 * or a ticket held for minutes must not keep alive the frame or the 64 KiB
 * Buffer-pool slab it was cut from (src/core/own-bytes.ts; in a 50-node dev
 * mesh such views held 533 slabs, 33 MB). The holding points are tested
 * with what really arrives there: Buffers that are views of something
 * larger, where `Buffer#slice` would have returned a view again.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { MemoryDatastore } from 'datastore-core'
import { Key } from 'interface-datastore'
import { TicketDesk } from '../../src/admission/ticket-desk.ts'
import { BUFFER_POOL_BYTES, bufferPoolBytes, useBufferPool } from '../../src/cli/heap-settings.ts'
import { ownBytes } from '../../src/core/own-bytes.ts'
import { decodeShuffle } from '../../src/sampling/peer-entry.ts'
import { openRecord } from '../../src/sampling/signed-record.ts'
import { WriteBehindDatastore } from '../../src/storage/write-behind-datastore.ts'
import { encodeShuffle, recordOf } from '../sampling/entries.ts'
import type { TokenClaims } from '../../src/admission/token.ts'

/** Does `bytes` sit alone in an ArrayBuffer of exactly its size? */
function owns (bytes: Uint8Array): boolean {
  return bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.byteLength
}

/** `bytes` as the middle of a larger Buffer: how a decoder or the pool hands them over */
function inside (bytes: Uint8Array): Buffer {
  const big = Buffer.alloc(bytes.byteLength + 4096)
  big.set(bytes, 1000)
  return big.subarray(1000, 1000 + bytes.byteLength)
}

describe('bytes kept for long own their memory', () => {
  it('ownBytes copies a view (a Buffer too, whose slice would not) and keeps an array that already owns its bytes', () => {
    const view = inside(Uint8Array.from([1, 2, 3]))
    assert.equal(owns(view.slice()), false, 'Buffer#slice is a view: the mistake this guards against')
    const copy = ownBytes(view)
    assert.ok(owns(copy))
    assert.deepEqual([...copy], [1, 2, 3])
    view[0] = 9
    assert.equal(copy[0], 1, 'a copy, not the same memory')
    const alone = Uint8Array.from([4, 5])
    assert.equal(ownBytes(alone), alone)
  })

  it('a shuffle frame that arrived as a Buffer: every record and signature kept from it is its own', async () => {
    const key = await generateKeyPair('Ed25519')
    const id = peerIdFromPrivateKey(key).toString()
    const record = await recordOf(key, ['/ip4/192.0.2.1/tcp/1'])
    const signature = new Uint8Array(64).fill(7)
    const frame = inside(encodeShuffle([{ id, token: 't', keyCertificate: '', record, descriptor: { mintedAt: 1, signature, hops: [{ to: 'x', signature }, { to: 'y', signature }] } }]))
    const [entry] = decodeShuffle(frame, 4)
    assert.ok(entry?.descriptor != null)
    assert.ok(owns(entry.record), 'the record')
    assert.ok(owns(entry.descriptor.signature), 'the descriptor\'s signature')
    assert.ok(entry.descriptor.hops.every(h => owns(h.signature)), 'each hop\'s signature')
    assert.deepEqual([...entry.record], [...record])
  })

  it('an opened record keeps an envelope of its own', async () => {
    const key = await generateKeyPair('Ed25519')
    const opened = await openRecord(inside(await recordOf(key, ['/ip4/192.0.2.1/tcp/1'])), peerIdFromPrivateKey(key).toString())
    assert.ok(owns(opened.envelope))
  })

  it('the peer store held in memory keeps values of its own', async () => {
    const store = new WriteBehindDatastore(new MemoryDatastore(), { prefix: '/peers/' })
    await store.open()
    const key = new Key('/peers/a')
    await store.put(key, inside(Uint8Array.from([1, 2, 3])))
    assert.ok(owns(await store.get(key)))
    await store.close()
  })

  it('a ticket held from another node is its own', () => {
    const now = 5_000_000
    const issuer = new TicketDesk({ now: () => now })
    const holder = new TicketDesk({ now: () => now })
    const claims: TokenClaims = { iss: 'i', aud: 'o', sub: 'B', typ: 'edge', nbf: 0, exp: (now + 600_000) / 1000, iat: 0, jti: 'j', ep: 3 }
    const ticket = issuer.grant('A', 'B', { token: 't', claims })?.ticket as Uint8Array
    holder.hold('A', inside(ticket))
    const presented = holder.present('A', 3)
    assert.ok(presented != null)
    assert.ok(owns(presented))
  })

  it('the long-lived commands cut small Buffers from 8 KiB slabs, not 64 KiB ones; the others keep Node\'s', () => {
    assert.equal(bufferPoolBytes(['start', '--data', '/d']), BUFFER_POOL_BYTES)
    assert.equal(bufferPoolBytes(['--json', 'dev']), BUFFER_POOL_BYTES)
    assert.equal(bufferPoolBytes(['issuer', 'start']), undefined)
    assert.equal(bufferPoolBytes(['status']), undefined)
    const before = Buffer.poolSize
    try {
      useBufferPool(['start'])
      // past the slab in use, every small Buffer comes from a slab of the set size
      for (let i = 0; i < 2 * before / 100; i++) Buffer.allocUnsafe(100)
      assert.equal(Buffer.allocUnsafe(100).buffer.byteLength, BUFFER_POOL_BYTES)
    } finally {
      Buffer.poolSize = before
    }
  })
})

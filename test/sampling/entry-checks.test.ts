import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { decodeShuffle } from '../../src/sampling/peer-entry.ts'
import { openRecord, sealRecord } from '../../src/sampling/signed-record.ts'
import { encodeShuffle, recordOf } from './entries.ts'

describe('entry checks (pure)', () => {
  it('one shape check for requests and replies: more than l entries, a peer twice, an oversize record', async () => {
    const e = (id: string): { id: string, token: string, keyCertificate: string } => ({ id, token: 't', keyCertificate: '' })
    assert.equal(decodeShuffle(encodeShuffle([e('a'), e('b'), e('c'), e('d')]), 4).length, 4)
    assert.throws(() => decodeShuffle(encodeShuffle([e('a'), e('b'), e('c'), e('d'), e('e')]), 4), { name: 'MalformedShuffleError', reason: 'too-many-entries' })
    assert.throws(() => decodeShuffle(encodeShuffle([e('a'), e('a')]), 4), { name: 'MalformedShuffleError', reason: 'duplicate-entry' })
    assert.throws(() => decodeShuffle(encodeShuffle([{ ...e('a'), record: new Uint8Array(4096) }]), 4), { name: 'MalformedShuffleError', reason: 'oversize-record' })
    assert.throws(() => decodeShuffle(Uint8Array.from([0xff, 0xff, 0xff]), 4), { name: 'MalformedShuffleError', reason: 'undecodable' })
  })

  it('a record opens only for the peer that signed it about itself', async () => {
    const key = await generateKeyPair('Ed25519')
    const other = await generateKeyPair('Ed25519')
    const id = peerIdFromPrivateKey(key).toString()
    const own = await openRecord(await recordOf(key, ['/ip4/192.0.2.1/tcp/1'], 5n), id)
    assert.deepEqual([own.addrs, own.seq], [['/ip4/192.0.2.1/tcp/1'], 5n])
    await assert.rejects(openRecord(await recordOf(other, ['/ip4/192.0.2.1/tcp/1']), id), { name: 'BadRecordError', reason: 'not-its-own' })
    await assert.rejects(openRecord(new Uint8Array(0), id), { name: 'BadRecordError', reason: 'missing' })
    await assert.rejects(openRecord(Uint8Array.from([1, 2, 3]), id), { name: 'BadRecordError', reason: 'malformed' })
    const forged = await recordOf(key, ['/ip4/192.0.2.1/tcp/1'])
    forged[forged.length - 1] = (forged[forged.length - 1] as number) ^ 1
    await assert.rejects(openRecord(forged, id), { name: 'BadRecordError', reason: 'forged' })
    const nine = Array.from({ length: 9 }, (_, i) => `/ip4/192.0.2.1/tcp/${i + 1}`)
    await assert.rejects(openRecord(await recordOf(key, nine), id), { name: 'BadRecordError', reason: 'too-many-addresses' })
    // this node's own record keeps to the bounds it checks
    const sealed = await sealRecord(key, nine.map(a => multiaddr(a)), 7n)
    assert.equal((await openRecord(sealed, id)).addrs.length, 8)
  })
})

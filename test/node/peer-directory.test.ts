/**
 * The peer directory keeps each peer's last-seen time exact in memory and
 * writes it to the peer store at most once a minute while the peer keeps
 * coming and going (a fleet's connect → call → close made two peer-store
 * writes per call), at once when its verified type is new. Real components:
 * libp2p's persistent peer store on an in-memory datastore, libp2p's event
 * target; the clock injected.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { persistentPeerStore } from '@libp2p/peer-store'
import { MemoryDatastore } from 'datastore-core'
import { TypedEventEmitter } from 'main-event'
import { LAST_SEEN_METADATA, PEER_TYPE_METADATA } from '../../src/node/constants.ts'
import { DefaultPeerDirectory, LAST_SEEN_PERSIST_MS } from '../../src/node/peer-directory.ts'
import { eventually } from '../fixtures/wait.ts'
import type { PeerType } from '../../src/core/peer-type.ts'
import type { Libp2pEvents } from '@libp2p/interface'

describe('the peer directory', () => {
  it('writes a peer\'s last-seen at most once a minute while it comes and goes, its type at once; in memory it is exact', async () => {
    const self = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const events = new TypedEventEmitter<Libp2pEvents>()
    const datastore = new MemoryDatastore()
    let puts = 0
    const put = datastore.put.bind(datastore)
    datastore.put = async (...args) => { puts++; return put(...args) }
    const peerStore = persistentPeerStore({ peerId: self, datastore, events, logger: defaultLogger() })
    let now = 1_000_000
    let type: PeerType | undefined
    const directory = new DefaultPeerDirectory({ peerId: self, peerStore, events, logger: defaultLogger() }, { now: () => now, admittedType: () => type })
    directory.start()
    const stored = async (key: string): Promise<string | undefined> => {
      const value = (await peerStore.get(peer)).metadata.get(key)
      return value == null ? undefined : new TextDecoder().decode(value)
    }
    const seen = async (): Promise<void> => {
      events.safeDispatchEvent('peer:connect', { detail: peer })
      now += 1_000
      events.safeDispatchEvent('peer:disconnect', { detail: peer })
      now += 1_000
    }

    await seen()
    await eventually(async () => await peerStore.has(peer), 'the first sighting written')
    const first = await stored(LAST_SEEN_METADATA)
    assert.equal(first, String(1_000_000))
    const writes = puts
    for (let i = 0; i < 10; i++) await seen()
    assert.equal(directory.lastSeenOf(await peerStore.get(peer)), now - 1_000, 'in memory: the last event')
    assert.equal(puts, writes, 'twenty events within the minute: nothing written')
    assert.equal(await stored(LAST_SEEN_METADATA), first)

    // its type becomes known (admitted): written at once
    type = 'sentinel'
    await seen()
    await eventually(async () => await stored(PEER_TYPE_METADATA) === 'sentinel', 'the type written')
    const typed = puts

    // a minute on: written again
    now += LAST_SEEN_PERSIST_MS
    await seen()
    await eventually(async () => await stored(LAST_SEEN_METADATA) === String(now - 2_000), 'last-seen written again after a minute')
    assert.ok(puts > typed)
    directory.stop()
  })
})

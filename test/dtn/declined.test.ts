import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { DeclinedOffers } from '../../src/dtn/declined.ts'
import { TestNet } from '../fixtures/nodes.ts'
import { eventually, waitForEvent } from '../fixtures/wait.ts'

const QUIET = { sampling: { edge: { period: '1h' }, bridge: { period: '1h' }, sentinel: { period: '1h' } } }

describe('declined offers (pure)', () => {
  it('a declined key is left out until its memory lapses; a taken one is not remembered', () => {
    const d = new DeclinedOffers({ memoryMs: 1_000, maxEntries: 100 })
    d.record('p', ['k1', 'k2', 'k3'], new Set(['k2']), 0)
    assert.deepEqual(['k1', 'k2', 'k3'].filter(k => d.declined('p', k, 500)), ['k1', 'k3'])
    assert.equal(d.declined('q', 'k1', 500), false, 'another peer declined nothing')
    assert.deepEqual(['k1', 'k3'].filter(k => d.declined('p', k, 1_000)), [], 'lapsed at its memory')
    assert.equal(d.size, 0, 'lapsed keys are forgotten once looked at')
    // taken after a decline: forgotten at once
    d.record('p', ['k1'], new Set(), 2_000)
    d.record('p', ['k1'], new Set(['k1']), 2_100)
    assert.equal(d.declined('p', 'k1', 2_200), false)
    d.record('p', ['k1', 'k2'], new Set(), 3_000)
    d.record('q', ['k1'], new Set(), 3_000)
    d.forget('p')
    assert.equal(d.declined('p', 'k1', 3_001), false)
    assert.equal(d.declined('p', 'k2', 3_001), false)
    assert.equal(d.declined('q', 'k1', 3_001), true, 'only the forgotten peer\'s')
    assert.equal(d.size, 1)
  })

  it('stays within its bound: the pair declined longest ago goes first', () => {
    const d = new DeclinedOffers({ memoryMs: 60_000, maxEntries: 4 })
    d.record('a', ['a1', 'a2'], new Set(), 0)
    d.record('b', ['b1', 'b2'], new Set(), 1)
    d.record('a', ['a1'], new Set(), 2) // declined again: the most recent now
    d.record('c', ['c1', 'c2'], new Set(), 3)
    assert.equal(d.size, 4)
    const held = [['a', 'a1'], ['a', 'a2'], ['b', 'b1'], ['b', 'b2'], ['c', 'c1'], ['c', 'c2']].filter(([p, k]) => d.declined(p as string, k as string, 4))
    assert.deepEqual(held, [['a', 'a1'], ['b', 'b2'], ['c', 'c1'], ['c', 'c2']], 'a2 and b1, the oldest, went')
  })

  it('refuses a memory or bound that is not a non-negative number', () => {
    assert.throws(() => new DeclinedOffers({ memoryMs: Number.NaN, maxEntries: 1 }), RangeError)
    assert.throws(() => new DeclinedOffers({ memoryMs: 1, maxEntries: -1 }), RangeError)
  })
})

describe('declined offers between real nodes', () => {
  const net = new TestNet()
  after(async () => { await net.stop() })

  it('a fragment the peer holds is not offered to it again (no session at all), while news still is', async () => {
    // no period ticks: every session here is one the test asks for (the memory's lapse is tested above)
    const b = await net.node({ type: 'sentinel', ...QUIET, dtn: { period: '1h' } })
    const a = await net.node({ type: 'edge', bootstrap: b.getMultiaddrs(), ...QUIET, dtn: { period: '1h' } })
    await eventually(() => a.admission.admitted.has(b.peerId.toString()), 'A admitted B')
    // for a peer that is not online: A and B both carry it
    const absent = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const stored = waitForEvent(b.dtn, 'stored', () => true, 30_000)
    const id = await a.dtn.send(absent, Buffer.from('for someone away'), { lifetimeMs: 120_000 })
    assert.equal((await stored).detail.id, id)
    // B holds it now: A's next offer of it is declined, and remembered
    const before = a.dtn.status().sessions
    await a.dtn.sync(b.peerId)
    assert.equal(a.dtn.status().sessions, before + 1, 'offered once more, and declined')
    const bReceived = b.dtn.status().received
    for (let i = 0; i < 5; i++) {
      await a.dtn.sync(b.peerId)
    }
    assert.equal(a.dtn.status().sessions, before + 1, 'nothing new for B: no session, whatever asks for one')
    assert.equal(b.dtn.status().received, bReceived)
    // news is offered at once: a new bundle opens a session though the old one is declined
    const storedAgain = waitForEvent(b.dtn, 'stored', evt => evt.detail.id !== id, 30_000)
    const second = await a.dtn.send(absent, Buffer.from('more news'), { lifetimeMs: 120_000 })
    assert.equal((await storedAgain).detail.id, second)
    assert.equal(a.dtn.status().sessions, before + 2)
    assert.deepEqual(Object.keys(a.dtn.status().refused), [], 'nobody refused anything')
    await Promise.all([a.stop(), b.stop()])
  })
})

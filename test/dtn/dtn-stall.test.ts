/**
 * A DTN session that stalls after this node asked for its fragments is
 * charged (`timeout`, cause `dtn:stall`): the fragments were kept from
 * other carriers meanwhile. Unless this node's own event loop ran late
 * through the wait (core/loop-lag.ts): then the stall may be ours, and it
 * costs the peer nothing. The starvation is real: the test blocks the loop.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { createBundle, toWire } from '../../src/dtn/bundle.ts'
import { DTN_PROTOCOL, FRAME_TIMEOUT_MS } from '../../src/dtn/constants.ts'
import { DtnFrame } from '../../src/dtn/pb/dtn.ts'
import { TestNet } from '../fixtures/nodes.ts'
import { eventually } from '../fixtures/wait.ts'
import type { Fragment } from '../../src/dtn/bundle.ts'
import type { TempusNode } from '../../src/node/tempus-node.ts'

const QUIET = { sampling: { edge: { period: '1h' }, bridge: { period: '1h' }, sentinel: { period: '1h' } } }

/** hold the event loop for `ms`, as a starved host does */
const block = (ms: number): void => {
  const until = performance.now() + ms
  while (performance.now() < until) { /* starving */ }
}

describe('a DTN session stalled after the want', () => {
  const net = new TestNet()
  let target: TempusNode
  before(async () => { target = await net.node({ type: 'sentinel', ...QUIET }) })
  after(async () => { await net.stop() })

  /** offer one fragment, read the want, then say nothing until the target gives up */
  const stalledSession = async (starve: boolean): Promise<{ stallCharges: number }> => {
    const key = await generateKeyPair('Ed25519')
    const sender = await net.node({ type: 'edge', bootstrap: target.getMultiaddrs(), ...QUIET, options: { privateKey: key } })
    const me = sender.peerId.toString()
    await eventually(() => target.admission.admitted.has(me), 'the sender admitted')
    let stallCharges = 0
    target.admission.addEventListener('offence', evt => { if (evt.detail.peer === me && evt.detail.cause === 'dtn:stall') stallCharges++ })
    const own = sender.admission.ownToken
    assert.ok(own != null)
    const to = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const f = createBundle({ privateKey: key, peerId: me, evidence: own }, { kind: 'peer', peer: to }, randomBytes(100), { lifetimeMs: 60_000, hopLimit: 4, copies: 2 }, Date.now())[0] as Fragment
    const wire = toWire(f, { hops: 1, copies: 1 })
    const stream = await sender.libp2p.dialProtocol(target.peerId, DTN_PROTOCOL)
    const lp = lpStream(stream, { maxDataLength: 4 * 1024 * 1024 })
    await lp.write(DtnFrame.encode({ offer: { keys: [{ id: Buffer.from(f.id, 'hex'), offset: BigInt(f.offset), length: wire.payload.length }], receipts: [] } }))
    const want = DtnFrame.decode(await lp.read()).want
    assert.equal(want?.keys.length, 1, 'the target asked for the fragment')
    if (starve) {
      // more than a quarter of the frame deadline: this node could not have read an answer in time
      block(FRAME_TIMEOUT_MS / 4 + 500)
    }
    // the target ends the session at its frame deadline
    await lp.read({ signal: AbortSignal.timeout(FRAME_TIMEOUT_MS * 2) }).catch(() => {})
    await sender.stop()
    return { stallCharges }
  }

  it('charges the stall when this node ran on time', async () => {
    assert.equal((await stalledSession(false)).stallCharges, 1)
  })

  it('charges nothing when this node\'s own loop ran late', async () => {
    assert.equal((await stalledSession(true)).stallCharges, 0)
  })
})

/**
 * A call whose stream cannot be opened, because the connection it picked
 * is closing (one side closes a connection it dialled for a shuffle just
 * as the call picks it: the other side cannot see the call's stream
 * before it arrives), is tried once more on another connection, and the
 * callee runs it once.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { TestNet } from '../fixtures/nodes.ts'
import { eventually } from '../fixtures/wait.ts'

describe('RPC: a stream that cannot be opened', () => {
  const net = new TestNet()
  after(async () => { await net.stop() })

  it('is opened once more on a new connection, and the call runs once', async () => {
    const callee = await net.node({ type: 'sentinel' })
    const caller = await net.node({ type: 'edge', bootstrap: callee.getMultiaddrs() })
    await eventually(() => callee.admission.admitted.has(caller.peerId.toString()) && caller.admission.admitted.has(callee.peerId.toString()), 'both admitted')
    let runs = 0
    let release!: () => void
    let entered!: () => void
    const released = new Promise<void>(resolve => { release = resolve })
    const holding = new Promise<void>(resolve => { entered = resolve })
    callee.rpc.expose('test.hold', async () => { entered(); await released; return 'held' })
    callee.rpc.expose('test.count', () => ++runs)
    callee.rpc.policy.replace([{ type: 'edge', allow: ['test.*'] }])

    // a call in flight keeps the connection's graceful close waiting, so the
    // connection still looks open (libp2p hands it out) while its muxer
    // refuses new streams: what a call sees when it picks a connection the
    // moment the other side starts closing it
    const held = caller.rpc.call(callee.peerId, 'test.hold', {}, { timeout: 20_000 }).catch((err: Error) => err)
    await holding
    const [connection] = caller.libp2p.getConnections(callee.peerId)
    assert.ok(connection != null)
    const closing = connection.close().catch(() => {})
    assert.equal(connection.status, 'open')

    const value = await caller.rpc.call(callee.peerId, 'test.count', {}, { timeout: 10_000 }).catch((err: Error) => err)
    release()
    await closing
    await held
    assert.equal(value, 1, `the call ended ${String(value)}`)
    assert.equal(runs, 1, 'the callee ran it once')
    assert.ok(caller.libp2p.getConnections(callee.peerId).some(c => c !== connection && c.status === 'open'), 'over a new connection')
  })
})

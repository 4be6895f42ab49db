import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { lpStream } from '@libp2p/utils'
import { RPC_PROTOCOL } from '../../src/rpc/constants.ts'
import { RpcError } from '../../src/rpc/errors.ts'
import { TestNet } from '../fixtures/nodes.ts'
import { eventually } from '../fixtures/wait.ts'
import type { TempusNode } from '../../src/node/tempus-node.ts'

// issue #13 item 7: honest callers are not punished for the policy's own
// change, nor for what our side cut; one cause is one offence; a scanner
// still pays for every method it tries

const unavailable = (err: unknown): boolean => err instanceof RpcError && err.code === 'unavailable'
const ONE_OFFENCE = 5 // rpc-denied

describe('RPC: what a refusal costs the caller', () => {
  const net = new TestNet()
  let server: TempusNode

  before(async () => {
    server = await net.node({ type: 'sentinel' })
    server.rpc.expose('echo.back', args => args)
    server.rpc.expose('status.get', () => 'up')
    server.rpc.expose('admin.secret', () => 'secret')
  })
  after(async () => { await net.stop() })

  /** a fresh edge, admitted by the server (each test judges its own caller) */
  const caller = async (): Promise<TempusNode> => {
    const edge = await net.node({ type: 'edge', bootstrap: server.getMultiaddrs(), connections: { minConnections: 0 } })
    await eventually(() => server.admission.admitted.has(edge.peerId.toString()), 'the edge admitted')
    return edge
  }
  const judged = (edge: TempusNode): { score: number, state: string } => ({
    score: server.admission.suspicion.score(edge.peerId.toString()),
    state: server.admission.suspicion.state(edge.peerId.toString())
  })

  it('32 calls in flight when a reload removes their grant: refused, and the caller is neither quarantined nor banned', async () => {
    const edge = await caller()
    server.rpc.policy.replace([{ type: 'edge', allow: ['echo.*', 'status.get'] }])
    assert.equal(await edge.rpc.call(server.peerId, 'echo.back', 1), 1)
    // the operator's reload lands while the edge still believes in its grant
    const inFlight = Array.from({ length: 32 }, async (_, i) => edge.rpc.call(server.peerId, 'echo.back', i, { timeout: 10_000 }))
    server.rpc.policy.replace([{ type: 'edge', allow: ['status.get'] }])
    const results = await Promise.allSettled(inFlight)
    assert.ok(results.some(r => r.status === 'rejected' && unavailable(r.reason)), 'the calls after the reload were refused')
    const { score, state } = judged(edge)
    assert.ok(state === 'ok' || state === 'throttled', `state ${state}`)
    assert.ok(score <= ONE_OFFENCE, `score ${score}`)
    assert.equal(await edge.rpc.call(server.peerId, 'status.get'), 'up', 'still connected and served')
  })

  it('a burst of 32 calls to one method never granted costs one offence', async () => {
    const edge = await caller()
    server.rpc.policy.replace([{ type: 'edge', allow: ['status.get'] }])
    const results = await Promise.allSettled(Array.from({ length: 32 }, async () => edge.rpc.call(server.peerId, 'admin.secret', null, { timeout: 10_000 })))
    assert.ok(results.every(r => r.status === 'rejected' && unavailable(r.reason)))
    const { score, state } = judged(edge)
    assert.equal(state, 'ok')
    assert.ok(score > ONE_OFFENCE - 0.01 && score <= ONE_OFFENCE, `score ${score}`)
  })

  it('a scanner that tries many methods is charged for each one and quarantined', async () => {
    const edge = await caller()
    let refused = 0
    for (let i = 0; i < 50 && judged(edge).state !== 'quarantined'; i++) {
      await edge.rpc.call(server.peerId, `admin.scan${i}`, null, { timeout: 5_000 }).catch(() => { refused++ })
    }
    assert.equal(judged(edge).state, 'quarantined')
    // five methods, five offences of 5: 25 quarantines (a sixth when the first ones decayed a little meanwhile)
    assert.ok(refused === 5 || refused === 6, `${refused} methods tried`)
    await eventually(() => edge.libp2p.getConnections(server.peerId).length === 0, 'the scanner cut off')
  })

  it('calls still in flight when their caller is quarantined are not charged: quarantined, never banned for them', async () => {
    const edge = await caller()
    // 40 different methods at once: the fifth refusal quarantines, the other 35 are consequences
    await Promise.allSettled(Array.from({ length: 40 }, async (_, i) => edge.rpc.call(server.peerId, `burst.m${i}`, null, { timeout: 10_000 })))
    const { score, state } = judged(edge)
    assert.equal(state, 'quarantined')
    assert.ok(score < 30, `score ${score}`)
  })

  it('a call that was graced (a method unexposed a moment ago) costs nothing', async () => {
    const edge = await caller()
    server.rpc.expose('tmp.work', () => 'done')
    server.rpc.policy.replace([{ type: 'edge', allow: ['tmp.work', 'status.get'] }])
    assert.equal(await edge.rpc.call(server.peerId, 'tmp.work'), 'done')
    server.rpc.unexpose('tmp.work')
    const results = await Promise.allSettled(Array.from({ length: 32 }, async () => edge.rpc.call(server.peerId, 'tmp.work', null, { timeout: 10_000 })))
    assert.ok(results.every(r => r.status === 'rejected' && unavailable(r.reason)))
    assert.equal(judged(edge).score, 0)
  })

  it('a request cut by our own close is not the caller\'s fault', async () => {
    const edge = await caller()
    server.rpc.policy.replace([{ type: 'edge', allow: ['status.get'] }])
    // the caller has sent half of its request when we hang up on it
    const stream = await edge.libp2p.dialProtocol(server.peerId, RPC_PROTOCOL)
    await lpStream(stream).write(new Uint8Array(0)).catch(() => {})
    stream.send(new Uint8Array([100, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]))
    const inbound = (): boolean => server.libp2p.getConnections(edge.peerId).some(c => c.streams.some(s => s.protocol === RPC_PROTOCOL && s.direction === 'inbound'))
    await eventually(inbound, 'the server reading the request')
    await server.libp2p.hangUp(edge.peerId)
    await eventually(() => server.libp2p.getConnections(edge.peerId).length === 0, 'the connection closed')
    // a round trip through the server after it: the cut read has been handled by now
    await edge.libp2p.dial(server.peerId)
    await eventually(() => server.admission.admitted.has(edge.peerId.toString()), 'admitted again')
    assert.equal(await edge.rpc.call(server.peerId, 'status.get'), 'up')
    assert.deepEqual(judged(edge), { score: 0, state: 'ok' })
  })
})

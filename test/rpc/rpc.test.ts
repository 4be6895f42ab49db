import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { lpStream } from '@libp2p/utils'
import { RPC_PROTOCOL } from '../../src/rpc/constants.ts'
import { RpcError } from '../../src/rpc/errors.ts'
import { RpcRequest } from '../../src/rpc/pb/rpc.ts'
import { TestNet } from '../fixtures/nodes.ts'
import { eventually } from '../fixtures/wait.ts'
import type { TempusNode } from '../../src/node/tempus-node.ts'

const unavailable = (err: unknown): boolean => err instanceof RpcError && err.code === 'unavailable'

describe('whitelisted RPC', () => {
  const net = new TestNet()
  let server: TempusNode
  let edge: TempusNode
  let bridge: TempusNode

  before(async () => {
    server = await net.node({ type: 'sentinel' })
    edge = await net.node({ type: 'edge', bootstrap: server.getMultiaddrs() })
    bridge = await net.node({ type: 'bridge', bootstrap: server.getMultiaddrs() })
    await eventually(() => [edge, bridge].every(n => server.admission.admitted.has(n.peerId.toString())), 'both admitted')
    server.rpc.expose('status.get', (_args, caller) => ({ ok: true, caller: caller.type ?? null }))
    server.rpc.expose('echo.back', args => args)
    server.rpc.expose('admin.secret', () => 'only for the bridge')
    server.rpc.expose('fail.always', () => { throw new Error('internal detail that must not leak') })
    server.rpc.expose('slow.wait', async (_a, _c, { signal }) => await new Promise((resolve, reject) => {
      const t = setTimeout(() => { resolve('late') }, 5_000)
      signal.addEventListener('abort', () => { clearTimeout(t); reject(new Error('aborted')) })
    }))
    server.rpc.policy.replace([
      { type: 'edge', allow: ['status.get', 'echo.*', 'fail.always', 'slow.wait'] },
      { peer: bridge.peerId.toString(), allow: ['admin.*', 'status.get'] }
    ])
  })
  after(async () => { await net.stop() })

  it('allows by type and by PeerId, and denies everything else', async () => {
    assert.deepEqual(await edge.rpc.call(server.peerId, 'status.get'), { ok: true, caller: 'edge' })
    assert.equal(await bridge.rpc.call(server.peerId, 'admin.secret'), 'only for the bridge')
    await assert.rejects(edge.rpc.call(server.peerId, 'admin.secret'), unavailable)
    await assert.rejects(bridge.rpc.call(server.peerId, 'echo.back', 1), unavailable)
    // the granting node cannot be called back: the bridge exposes nothing to it
    bridge.rpc.expose('status.get', () => 'bridge status')
    await assert.rejects(server.rpc.call(bridge.peerId, 'status.get'), unavailable)
  })

  it('answers "denied" and "no such method" identically', async () => {
    const denied = await edge.rpc.call(server.peerId, 'admin.secret').catch(e => e)
    const missing = await edge.rpc.call(server.peerId, 'echo.nothing').catch(e => e)
    assert.ok(denied instanceof RpcError && missing instanceof RpcError)
    assert.equal(denied.code, missing.code)
    assert.equal(denied.message, missing.message)
  })

  it('matches 64 concurrent calls by id', async () => {
    const results = await Promise.all(Array.from({ length: 64 }, async (_, i) => edge.rpc.call(server.peerId, 'echo.back', { i, s: 'x'.repeat(i) })))
    results.forEach((r, i) => { assert.deepEqual(r, { i, s: 'x'.repeat(i) }) })
  })

  it('handles timeouts, cancellation and failing handlers without leaking detail', async () => {
    await assert.rejects(edge.rpc.call(server.peerId, 'slow.wait', null, { timeout: 200 }), (e: RpcError) => e.code === 'timeout')
    const controller = new AbortController()
    const pending = edge.rpc.call(server.peerId, 'slow.wait', null, { signal: controller.signal })
    controller.abort()
    await assert.rejects(pending, (e: RpcError) => e.code === 'aborted')
    const failed = await edge.rpc.call(server.peerId, 'fail.always').catch(e => e)
    assert.equal(failed.code, 'remote-failure')
    assert.ok(!String(failed.message).includes('internal detail'))
    await assert.rejects(edge.rpc.call(server.peerId, 'not a method'), (e: RpcError) => e.code === 'bad-method')
    await assert.rejects(edge.rpc.call(server.peerId, 'echo.back', () => 1), (e: RpcError) => e.code === 'bad-arguments')
  })

  it('send is fire-and-forget, and dropped for a peer not connected', async () => {
    let got: unknown
    server.rpc.expose('echo.note', args => { got = args; return null })
    assert.equal(await edge.rpc.send(server.peerId, 'echo.note', 'hello'), true)
    await eventually(() => got === 'hello', 'the note to arrive')
    const stranger = await net.node({ type: 'edge' })
    assert.equal(await stranger.rpc.send(server.peerId, 'echo.note', 'x'), false)
  })

  it('reloads the policy without a restart', async () => {
    await assert.rejects(bridge.rpc.call(server.peerId, 'echo.back', 1), unavailable)
    server.rpc.policy.replace([...server.rpc.policy.list(), { type: 'bridge', allow: ['echo.back'] }])
    assert.equal(await bridge.rpc.call(server.peerId, 'echo.back', 2), 2)
  })

  it('random and mutated request frames never crash the server', async () => {
    const fuzzer = await net.node({ type: 'edge', bootstrap: server.getMultiaddrs() })
    await eventually(() => server.admission.admitted.has(fuzzer.peerId.toString()), 'fuzzer admitted')
    const valid = RpcRequest.encode({ id: 1n, method: 'status.get', args: new TextEncoder().encode('null'), deadlineMs: 1000, oneway: false })
    for (let i = 0; i < 60; i++) {
      const frame = i % 2 === 0 ? crypto.getRandomValues(new Uint8Array(1 + i * 7)) : valid.map((b, j) => (j === i % valid.length ? b ^ 0xff : b))
      try {
        const stream = await fuzzer.libp2p.dialProtocol(server.peerId, RPC_PROTOCOL, { signal: AbortSignal.timeout(5_000) })
        await lpStream(stream).write(frame)
        await lpStream(stream).read({ signal: AbortSignal.timeout(2_000) }).catch(() => {})
        stream.abort(new Error('done'))
      } catch {}
      if (server.admission.suspicion.state(fuzzer.peerId.toString()) === 'quarantined') break
    }
    assert.equal(server.libp2p.status, 'started')
    assert.deepEqual(await edge.rpc.call(server.peerId, 'status.get'), { ok: true, caller: 'edge' })
  })

  it('unauthorised calls (a scan of methods) quarantine the caller, who cannot reconnect during the cooldown', async () => {
    const pest = await net.node({ type: 'edge', bootstrap: server.getMultiaddrs(), connections: { minConnections: 0 } })
    await eventually(() => server.admission.admitted.has(pest.peerId.toString()), 'pest admitted')
    let refused = 0
    for (let i = 0; i < 1000 && server.admission.suspicion.state(pest.peerId.toString()) !== 'quarantined'; i++) {
      // each method is a new offence; one method again and again is one episode (see suspicion-episodes.test.ts)
      await pest.rpc.call(server.peerId, `admin.secret${i}`, null, { timeout: 2_000 }).catch(() => { refused++ })
    }
    assert.equal(server.admission.suspicion.state(pest.peerId.toString()), 'quarantined')
    assert.ok(refused >= 5)
    await eventually(() => pest.libp2p.getConnections(server.peerId).length === 0, 'the pest disconnected')
    await assert.rejects(pest.libp2p.dial(server.peerId, { signal: AbortSignal.timeout(5_000) }))
    await assert.rejects(pest.rpc.call(server.peerId, 'status.get', null, { timeout: 2_000 }))
  })

  it('an application protocol registered with node.handle reaches only allowed peers', async () => {
    const protocol = '/app/whisper/1.0.0'
    let served = 0
    await server.handle(protocol, async (stream) => { served++; await stream.close() }, { allow: { peers: [bridge.peerId.toString()] } })
    const ok = await bridge.libp2p.dialProtocol(server.peerId, protocol)
    await ok.close()
    await eventually(() => served === 1, 'the bridge served')
    const before = server.admission.suspicion.score(edge.peerId.toString())
    const denied = await edge.libp2p.dialProtocol(server.peerId, protocol)
    await assert.rejects(lpStream(denied).read({ signal: AbortSignal.timeout(3_000) }))
    assert.equal(served, 1, 'the handler never saw the edge')
    assert.ok(server.admission.suspicion.score(edge.peerId.toString()) > before)
  })
})

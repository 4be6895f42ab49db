/**
 * The RPC session (`/tempus/rpc/session/1.0.0`, issue #19 item 2): many
 * calls on one stream per connection and direction, answered out of
 * order, each with its own deadline; a refusal is a uniform answer that
 * stalls nothing else; a broken session fails its calls `unavailable` and
 * never runs one twice; bytes that break the protocol end only the
 * sender's session, charged; a peer without the session is called per
 * stream.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import { RPC_PROTOCOL, RPC_SESSION_PROTOCOL } from '../../src/rpc/constants.ts'
import { RpcError } from '../../src/rpc/errors.ts'
import { FrameDecoder, frame } from '../../src/rpc/frames.ts'
import { RpcRequest, RpcResponse } from '../../src/rpc/pb/rpc.ts'
import { TestNet } from '../fixtures/nodes.ts'
import { eventually } from '../fixtures/wait.ts'
import type { TempusNode } from '../../src/node/tempus-node.ts'
import type { Stream } from '@libp2p/interface'

const unavailable = (err: unknown): boolean => err instanceof RpcError && err.code === 'unavailable'

/** a latch: `wait` resolves once `open` was called */
function latch (): { open: () => void, wait: Promise<void> } {
  let open!: () => void
  const wait = new Promise<void>(resolve => { open = resolve })
  return { open, wait }
}

/** the streams of `protocol` from `from` to `to` */
function streamsOf (from: TempusNode, to: TempusNode, protocol: string, direction: 'inbound' | 'outbound'): Stream[] {
  return from.libp2p.getConnections(to.peerId).flatMap(c => c.streams).filter(s => s.protocol === protocol && s.direction === direction && s.status === 'open')
}

/** a request frame, as a hostile caller would write it */
const request = (id: bigint, method: string, args: unknown = null): Uint8Array =>
  frame(RpcRequest.encode({ id, method, args: new TextEncoder().encode(JSON.stringify(args)), deadlineMs: 5_000, oneway: false }))

/** wait for a raw stream's end (reset or close) */
const ended = async (stream: Stream): Promise<void> => {
  if (stream.status !== 'open') return
  await new Promise<void>(resolve => { stream.addEventListener('close', () => { resolve() }, { once: true }) })
}

describe('RPC session', () => {
  const net = new TestNet()
  let server: TempusNode
  let edge: TempusNode
  const gates = new Map<string, { open: () => void, wait: Promise<void> }>()
  const entered = new Map<string, { open: () => void, wait: Promise<void> }>()
  const gate = (key: string): { open: () => void, wait: Promise<void> } => { let g = gates.get(key); if (g == null) { g = latch(); gates.set(key, g) } return g }
  const entry = (key: string): { open: () => void, wait: Promise<void> } => { let g = entered.get(key); if (g == null) { g = latch(); entered.set(key, g) } return g }
  const runs = new Map<string, number>()
  let deadlineAborted = latch()

  before(async () => {
    server = await net.node({ type: 'sentinel' })
    edge = await net.node({ type: 'edge', bootstrap: server.getMultiaddrs(), connections: { minConnections: 0 } })
    await eventually(() => server.admission.admitted.has(edge.peerId.toString()) && edge.admission.admitted.has(server.peerId.toString()), 'the edge admitted')
    server.rpc.expose('echo.back', args => args)
    // waits until the test opens its gate; counts its runs
    server.rpc.expose('wait.gate', async (args) => {
      const key = String(args)
      runs.set(key, (runs.get(key) ?? 0) + 1)
      entry(key).open()
      await gate(key).wait
      return key
    })
    server.rpc.expose('wait.forever', async (_a, _c, { signal }) => await new Promise((_resolve, reject) => {
      signal.addEventListener('abort', () => { deadlineAborted.open(); reject(new Error('deadline')) }, { once: true })
    }))
    server.rpc.expose('admin.secret', () => 'secret')
    server.rpc.policy.replace([{ type: 'edge', allow: ['echo.*', 'wait.*'] }])
    assert.equal(await edge.rpc.call(server.peerId, 'echo.back', 0), 0)
  })
  after(async () => { await net.stop() })

  it('carries concurrent calls on one stream and answers them out of order', async () => {
    const order: string[] = []
    const first = edge.rpc.call(server.peerId, 'wait.gate', 'a').then(v => { order.push(String(v)) })
    const second = edge.rpc.call(server.peerId, 'wait.gate', 'b').then(v => { order.push(String(v)) })
    const echoes = Promise.all(Array.from({ length: 32 }, async (_, i) => edge.rpc.call(server.peerId, 'echo.back', { i })))
    await Promise.all([entry('a').wait, entry('b').wait])
    assert.deepEqual((await echoes).map(r => (r as { i: number }).i), Array.from({ length: 32 }, (_, i) => i), 'answered while two calls wait')
    gate('b').open()
    await second
    gate('a').open()
    await first
    assert.deepEqual(order, ['b', 'a'], 'the later call answered first')
    assert.equal(streamsOf(edge, server, RPC_SESSION_PROTOCOL, 'outbound').length, 1, 'one session stream')
    assert.equal(streamsOf(server, edge, RPC_PROTOCOL, 'inbound').length, 0, 'no stream per call')
  })

  it('keeps each call its own deadline: a call that times out stalls no other, and its handler is cut at the deadline', async () => {
    deadlineAborted = latch()
    const slow = edge.rpc.call(server.peerId, 'wait.forever', null, { timeout: 300 })
    assert.equal(await edge.rpc.call(server.peerId, 'echo.back', 'meanwhile'), 'meanwhile')
    await assert.rejects(slow, (e: RpcError) => e.code === 'timeout')
    await deadlineAborted.wait
    assert.equal(await edge.rpc.call(server.peerId, 'echo.back', 'after'), 'after')
  })

  it('answers a refused call on a shared session with the uniform refusal, charged, without stalling the session', async () => {
    const session = streamsOf(edge, server, RPC_SESSION_PROTOCOL, 'outbound')[0]
    assert.ok(session != null, 'calls go on a session')
    const held = edge.rpc.call(server.peerId, 'wait.gate', 'refusal')
    await entry('refusal').wait
    const before = server.admission.suspicion.score(edge.peerId.toString())
    const denied = await edge.rpc.call(server.peerId, 'admin.secret').catch(e => e)
    const missing = await edge.rpc.call(server.peerId, 'echo.nothing').catch(e => e)
    assert.ok(unavailable(denied) && unavailable(missing))
    assert.equal(denied.message, missing.message, 'denied and missing look alike')
    assert.ok(server.admission.suspicion.score(edge.peerId.toString()) > before, 'charged')
    gate('refusal').open()
    assert.equal(await held, 'refusal', 'the call in flight went on')
    assert.equal(await edge.rpc.call(server.peerId, 'echo.back', 1), 1)
    assert.equal(streamsOf(edge, server, RPC_SESSION_PROTOCOL, 'outbound')[0], session, 'the same session')
  })

  it('a policy reload mid-flight: the call already running finishes; the next is refused, not charged', async () => {
    const held = edge.rpc.call(server.peerId, 'wait.gate', 'reload')
    await entry('reload').wait
    const before = server.admission.suspicion.score(edge.peerId.toString())
    server.rpc.policy.replace([{ type: 'edge', allow: ['echo.*'] }])
    try {
      await assert.rejects(edge.rpc.call(server.peerId, 'wait.gate', 'reload-2'), unavailable)
      gate('reload').open()
      assert.equal(await held, 'reload', 'granted when it arrived: it runs to its end')
      assert.ok(server.admission.suspicion.score(edge.peerId.toString()) <= before, 'a grant just removed is not charged (the score only decays)')
      assert.equal(runs.get('reload-2'), undefined)
    } finally {
      server.rpc.policy.replace([{ type: 'edge', allow: ['echo.*', 'wait.*'] }])
    }
  })

  it('a session broken mid-call: the caller gets unavailable, the call ran once and is not sent again', async () => {
    const held = edge.rpc.call(server.peerId, 'wait.gate', 'broken', { timeout: 10_000 }).catch(e => e)
    await entry('broken').wait
    const [inbound] = streamsOf(server, edge, RPC_SESSION_PROTOCOL, 'inbound')
    assert.ok(inbound != null)
    inbound.abort(new Error('the test breaks the session'))
    assert.ok(unavailable(await held), 'unavailable')
    gate('broken').open()
    assert.equal(await edge.rpc.call(server.peerId, 'echo.back', 'next'), 'next', 'a new session')
    assert.equal(runs.get('broken'), 1, 'ran once')
  })

  describe('a hostile caller on the session', () => {

    const cases: Array<[string, (stream: Stream) => void]> = [
      ['an oversize frame', s => { s.send(Uint8Array.from([0xff, 0xff, 0xff, 0x7f])) }],
      ['a length prefix that never ends', s => { s.send(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff])) }],
      ['garbage that does not decode', s => { s.send(frame(Uint8Array.from([0xff, 0x01, 0x02, 0x03, 0x04]))) }],
      ['arguments that are not JSON', s => { s.send(frame(RpcRequest.encode({ id: 1n, method: 'echo.back', args: Uint8Array.from([0x7b]), deadlineMs: 1000, oneway: false }))) }],
      ['a duplicate id in flight', s => { s.send(request(7n, 'wait.gate', 'dup')); s.send(request(7n, 'wait.gate', 'dup')) }]
    ]
    for (const [name, attack] of cases) {
      it(`${name}: its session ends, it is charged, the server and other callers go on`, async () => {
        // a fresh one each time: a few of these get a caller quarantined
        const hostile = await net.node({ type: 'edge', bootstrap: server.getMultiaddrs(), connections: { minConnections: 0 } })
        await eventually(() => server.admission.admitted.has(hostile.peerId.toString()), 'the hostile edge admitted')
        const before = server.admission.suspicion.score(hostile.peerId.toString())
        const held = edge.rpc.call(server.peerId, 'wait.gate', `bystander ${name}`)
        await entry(`bystander ${name}`).wait
        const stream = await hostile.libp2p.dialProtocol(server.peerId, RPC_SESSION_PROTOCOL, { signal: AbortSignal.timeout(5_000) })
        attack(stream)
        await ended(stream)
        assert.notEqual(stream.status, 'open')
        assert.ok(server.admission.suspicion.score(hostile.peerId.toString()) > before, 'charged')
        assert.equal(server.libp2p.status, 'started')
        gate(`bystander ${name}`).open()
        assert.equal(await held, `bystander ${name}`, 'another caller unaffected')
        assert.equal(await edge.rpc.call(server.peerId, 'echo.back', 2), 2)
      })
    }
    after(() => { gate('dup').open() })
  })

  describe('a hostile callee on the session', () => {
    it('an answer to an id never asked, given twice, or one that does not decode: the session ends, the callee is charged, calls elsewhere go on', async () => {
      for (const [name, answerOf] of [
        ['an id never asked', (id: bigint) => frame(RpcResponse.encode({ id: id + 1000n, ok: true, result: new TextEncoder().encode('1'), refused: false }))],
        ['garbage', () => frame(Uint8Array.from([0xff, 0x01, 0x02]))],
        ['an oversize frame', () => Uint8Array.from([0xff, 0xff, 0xff, 0x7f])],
        ['an answer given twice', (id: bigint) => {
          const once = frame(RpcResponse.encode({ id, ok: true, result: new TextEncoder().encode('1'), refused: false }))
          return Uint8Array.from([...once, ...once])
        }]
      ] as const) {
        const liar = await net.node({ type: 'sentinel' })
        const caller = await net.node({ type: 'edge', bootstrap: [...liar.getMultiaddrs(), ...server.getMultiaddrs()], connections: { minConnections: 0 } })
        await eventually(() => caller.admission.admitted.has(liar.peerId.toString()) && caller.admission.admitted.has(server.peerId.toString()), 'the caller admitted both')
        await liar.libp2p.unhandle(RPC_SESSION_PROTOCOL)
        await liar.libp2p.handle(RPC_SESSION_PROTOCOL, (stream) => {
          const decoder = new FrameDecoder(80 * 1024)
          stream.addEventListener('message', (evt) => {
            for (const bytes of decoder.push((evt as any).data)) {
              stream.send(answerOf(RpcRequest.decode(bytes).id))
            }
          })
        })
        server.rpc.policy.replace([{ type: 'edge', allow: ['echo.*', 'wait.*'] }])
        const bystander = caller.rpc.call(server.peerId, 'wait.gate', `callee ${name}`)
        await entry(`callee ${name}`).wait
        const before = caller.admission.suspicion.score(liar.peerId.toString())
        const result = await caller.rpc.call(liar.peerId, 'echo.back', 1, { timeout: 10_000 }).catch(e => e)
        // the first answer of one given twice is taken, the second ends the session
        assert.ok(name === 'an answer given twice' ? result === 1 : unavailable(result), `${name}: ${String(result)}`)
        await eventually(() => caller.admission.suspicion.score(liar.peerId.toString()) > before, `${name}: the callee charged`)
        assert.ok(caller.admission.suspicion.score(liar.peerId.toString()) > before, `${name}: the callee charged`)
        gate(`callee ${name}`).open()
        assert.equal(await bystander, `callee ${name}`, 'the call to another node went on')
      }
    })
  })

  it('sends a new connection\'s first call with the session\'s selection, before any answer', async () => {
    const caller = await net.node({ type: 'edge', connections: { minConnections: 0 } })
    const connection = await caller.libp2p.dial(server.getMultiaddrs().map(a => multiaddr(a)))
    await eventually(() => server.admission.admitted.has(caller.peerId.toString()), 'admitted')
    // what the caller's side of each new stream saw, in order
    const seen: string[] = []
    const muxer = (connection as unknown as { muxer: { createStream: (...args: unknown[]) => Promise<Stream> } }).muxer
    const create = muxer.createStream.bind(muxer)
    muxer.createStream = async (...args) => {
      const stream = await create(...args)
      const send = stream.send.bind(stream)
      stream.send = (data) => { seen.push('send'); return send(data) }
      stream.addEventListener('message', () => { seen.push('message') })
      return stream
    }
    assert.equal(await caller.rpc.call(server.peerId, 'echo.back', 'first'), 'first')
    // the selection, then the call, both written before the acknowledgement came
    assert.deepEqual(seen.slice(0, 3), ['send', 'send', 'message'])
    assert.equal(streamsOf(caller, server, RPC_SESSION_PROTOCOL, 'outbound').length, 1)
    assert.equal(await caller.rpc.call(server.peerId, 'echo.back', 'second'), 'second')
    assert.equal(streamsOf(caller, server, RPC_SESSION_PROTOCOL, 'outbound').length, 1, 'the next call on the same session')
  })

  it('calls a peer without the session per stream', async () => {
    const old = await net.node({ type: 'sentinel', rpc: { sessions: false } })
    const caller = await net.node({ type: 'edge', bootstrap: old.getMultiaddrs(), connections: { minConnections: 0 } })
    await eventually(() => old.admission.admitted.has(caller.peerId.toString()) && caller.admission.admitted.has(old.peerId.toString()), 'admitted')
    let ran = 0
    old.rpc.expose('echo.back', args => { ran++; return args })
    old.rpc.policy.replace([{ type: 'edge', allow: ['echo.*'] }])
    // the first goes out optimistically with the session's selection: refused, it ran nowhere and goes per stream
    const results = await Promise.all(Array.from({ length: 16 }, async (_, i) => caller.rpc.call(old.peerId, 'echo.back', i)))
    assert.deepEqual(results, Array.from({ length: 16 }, (_, i) => i))
    assert.equal(await caller.rpc.call(old.peerId, 'echo.back', 'again'), 'again')
    assert.equal(ran, 17, 'each call ran once')
    assert.equal(streamsOf(caller, old, RPC_SESSION_PROTOCOL, 'outbound').length, 0, 'no session')
    assert.equal(old.admission.suspicion.score(caller.peerId.toString()), 0, 'asking for the session is no offence')
  })
})

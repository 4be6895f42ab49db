/**
 * The bytes an inbound connection sends before its security handshake
 * (src/core/negotiation-guard.ts, hooked in by the gater): an honest
 * dialler's negotiation passes however it is split; a length that does not
 * end, an oversize line or too many lines is out of bounds; and a real
 * node cuts a raw TCP connection that floods it with length bytes at once,
 * while an honest node still connects. The node runs with a 60 s upgrade
 * timeout, so without the guard the flood's connection stays open past
 * the test's bound (libp2p's own reader takes every 0x80 for "not yet").
 * The same within an admitted connection: each stream's negotiation, and
 * after it the frames of libp2p's protocols read by that reader (identify,
 * the DHT; src/core/frame-guard.ts).
 */
import assert from 'node:assert/strict'
import { connect, createServer } from 'node:net'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { after, before, describe, it } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import { FrameGuard } from '../../src/core/frame-guard.ts'
import { NegotiationGuard } from '../../src/core/negotiation-guard.ts'
import { KAD_PROTOCOL, LIBP2P_FRAMED_PROTOCOLS } from '../../src/node/constants.ts'
import { RESUME_PROTOCOL } from '../../src/admission/resume-handshake.ts'
import { TestNet } from '../fixtures/nodes.ts'
import { eventually } from '../fixtures/wait.ts'
import type { AddressInfo } from 'node:net'
import type { NegotiationVerdict } from '../../src/core/negotiation-guard.ts'
import type { TempusNode } from '../../src/node/tempus-node.ts'

const PROTOCOLS = [RESUME_PROTOCOL, '/noise']

/** a multistream-select frame: its varint length, then the line */
function frame (line: string): Buffer {
  const body = Buffer.from(`${line}\n`)
  const length = body.length < 0x80 ? Buffer.of(body.length) : Buffer.of((body.length & 0x7f) | 0x80, body.length >> 7)
  return Buffer.concat([length, body])
}

const HEADER = frame('/multistream/1.0.0')

function verdictOf (bytes: Buffer, splitAt: number[] = []): NegotiationVerdict {
  const guard = new NegotiationGuard({ protocols: PROTOCOLS })
  let from = 0
  let verdict: NegotiationVerdict = 'watching'
  for (const at of [...splitAt, bytes.length]) {
    verdict = guard.feed(bytes.subarray(from, at))
    from = at
  }
  return verdict
}

/** the bytes a raw TCP connection sent before the node closed it, or 'open' if it is still open at the bound */
async function floodUntilClosed (port: number, preamble: Buffer, chunks: number): Promise<{ sent: number, closed: boolean }> {
  const socket = connect(port, '127.0.0.1')
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  const closed = new Promise<boolean>(resolve => {
    const bound = setTimeout(() => { resolve(false) }, 20_000)
    socket.once('close', () => { clearTimeout(bound); resolve(true) })
  })
  socket.on('error', () => {})
  let sent = 0
  socket.write(preamble)
  for (let i = 0; i < chunks && !socket.destroyed; i++) {
    const chunk = Buffer.alloc(1024, 0x80)
    socket.write(chunk)
    sent += chunk.length
  }
  const wasClosed = await closed
  socket.destroy()
  return { sent, closed: wasClosed }
}

describe('the negotiation before an inbound security handshake', () => {
  it('passes an honest dialler\'s negotiation however it is split, and ends at its proposal', () => {
    const honest = Buffer.concat([HEADER, frame('/noise'), Buffer.from([0x00, 0x20, ...new Array(32).fill(0x80)])])
    for (let at = 0; at <= honest.length; at++) {
      assert.equal(verdictOf(honest, [at]), 'done', `split at ${at}`)
    }
    assert.equal(verdictOf(honest, [...Array(honest.length).keys()].slice(1)), 'done', 'a byte at a time')
    // a proposal the node does not speak, then one it does (after the listener's `na`)
    assert.equal(verdictOf(Buffer.concat([HEADER, frame('/tls/1.0.0'), frame(RESUME_PROTOCOL)])), 'done')
    // the Noise bytes after the proposal are not the guard's: even a flood of them passes
    assert.equal(verdictOf(Buffer.concat([HEADER, frame('/noise'), Buffer.alloc(4096, 0x80)])), 'done')
    assert.equal(verdictOf(HEADER), 'watching')
  })

  it('refuses a length that does not end in two bytes, a line over 1,024 bytes and too many lines', () => {
    assert.equal(verdictOf(Buffer.alloc(3, 0x80)), 'long-length')
    assert.equal(verdictOf(Buffer.concat([HEADER, Buffer.alloc(2, 0x80)])), 'long-length')
    assert.equal(verdictOf(Buffer.concat([HEADER, Buffer.of(0x81, 0x08)])), 'oversize-frame', 'a 1,025-byte line')
    assert.equal(verdictOf(Buffer.concat([HEADER, frame('x'.repeat(1000))])), 'watching', 'a long line within the bound')
    assert.equal(verdictOf(Buffer.concat(new Array(8).fill(HEADER))), 'too-many-frames')
    assert.equal(verdictOf(Buffer.concat(new Array(7).fill(HEADER))), 'watching')
  })

  it('in a stream, lets an optimistic dialler\'s frames follow a proposal it does not speak, and says so', () => {
    // a call written behind an unspoken proposal: libp2p's handle reads its frames as more proposals
    const guard = new NegotiationGuard({ protocols: PROTOCOLS, maxFrames: Number.POSITIVE_INFINITY })
    assert.equal(guard.feed(Buffer.concat([HEADER, frame('/tempus/rpc/session/1.0.0')])), 'watching')
    assert.equal(guard.unspokenProposal, true)
    for (let i = 0; i < 40; i++) assert.equal(guard.feed(Buffer.concat([Buffer.of(20), Buffer.alloc(20, 0x08)])), 'watching')
    // still bounded by the length libp2p's own reader allows
    assert.equal(guard.feed(Buffer.alloc(2, 0x80)), 'long-length')
    const fresh = new NegotiationGuard({ protocols: PROTOCOLS })
    fresh.feed(HEADER)
    assert.equal(fresh.unspokenProposal, false, 'the header is no proposal')
  })

  it('follows a length-prefixed protocol\'s frames after the negotiation however they are split, and refuses a length past its bound', () => {
    const guard = new NegotiationGuard({ protocols: ['/ipfs/id/1.0.0'] })
    const body = Buffer.alloc(300, 7)
    const frames = Buffer.concat([Buffer.of(0xac, 0x02), body, Buffer.of(0x00), Buffer.of(0x05), body.subarray(0, 5)])
    // the negotiation ends where the proposal does: the protocol's first frame may share its chunk
    const opening = Buffer.concat([HEADER, frame('/ipfs/id/1.0.0'), frames])
    assert.equal(guard.feed(opening), 'done')
    assert.equal(guard.protocol, '/ipfs/id/1.0.0')
    assert.deepEqual(opening.subarray(guard.endedAt), frames)
    for (let at = 0; at <= frames.length; at++) {
      const watcher = new FrameGuard(8192)
      assert.equal(watcher.feed(frames.subarray(0, at)), 'watching', `split at ${at}`)
      assert.equal(watcher.feed(frames.subarray(at)), 'watching', `split at ${at}`)
    }
    // 8,192 takes two varint bytes: a second that does not end is no length of this protocol's
    assert.equal(new FrameGuard(8192).feed(Buffer.concat([frames, Buffer.alloc(1, 0x80)])), 'watching')
    assert.equal(new FrameGuard(8192).feed(Buffer.concat([frames, Buffer.alloc(2, 0x80)])), 'long-length')
    assert.equal(new FrameGuard(8192).feed(Buffer.of(0x81, 0x40)), 'oversize-frame', 'a frame of 8,193 bytes')
    assert.equal(new FrameGuard(8192).feed(Buffer.of(0x80, 0x40)), 'watching', 'a frame of 8,192 bytes')
    const byteAtATime = new FrameGuard(4 * 1024 * 1024)
    let verdict = 'watching'
    for (let i = 0; i < 64 && verdict === 'watching'; i++) verdict = byteAtATime.feed(Buffer.of(0x80))
    assert.equal(verdict, 'long-length', 'a length sent a byte at a time is refused at its bound too')
  })

  describe('a real node', () => {
    const net = new TestNet()
    let node: TempusNode
    let port: number

    before(async () => {
      node = await net.node({ type: 'sentinel', connections: { inboundUpgradeTimeout: '60s' } })
      port = Number(/\/tcp\/(\d+)/.exec(node.getMultiaddrs()[0]?.toString() ?? '')?.[1])
    })
    after(async () => { await net.stop() })

    it('cuts a connection that floods it with length bytes before any key, at once', async () => {
      for (const preamble of [Buffer.alloc(0), HEADER, Buffer.concat([HEADER, frame('/not-spoken/1.0.0')])]) {
        const { closed } = await floodUntilClosed(port, preamble, 256)
        assert.equal(closed, true, `after ${preamble.length} honest bytes, the flood's connection was cut`)
      }
    })

    it('resets an admitted peer\'s stream that floods its negotiation with length bytes, charges the peer, and keeps the connection', async () => {
      const edge = await net.node({ type: 'edge' })
      const connection = await edge.libp2p.dial(multiaddr(node.getMultiaddrs()[0]?.toString() ?? ''), { signal: AbortSignal.timeout(10_000) })
      // a stream opened on the muxer itself: no negotiation of ours, the flood is its first bytes
      const muxer = (connection as unknown as { muxer: { createStream: () => Promise<{ send: (b: Uint8Array) => boolean, addEventListener: (e: string, f: (evt: any) => void, o?: unknown) => void, abort: (err: Error) => void }> } }).muxer
      for (const preamble of [Buffer.alloc(0), HEADER, Buffer.concat([HEADER, frame('/not-handled/1.0.0')])]) {
        const stream = await muxer.createStream()
        const ended = new Promise<string>(resolve => {
          const bound = setTimeout(() => { resolve('still open') }, 10_000)
          stream.addEventListener('close', (evt) => { clearTimeout(bound); resolve(evt.error?.name ?? 'closed') }, { once: true })
        })
        stream.send(preamble)
        for (let i = 0; i < 64; i++) stream.send(Buffer.alloc(1024, 0x80))
        assert.equal(await ended, 'StreamResetError', `after ${preamble.length} honest bytes, the stream was reset`)
      }
      assert.equal(connection.status, 'open', 'the connection stays: a bad stream is the stream\'s')
      // and it costs the peer: malformed-frame (10), the three streams one burst of one offence (one episode)
      assert.ok(node.admission.suspicion.score(edge.peerId.toString()) > 9.9, `charged ${node.admission.suspicion.score(edge.peerId.toString())}`)
      await connection.close()
    })

    it('aborts a stream of its own whose listener floods its answer with length bytes, and charges the listener', async () => {
      const edge = await net.node({ type: 'edge' })
      const connection = await edge.libp2p.dial(multiaddr(node.getMultiaddrs()[0]?.toString() ?? ''), { signal: AbortSignal.timeout(10_000) })
      // the node's end of the connection answers every stream the edge opens with a flood
      const served = await eventually(() => node.libp2p.getConnections(edge.peerId).find(c => c.status === 'open'), 'the node\'s end of the connection') as unknown as { muxer: { addEventListener: (e: string, f: (evt: any) => void) => void } }
      served.muxer.addEventListener('stream', (evt) => {
        for (let i = 0; i < 64; i++) evt.detail.send(Buffer.alloc(1024, 0x80))
      })
      const muxer = (connection as unknown as { muxer: { createStream: () => Promise<{ send: (b: Uint8Array) => boolean, addEventListener: (e: string, f: (evt: any) => void, o?: unknown) => void }> } }).muxer
      const stream = await muxer.createStream()
      const ended = new Promise<string>(resolve => {
        const bound = setTimeout(() => { resolve('still open') }, 10_000)
        stream.addEventListener('close', (evt) => { clearTimeout(bound); resolve(evt.error?.name ?? 'closed') }, { once: true })
      })
      stream.send(Buffer.concat([HEADER, frame('/ipfs/ping/1.0.0')]))
      assert.equal(await ended, 'NegotiationError')
      assert.ok(edge.admission.suspicion.score(node.peerId.toString()) > 9.9, 'the listener that flooded its answer is charged')
      await connection.close()
    })

    it('gives up a dial whose listener floods its answers with length bytes, at once', async () => {
      const server = createServer(socket => {
        socket.on('error', () => {})
        for (let i = 0; i < 256 && !socket.destroyed; i++) socket.write(Buffer.alloc(1024, 0x80))
      })
      await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
      try {
        const { port: flooder } = server.address() as AddressInfo
        const someone = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
        const err = await node.libp2p.dial(multiaddr(`/ip4/127.0.0.1/tcp/${flooder}/p2p/${someone.toString()}`), { signal: AbortSignal.timeout(20_000) }).then(() => undefined, (e: Error) => e)
        assert.match(String(err?.message), /negotiation broke its bounds \(long-length\)/, `the dial ended for the listener's bytes, not by a timeout: ${String(err?.name)} ${String(err?.message)}`)
      } finally {
        server.close()
      }
    })

    it('resets an admitted peer\'s DHT stream that floods its frames with length bytes after a proper negotiation, and charges the peer', async () => {
      const edge = await net.node({ type: 'edge' })
      await edge.libp2p.dial(multiaddr(node.getMultiaddrs()[0]?.toString() ?? ''), { signal: AbortSignal.timeout(10_000) })
      // the DHT reads with libp2p's own length reader; the negotiation is libp2p's, done in full
      const stream = await edge.libp2p.dialProtocol(node.peerId, KAD_PROTOCOL, { signal: AbortSignal.timeout(10_000) })
      assert.equal(stream.protocol, KAD_PROTOCOL)
      const ended = new Promise<string>(resolve => {
        const bound = setTimeout(() => { resolve('still open') }, 10_000)
        stream.addEventListener('close', (evt) => { clearTimeout(bound); resolve(evt.error?.name ?? 'closed') }, { once: true })
      })
      for (let i = 0; i < 64; i++) stream.send(Buffer.alloc(1024, 0x80))
      assert.equal(await ended, 'StreamResetError')
      assert.ok(node.admission.suspicion.score(edge.peerId.toString()) > 9.9, `charged ${node.admission.suspicion.score(edge.peerId.toString())}`)
      assert.equal(node.libp2p.getConnections(edge.peerId).some(c => c.status === 'open'), true, 'the connection stays')
    })

    it('aborts its identify of a peer whose answer floods its frames with length bytes, and charges that peer', async () => {
      const liar = await net.node({ type: 'bridge' })
      // the liar's identify answers the negotiation properly, then sends a length that never ends
      await liar.libp2p.unhandle('/ipfs/id/1.0.0')
      await liar.libp2p.handle('/ipfs/id/1.0.0', (stream) => {
        for (let i = 0; i < 64; i++) stream.send(Buffer.alloc(1024, 0x80))
      })
      const connection = await node.libp2p.dial(multiaddr(liar.getMultiaddrs()[0]?.toString() ?? ''), { signal: AbortSignal.timeout(10_000) })
      const err = await node.libp2p.services.identify.identify(connection, { signal: AbortSignal.timeout(10_000) }).then(() => undefined, (e: Error) => e)
      assert.ok(err != null, 'identify failed')
      assert.notEqual(err.name, 'TimeoutError', `identify ended for the answer's bytes, not by its timeout: ${err.name} ${err.message}`)
      await eventually(() => node.admission.suspicion.score(liar.peerId.toString()) > 9.9 ? true : undefined, 'the liar charged')
    })

    it('reads every protocol it runs with a bounded length reader, or watches its frames', async () => {
      const bridge = await net.node({ type: 'bridge' })
      const edge = await net.node({ type: 'edge' })
      // readers with bounds of their own: this project's (src/core/length-prefix.ts, every stream
      // of src/ checked by test/core/length-prefix.test.ts); gossipsub's it-length-prefixed
      // (a length of more than 8 bytes is refused at once); ping's fixed 32 bytes
      const bounded = (p: string): boolean => p.startsWith('/tempus/') || p.startsWith('/meshsub/') || p === '/ipfs/ping/1.0.0'
      for (const n of [node, bridge, edge]) {
        for (const protocol of n.libp2p.getProtocols()) {
          assert.ok(bounded(protocol) || LIBP2P_FRAMED_PROTOCOLS.has(protocol), `${protocol}: a protocol whose reader is not known to be bounded (add it to LIBP2P_FRAMED_PROTOCOLS or say why it is bounded)`)
        }
      }
      for (const protocol of LIBP2P_FRAMED_PROTOCOLS.keys()) {
        assert.ok(node.libp2p.getProtocols().includes(protocol), `${protocol} is a protocol the node runs (a renamed one would go unwatched)`)
      }
    })

    it('still admits an honest node, twice in a row (the second may resume on a ticket)', async () => {
      const edge = await net.node({ type: 'edge' })
      for (let i = 0; i < 2; i++) {
        const connection = await edge.libp2p.dial(multiaddr(node.getMultiaddrs()[0]?.toString() ?? ''), { signal: AbortSignal.timeout(10_000) })
        assert.equal(connection.remotePeer.toString(), node.peerId.toString())
        await connection.close()
      }
    })
  })
})

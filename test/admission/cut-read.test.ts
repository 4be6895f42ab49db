import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { REFRESH_PROTOCOL } from '../../src/admission/constants.ts'
import { AdmissionError } from '../../src/admission/errors.ts'
import { StreamCloseEvent, StreamResetEvent } from '@libp2p/interface'
import { isCutRead, isFramingFault, isPeerFault, peerDecoded } from '../../src/admission/cut-read.ts'
import { LengthPrefixError } from '../../src/core/length-prefix.ts'
import { CATCH_UP_DIGEST_PROTOCOL, CATCH_UP_PROTOCOL } from '../../src/gossip/constants.ts'
import { RPC_PROTOCOL } from '../../src/rpc/constants.ts'
import { cyclonProtocol } from '../../src/sampling/constants.ts'
import { TestNet } from '../fixtures/nodes.ts'
import { eventually } from '../fixtures/wait.ts'
import type { TempusNode } from '../../src/node/tempus-node.ts'

// issue #13 item 7 ("our own abort is never the peer's fault") and its
// siblings: a request cut by our own close was charged as malformed by RPC,
// the Cyclon shuffle, gossip catch-up and token re-presentation alike (in the
// dev mesh, sampling's mutual shuffles throttled honest nodes within 30 s)

describe('a cut read is nobody\'s offence', () => {
  it('tells the peer\'s framing faults from cut streams by error name', () => {
    const named = (name: string): Error => Object.assign(new Error('x'), { name })
    assert.equal(isFramingFault(named('InvalidDataLengthError')), true)
    assert.equal(isFramingFault(named('InvalidDataLengthLengthError')), true)
    assert.equal(isFramingFault(named('UnexpectedEOFError')), false)
    for (const name of ['UnexpectedEOFError', 'StreamResetError', 'StreamAbortedError', 'StreamClosedError', 'AbortError', 'TimeoutError', 'ConnectionClosedError', 'MuxerClosedError']) {
      assert.equal(isCutRead(named(name)), true, name)
    }
    for (const err of [named('InvalidDataLengthError'), named('ParseError'), new RangeError('index out of range'), null, undefined, 'x']) {
      assert.equal(isCutRead(err), false, String((err as any)?.name ?? err))
    }
  })

  it('a peer fault is marked at the decoder: a plain Error from elsewhere is not one (issue #20)', () => {
    const codec = peerDecoded({ decode: (b: { length: number }) => { if (b.length === 0) throw new RangeError('index out of range'); return b.length } })
    assert.equal(codec.decode(Uint8Array.of(1, 2)), 2)
    let thrown: unknown
    try { codec.decode(new Uint8Array(0)) } catch (err) { thrown = err }
    assert.equal(isPeerFault(thrown), true, 'a frame that does not decode')
    assert.equal(isPeerFault(Object.assign(new Error('x'), { name: 'InvalidDataLengthError' })), true, 'an oversize length')
    assert.equal(isPeerFault(new LengthPrefixError(3)), true, 'a length prefix that does not end')
    assert.equal(isPeerFault(new Error('a connection aborted by our side')), false)
    assert.equal(isPeerFault(new RangeError('index out of range')), false, 'unmarked: could be anything')
  })

  it('a socket reset is a cut, whether it comes as the stream\'s close event or as the socket\'s error (issue #20)', () => {
    // what a revoked node's outbound admission read rejected with when an honest
    // peer aborted its end across a real link: it charged that peer malformed-frame
    const reset = Object.assign(new Error('write ECONNRESET'), { code: 'ECONNRESET', errno: -104, syscall: 'write' })
    assert.equal(isCutRead(new StreamCloseEvent(true, reset)), true, 'a close event with a reset')
    assert.equal(isCutRead(new StreamResetEvent(reset)), true, 'a reset event')
    assert.equal(isCutRead(new StreamCloseEvent(false)), true, 'a graceful close event')
    for (const code of ['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ERR_STREAM_PREMATURE_CLOSE']) {
      assert.equal(isCutRead(Object.assign(new Error('x'), { code })), true, code)
    }
    // other events and codes stay the peer's (or nobody's) business
    assert.equal(isCutRead(new Event('message')), false)
    assert.equal(isCutRead(Object.assign(new Error('x'), { code: 'ERR_INVALID_ARG_TYPE' })), false)
  })

  describe('on real nodes: half a request, then our side hangs up', () => {
    const net = new TestNet()
    let server: TempusNode
    let edge: TempusNode

    before(async () => {
      server = await net.statusServer()
    })
    after(async () => { await net.stop() })

    type Cut = { status: string, abort: (err: Error) => void }
    /** how our side ends the connection under a half-read request */
    const cuts: Array<[string, (c: Cut) => Promise<void>]> = [
      ['charges the caller nothing', async (cut) => {
        // a graceful close waits for open streams to finish; bounded, it then cuts them (as our shutdown does)
        await server.libp2p.hangUp(edge.peerId, { signal: AbortSignal.timeout(2_000) }).catch(() => {})
        // past the bound, what is left is cut (libp2p can leave a timed-out close pending)
        if (cut.status !== 'closed') cut.abort(new Error('closing: the graceful close timed out'))
      }],
      // what the liveness monitor or a revocation does to a connection: abort, with an error of ours
      ['a read our side aborts with a plain Error (no close first) charges the caller nothing (issue #20)', async (cut) => { cut.abort(new Error('a reason of our own')) }],
      // what the admission sweep does to a connection whose admission lapsed: in the 100-process chaos
      // run a token re-presentation under way was charged `admission-failed` for this node's own close
      ['a read our side aborts with an AdmissionError (the sweep closing a lapsed admission) charges the caller nothing (issue #20)', async (cut) => { cut.abort(new AdmissionError('expired')) }]
    ]
    for (const protocol of [RPC_PROTOCOL, cyclonProtocol('edge'), CATCH_UP_PROTOCOL, CATCH_UP_DIGEST_PROTOCOL, REFRESH_PROTOCOL]) {
      describe(protocol, () => {
        // a fresh edge per protocol: the cases' own streams must stay within each protocol's per-peer rate
        before(async () => {
          edge = await net.node({ type: 'edge', bootstrap: server.getMultiaddrs(), connections: { minConnections: 0 } })
          await eventually(() => server.admission.admitted.has(edge.peerId.toString()), 'the edge admitted')
        })
        for (const [label, hangUp] of cuts) {
          it(`${protocol}: ${label}`, async () => {
            const id = edge.peerId.toString()
            await edge.libp2p.dial(server.peerId)
            await eventually(() => server.admission.admitted.has(id), 'admitted')
            const before = server.admission.suspicion.score(id)
            const reading = (): unknown => server.libp2p.getConnections(edge.peerId).find(c => c.streams.some(s => s.protocol === protocol && s.direction === 'inbound'))
            let connection: unknown
            let ours: { status: string } | undefined
            // bounded: a stream lost with its connection to a background close is opened again
            for (let attempt = 0; attempt < 3 && connection == null; attempt++) {
              const stream = await edge.libp2p.dialProtocol(server.peerId, protocol)
              ours = edge.libp2p.getConnections(server.peerId).find(c => c.streams.includes(stream))
              // a length prefix of 100 bytes, and 3 of them
              stream.send(new Uint8Array([100, 1, 2, 3]))
              connection = await eventually(() => reading() ?? (stream.status !== 'open' ? 'lost' : undefined), 'the server reading the request')
              if (connection === 'lost') connection = undefined
            }
            assert.ok(connection != null, 'the server got the half request')
            const cut = connection as Cut
            await hangUp(cut)
            // an aborted connection ends as 'aborted' (or 'reset'), never 'closed': any end will do
            await eventually(() => ['closed', 'aborted', 'reset'].includes(cut.status), 'the connection ended')
            // and the edge saw it end: a redial must not find the dying connection still open on its side.
            // Only that one: the server may have dialled the edge meanwhile (its keeper, below its
            // minimum, or a sampling exchange), and that second connection is nobody's to end here
            assert.ok(ours != null, 'the edge\'s side of the cut connection')
            const edgeSide = ours
            await eventually(() => edgeSide.status !== 'open', 'the edge to see the end')
            // a round trip through the server after it: the cut read has been handled by now
            await edge.libp2p.dial(server.peerId)
            await eventually(() => server.admission.admitted.has(id), 'admitted again')
            assert.equal(await edge.rpc.call(server.peerId, 'status.get'), 'up')
            assert.equal(server.admission.suspicion.score(id) - before, 0)
          })
        }
      })
    }
  })
})

describe('bytes that do not decode, and an oversize length, are the peer\'s offence', () => {
  // the read and the decode are one call (pbStream): a cut must still cost
  // nothing (above), and bad bytes must still cost what they did
  const net = new TestNet()
  let server: TempusNode

  before(async () => {
    server = await net.node({ type: 'sentinel' })
  })
  after(async () => { await net.stop() })

  /** a varint length prefix of 4 MiB, over every protocol's frame limit, and no frame */
  const OVERSIZE = Uint8Array.from([0x80, 0x80, 0x80, 0x02])
  /** a whole frame of 3 bytes that decodes as no message: a truncated field tag */
  const UNDECODABLE = Uint8Array.from([3, 0xff, 0xff, 0xff])

  for (const protocol of [RPC_PROTOCOL, cyclonProtocol('edge'), CATCH_UP_PROTOCOL, CATCH_UP_DIGEST_PROTOCOL, REFRESH_PROTOCOL]) {
    for (const [label, bytes] of [['a frame that does not decode', UNDECODABLE], ['an oversize length', OVERSIZE]] as const) {
      it(`${protocol}: ${label} is charged as malformed`, async () => {
        const edge = await net.node({ type: 'edge', bootstrap: server.getMultiaddrs(), connections: { minConnections: 0 } })
        const id = edge.peerId.toString()
        await eventually(() => server.admission.admitted.has(id), 'the edge admitted')
        const stream = await edge.libp2p.dialProtocol(server.peerId, protocol)
        stream.send(bytes)
        await eventually(() => server.admission.suspicion.score(id) > 0, 'the edge charged')
        stream.abort(new Error('done'))
        // malformed-frame (10), decayed by a few milliseconds at most
        assert.ok(server.admission.suspicion.score(id) > 9.9, `charged ${server.admission.suspicion.score(id)}`)
        await edge.stop()
      })
    }
  }
})

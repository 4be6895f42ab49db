/**
 * Issue #19 item 1: resuming before Noise (`/tempus/resume/1.0.0`). The
 * codecs refuse every malformed message by name; the keys agree on both
 * sides only with the ticket's secret and both ephemeral keys; on real
 * nodes a redial resumes without Noise's handshake and carries streams of
 * any size, and every refusal (forged, a wrong secret, a restart, expiry,
 * a spent ticket) falls back to Noise and the full exchange on the same
 * connection, never to less; a denied peer is refused whatever it holds;
 * a recorded hello replayed gets no connection, and nobody is charged.
 */
import assert from 'node:assert/strict'
import { connect, createServer } from 'node:net'
import { randomBytes } from 'node:crypto'
import { after, describe, it } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import { CipherState, Ephemeral, RESUME_PROTOCOL, RESUME_REFUSALS, ResumeWireError, decodeAcceptBody, decodeAnswer, decodeConfirm, decodeFirst, encodeAccept, encodeAcceptBody, encodeConfirm, encodeFull, encodeHello, encodeRefuse, helloBinds, sessionKeys, tokenTag } from '../../src/admission/resume-handshake.ts'
import { TicketKeys } from '../../src/admission/ticket.ts'
import { TICKET_DEFAULTS } from '../../src/admission/ticket-desk.ts'
import { TestNet } from '../fixtures/nodes.ts'
import { eventually } from '../fixtures/wait.ts'
import type { Resumable, TicketDesk } from '../../src/admission/ticket-desk.ts'
import type { TempusNode } from '../../src/node/tempus-node.ts'
import type { AddressInfo, Socket } from 'node:net'

describe('the resumption handshake (pure)', () => {
  const hello = { ephemeral: new Uint8Array(32).fill(7), ticket: new Uint8Array(300).fill(1), muxers: ['/yamux/1.0.0', '/mplex/6.7.0'] }
  const secret = new Uint8Array(32).fill(9)

  it('each message round-trips, and every malformed one is refused by name', () => {
    assert.deepEqual(decodeFirst(encodeFull()), { type: 'full' })
    const decoded = decodeFirst(encodeHello(hello, secret))
    assert.equal(decoded.type, 'hello')
    assert.deepEqual(decoded.type === 'hello' && [Buffer.from(decoded.ephemeral), Buffer.from(decoded.ticket), decoded.muxers], [Buffer.from(hello.ephemeral), Buffer.from(hello.ticket), hello.muxers])
    const bytes = Buffer.from(encodeHello(hello, secret))
    const bad = (b: Uint8Array, why: RegExp): void => { assert.throws(() => decodeFirst(b), (err: any) => err instanceof ResumeWireError && why.test(err.message)) }
    bad(new Uint8Array(0), /neither `full` nor a well-formed hello/)
    bad(Uint8Array.of(9), /neither/)
    bad(bytes.subarray(0, 60), /neither/)
    bad(Buffer.concat([bytes, Buffer.alloc(5000)]), /neither/)
    bad(Buffer.concat([bytes, Uint8Array.of(0)]), /bytes after a hello's last field/)
    const noTicket = Buffer.from(bytes); noTicket.writeUInt16BE(0, 65)
    bad(noTicket, /ticket must be 1 to 3072 bytes/)
    const longTicket = Buffer.from(bytes); longTicket.writeUInt16BE(4000, 65)
    bad(longTicket, /ticket must be/)
    const manyMuxers = Buffer.from(bytes); manyMuxers[67 + 300] = 9
    bad(manyMuxers, /at most 8 muxers/)
    bad(bytes.subarray(0, bytes.length - 3), /cut short or empty/)

    for (const reason of RESUME_REFUSALS) assert.deepEqual(decodeAnswer(encodeRefuse(reason)), { type: 'refuse', reason })
    assert.throws(() => decodeAnswer(Uint8Array.of(3, 200)), /unknown reason/)
    assert.throws(() => decodeAnswer(Uint8Array.of(2, 1, 2)), /neither a refusal nor a well-formed accept/)
    const accept = decodeAnswer(encodeAccept(new Uint8Array(32).fill(3), new Uint8Array(40)))
    assert.equal(accept.type === 'accept' && accept.sealed.length, 40)

    const grant = new Uint8Array(100).fill(4)
    const grantSecret = new Uint8Array(32).fill(5)
    const yourToken = tokenTag('a token')
    assert.equal(yourToken.length, 8)
    assert.deepEqual(decodeAcceptBody(encodeAcceptBody({ muxer: '/yamux/1.0.0', yourToken, grant, grantSecret })), { muxer: '/yamux/1.0.0', yourToken, grant, grantSecret })
    assert.deepEqual(decodeAcceptBody(encodeAcceptBody({ muxer: '/yamux/1.0.0', yourToken })), { muxer: '/yamux/1.0.0', yourToken })
    assert.throws(() => decodeAcceptBody(new Uint8Array(0)), /names no muxer/)
    assert.throws(() => encodeAcceptBody({ muxer: '/y', yourToken: new Uint8Array(3) }), /token tag is 8 bytes/)
    const body = Buffer.from(encodeAcceptBody({ muxer: '/yamux/1.0.0', yourToken, grant, grantSecret }))
    assert.throws(() => decodeAcceptBody(body.subarray(0, body.length - 1)), /grant is cut short/)
    assert.throws(() => decodeAcceptBody(Buffer.concat([encodeAcceptBody({ muxer: '/y', yourToken }), Uint8Array.of(1)])), /bytes after an accept without a grant/)
    assert.equal(decodeConfirm(encodeConfirm(new Uint8Array(24))).length, 24)
    assert.throws(() => decodeConfirm(Uint8Array.of(4, 1)), /confirm is malformed/)
  })

  it('both sides derive the same keys only from the same secret and both ephemeral keys; frames open once, in order, unaltered', async () => {
    const secret = randomBytes(32)
    const ticket = randomBytes(200)
    const i = new Ephemeral()
    const r = new Ephemeral()
    assert.equal(i.publicRaw.length, 32)
    const helloBytes = encodeHello({ ephemeral: i.publicRaw, ticket, muxers: ['/yamux/1.0.0'] }, secret)
    assert.equal(helloBinds(secret, helloBytes), true)
    assert.equal(helloBinds(randomBytes(32), helloBytes), false, 'another secret')
    // the binder covers every other byte of the hello: its ephemeral key, its ticket, its muxers
    for (const at of [1, 40, 70, helloBytes.length - 1]) {
      const altered = Buffer.from(helloBytes)
      altered[at] = (altered[at] ?? 0) ^ 1
      assert.equal(helloBinds(secret, altered), false, `byte ${at} altered`)
    }
    const ik = sessionKeys(secret, await i.agree(r.publicRaw), helloBytes, r.publicRaw)
    const rk = sessionKeys(secret, await r.agree(i.publicRaw), helloBytes, r.publicRaw)
    const wrong = sessionKeys(randomBytes(32), await r.agree(i.publicRaw), helloBytes, r.publicRaw)

    const iSend = new CipherState(ik.outbound)
    const rReceive = new CipherState(rk.outbound)
    const f1 = iSend.seal(Buffer.from('one'))
    const f2 = iSend.seal(Buffer.from('two'))
    assert.equal(rReceive.open(f1).toString(), 'one')
    assert.throws(() => rReceive.open(f1), 'a frame replayed does not open at the next counter')
    assert.throws(() => new CipherState(rk.outbound).open(f2), 'nor out of order')
    const altered = Buffer.from(f1); altered[0] = (altered[0] ?? 0) ^ 1
    assert.throws(() => new CipherState(rk.outbound).open(altered), 'nor altered')
    assert.throws(() => new CipherState(wrong.outbound).open(f1), 'nor with a key made without the secret')
    assert.throws(() => new CipherState(rk.inbound).open(f1), 'nor with the other direction\'s key')
    assert.equal(new CipherState(ik.inbound).open(new CipherState(rk.inbound).seal(Buffer.from('back'))).toString(), 'back')
    // small records are sealed by WebAssembly, large ones by Node; both open with Node's, in one counter sequence
    const sender = new CipherState(ik.outbound)
    const receiver = new CipherState(rk.outbound)
    for (const size of [0, 12, 1199, 1200, 5000, 65_519, 3]) {
      const plain = randomBytes(size)
      const sealed = sender.seal(plain)
      assert.equal(sealed.length, size + 16)
      assert.deepEqual(Buffer.from(receiver.open(sealed)), plain, `${size} bytes`)
    }
    // points of small order (0, 1, and one of order 8): the agreement would be public
    const lowOrder = [new Uint8Array(32), Uint8Array.from({ length: 32 }, (_, k) => k === 0 ? 1 : 0), Buffer.from('e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800', 'hex')]
    for (const point of lowOrder) {
      await assert.rejects(r.agree(point), /low order/)
    }
    await assert.rejects(r.agree(new Uint8Array(31)), /32 bytes/)
    // the raw import agrees with Noise's own path, from both sides
    assert.deepEqual(Buffer.from(await i.agree(r.publicRaw)), Buffer.from(await r.agree(i.publicRaw)))
  })
})

describe('resuming before Noise between real nodes', () => {
  const net = new TestNet()
  const sockets: Socket[] = []
  after(async () => {
    for (const s of sockets) s.destroy()
    await net.stop()
  })
  const QUIET = { sampling: { edge: { period: '1h' }, bridge: { period: '1h' }, sentinel: { period: '1h' } }, connections: { minConnections: 0 } }
  const ECHO = '/tempus-test/echo/1.0.0'

  interface Pair { server: TempusNode, edge: TempusNode, outcomes: string[], addr: ReturnType<typeof multiaddr> }

  const pair = async (): Promise<Pair> => {
    const server = await net.node({ type: 'sentinel', ...QUIET })
    server.rpc.expose('echo.back', args => args)
    server.rpc.policy.replace([{ type: 'edge', allow: ['echo.*'] }])
    await server.libp2p.handle(ECHO, async (stream) => {
      for await (const chunk of stream) stream.send(chunk)
      await stream.close()
    })
    const edge = await net.node({ type: 'edge', ...QUIET })
    const outcomes: string[] = []
    for (const [name, n] of [['server', server], ['edge', edge]] as const) {
      const note = n.admission.noteResumption
      n.admission.noteResumption = (o) => { outcomes.push(`${name}:${o}`); note?.(o) }
    }
    return { server, edge, outcomes, addr: multiaddr(server.getMultiaddrs()[0] ?? '') }
  }

  /** dial, check the link with a call, close; the connection's encrypter returned */
  const cycle = async ({ server, edge, addr }: Pair, n: number): Promise<string> => {
    const connection = await edge.libp2p.dial(addr, { signal: AbortSignal.timeout(10_000) })
    assert.equal(await edge.rpc.call(server.peerId, 'echo.back', n), n)
    const encryption = connection.encryption ?? ''
    await connection.close()
    await eventually(() => server.libp2p.getConnections(edge.peerId).length === 0, 'closed at the server')
    return encryption
  }

  const desk = (n: TempusNode): TicketDesk => n.admission.tickets as TicketDesk

  it('a redial resumes before Noise: no Noise handshake, the muxer agreed, streams of any size carried', async () => {
    const p = await pair()
    const noiseBefore = await noiseHandshakes(p.server)
    assert.equal(await cycle(p, 1), RESUME_PROTOCOL)
    assert.deepEqual(p.outcomes, [], 'the first connection: the full exchange (one byte said so)')
    assert.equal(await noiseHandshakes(p.server), noiseBefore + 1)

    const connection = await p.edge.libp2p.dial(p.addr, { signal: AbortSignal.timeout(10_000) })
    await eventually(() => p.outcomes.length === 2, 'both sides done')
    assert.deepEqual(p.outcomes.sort(), ['edge:resumed', 'server:resumed'])
    assert.equal(await noiseHandshakes(p.server), noiseBefore + 1, 'no Noise handshake on the resumed connection')
    assert.equal(p.server.admission.admitted.get(p.edge.peerId.toString())?.claims.sub, p.edge.peerId.toString())
    // 300 KB each way, more than a frame holds, over the sealed connection
    const payload = randomBytes(300_000)
    const stream = await connection.newStream(ECHO)
    stream.send(payload)
    await stream.close()
    const chunks: Buffer[] = []
    for await (const chunk of stream) chunks.push(Buffer.from(chunk.subarray()))
    assert.deepEqual(Buffer.concat(chunks), payload)
    assert.equal(await p.edge.rpc.call(p.server.peerId, 'echo.back', 2), 2)
    await connection.close()
    await eventually(() => p.server.libp2p.getConnections(p.edge.peerId).length === 0, 'closed')

    // on the fresh ticket each resumption hands out, again and again, past the use count of one
    for (let i = 0; i < TICKET_DEFAULTS.maxUses + 2; i++) await cycle(p, i)
    assert.equal(p.outcomes.filter(o => o === 'server:resumed').length, TICKET_DEFAULTS.maxUses + 3)
    assert.equal(await noiseHandshakes(p.server), noiseBefore + 1)
  })

  it('a redial sends its hello with its security proposal, before any answer; a listener that does not then resume costs the ticket, not the next dial', async () => {
    const p = await pair()
    await cycle(p, 0)
    const server = p.server.peerId.toString()
    assert.equal(desk(p.edge).heldCount, 1, 'the edge holds the server\'s ticket')
    // a listener at another address, named as the server, that answers nothing and records what it gets
    const proposal = Buffer.concat([Buffer.of(19), Buffer.from('/multistream/1.0.0\n'), Buffer.of(RESUME_PROTOCOL.length + 1), Buffer.from(`${RESUME_PROTOCOL}\n`)])
    let received = Buffer.alloc(0)
    const listener = createServer(socket => {
      sockets.push(socket)
      socket.on('error', () => {})
      socket.on('data', (d: Buffer) => { received = Buffer.concat([received, d]) })
    })
    await new Promise<void>(resolve => listener.listen(0, '127.0.0.1', resolve))
    try {
      const { port } = listener.address() as AddressInfo
      const dialled = p.edge.libp2p.dial(multiaddr(`/ip4/127.0.0.1/tcp/${port}/p2p/${server}`), { signal: AbortSignal.timeout(3_000) })
      // the hello follows the proposal with no answer in between: the listener has written nothing
      const hello = await eventually(() => {
        if (received.length <= proposal.length + 2) return undefined
        const rest = received.subarray(proposal.length)
        const length = (rest[0] as number) < 0x80 ? [rest[0] as number, 1] : [((rest[0] as number) & 0x7f) | ((rest[1] as number) << 7), 2]
        return rest.length >= (length[0] as number) + (length[1] as number) ? rest.subarray(length[1], (length[0] as number) + (length[1] as number)) : undefined
      }, 'the hello behind the proposal')
      assert.deepEqual(received.subarray(0, proposal.length), proposal, 'the header and the proposal first')
      assert.equal(decodeFirst(hello).type, 'hello')
      for (const socket of sockets) socket.destroy()
      await assert.rejects(dialled)
    } finally {
      listener.close()
    }
    // the hello went out and no resumption took it: the ticket is gone, the next dial runs the full exchange
    await eventually(() => desk(p.edge).heldCount === 0 ? true : undefined, 'the ticket dropped')
    p.outcomes.length = 0
    await cycle(p, 1)
    assert.deepEqual(p.outcomes, [], 'the full exchange')
    await cycle(p, 2)
    assert.deepEqual(p.outcomes.sort(), ['edge:resumed', 'server:resumed'], 'and resumes again after it')
  })

  it('each refusal falls back to Noise and the full exchange on the same connection; the next one resumes again', async () => {
    const p = await pair()
    await cycle(p, 0)
    const edgeDesk = desk(p.edge)
    const serverDesk = desk(p.server)
    const server = p.server.peerId.toString()
    /** the edge presents this (once) in place of what it holds */
    const presentOnce = (change: (r: Resumable) => Resumable): void => {
      const original = edgeDesk.resumable.bind(edgeDesk)
      edgeDesk.resumable = (issuer, epoch) => {
        edgeDesk.resumable = original
        const r = original(issuer, epoch)
        return r == null ? r : change(r)
      }
    }
    const expectFallback = async (reason: string): Promise<void> => {
      p.outcomes.length = 0
      const before = await noiseHandshakes(p.server)
      assert.equal(await cycle(p, 1), RESUME_PROTOCOL)
      assert.deepEqual(p.outcomes.sort(), ['edge:declined-by-peer', `server:${reason}`])
      assert.equal(await noiseHandshakes(p.server), before + 1, `${reason}: Noise ran`)
      // the full exchange handed out a fresh ticket: the next redial resumes
      p.outcomes.length = 0
      await cycle(p, 2)
      assert.deepEqual(p.outcomes.sort(), ['edge:resumed', 'server:resumed'])
    }

    presentOnce(r => { const t = new Uint8Array(r.ticket); t[t.length - 1] = (t[t.length - 1] ?? 0) ^ 1; return { ...r, ticket: t } })
    await expectFallback('forged')
    presentOnce(r => ({ ...r, secret: randomBytes(32) }))
    await expectFallback('bad-binder')

    // the server restarted its ticket keys: every ticket it sealed is unknown
    ;(serverDesk as any).keys = new TicketKeys({ now: Date.now })
    await expectFallback('unknown-key')

    // the server's clock is past the ticket's end
    const now = (serverDesk as any).now
    ;(serverDesk as any).now = () => Date.now() + TICKET_DEFAULTS.lifetimeMs + 1_000
    try {
      p.outcomes.length = 0
      await cycle(p, 3)
      assert.deepEqual(p.outcomes.sort(), ['edge:declined-by-peer', 'server:expired'])
    } finally {
      ;(serverDesk as any).now = now
    }
    await cycle(p, 4)

    // one ticket presented beyond its use count (a copy of it, with its secret)
    let captured: Resumable | undefined
    const original = edgeDesk.resumable.bind(edgeDesk)
    edgeDesk.resumable = (issuer, epoch) => (captured ??= original(issuer, epoch))
    try {
      p.outcomes.length = 0
      for (let i = 0; i < TICKET_DEFAULTS.maxUses + 1; i++) await cycle(p, i)
      assert.equal(p.outcomes.filter(o => o === 'server:replayed').length, 1)
      // the copy's uses, then, after its refusal, a resumption inside Noise on the ticket the last
      // resumption granted: refusing a stale copy does not cost the ticket held since
      assert.equal(p.outcomes.filter(o => o === 'server:resumed').length, TICKET_DEFAULTS.maxUses + 1)
    } finally {
      edgeDesk.resumable = original
    }
    assert.equal(p.server.admission.suspicion.score(p.edge.peerId.toString()), 0, 'no refusal of a ticket is charged')
    assert.equal(p.edge.admission.suspicion.score(server), 0)
  })

  it('a peer whose token is newer than the one its ticket vouched for shows it on the resumed connection', async () => {
    const p = await pair()
    await cycle(p, 0)
    const old = p.edge.admission.ownToken?.token
    // a fresh token while no connection is open: nobody was shown it
    await p.edge.tokens.refresh()
    const fresh = p.edge.admission.ownToken?.token
    assert.ok(fresh != null && fresh !== old)
    p.outcomes.length = 0
    const connection = await p.edge.libp2p.dial(p.addr, { signal: AbortSignal.timeout(10_000) })
    await eventually(() => p.outcomes.length === 2, 'both sides done')
    assert.deepEqual(p.outcomes.sort(), ['edge:resumed', 'server:resumed'])
    // the ticket vouched for the old token; the edge re-presents the fresh one on the new connection
    await eventually(() => p.server.admission.admitted.get(p.edge.peerId.toString())?.token === fresh, 'the server to hold the fresh token')
    await connection.close()
  })

  it('a denied peer is refused whatever it holds; a recorded hello replayed gets no connection, and nobody is charged', async () => {
    const p = await pair()
    await cycle(p, 0)
    const edgeDesk = desk(p.edge)
    const server = p.server.peerId.toString()

    // a hello as it crossed the wire, replayed by someone on the path: it lacks the initiator's ephemeral key
    const held = edgeDesk.resumable(server, p.edge.admission.verifier.current?.epoch) as Resumable
    edgeDesk.hold(server, held.ticket, held.secret, held)
    const ephemeral = new Ephemeral()
    const hello = encodeHello({ ephemeral: ephemeral.publicRaw, ticket: held.ticket, muxers: ['/yamux/1.0.0'] }, held.secret)
    p.outcomes.length = 0
    const answer = await rawResume(p.server.getMultiaddrs()[0]?.toString() ?? '', hello, randomBytes(24))
    assert.equal(decodeAnswer(answer.accept).type, 'accept', 'the server answers the hello…')
    assert.equal(answer.closed, true, '…and closes on a confirm that does not open')
    assert.deepEqual(p.outcomes, [], 'no resumption')
    assert.equal(p.server.admission.admitted.has(p.edge.peerId.toString()), false, 'nobody admitted')
    assert.equal(p.server.admission.suspicion.score(p.edge.peerId.toString()), 0, 'the ticket\'s subject is not charged for another\'s replay')

    // banned at the server: refused before any exchange, ticket or not, and not handed to Noise
    p.server.admission.ban(p.edge.peerId.toString())
    const before = await noiseHandshakes(p.server)
    await assert.rejects(p.edge.libp2p.dial(p.addr, { signal: AbortSignal.timeout(5_000) }))
    assert.equal(await noiseHandshakes(p.server), before, 'no Noise handshake for a denied peer')
    assert.deepEqual(p.outcomes, [])
  })

  /** Noise handshakes the server completed (its metric) */
  async function noiseHandshakes (n: TempusNode): Promise<number> {
    const text = await n.metricsRegistry.metrics()
    const m = text.match(/^libp2p_noise_xxhandshake_successes_total(?:\{[^}]*\})? (\d+)/m)
    return Number(m?.[1] ?? 0)
  }

  /** A raw client: select the resumption, send `hello`, read the answer, send `confirm`; did the server close? */
  async function rawResume (addr: string, hello: Uint8Array, confirmTag: Uint8Array): Promise<{ accept: Uint8Array, closed: boolean }> {
    const [, , host, , port] = addr.split('/')
    const socket = connect(Number(port), host)
    sockets.push(socket)
    await new Promise<void>((resolve, reject) => { socket.once('connect', resolve).once('error', reject) })
    const line = (s: string): Buffer => Buffer.concat([Buffer.from([s.length + 1]), Buffer.from(`${s}\n`)])
    const varint = (n: number): Buffer => n < 128 ? Buffer.from([n]) : Buffer.from([(n & 127) | 128, n >> 7])
    const closed = new Promise<boolean>(resolve => { socket.once('close', () => { resolve(true) }) })
    let received = Buffer.alloc(0)
    socket.on('data', (d: Buffer) => { received = Buffer.concat([received, d]) })
    socket.write(Buffer.concat([line('/multistream/1.0.0'), line(RESUME_PROTOCOL), varint(hello.length), hello]))
    const expected = Buffer.concat([line('/multistream/1.0.0'), line(RESUME_PROTOCOL)]).length
    await eventually(() => received.length > expected + 1 + 32 + 16, 'the answer')
    const rest = received.subarray(expected)
    const length = (rest[0] ?? 0) & 127 | ((rest[0] ?? 0) & 128 ? (rest[1] ?? 0) << 7 : 0)
    const accept = rest.subarray((rest[0] ?? 0) & 128 ? 2 : 1).subarray(0, length)
    const confirm = encodeConfirm(confirmTag.subarray(0, 24))
    socket.write(Buffer.concat([varint(confirm.length), confirm]))
    return { accept, closed: await closed }
  }
})

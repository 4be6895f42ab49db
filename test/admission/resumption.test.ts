/**
 * Issue #19 item 1: resumption tickets. After a full exchange each side
 * holds a ticket the other sealed; a reconnect presents it and is admitted
 * with AES-GCM alone — no token verified, nothing signed. Each refusal
 * (expired, another epoch, replayed beyond its use count, forged, not for
 * this link, a restart) falls back to the full exchange in the same
 * connection, never to less; a revoked or quarantined peer is refused
 * whatever it holds.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { pbStream, streamPair } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { admitAsInitiator, admitAsResponder } from '../../src/admission/exchange.ts'
import { AdmissionState, admissionStateFor } from '../../src/admission/state.ts'
import { MAX_TICKET_LIFETIME_MS, TicketKeys, readTicketHeader } from '../../src/admission/ticket.ts'
import { TICKET_DEFAULTS, TicketDesk } from '../../src/admission/ticket-desk.ts'
import { memorySigner } from '../../src/core/keys.ts'
import { libp2pKeyOf } from '../../src/identity/index.ts'
import { IssuerClient } from '../../src/issuer-client/client.ts'
import { TestNet } from '../fixtures/nodes.ts'
import { eventually } from '../fixtures/wait.ts'
import type { Admitted } from '../../src/admission/exchange.ts'
import type { ResumptionOutcome } from '../../src/admission/state.ts'
import type { TokenClaims } from '../../src/admission/token.ts'
import type { PeerId, PrivateKey } from '@libp2p/interface'
import { createPrivateKey } from 'node:crypto'

const claims = (over: Partial<TokenClaims> = {}): TokenClaims => ({ iss: 'i', aud: 'o', sub: 'B', typ: 'edge', nbf: 0, exp: 1_000_000, iat: 0, jti: 'j', ep: 3, ...over })

describe('tickets and the ticket desk (pure)', () => {
  it('a ticket opens only with its issuer\'s key, for its subject, in its epoch, in its life, within its uses', () => {
    let now = 1_000_000
    const clock = (): number => now
    const a = new TicketDesk({ now: clock })
    const other = new TicketDesk({ now: clock })
    const g = a.grant('A', 'B', { token: 'tok', claims: claims({ exp: (now + 600_000) / 1000 }) })
    assert.ok(g != null)
    const t = g.ticket
    assert.equal(g.secret.length, 32)
    // the holder reads when it lapses and of which epoch it is; not what it says
    assert.deepEqual(readTicketHeader(t), { expiresAt: now + MAX_TICKET_LIFETIME_MS, epoch: 3 })
    assert.equal(Buffer.from(t).includes(Buffer.from('tok')), false)
    const opened = a.check('A', 'B', t, 3)
    assert.ok(typeof opened !== 'string')
    assert.equal(opened.token, 'tok')
    assert.deepEqual(opened.claims, claims({ exp: (now + 600_000) / 1000 }))
    assert.deepEqual(opened.secret, g.secret, 'the secret handed beside the ticket is sealed in it')
    assert.equal(Buffer.from(t).includes(Buffer.from(g.secret)), false)
    // refusals
    assert.equal(other.check('B', 'A', t, 3), 'unknown-key')
    assert.equal(a.check('A', 'C', t, 3), 'not-for-this-link', 'another presenter')
    assert.equal(a.check('Z', 'B', t, 3), 'not-for-this-link', 'sealed by another node')
    assert.equal(a.check('A', 'B', t, 4), 'epoch')
    const flipped = new Uint8Array(t)
    flipped[flipped.length - 20] = (flipped[flipped.length - 20] ?? 0) ^ 1
    assert.equal(a.check('A', 'B', flipped, 3), 'forged')
    const header = new Uint8Array(t)
    header[6] = (header[6] ?? 0) ^ 1 // the expiry, read by holders, is authenticated too
    assert.equal(a.check('A', 'B', header, 3), 'forged')
    assert.equal(a.check('A', 'B', t.subarray(0, 20), 3), 'malformed')
    // uses: one was spent above; maxUses in all
    for (let i = 1; i < TICKET_DEFAULTS.maxUses; i++) assert.ok(typeof a.check('A', 'B', t, 3) !== 'string')
    assert.equal(a.check('A', 'B', t, 3), 'replayed')
    // life: 2 minutes at most…
    const u = a.grant('A', 'B', { token: 'tok', claims: claims({ exp: (now + 600_000) / 1000 }) })?.ticket as Uint8Array
    now += MAX_TICKET_LIFETIME_MS
    assert.equal(a.check('A', 'B', u, 3), 'expired')
    // …and never longer than the token it vouches for; none when the token is nearly spent
    const short = a.grant('A', 'B', { token: 'tok', claims: claims({ exp: (now + 30_000) / 1000 }) })?.ticket as Uint8Array
    assert.equal(readTicketHeader(short)?.expiresAt, now + 30_000)
    assert.equal(a.grant('A', 'B', { token: 'tok', claims: claims({ exp: (now + 5_000) / 1000 }) }), undefined)
    // keys rotate; a ticket outlives its key's sealing time, not its opening time; a restart forgets them all
    const v = a.grant('A', 'B', { token: 'tok', claims: claims({ exp: (now + 600_000) / 1000 }) })?.ticket as Uint8Array
    now += 90_000
    assert.ok(typeof a.check('A', 'B', v, 3) !== 'string', 'opened after its key stopped sealing')
    now += 200_000
    a.grant('A', 'B', { token: 'tok', claims: claims({ exp: (now + 600_000) / 1000 }) })
    assert.equal(a.check('A', 'B', v, 3), 'unknown-key', 'the key is gone once its tickets lapsed')
  })

  it('a holder presents a ticket only of the current epoch, not in its last moments, and within its uses', () => {
    let now = 5_000_000
    const issuer = new TicketDesk({ now: () => now })
    const holder = new TicketDesk({ now: () => now })
    holder.hold('A', issuer.grant('A', 'B', { token: 't', claims: claims({ exp: (now + 600_000) / 1000 }) })?.ticket as Uint8Array)
    assert.equal(holder.present('A', 4), undefined, 'another epoch: dropped')
    holder.hold('A', issuer.grant('A', 'B', { token: 't', claims: claims({ exp: (now + 600_000) / 1000 }) })?.ticket as Uint8Array)
    for (let i = 0; i < TICKET_DEFAULTS.maxUses; i++) assert.ok(holder.present('A', 3) != null)
    assert.equal(holder.present('A', 3), undefined, 'uses spent')
    holder.hold('A', issuer.grant('A', 'B', { token: 't', claims: claims({ exp: (now + 600_000) / 1000 }) })?.ticket as Uint8Array)
    now += MAX_TICKET_LIFETIME_MS - TICKET_DEFAULTS.marginMs
    assert.equal(holder.present('A', 3), undefined, 'too close to its end')
    holder.hold('A', new Uint8Array(10))
    assert.equal(holder.heldCount, 0, 'garbage is not held')
  })

  it('a failure noticed late drops only the ticket it was about, not one granted since', () => {
    const now = 5_000_000
    const issuer = new TicketDesk({ now: () => now })
    const holder = new TicketDesk({ now: () => now })
    const grant = (): Uint8Array => issuer.grant('A', 'B', { token: 't', claims: claims({ exp: (now + 600_000) / 1000 }) })?.ticket as Uint8Array
    const stale = grant()
    holder.hold('A', stale)
    const fresh = grant()
    holder.hold('A', fresh)
    holder.drop('A', stale)
    assert.equal(holder.present('A', 3), fresh, 'the ticket granted in its place survives')
    holder.drop('A', fresh)
    assert.equal(holder.heldCount, 0, 'the ticket itself goes')
    holder.hold('A', grant())
    holder.drop('A')
    assert.equal(holder.heldCount, 0, 'without a ticket named, whatever is held goes')
  })

  it('when its count of uses is full, a desk refuses rather than forgets', () => {
    const now = 1_000_000
    const desk = new TicketDesk({ now: () => now, maxCounted: 2, maxUses: 2 })
    const grant = (): Uint8Array => desk.grant('A', 'B', { token: 't', claims: claims({ exp: (now + 600_000) / 1000 }) })?.ticket as Uint8Array
    const [t1, t2, t3] = [grant(), grant(), grant()]
    assert.ok(typeof desk.check('A', 'B', t1, 3) !== 'string')
    assert.ok(typeof desk.check('A', 'B', t2, 3) !== 'string')
    assert.equal(desk.check('A', 'B', t3, 3), 'replayed')
    assert.ok(typeof desk.check('A', 'B', t1, 3) !== 'string', 'a counted ticket still has its uses')
  })

  it('sealing keys: a new one each rotation, randomness and clock injected', () => {
    let now = 0
    let n = 0
    const keys = new TicketKeys({ now: () => now, rotateMs: 1000, random: (k) => new Uint8Array(k).fill(++n) })
    const contents = { issuer: 'A', subject: 'B', token: 't', claims: claims(), epoch: 3, issuedAt: 0, expiresAt: 60_000, id: '00' }
    const first = keys.seal(contents) as Uint8Array
    now = 1500
    const second = keys.seal(contents) as Uint8Array
    assert.notDeepEqual(first.subarray(1, 5), second.subarray(1, 5))
    assert.deepEqual((keys.open(first) as { token: string }).token, 't')
  })
})

/** a desk that presents `next` when set (a forged, lapsed or other-epoch ticket), else what it holds */
class Presenting extends TicketDesk {
  next?: Uint8Array
  override present (issuer: string, epoch: number | undefined): Uint8Array | undefined {
    return this.next ?? super.present(issuer, epoch)
  }
}

/** a member's parts for exchanges run directly over an in-memory stream pair */
interface Member {
  key: PrivateKey
  peerId: PeerId
  state: AdmissionState
  signatures: number
  verifications: number
  outcomes: ResumptionOutcome[]
  clock: { now: number }
}

describe('resumption in the admission exchange (real tokens, an in-memory link)', () => {
  const net = new TestNet()
  let a: Member
  let b: Member
  after(async () => { await net.stop() })

  const member = async (desk?: (now: () => number) => TicketDesk): Promise<Member> => {
    const seed = await generateKeyPair('Ed25519')
    const m = { signatures: 0, verifications: 0, outcomes: [], clock: { now: Date.now() } } as unknown as Member
    // a key that counts its signatures
    const node = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: Buffer.from(seed.raw.subarray(0, 32)).toString('base64url'), x: Buffer.from(seed.raw.subarray(32)).toString('base64url') }, format: 'jwk' })
    const signer = memorySigner(node)
    m.key = libp2pKeyOf({ ...signer, sign: (d) => { m.signatures++; return signer.sign(d) } })
    m.peerId = peerIdFromPrivateKey(m.key)
    const t = await net.issuer()
    const enrollment = await net.enroll(m.key, 'edge')
    const now = (): number => m.clock.now
    const base = await admissionStateFor(enrollment, { now })
    m.state = desk == null ? base : new AdmissionState({ verifier: base.verifier, revocations: base.revocations, suspicion: base.suspicion, deadlineMs: 5000, now, tickets: desk(now) })
    const token = await new IssuerClient({ url: t.url }).token(m.key, enrollment.credential)
    m.state.setOwnToken({ ...token, claims: await m.state.verifier.verify(token.token) })
    const verify = m.state.verifier.verify.bind(m.state.verifier)
    m.state.verifier.verify = async (...args) => { m.verifications++; return verify(...args) }
    m.state.noteResumption = (o) => { m.outcomes.push(o) }
    return m
  }

  /** one exchange, initiator `i` to responder `r`; the counts are reset first */
  const exchange = async (i: Member, r: Member): Promise<[Admitted, Admitted]> => {
    for (const m of [i, r]) { m.signatures = 0; m.verifications = 0; m.outcomes = [] }
    const [out, inn] = await streamPair()
    const signal = AbortSignal.timeout(10_000)
    const [x, y] = await Promise.allSettled([
      admitAsInitiator(pbStream(out), { state: i.state, privateKey: i.key, remotePeer: r.peerId }, { signal }),
      admitAsResponder(pbStream(inn), { state: r.state, privateKey: r.key, remotePeer: i.peerId }, { signal })
    ])
    if (x.status === 'rejected') throw x.reason
    if (y.status === 'rejected') throw y.reason
    return [x.value, y.value]
  }

  before(async () => {
    a = await member()
    b = await member()
  })

  it('a full exchange leaves each side a ticket of the other\'s; the next connection resumes on them with no signature made or checked', async () => {
    const [full1, full2] = await exchange(a, b)
    assert.ok(full1.resumed !== true && full2.resumed !== true)
    assert.ok(a.signatures >= 1 && b.signatures >= 1 && a.verifications >= 1 && b.verifications >= 1, 'the full exchange signs and verifies')
    assert.equal(a.state.tickets?.heldCount, 1)
    assert.equal(b.state.tickets?.heldCount, 1)

    const [x, y] = await exchange(a, b)
    assert.equal(x.resumed, true)
    assert.equal(y.resumed, true)
    assert.equal(x.claims.sub, b.peerId.toString())
    assert.equal(y.claims.sub, a.peerId.toString())
    assert.equal(y.token, a.state.ownToken?.token, 'the responder records the token its ticket vouched for')
    assert.deepEqual([a.signatures, b.signatures, a.verifications, b.verifications], [0, 0, 0, 0], 'no signature made, no token verified')
    assert.deepEqual([a.outcomes, b.outcomes], [['resumed'], ['resumed']])

    // and again, on the fresh tickets each resumption hands out; the other way round too
    assert.equal((await exchange(a, b))[0].resumed, true)
    assert.equal((await exchange(b, a))[0].resumed, true)
  })

  it('a ticket the responder finds expired: the full exchange runs in the same connection', async () => {
    await exchange(a, b)
    // the responder's clock is past the ticket's end, the initiator's not
    b.clock.now += MAX_TICKET_LIFETIME_MS + 1000
    try {
      const [x, y] = await exchange(a, b)
      assert.ok(x.resumed !== true && y.resumed !== true)
      assert.deepEqual(b.outcomes, ['expired'])
      assert.deepEqual(a.outcomes, ['declined-by-peer'])
      assert.ok(b.verifications >= 1, 'the token was verified after all')
    } finally {
      b.clock.now -= MAX_TICKET_LIFETIME_MS + 1000
    }
  })

  it('a responder that restarted (its keys gone) or holds no ticket to show back: the full exchange', async () => {
    await exchange(a, b)
    const fresh = await member()
    // a restarted responder: same identity, a new desk (modelled by a new member that a's ticket is not for)
    await exchange(a, fresh)
    await exchange(fresh, a)
    // `fresh` forgets its ticket of a's: a presents, fresh opens it, but has nothing of a's to show
    fresh.state.tickets?.drop(a.peerId.toString())
    const [x] = await exchange(a, fresh)
    assert.notEqual(x.resumed, true)
    assert.deepEqual(fresh.outcomes, ['no-ticket-to-show'])
  })

  it('the initiator refuses the responder\'s ticket (lapsed by its clock): it declines, and the full exchange runs in the same connection', async () => {
    const f = await member(now => new Presenting({ now }))
    await exchange(a, f)
    // a genuine ticket of a's for f, sealed long enough ago to have lapsed by now
    a.clock.now -= MAX_TICKET_LIFETIME_MS + 1000
    const lapsed = a.state.tickets?.grant(a.peerId.toString(), f.peerId.toString(), { token: f.state.ownToken?.token ?? '', claims: f.state.ownToken?.claims as TokenClaims })?.ticket
    a.clock.now += MAX_TICKET_LIFETIME_MS + 1000
    ;(f.state.tickets as Presenting).next = lapsed
    const [x, y] = await exchange(a, f)
    assert.ok(x.resumed !== true && y.resumed !== true)
    assert.deepEqual(a.outcomes, ['expired'])
    assert.ok(f.verifications >= 1, 'f verified a\'s token after all')
  })

  it('a ticket replayed beyond its use count, a forged one and one of another epoch fall back to the full exchange; a forged ticket shown back to the initiator is refused', async () => {
    // an initiator that presents one captured ticket over and over
    let captured: Uint8Array | undefined
    class Replaying extends TicketDesk {
      override present (issuer: string, epoch: number | undefined): Uint8Array | undefined {
        captured ??= super.present(issuer, epoch)
        return captured
      }
    }
    const c = await member(now => new Replaying({ now }))
    await exchange(c, b)
    const results: boolean[] = []
    for (let i = 0; i < TICKET_DEFAULTS.maxUses + 1; i++) {
      const [x] = await exchange(c, b)
      results.push(x.resumed === true)
    }
    assert.deepEqual(results, [...Array(TICKET_DEFAULTS.maxUses).fill(true), false])
    assert.deepEqual(b.outcomes, ['replayed'])

    // forged and other-epoch tickets, presented by the initiator
    const d = await member(now => new Presenting({ now }))
    await exchange(d, b)
    const desk = d.state.tickets as Presenting
    const real = desk.present(b.peerId.toString(), d.state.verifier.current?.epoch) as Uint8Array
    desk.next = new Uint8Array(real)
    desk.next[desk.next.length - 1] = (desk.next[desk.next.length - 1] ?? 0) ^ 1
    assert.notEqual((await exchange(d, b))[0].resumed, true)
    assert.deepEqual(b.outcomes, ['forged'])
    desk.next = new Uint8Array(randomBytes(200))
    desk.next[0] = 1
    assert.notEqual((await exchange(d, b))[0].resumed, true)
    assert.deepEqual(b.outcomes, ['unknown-key'])
    const epoch = d.state.verifier.current?.epoch ?? 0
    desk.next = b.state.tickets?.grant(b.peerId.toString(), d.peerId.toString(), { token: d.state.ownToken?.token ?? '', claims: { ...(d.state.ownToken?.claims as TokenClaims), ep: epoch + 1 } })?.ticket
    assert.notEqual((await exchange(d, b))[0].resumed, true)
    assert.deepEqual(b.outcomes, ['epoch'])

    // a responder showing back a ticket the initiator never sealed: refused outright (nobody honest does it)
    const e = await member(now => new Presenting({ now }))
    await exchange(b, e)
    const eDesk = e.state.tickets as Presenting
    const eReal = eDesk.present(b.peerId.toString(), e.state.verifier.current?.epoch) as Uint8Array
    eDesk.next = new Uint8Array(eReal)
    eDesk.next[eDesk.next.length - 1] = (eDesk.next[eDesk.next.length - 1] ?? 0) ^ 1
    await assert.rejects(exchange(b, e), /resumption ticket that is forged/)
  })
})

describe('resumption between real nodes', () => {
  const net = new TestNet()
  after(async () => { await net.stop() })
  const QUIET = { sampling: { edge: { period: '1h' }, bridge: { period: '1h' }, sentinel: { period: '1h' } }, connections: { minConnections: 0 } }

  it('a redial resumes, and the link carries RPC; a quarantined peer holding a ticket is refused; resumption off: never', async () => {
    const server = await net.node({ type: 'sentinel', ...QUIET })
    server.rpc.expose('echo.back', args => args)
    server.rpc.policy.replace([{ type: 'edge', allow: ['echo.*'] }])
    const edge = await net.node({ type: 'edge', ...QUIET })
    const outcomes: string[] = []
    for (const n of [server, edge]) {
      const note = n.admission.noteResumption
      n.admission.noteResumption = (o) => { outcomes.push(o); note?.(o) }
    }
    const addr = multiaddr(server.getMultiaddrs()[0] ?? '')
    await edge.libp2p.dial(addr)
    await eventually(() => server.admission.admitted.has(edge.peerId.toString()), 'admitted')
    assert.equal(await edge.rpc.call(server.peerId, 'echo.back', 1), 1)
    await edge.libp2p.hangUp(server.peerId)
    await eventually(() => server.libp2p.getConnections(edge.peerId).length === 0, 'closed')

    await edge.libp2p.dial(addr)
    // the responder admits once it reads the initiator's answer, a moment after the dialler
    await eventually(() => outcomes.length === 2, 'both sides done')
    assert.deepEqual(outcomes, ['resumed', 'resumed'])
    assert.equal(await edge.rpc.call(server.peerId, 'echo.back', 2), 2)
    const metrics = await server.metricsRegistry.metrics()
    assert.match(metrics, /tempus_admission_resumptions_total\{outcome="resumed"\} 1/)

    // quarantined at the server: refused before any exchange, ticket or not
    await edge.libp2p.hangUp(server.peerId)
    await eventually(() => server.libp2p.getConnections(edge.peerId).length === 0, 'closed again')
    server.admission.ban(edge.peerId.toString())
    await assert.rejects(edge.libp2p.dial(addr, { signal: AbortSignal.timeout(5_000) }))
    assert.equal(outcomes.length, 2, 'no resumption was even attempted by the server')
  })

  it('with admission.resumption false, nodes grant no tickets and every connection runs the full exchange', async () => {
    const x = await net.node({ type: 'sentinel', ...QUIET, admission: { resumption: false } })
    const y = await net.node({ type: 'edge', ...QUIET })
    await y.libp2p.dial(multiaddr(x.getMultiaddrs()[0] ?? ''))
    await eventually(() => x.admission.admitted.has(y.peerId.toString()), 'admitted')
    assert.equal(x.admission.tickets, undefined)
    assert.equal(y.admission.tickets?.heldCount, 0, 'x granted nothing')
  })
})

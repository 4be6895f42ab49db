/**
 * Issue #13 item 6: a Cyclon entry's addresses and age come from its
 * sender, who is not the peer the entry describes. An admitted attacker
 * replays honest peers' real tokens with addresses of its choosing and age
 * 65,535, answers a shuffle with 40 entries where 4 are allowed, attaches
 * records it forged or signed for someone else, and points many identities
 * of its own at one victim address. Each scenario runs real nodes.
 */
import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { IssuerClient } from '../../src/issuer-client/client.ts'
import { EVIDENCE_MAX_AGE_MS, cyclonProtocol } from '../../src/sampling/constants.ts'
import { TestNet } from '../fixtures/nodes.ts'
import { eventually } from '../fixtures/wait.ts'
import { descriptorOf, encodeShuffle, recordOf, sendShuffle } from './entries.ts'
import type { RawEntry } from './entries.ts'
import type { TempusNode } from '../../src/node/tempus-node.ts'
import type { PrivateKey } from '@libp2p/interface'
import type { Server } from 'node:net'

const MANUAL = { sampling: { edge: { period: '1h' }, bridge: { period: '1h' }, sentinel: { period: '1h' } }, liveness: { maintainInterval: '1h' } }
const BAD_ENTRY = 5
const MALFORMED_FRAME = 10

/** A TCP listener that counts the connections made to it and closes each at once (a dial there fails fast). */
async function trap (): Promise<{ addr: string, hits: () => number, server: Server }> {
  let hits = 0
  const server = createServer(socket => { hits++; socket.destroy() })
  await new Promise<void>(resolve => { server.listen(0, '127.0.0.1', resolve) })
  const port = (server.address() as { port: number }).port
  return { addr: `/ip4/127.0.0.1/tcp/${port}`, hits: () => hits, server }
}

/** A member enrolled with the test issuer: its key, id and a fresh token. */
interface Member { key: PrivateKey, id: string, token: string, keyCertificate: string }

const listenAddrs = (n: TempusNode): string[] => n.getMultiaddrs().map(a => a.replace(/\/p2p\/[^/]*$/, ''))
const score = (n: TempusNode, peer: TempusNode): number => n.admission.suspicion.score(peer.peerId.toString())

describe('Cyclon entries: signed addresses, clamped ages, bounded replies, a dial budget', () => {
  const net = new TestNet()
  let client: IssuerClient
  let createCode: () => Promise<string>
  const traps: Server[] = []

  before(async () => {
    const t = await net.issuer()
    client = new IssuerClient({ url: t.url })
    createCode = async () => await t.issuer.createCode('sentinel')
  })
  after(async () => {
    traps.forEach(s => s.close())
    await net.stop()
  })

  async function member (): Promise<Member> {
    const key = await generateKeyPair('Ed25519')
    const enrolled = await client.enroll(key, await createCode())
    const token = await client.token(key, enrolled.credential)
    return { key, id: enrolled.peerId, token: token.token, keyCertificate: token.keyCertificate }
  }

  /** A target and an admitted attacker connected to it (both sentinels, ticking only when told). */
  async function targetAndAttacker (): Promise<{ target: TempusNode, attacker: TempusNode, attackerKey: PrivateKey }> {
    const target = await net.node({ type: 'sentinel', ...MANUAL })
    const attackerKey = await generateKeyPair('Ed25519')
    const attacker = await net.node({ type: 'sentinel', bootstrap: target.getMultiaddrs(), ...MANUAL, options: { privateKey: attackerKey } })
    await eventually(() => target.admission.admitted.has(attacker.peerId.toString()) && attacker.admission.admitted.has(target.peerId.toString()), 'the attacker admitted')
    return { target, attacker, attackerKey }
  }

  it('honest peers\' real tokens with addresses of the attacker\'s choosing and age 65535: never dialled, never stored, the sender charged', async () => {
    const { target, attacker, attackerKey } = await targetAndAttacker()
    const bait = await trap()
    traps.push(bait.server)
    // two honest running sentinels the target has not met; the attacker holds their real tokens
    const honestKeys = [await generateKeyPair('Ed25519'), await generateKeyPair('Ed25519')]
    const honest = await Promise.all(honestKeys.map(async privateKey => net.node({ type: 'sentinel', ...MANUAL, options: { privateKey } })))
    const entries: RawEntry[] = await Promise.all(honest.map(async h => {
      const own = h.admission.ownToken
      assert.ok(own != null)
      return {
        id: h.peerId.toString(),
        token: own.token,
        keyCertificate: own.keyCertificate,
        age: 65535,
        // the unsigned address field older versions dialled, and a record the attacker signed
        addrs: [bait.addr],
        record: await recordOf(attackerKey, [bait.addr])
      }
    }))
    const before = score(target, attacker)
    await sendShuffle(attacker, target, entries)
    // the target's next shuffles and a round of its peer keeper: whatever they dial, never the bait
    for (let i = 0; i < 3; i++) {
      await target.sampling.tick('sentinel')
    }
    await target.libp2p.services.keeper.maintain()
    assert.equal(bait.hits(), 0, 'the attacker-chosen address was dialled')
    for (const h of honest) {
      const stored = await target.libp2p.peerStore.get(h.peerId).then(p => p.addresses.map(a => a.multiaddr.toString()), () => [] as string[])
      assert.ok(!stored.includes(bait.addr), `the target keeps ${bait.addr} for an honest peer`)
      assert.ok(!target.sampling.view('sentinel').some(e => e.peerId === h.peerId.toString()), 'an entry with a record signed by someone else entered the view')
    }
    assert.ok(score(target, attacker) - before >= 2 * BAD_ENTRY - 0.5, `suspicion rose by ${score(target, attacker) - before}`)

    // the same honest peers with the records they signed themselves (which anyone may replay): taken in, with
    // their own addresses, an age no older than their tokens, and no charge
    const fair = score(target, attacker)
    const replayed: RawEntry[] = []
    for (const [i, h] of honest.entries()) {
      const own = h.admission.ownToken
      assert.ok(own != null)
      replayed.push({ id: h.peerId.toString(), token: own.token, keyCertificate: own.keyCertificate, age: 65535, record: await recordOf(honestKeys[i] as PrivateKey, listenAddrs(h)), descriptor: descriptorOf(honestKeys[i] as PrivateKey, 'sentinel', target.peerId.toString(), [attackerKey]) })
    }
    await sendShuffle(attacker, target, replayed)
    for (const h of honest) {
      const entry = target.sampling.view('sentinel').find(e => e.peerId === h.peerId.toString())
      assert.ok(entry != null, 'an honest peer\'s genuine entry is taken in')
      assert.deepEqual(entry.addrs.sort(), listenAddrs(h).sort())
      // the sentinel view's period is 1 h here and the token is minutes old: at most one period
      assert.ok(entry.age <= 1, `age ${entry.age} kept as the sender claimed`)
      const stored = await target.libp2p.peerStore.get(h.peerId)
      assert.deepEqual(stored.addresses.map(a => a.multiaddr.toString()).sort(), listenAddrs(h).sort())
    }
    assert.ok(score(target, attacker) <= fair + 0.001, 'replaying genuine records is not an offence')
    assert.equal(bait.hits(), 0)
  })

  it('records forged, signed by another peer, or describing another peer are refused and charged; an entry with no record is dropped free', async () => {
    const { target, attacker, attackerKey } = await targetAndAttacker()
    const [a, b, c, d, e] = await Promise.all([member(), member(), member(), member(), member()])
    assert.ok(a != null && b != null && c != null && d != null && e != null)
    const genuine = await recordOf(c.key, ['/ip4/127.0.0.1/tcp/9'])
    const forged = Uint8Array.from(genuine)
    forged[forged.length - 1] = (forged[forged.length - 1] as number) ^ 0xff // the signature's last byte
    const entry = (m: Member, record: Uint8Array): RawEntry => ({ id: m.id, token: m.token, keyCertificate: m.keyCertificate, record })
    const refused = [
      entry(a, await recordOf(attackerKey, ['/ip4/127.0.0.1/tcp/9'])), // the attacker's own record in a's entry
      entry(b, await recordOf(d.key, ['/ip4/127.0.0.1/tcp/9'])), // d's record in b's entry
      entry(c, forged),
      entry(e, Uint8Array.from([1, 2, 3, 4]))
    ]
    const before = score(target, attacker)
    await sendShuffle(attacker, target, refused)
    const view = target.sampling.view('sentinel').map(x => x.peerId)
    for (const r of refused) {
      assert.ok(!view.includes(r.id), `${r.id} entered the view`)
    }
    assert.ok(score(target, attacker) - before >= 4 * BAD_ENTRY - 0.5, `suspicion rose by ${score(target, attacker) - before}`)
    const mid = score(target, attacker)
    await sendShuffle(attacker, target, [{ id: d.id, token: d.token, keyCertificate: d.keyCertificate }])
    assert.ok(!target.sampling.view('sentinel').some(x => x.peerId === d.id), 'an entry without a record has no address to offer')
    assert.ok(score(target, attacker) <= mid + 0.001, 'an entry that claims no address costs nothing')
  })

  it('a sender\'s own entry whose token lapsed in an issuer outage is dropped free; another peer\'s long-lapsed entry is still charged', async () => {
    // the target's clock only, moved past the sender's token, the evidence bound and its grace, as a long outage does
    let shift = 0
    const now = (): number => Date.now() + shift
    const target = await net.node({ type: 'sentinel', ...MANUAL, admission: { sweepInterval: '1h' }, options: { now } })
    const senderKey = await generateKeyPair('Ed25519')
    const sender = await net.node({ type: 'sentinel', bootstrap: target.getMultiaddrs(), ...MANUAL, options: { privateKey: senderKey } })
    await eventually(() => target.admission.admitted.has(sender.peerId.toString()) && sender.admission.admitted.has(target.peerId.toString()), 'the sender admitted')
    const own = sender.admission.ownToken ?? assert.fail('the sender holds a token')
    const other = await member()
    shift = (own.claims.exp * 1000 - Date.now()) + EVIDENCE_MAX_AGE_MS + 5 * 60_000
    const before = score(target, sender)
    await sendShuffle(sender, target, [{ id: sender.peerId.toString(), token: own.token, keyCertificate: own.keyCertificate, record: await recordOf(senderKey, listenAddrs(sender)) }])
    assert.ok(score(target, sender) <= before + 0.001, `its own lapsed entry cost the sender ${score(target, sender) - before}`)
    await sendShuffle(sender, target, [{ id: other.id, token: other.token, keyCertificate: other.keyCertificate, record: await recordOf(other.key, ['/ip4/127.0.0.1/tcp/9']) }])
    assert.ok(score(target, sender) - before >= BAD_ENTRY - 0.5, 'another peer\'s entry, lapsed long ago, is charged as before')
  })

  it('an empty view is not seeded with a connected peer whose token lapsed past the evidence bound (a link kept through a long issuer outage): its receivers would refuse the entry', async () => {
    let shift = 0
    const now = (): number => Date.now() + shift
    const holder = await net.node({ type: 'sentinel', ...MANUAL, admission: { sweepInterval: '1h' }, options: { now } })
    const kept = await net.node({ type: 'sentinel', bootstrap: holder.getMultiaddrs(), ...MANUAL })
    const id = kept.peerId.toString()
    await eventually(() => holder.admission.admitted.has(id), 'the kept peer admitted')
    // the seeding step itself (a tick would go on to shuffle the seeded entry away)
    const seed = async (): Promise<void> => { await (holder.sampling as unknown as { seed: (type: string) => Promise<void> }).seed('sentinel') }
    // seeding needs the record the peer signed, which identify stores a moment after admission
    await eventually(async () => { await seed(); return holder.sampling.view('sentinel').some(e => e.peerId === id) }, 'a peer with a valid token seeds the view')
    // lapsed, but within the bound: it still proves admission, and stays
    shift = ((holder.admission.admitted.get(id)?.claims.exp ?? 0) * 1000 - Date.now()) + 60_000
    await (holder.sampling as unknown as { evidence: { dropLapsing: (type: string) => void } }).evidence.dropLapsing('sentinel')
    assert.ok(holder.sampling.view('sentinel').some(e => e.peerId === id), 'evidence lapsed a minute ago stays')
    // past the bound (a long outage, where nobody can refresh it): dropped, and not seeded again
    shift = ((holder.admission.admitted.get(id)?.claims.exp ?? 0) * 1000 - Date.now()) + EVIDENCE_MAX_AGE_MS + 60_000
    await holder.sampling.tick('sentinel')
    await seed()
    assert.ok(!holder.sampling.view('sentinel').some(e => e.peerId === id), 'a lapsed token does not seed the view')
  })

  it('a newer record replaces older addresses; an older one never rolls them back and is not held against its sender', async () => {
    const { target, attacker, attackerKey } = await targetAndAttacker()
    const m = await member()
    const send = async (seq: bigint, addr: string): Promise<void> => {
      await sendShuffle(attacker, target, [{ id: m.id, token: m.token, keyCertificate: m.keyCertificate, record: await recordOf(m.key, [addr], seq), descriptor: descriptorOf(m.key, 'sentinel', target.peerId.toString(), [attackerKey]) }])
    }
    const stored = async (): Promise<string[]> => target.libp2p.peerStore.get(peerIdFromString(m.id)).then(p => p.addresses.map(a => a.multiaddr.toString()), () => [])
    const inView = (): string[] => target.sampling.view('sentinel').find(x => x.peerId === m.id)?.addrs ?? []
    const before = score(target, attacker)
    await send(10n, '/ip4/127.0.0.1/tcp/1001')
    assert.deepEqual(await stored(), ['/ip4/127.0.0.1/tcp/1001'])
    assert.deepEqual(inView(), ['/ip4/127.0.0.1/tcp/1001'])
    await send(11n, '/ip4/127.0.0.1/tcp/1002')
    assert.deepEqual(await stored(), ['/ip4/127.0.0.1/tcp/1002'], 'a newer record goes to the peer store')
    assert.deepEqual(inView(), ['/ip4/127.0.0.1/tcp/1002'], 'and to the entry already held')
    await send(10n, '/ip4/127.0.0.1/tcp/1001')
    assert.deepEqual(await stored(), ['/ip4/127.0.0.1/tcp/1002'], 'an older record rolled the addresses back')
    assert.deepEqual(inView(), ['/ip4/127.0.0.1/tcp/1002'])
    assert.ok(score(target, attacker) <= before + 0.001, 'passing on genuine records, old or new, costs nothing')
  })

  /** The target shuffles with a liar that answers with `reply`; returns the rise of the liar's suspicion. */
  async function replyFromLiar (reply: Uint8Array): Promise<{ rise: number, view: string[] }> {
    const target = await net.node({ type: 'sentinel', ...MANUAL })
    const liar = await net.node({ type: 'sentinel', bootstrap: target.getMultiaddrs(), ...MANUAL })
    await eventually(() => target.admission.admitted.has(liar.peerId.toString()), 'the liar admitted')
    // the target seeds its empty view from connected sentinels, with the record identify brought
    await eventually(async () => (await target.libp2p.peerStore.get(liar.peerId)).peerRecordEnvelope != null, 'the liar\'s signed record at the target')
    await liar.libp2p.unhandle(cyclonProtocol('sentinel'))
    let asked = 0
    await liar.libp2p.handle(cyclonProtocol('sentinel'), async (stream) => {
      asked++
      const lp = lpStream(stream)
      await lp.read({ signal: AbortSignal.timeout(10_000) })
      await lp.write(reply)
      await stream.close().catch(() => {})
    })
    const before = score(target, liar)
    await target.sampling.tick('sentinel')
    assert.equal(asked, 1, 'the target shuffled with the liar')
    return { rise: score(target, liar) - before, view: target.sampling.view('sentinel').map(e => e.peerId) }
  }

  it('a reply with 40 entries where the view exchanges 4 is refused and charged like such a push', async () => {
    const members = await Promise.all(Array.from({ length: 40 }, async () => member()))
    const forty: RawEntry[] = await Promise.all(members.map(async m => ({ id: m.id, token: m.token, keyCertificate: m.keyCertificate, addrs: ['/ip4/127.0.0.1/tcp/9'], record: await recordOf(m.key, ['/ip4/127.0.0.1/tcp/9']) })))
    const { rise, view } = await replyFromLiar(encodeShuffle(forty))
    assert.ok(members.every(m => !view.includes(m.id)), `${members.filter(m => view.includes(m.id)).length} of the 40 entered the view`)
    assert.ok(rise >= MALFORMED_FRAME - 0.5, `suspicion rose by ${rise}`)
  })

  it('a reply frame over 64 KiB is charged like such a push', async () => {
    const { rise } = await replyFromLiar(new Uint8Array(70 * 1024))
    assert.ok(rise >= MALFORMED_FRAME - 0.5, `suspicion rose by ${rise}`)
  })

  it('many identities whose own records name one victim address: the node dials it within its budget only', async () => {
    const { target, attacker, attackerKey } = await targetAndAttacker()
    // the victim counts every dial from 127.0.0.1; the attacker's own node
    // learns the colluders' records too (the target's sample exchange offers
    // them) and would dial within a budget of its own: only the target's are measured
    await attacker.libp2p.services.keeper.stop()
    const victim = await trap()
    traps.push(victim.server)
    const colluders = await Promise.all(Array.from({ length: 4 }, async () => member()))
    const started = Date.now()
    await sendShuffle(attacker, target, await Promise.all(colluders.map(async m => ({ id: m.id, token: m.token, keyCertificate: m.keyCertificate, addrs: [victim.addr], record: await recordOf(m.key, [victim.addr]), descriptor: descriptorOf(m.key, 'sentinel', target.peerId.toString(), [attackerKey]) }))))
    // push them again as the target forgets each partner that does not answer, and tick: every tick wants the victim
    for (let round = 0; round < 3; round++) {
      await sendShuffle(attacker, target, await Promise.all(colluders.map(async m => ({ id: m.id, token: m.token, keyCertificate: m.keyCertificate, addrs: [victim.addr], record: await recordOf(m.key, [victim.addr]), descriptor: descriptorOf(m.key, 'sentinel', target.peerId.toString(), [attackerKey]) }))))
      await target.sampling.tick('sentinel')
      await target.libp2p.services.keeper.maintain()
    }
    // the budget per address is 3 at once and one per 5 s after (DIAL_LIMITS): the bound counts the time this took
    const allowed = 3 + Math.floor((Date.now() - started) / 5_000)
    assert.ok(victim.hits() <= allowed, `the victim was dialled ${victim.hits()} times (budget ${allowed})`)
    assert.ok(victim.hits() >= 1, 'the scenario reached the dial at all')
  })
})

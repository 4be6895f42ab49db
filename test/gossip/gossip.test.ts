import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { REVOCATION_NEWS_GRACE_MS } from '../../src/admission/constants.ts'
import { DOMAINS } from '../../src/core/domains.ts'
import { generateEd25519, rawPublicKey, signDomain } from '../../src/core/keys.ts'
import { IssuerClient } from '../../src/issuer-client/client.ts'
import { encodeAnomalyBody } from '../../src/gossip/anomaly.ts'
import { bindAnomaly, deriveAnomalyId } from '../../src/gossip/anomaly-id.ts'
import { ANOMALY_TOPIC, GOSSIP_SKEW_MS, KEYS_TOPIC } from '../../src/gossip/constants.ts'
import { sealFrame } from '../../src/gossip/frame.ts'
import { GossipFrame } from '../../src/gossip/pb/gossip.ts'
import { anomalyFrame, scriptedOrigin } from '../fixtures/anomaly-frame.ts'
import { TestNet } from '../fixtures/nodes.ts'
import { eventually, waitForEvent } from '../fixtures/wait.ts'
import type { Anomaly } from '../../src/gossip/anomaly.ts'
import type { BoundAnomaly } from '../../src/gossip/anomaly-id.ts'
import type { DeliveredAnomaly } from '../../src/gossip/service.ts'
import type { TempusNode } from '../../src/node/tempus-node.ts'
import type { PrivateKey } from '@libp2p/interface'

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url')
const QUIET = { sampling: { edge: { period: '1h' }, bridge: { period: '1h' }, sentinel: { period: '1h' } } }

/** Every node's application deliveries, by anomaly id. */
class Deliveries {
  readonly byNode = new Map<TempusNode, Map<string, number>>()
  watch (node: TempusNode): void {
    const counts = new Map<string, number>()
    this.byNode.set(node, counts)
    node.gossip.addEventListener('anomaly', evt => { counts.set(evt.detail.id, (counts.get(evt.detail.id) ?? 0) + 1) })
  }

  everywhere (id: string): boolean {
    return [...this.byNode.values()].every(c => (c.get(id) ?? 0) >= 1)
  }
}

async function mesh (net: TestNet, size: number): Promise<TempusNode[]> {
  const sentinels: TempusNode[] = []
  for (let i = 0; i < 3; i++) {
    sentinels.push(await net.node({ type: 'sentinel', bootstrap: sentinels.flatMap(s => s.getMultiaddrs()), ...QUIET }))
  }
  const bootstrap = sentinels.flatMap(s => s.getMultiaddrs())
  const rest = await Promise.all(Array.from({ length: size - 3 }, async (_, i) => net.node({ type: i < 4 ? 'bridge' : 'edge', bootstrap, ...QUIET })))
  const nodes = [...sentinels, ...rest]
  // every node has a gossipsub peer on the anomaly topic
  await eventually(() => nodes.every(n => n.libp2p.services.pubsub.getSubscribers(ANOMALY_TOPIC).length >= 2), 'anomaly topic meshes', 60_000, 100)
  return nodes
}

async function heartbeats (node: TempusNode, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await waitForEvent(node.libp2p.services.pubsub, 'gossipsub:heartbeat', () => true, 10_000)
  }
}

/** Until `a` and `b` each see the other on `topic`: a node publishes only to peers it knows are there. */
async function onTopicBothWays (a: TempusNode, b: TempusNode, topic: string): Promise<void> {
  const sees = (x: TempusNode, y: TempusNode): boolean => x.libp2p.services.pubsub.getSubscribers(topic).some(p => p.equals(y.peerId))
  await eventually(() => sees(a, b) && sees(b, a), `both ends on ${topic}`)
}

/** An anomaly of `origin` in `overlay`, its id bound to both and to its content. */
function anomaly (origin: string, overlay: string, overrides: Partial<Omit<Anomaly, 'id' | 'origin'>> = {}): BoundAnomaly {
  const now = Date.now()
  const content = { kind: 'test', digest: randomBytes(32).toString('hex'), severity: 5, metadata: {}, timestamp: now, expires: now + 60_000, ...overrides }
  return bindAnomaly({ id: deriveAnomalyId(overlay, origin, content), origin, ...content }, overlay)
}

describe('anomaly gossip in a mesh of real nodes', () => {
  const net = new TestNet()
  after(async () => { await net.stop() })

  it('20 nodes: each anomaly reaches every node\'s application exactly once', async () => {
    const nodes = await mesh(net, 20)
    const deliveries = new Deliveries()
    nodes.forEach(n => { deliveries.watch(n) })
    const publishers = [nodes[0], nodes[5], nodes[10], nodes[15], nodes[19]] as TempusNode[]
    const published = []
    for (const [i, p] of publishers.entries()) {
      published.push(await p.gossip.publish({ kind: 'ssh-bruteforce', digest: randomBytes(32).toString('hex'), severity: i, metadata: { rule: `r${i}` } }))
    }
    for (const a of published) {
      await eventually(() => deliveries.everywhere(a.id), `anomaly ${a.id} at every node`, 30_000, 50)
    }
    // give duplicates time to show up: two more gossip rounds (IHAVE/IWANT) everywhere
    await heartbeats(nodes[1] as TempusNode, 2)
    for (const [node, counts] of deliveries.byNode) {
      for (const a of published) {
        assert.equal(counts.get(a.id), 1, `${node.peerId.toString()} got ${a.id} ${counts.get(a.id)} times`)
      }
      assert.equal(counts.size, published.length)
    }
    // what arrived is what was published, origin included
    const seen = nodes[7]?.gossip.list() ?? []
    for (const a of published) {
      const got = seen.find(x => x.id === a.id)
      assert.ok(got != null)
      assert.equal(got.origin, a.origin)
      assert.equal(got.digest, a.digest)
      assert.deepEqual(got.metadata, a.metadata)
    }
    await Promise.all(nodes.map(async n => n.stop()))
  })

  it('forged, unadmitted, re-encoded, wrongly evidenced and oversize anomalies are never forwarded, and cost their sender; expired ones are never forwarded', async () => {
    const nodes = await mesh(net, 20)
    const entry = nodes[4] as TempusNode
    // two attackers, three crafted messages each: four refusals would graylist one (rescore.ts),
    // and gossipsub would drop what came after unread
    const keys = [await generateKeyPair('Ed25519'), await generateKeyPair('Ed25519')]
    const attackers = await Promise.all(keys.map(async privateKey => net.node({ type: 'edge', bootstrap: entry.getMultiaddrs(), ...QUIET, options: { privateKey } })))
    for (const attacker of attackers) {
      await onTopicBothWays(entry, attacker, ANOMALY_TOPIC)
    }
    const everyone = [...nodes]
    const deliveries = new Deliveries()
    everyone.forEach(n => { deliveries.watch(n) })
    const attackerIds = new Set(attackers.map(a => a.peerId.toString()))
    const refusedFrom = new Map<TempusNode, string[]>()
    for (const n of everyone) {
      refusedFrom.set(n, [])
      n.gossip.addEventListener('refused', evt => { refusedFrom.get(n)?.push(`${attackerIds.has(evt.detail.peer) ? 'attacker' : evt.detail.peer}:${evt.detail.reason}`) })
    }
    const now = Date.now()
    const stranger = await generateKeyPair('Ed25519')
    const strangerId = peerIdFromPrivateKey(stranger).toString()
    /** [what it is, the refusal it earns, the frame] */
    const crafted: Array<Array<[string, string, Uint8Array]>> = attackers.map((attacker, k) => {
      const privateKey = keys[k] as typeof keys[number]
      const me = attacker.peerId.toString()
      const own = attacker.admission.ownToken
      assert.ok(own != null)
      const overlay = attacker.admission.verifier.overlay
      const forgedSig = GossipFrame.decode(sealFrame(ANOMALY_TOPIC, privateKey, me, own, encodeAnomalyBody(anomaly(me, overlay))))
      forgedSig.signature[0] = (forgedSig.signature[0] as number) ^ 0xff
      return k === 0
        ? [
            ['forged', 'bad-signature', GossipFrame.encode(forgedSig)],

            ['unadmitted', 'no-admission', sealFrame(ANOMALY_TOPIC, privateKey, me, { token: '', keyCertificate: '' }, encodeAnomalyBody(anomaly(me, overlay)))]
          ]
        : [
            // a genuine frame of the attacker's with an unknown field appended: no second
            // signature binds the bytes (StrictNoSign), so only the canonical encoding is taken
            ['re-encoded', 'malformed', Uint8Array.from([...sealFrame(ANOMALY_TOPIC, privateKey, me, own, encodeAnomalyBody(anomaly(me, overlay))), 0x78, 0x01])],
            // signed by a stranger that was never admitted, with the attacker's evidence
            ['wrongly evidenced', 'no-admission', sealFrame(ANOMALY_TOPIC, stranger, strangerId, own, encodeAnomalyBody(anomaly(strangerId, overlay)))],
            ['oversize', 'oversize', sealFrame(ANOMALY_TOPIC, privateKey, me, own, new Uint8Array(5000).fill(7))]
          ]
    })
    const before = attackers.map(a => entry.admission.suspicion.score(a.peerId.toString()))
    // expired (or older than the skew): what an honest relay's slow delivery also looks like,
    // so it is dropped unforwarded and charges nobody (protocols/gossip.md, `late`)
    const [first] = attackers as [TempusNode]
    const firstKey = keys[0] as typeof keys[number]
    const expired = sealFrame(ANOMALY_TOPIC, firstKey, first.peerId.toString(), first.admission.ownToken as NonNullable<typeof first.admission.ownToken>, encodeAnomalyBody(anomaly(first.peerId.toString(), first.admission.verifier.overlay, { timestamp: now - 20_000, expires: now - 10_000 })))
    await first.libp2p.services.pubsub.publish(ANOMALY_TOPIC, expired)
    await eventually(() => (entry.gossip.status().ignored.late ?? 0) >= 1, 'the entry node to drop the expired one')
    assert.equal(entry.admission.suspicion.score(first.peerId.toString()), before[0], 'an expired anomaly charges nobody')
    for (const [k, attacker] of attackers.entries()) {
      for (const [, , data] of crafted[k] ?? []) {
        await attacker.libp2p.services.pubsub.publish(ANOMALY_TOPIC, data)
      }
    }
    const expected = crafted.flat().map(([, reason]) => `attacker:${reason}`).sort()
    await eventually(() => (refusedFrom.get(entry)?.length ?? 0) >= expected.length, 'the entry node to refuse every crafted message', 20_000, 20)
    assert.deepEqual([...(refusedFrom.get(entry) ?? [])].sort(), expected)
    attackers.forEach((a, k) => {
      assert.ok(entry.admission.suspicion.score(a.peerId.toString()) - (before[k] ?? 0) >= (crafted[k]?.length ?? 0) * 5 - 0.5, 'each refusal raised the attacker\'s suspicion')
    })
    // an honest anomaly from the entry afterwards still spreads;
    // once it is everywhere, anything forwarded before it would have been refused somewhere
    const later = await entry.gossip.publish({ kind: 'marker', digest: 'cd'.repeat(8), severity: 1 })
    await eventually(() => deliveries.everywhere(later.id), 'a marker everywhere', 30_000, 50)
    await heartbeats(nodes[0] as TempusNode, 2)
    // the attacker may have met other nodes itself; what no node saw is a crafted message
    // handed on by an honest peer
    for (const n of everyone) {
      const forwarded = (refusedFrom.get(n) ?? []).filter(r => !r.startsWith('attacker:'))
      assert.deepEqual(forwarded, [], `${n.peerId.toString()} was handed a crafted message by an honest peer`)
    }
    for (const n of everyone) {
      assert.deepEqual(n.gossip.list().map(a => a.kind), ['marker'], 'nothing crafted was stored')
      if (n.libp2p.getConnections(first.peerId).length === 0) {
        assert.equal(n.gossip.status().ignored.late ?? 0, 0, 'the expired anomaly was not handed on')
      }
    }
    await Promise.all([...everyone, ...attackers].map(async n => n.stop()))
  })

  it('a node offline during publication catches up after it reconnects; a restart delivers nothing again', async () => {
    const nodes = await mesh(net, 20)
    const dataDir = await net.tempDir()
    const bootstrap = nodes.slice(0, 3).flatMap(s => s.getMultiaddrs())
    const first: DeliveredAnomaly[] = []
    let sleeper = await net.node({ type: 'edge', bootstrap, ...QUIET, options: { dataDir, passphrase: 'p', onAnomaly: a => { first.push(a) } } })
    const early = await nodes[8]?.gossip.publish({ kind: 'early', digest: 'aa', severity: 2 })
    assert.ok(early != null)
    await eventually(() => first.some(a => a.id === early.id), 'the early anomaly at the sleeper', 30_000, 50)
    await sleeper.stop()
    const missed: DeliveredAnomaly[] = []
    for (const p of [nodes[3], nodes[9], nodes[14]] as TempusNode[]) {
      missed.push(await p.gossip.publish({ kind: 'while-away', digest: randomBytes(8).toString('hex'), severity: 7 }))
    }
    // the mesh has them
    await eventually(() => nodes.every(n => missed.every(m => n.gossip.list().some(a => a.id === m.id))), 'the mesh to hold them', 30_000, 50)
    // gossipsub's own history (IHAVE/IWANT) forgets a message after 5
    // heartbeats: once every node has run 6 more, only the catch-up exchange
    // can bring the missed anomalies to the sleeper
    await Promise.all(nodes.map(async n => { await heartbeats(n, 6) }))
    const second: DeliveredAnomaly[] = []
    sleeper = await net.node({ type: 'edge', bootstrap, ...QUIET, options: { dataDir, passphrase: 'p', onAnomaly: a => { second.push(a) } } })
    await eventually(() => missed.every(m => second.some(a => a.id === m.id)), 'the missed anomalies after reconnecting', 30_000, 50)
    assert.ok(second.filter(a => missed.some(m => m.id === a.id)).every(a => a.via === 'catch-up'))
    assert.ok(!second.some(a => a.id === early.id), 'what it had is not delivered again')
    assert.equal(new Set(second.map(a => a.id)).size, second.length)
    await sleeper.stop()
    // a restart: everything is already held, nothing is delivered
    const third: DeliveredAnomaly[] = []
    sleeper = await net.node({ type: 'edge', bootstrap, ...QUIET, options: { dataDir, passphrase: 'p', onAnomaly: a => { third.push(a) } } })
    const caughtUp = await sleeper.gossip.catchUp((nodes[0] as TempusNode).peerId)
    assert.equal(caughtUp, 0)
    assert.deepEqual(third, [])
    assert.equal(sleeper.gossip.list().length, 4)
    await Promise.all([...nodes, sleeper].map(async n => n.stop()))
  })

  /** Enrol a member, take its token, and have it revoked by two admins: what it signed before stays verifiable, its origin revoked. */
  async function revokedMember (label: string): Promise<{ key: PrivateKey, id: string, token: { token: string, keyCertificate: string }, revoke: () => Promise<void> }> {
    const t = await net.issuer()
    const key = await generateKeyPair('Ed25519')
    const client = new IssuerClient({ url: t.url })
    const enrolled = await client.enroll(key, (await t.issuer.createCode('edge')))
    const token = await client.token(key, enrolled.credential)
    const revoke = async (): Promise<void> => {
      const admins = [generateEd25519(), generateEd25519()]
      for (const [i, ad] of admins.entries()) { await t.issuer.addAdmin(b64(rawPublicKey(ad.publicKey)), `${label}-admin-${i}`) }
      const request = (await t.issuer.requestRevocation(enrolled.peerId, 'test'))
      for (const ad of admins) {
        await t.issuer.approve(request.id, b64(rawPublicKey(ad.publicKey)), b64(signDomain(ad.privateKey, DOMAINS.revocationApproval, Buffer.from(request.payload, 'base64url'))))
      }
    }
    return { key, id: enrolled.peerId, token, revoke }
  }

  it('a catch-up peer serving a revoked origin\'s anomaly: refused; free while it may not have heard, charged after; forgotten once it hears', async () => {
    // the server polls the issuer only at start, and has no peer to hear of the revocation from: it hears when told
    const server = await net.node({ type: 'edge', ...QUIET, admission: { crlPollInterval: '1h', pollWait: '0s' } })
    // an admitted member, whose anomaly the server holds, is then revoked
    const member = await revokedMember('catch-up')
    // it outlives the test's minute of skew
    const a = anomaly(member.id, server.admission.verifier.overlay, { expires: Date.now() + 10 * 60_000 })
    const frame = sealFrame(ANOMALY_TOPIC, member.key, member.id, member.token, encodeAnomalyBody(a))
    assert.equal(server.gossip.store.insert(a, frame, Date.now()), 'new')
    await member.revoke()
    // the victim learns the revocation first, then meets the server, and catches up from it
    let skew = 0
    const victim = await net.node({ type: 'edge', ...QUIET, admission: { crlPollInterval: '200ms' }, options: { now: () => Date.now() + skew } })
    await eventually(() => victim.admission.revocations.isRevoked(member.id), 'the victim to know the revocation')
    const score = (): number => victim.admission.suspicion.score(server.peerId.toString())
    const before = score()
    await victim.libp2p.dial(server.libp2p.getMultiaddrs()[0] as any)
    await eventually(() => (victim.gossip.status().rejected['revoked-origin'] ?? 0) >= 1, 'the catch-up to refuse the revoked origin')
    assert.ok(!victim.gossip.store.has(a.id))
    assert.deepEqual(victim.gossip.list(), [])
    // the victim heard of the revocation a moment ago: the server may not have
    assert.equal(score(), before, 'an honest server that has not heard yet is not charged')
    // a minute on, the server has had the list from everywhere; it still serves the origin: charged
    skew = REVOCATION_NEWS_GRACE_MS + 1_000
    await victim.gossip.catchUp(server.peerId)
    assert.equal(victim.gossip.status().rejected['revoked-origin'], 2)
    assert.ok(score() > before, 'a server serving an origin revoked long ago pays')
    // once the server hears of the revocation, it forgets what the origin signed and serves it no more
    const list = victim.admission.revocations.current?.jws
    assert.ok(list != null)
    await server.admission.applyRevocationList(list, 'gossip')
    assert.ok(!server.gossip.store.has(a.id), 'the server forgot the revoked origin\'s anomaly')
  })

  it('a live anomaly of an origin revoked a moment ago is dropped without charging its relay; relayed a minute later, it costs', async () => {
    let skew = 0
    const target = await net.node({ type: 'sentinel', ...QUIET, admission: { crlPollInterval: '200ms' }, options: { now: () => Date.now() + skew } })
    const relayKey = await generateKeyPair('Ed25519')
    // the relay has not heard (it polls only at start): it passes on what the origin signed
    const relay = await net.node({ type: 'edge', bootstrap: target.getMultiaddrs(), ...QUIET, admission: { crlPollInterval: '1h', pollWait: '0s' }, options: { privateKey: relayKey } })
    await onTopicBothWays(target, relay, ANOMALY_TOPIC)
    const member = await revokedMember('live')
    await member.revoke()
    await eventually(() => target.admission.revocations.isRevoked(member.id), 'the target to know the revocation')
    const overlay = target.admission.verifier.overlay
    const publish = async (): Promise<void> => {
      const a = anomaly(member.id, overlay, { timestamp: Date.now() + skew, expires: Date.now() + skew + 60_000 })
      await relay.libp2p.services.pubsub.publish(ANOMALY_TOPIC, sealFrame(ANOMALY_TOPIC, member.key, member.id, member.token, encodeAnomalyBody(a)))
    }
    const score = (): number => target.admission.suspicion.score(relay.peerId.toString())
    const before = score()
    await publish()
    await eventually(() => (target.gossip.status().rejected['revoked-origin'] ?? 0) >= 1, 'the target to refuse the revoked origin')
    assert.equal(score(), before, 'a relay that has not heard yet is not charged')
    skew = REVOCATION_NEWS_GRACE_MS + 1_000
    await publish()
    await eventually(() => (target.gossip.status().rejected['revoked-origin'] ?? 0) >= 2, 'the target to refuse it again')
    assert.ok(score() > before, 'a relay passing on an origin revoked a minute ago pays')
  })

  it('a live anomaly that came later than the skew allows charges nobody (catch-up takes it); one dated ahead of it is its origin\'s to answer for, not its relay\'s', async () => {
    let skew = 0
    const target = await net.node({ type: 'sentinel', ...QUIET, options: { now: () => Date.now() + skew } })
    const relay = await net.node({ type: 'edge', bootstrap: target.getMultiaddrs(), ...QUIET })
    await onTopicBothWays(target, relay, ANOMALY_TOPIC)
    const origin = await scriptedOrigin(net)
    const overlay = target.admission.verifier.overlay
    const suspicion = (peer: string): number => target.admission.suspicion.score(peer)
    const relayId = relay.peerId.toString()
    const before = { relay: suspicion(relayId), origin: suspicion(origin.peerId), gossipsub: target.gossip.score(relayId) }

    // the relay took it in time and handed it on; it reaches the target 31 s after it was published
    skew = GOSSIP_SKEW_MS + 1_000
    const late = anomalyFrame(overlay, origin.peerId, origin.key, origin.token)
    assert.equal(relay.gossip.store.insert(late.anomaly, late.frame, Date.now()), 'new')
    await relay.libp2p.services.pubsub.publish(ANOMALY_TOPIC, late.frame)
    await eventually(() => (target.gossip.status().ignored.late ?? 0) >= 1, 'the target to find it late')
    assert.ok(!target.gossip.store.has(late.id), 'not taken live')
    assert.equal(suspicion(relayId), before.relay, 'the relay is not charged')
    assert.equal(suspicion(origin.peerId), before.origin, 'nor is its origin')
    await heartbeats(target, 2)
    assert.ok(target.gossip.score(relayId) >= before.gossipsub, `gossipsub does not count it against the relay (score ${target.gossip.score(relayId)})`)
    // catch-up takes what is too old to take live
    assert.equal(await target.gossip.catchUp(relay.peerId), 1)
    assert.ok(target.gossip.store.has(late.id))

    // dated 31 s ahead of the target's clock: only the origin dates an anomaly
    skew = -(GOSSIP_SKEW_MS + 1_000)
    const ahead = anomalyFrame(overlay, origin.peerId, origin.key, origin.token)
    await relay.libp2p.services.pubsub.publish(ANOMALY_TOPIC, ahead.frame)
    await eventually(() => (target.gossip.status().rejected.skew ?? 0) >= 1, 'the target to refuse it as skewed')
    assert.equal(suspicion(relayId), before.relay, 'the relay is not charged')
    assert.ok(suspicion(origin.peerId) > before.origin, 'its origin is')
    assert.ok(!target.gossip.store.has(ahead.id))
  })

  it('the keys topic shares the frame: a certificate that is not the token\'s key is rejected, the current one is ignored', async () => {
    const target = await net.node({ type: 'sentinel', ...QUIET })
    const privateKey = await generateKeyPair('Ed25519')
    const sender = await net.node({ type: 'edge', bootstrap: target.getMultiaddrs(), ...QUIET, options: { privateKey } })
    await onTopicBothWays(target, sender, KEYS_TOPIC)
    const refused: string[] = []
    target.gossip.addEventListener('refused', evt => { refused.push(`${evt.detail.topic} ${evt.detail.reason}`) })
    const me = sender.peerId.toString()
    const own = sender.admission.ownToken
    assert.ok(own != null)
    const before = target.admission.suspicion.score(me)
    const enc = new TextEncoder()
    // the current key's certificate: nothing new, ignored without penalty
    await sender.libp2p.services.pubsub.publish(KEYS_TOPIC, sealFrame(KEYS_TOPIC, privateKey, me, own, enc.encode(own.keyCertificate)))
    // not a certificate at all
    await sender.libp2p.services.pubsub.publish(KEYS_TOPIC, sealFrame(KEYS_TOPIC, privateKey, me, own, enc.encode('not-a-certificate')))
    await eventually(() => refused.length >= 1, 'the bad certificate refused')
    // a third message shows the first two were processed in order: a frame without evidence
    await sender.libp2p.services.pubsub.publish(KEYS_TOPIC, sealFrame(KEYS_TOPIC, privateKey, me, { token: '', keyCertificate: '' }, enc.encode(own.keyCertificate)))
    await eventually(() => refused.length >= 2, 'the unadmitted frame refused')
    assert.deepEqual([...refused].sort(), [`${KEYS_TOPIC} bad-body`, `${KEYS_TOPIC} no-admission`])
    assert.ok(Math.abs(target.admission.suspicion.score(me) - before - 10) < 0.5, 'two refusals, no penalty for the stale one')
  })
})

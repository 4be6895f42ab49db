/**
 * Issue #13, item 4: an admitted node squatting other nodes' anomaly ids.
 * The attacker is a real, admitted tempus node whose key the test holds; it
 * re-signs honest anomalies under their ids with its own key (severity 0),
 * or wraps them in a provenance that names this overlay, and hands them on
 * by catch-up or on the live topic. Ids are bound to overlay, origin and
 * content, so every such copy is `bad-id`: refused, charged, never stored,
 * and the honest copies still arrive.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { lpStream } from '@libp2p/utils'
import { encodeAnomalyBody } from '../../src/gossip/anomaly.ts'
import { bindAnomaly, deriveAnomalyId } from '../../src/gossip/anomaly-id.ts'
import { ANOMALY_TOPIC, CATCH_UP_PROTOCOLS } from '../../src/gossip/constants.ts'
import { sealFrame } from '../../src/gossip/frame.ts'
import { CatchUpRequest, CatchUpResponse, GossipFrame } from '../../src/gossip/pb/gossip.ts'
import { SCORE_THRESHOLDS } from '../../src/gossip/scoring.ts'
import { TestNet } from '../fixtures/nodes.ts'
import { eventually } from '../fixtures/wait.ts'
import type { Anomaly } from '../../src/gossip/anomaly.ts'
import type { BoundAnomaly } from '../../src/gossip/anomaly-id.ts'
import type { GossipRefused } from '../../src/gossip/service.ts'
import type { TempusNode } from '../../src/node/tempus-node.ts'
import type { PrivateKey } from '@libp2p/interface'

const QUIET = { sampling: { edge: { period: '1h' }, bridge: { period: '1h' }, sentinel: { period: '1h' } } }

/** A node whose signing key the test holds (to play an insider, or to script an origin). */
interface Keyed { node: TempusNode, key: PrivateKey, id: string }

async function keyed (net: TestNet, init: Parameters<TestNet['node']>[0] = {}): Promise<Keyed> {
  const key = await generateKeyPair('Ed25519')
  const node = await net.node({ type: 'edge', ...QUIET, ...init, options: { ...init.options, privateKey: key } })
  return { node, key, id: node.peerId.toString() }
}

/** Sign `body` as `who` on the anomaly topic, with its current token as evidence. */
function seal (who: Keyed, a: Omit<Anomaly, 'origin'>): Uint8Array {
  const own = who.node.admission.ownToken
  assert.ok(own != null, 'the node holds a token')
  return sealFrame(ANOMALY_TOPIC, who.key, who.id, own, encodeAnomalyBody(a))
}

/** The squatter's copy of an honest anomaly: same id, severity 0, signed by the squatter. */
function resigned (attacker: Keyed, honest: Anomaly): Uint8Array {
  const { origin: _, ...rest } = honest
  return seal(attacker, { ...rest, severity: 0 })
}

/**
 * The honest body, unchanged, wrapped by the squatter in a provenance that
 * names `overlay` and carries the honest origin's own frame signature.
 */
function wrapped (attacker: Keyed, honest: Anomaly, honestFrame: Uint8Array, overlay: string): Uint8Array {
  const { origin: _, ...rest } = honest
  const signature = Buffer.from(GossipFrame.decode(honestFrame).signature).toString('base64url')
  return seal(attacker, { ...rest, provenance: { overlay, origin: honest.origin, signature } })
}

/** An honest anomaly of `origin`, its id derived as a publisher derives it. */
function honestAnomaly (origin: Keyed, i: number, kind = 'ssh-bruteforce'): BoundAnomaly {
  const overlay = origin.node.admission.verifier.overlay
  const now = Date.now()
  const content = { kind, digest: randomBytes(32).toString('hex'), severity: 7, metadata: { rule: `r${i}` }, timestamp: now, expires: now + 600_000 }
  return bindAnomaly({ id: deriveAnomalyId(overlay, origin.id, content), origin: origin.id, ...content }, overlay)
}

/** Every refusal a node reports, by who was charged. */
function refusals (node: TempusNode): GossipRefused[] {
  const seen: GossipRefused[] = []
  node.gossip.addEventListener('refused', evt => { seen.push(evt.detail) })
  return seen
}

async function onTopicBothWays (a: TempusNode, b: TempusNode): Promise<void> {
  const sees = (x: TempusNode, y: TempusNode): boolean => x.libp2p.services.pubsub.getSubscribers(ANOMALY_TOPIC).some(p => p.equals(y.peerId))
  await eventually(() => sees(a, b) && sees(b, a), 'both ends on the anomaly topic')
}

describe('anomaly ids cannot be squatted (issue #13, item 4)', () => {
  const net = new TestNet()
  after(async () => { await net.stop() })

  it('catch-up: a victim that catches up from a squatter first stores none of its copies, charges it, and then gets every honest anomaly from an honest peer', async () => {
    const sentinel = await net.node({ type: 'sentinel', ...QUIET })
    const honest = await keyed(net, { bootstrap: sentinel.getMultiaddrs() })
    // the squatter is admitted, alone (it never sees the honest anomalies live)
    const attacker = await keyed(net)
    const published = []
    for (let i = 0; i < 40; i++) {
      published.push(await honest.node.gossip.publish({ kind: 'ssh-bruteforce', digest: randomBytes(32).toString('hex'), severity: 7, metadata: { rule: `r${i}` } }))
    }
    // the squatter holds every honest anomaly re-signed under its id, and
    // serves them to whoever catches up from it, in the order an honest peer would
    const frames = published.map(a => ({ a, frame: resigned(attacker, a) }))
      .sort((x, y) => x.a.timestamp - y.a.timestamp || (x.a.id < y.a.id ? -1 : 1))
      .map(x => x.frame)
    let served = 0
    // both versions of catch-up: digests or not, it serves what it wants
    await attacker.node.libp2p.unhandle(CATCH_UP_PROTOCOLS)
    await attacker.node.libp2p.handle(CATCH_UP_PROTOCOLS, async stream => {
      const lp = lpStream(stream)
      const signal = AbortSignal.timeout(10_000)
      CatchUpRequest.decode(await lp.read({ signal }))
      served++
      await lp.write(CatchUpResponse.encode({ frames: frames as Array<Uint8Array<ArrayBuffer>>, more: false }), { signal })
      await stream.close({ signal })
    })

    const victim = await net.node({ type: 'edge', ...QUIET })
    const refused = refusals(victim)
    // meeting the squatter first: a cut-off node catches up from the first peer it meets
    await victim.libp2p.dial(attacker.node.libp2p.getMultiaddrs()[0] as any)
    await eventually(() => served >= 1 && (refused.some(r => r.peer === attacker.id) || victim.gossip.list().length >= published.length), 'the catch-up from the squatter to end')
    // then an honest peer
    await victim.libp2p.dial(honest.node.libp2p.getMultiaddrs()[0] as any)
    await victim.gossip.catchUp(honest.node.peerId)

    const held = new Map(victim.gossip.list({ limit: 1000 }).map(a => [a.id, a]))
    for (const a of published) {
      assert.equal(held.get(a.id)?.origin, honest.id, `anomaly ${a.id} is the honest one`)
      assert.equal(held.get(a.id)?.severity, 7)
    }
    assert.equal(held.size, published.length)
    assert.ok(![...held.values()].some(a => a.origin === attacker.id), 'none of the squatter\'s copies is held')
    assert.ok(victim.admission.suspicion.score(attacker.id) > 0, 'the squatter was charged')
    assert.deepEqual([...new Set(refused.filter(r => r.peer === attacker.id).map(r => r.reason))], ['bad-id'])
    assert.ok(!refused.some(r => r.peer === honest.id), 'the honest peer was never charged')
  })

  it('catch-up: genuine frames served out of order (to drag the window forward) charge the responder; every honest anomaly still arrives from the next peer', async () => {
    const sentinel = await net.node({ type: 'sentinel', ...QUIET })
    const honest = await keyed(net, { bootstrap: sentinel.getMultiaddrs() })
    const attacker = await keyed(net)
    const published = []
    for (let i = 0; i < 10; i++) {
      published.push(await honest.node.gossip.publish({ kind: 'ioc-hash', digest: randomBytes(32).toString('hex'), severity: 3 }))
    }
    // the honest frames, newest first: the first one would move a victim's catch-up window to the end
    const frames = published.map(a => ({ a, frame: honest.node.gossip.store.frame(a.id) as Uint8Array }))
      .sort((x, y) => y.a.timestamp - x.a.timestamp || (x.a.id < y.a.id ? 1 : -1))
      .map(x => x.frame)
    await attacker.node.libp2p.unhandle(CATCH_UP_PROTOCOLS)
    await attacker.node.libp2p.handle(CATCH_UP_PROTOCOLS, async stream => {
      const lp = lpStream(stream)
      const signal = AbortSignal.timeout(10_000)
      CatchUpRequest.decode(await lp.read({ signal }))
      await lp.write(CatchUpResponse.encode({ frames: frames as Array<Uint8Array<ArrayBuffer>>, more: false }), { signal })
      await stream.close({ signal })
    })
    const victim = await net.node({ type: 'edge', ...QUIET })
    const refused = refusals(victim)
    await victim.libp2p.dial(attacker.node.libp2p.getMultiaddrs()[0] as any)
    await eventually(() => refused.some(r => r.peer === attacker.id) || victim.gossip.list().length >= published.length, 'the catch-up from the reordering peer to end')
    assert.deepEqual(refused.map(r => `${r.peer === attacker.id ? 'attacker' : r.peer}:${r.reason}`), ['attacker:malformed'])
    await victim.libp2p.dial(honest.node.libp2p.getMultiaddrs()[0] as any)
    await victim.gossip.catchUp(honest.node.peerId)
    const held = new Set(victim.gossip.list().map(a => a.id))
    assert.ok(published.every(a => held.has(a.id)), 'every honest anomaly after the honest catch-up')
  })

  it('live: re-signed and wrapped copies published under honest ids before the honest ones are stored by no node and charge the squatter; the honest ones still arrive', async () => {
    const sentinel = await net.node({ type: 'sentinel', ...QUIET })
    const bootstrap = sentinel.getMultiaddrs()
    const honest = await keyed(net, { bootstrap })
    const attacker = await keyed(net, { bootstrap })
    const victim = await keyed(net, { bootstrap })
    await victim.node.libp2p.dial(attacker.node.libp2p.getMultiaddrs()[0] as any)
    await victim.node.libp2p.dial(honest.node.libp2p.getMultiaddrs()[0] as any)
    await onTopicBothWays(victim.node, attacker.node)
    await onTopicBothWays(victim.node, honest.node)
    const everyone = [sentinel, honest.node, attacker.node, victim.node]
    const refused = refusals(victim.node)

    // the honest origin's anomalies, signed but not yet published: the squatter wins every race
    const overlay = honest.node.admission.verifier.overlay
    const originals = Array.from({ length: 20 }, (_, i) => honestAnomaly(honest, i))
    const honestFrames = originals.map(a => { const { origin: _, ...rest } = a; return seal(honest, rest) })
    const squats = originals.map((a, i) => i < 4
      ? wrapped(attacker, a, honestFrames[i] as Uint8Array, overlay) // "relayed" from this very overlay
      : i < 6
        ? wrapped(attacker, a, honestFrames[i] as Uint8Array, 'elsewhere') // from an overlay the id was not derived in
        : resigned(attacker, a))
    for (const data of squats) {
      await attacker.node.libp2p.services.pubsub.publish(ANOMALY_TOPIC, data)
    }
    // every copy reached the victim and was stored or refused, or the victim stopped listening to
    // the squatter: gossipsub reads nothing more of a peer under the graylist threshold (its score
    // is weighed again at each refusal, rescore.ts), and quarantine (suspicion 25) cuts it off
    const dealt = (): number => refused.filter(r => r.peer === attacker.id).length + victim.node.gossip.list({ limit: 1000 }).filter(a => a.origin === attacker.id).length
    await eventually(() => dealt() >= squats.length || victim.node.gossip.score(attacker.id) < SCORE_THRESHOLDS.graylistThreshold || victim.node.admission.suspicion.state(attacker.id) === 'quarantined', 'the victim to deal with the squatted copies')

    for (const data of honestFrames) {
      await honest.node.libp2p.services.pubsub.publish(ANOMALY_TOPIC, data)
    }
    const holdsHonest = (n: TempusNode): boolean => { const ids = new Set(n.gossip.list({ limit: 1000 }).filter(a => a.origin === honest.id).map(a => a.id)); return originals.every(a => ids.has(a.id)) }
    await eventually(() => holdsHonest(victim.node) && holdsHonest(sentinel), 'the honest anomalies at the victim and the sentinel', 30_000)

    for (const n of everyone) {
      assert.ok(!n.gossip.list({ limit: 1000 }).some(a => a.origin === attacker.id), `${n.peerId.toString()} stored none of the squatter's copies`)
    }
    assert.deepEqual([...new Set(refused.filter(r => r.peer === attacker.id).map(r => r.reason))], ['bad-id'])
    assert.ok(refused.filter(r => r.peer === attacker.id).length >= 5 && victim.node.admission.suspicion.score(attacker.id) >= 24, 'the squatter paid until it was no longer heard')
    assert.ok(!refused.some(r => r.peer === honest.id), 'the honest origin was never charged')
  })

  it('equivocation: an origin that signs a second, different body under an id it used is refused and charged; a held id with another binding charges the signer, not the relay', async () => {
    const sentinel = await net.node({ type: 'sentinel', ...QUIET })
    const origin = await keyed(net, { bootstrap: sentinel.getMultiaddrs() })
    const victim = await keyed(net, { bootstrap: sentinel.getMultiaddrs() })
    await victim.node.libp2p.dial(origin.node.libp2p.getMultiaddrs()[0] as any)
    await onTopicBothWays(victim.node, origin.node)
    const refused = refusals(victim.node)
    const first = honestAnomaly(origin, 0)
    const { origin: _, ...body } = first
    await origin.node.libp2p.services.pubsub.publish(ANOMALY_TOPIC, seal(origin, body))
    await eventually(() => victim.node.gossip.store.has(first.id), 'the first body at the victim')
    const before = victim.node.admission.suspicion.score(origin.id)
    // the same id, another body (a raised severity): the id is not this body's
    await origin.node.libp2p.services.pubsub.publish(ANOMALY_TOPIC, seal(origin, { ...body, severity: 10 }))
    await eventually(() => refused.length >= 1, 'the second body refused')
    assert.deepEqual(refused.map(r => `${r.peer === origin.id ? 'origin' : r.peer}:${r.reason}`), ['origin:bad-id'])
    assert.equal(victim.node.gossip.list().find(a => a.id === first.id)?.severity, 7, 'the first body stays')
    assert.ok(victim.node.admission.suspicion.score(origin.id) - before >= 5 - 0.5, 'the origin was charged')

    // Two bodies under one id that both bind need a 128-bit prefix collision,
    // which only whoever signs both can grind for. A node that reaches the
    // origin only through the sentinel is made to hold such a twin (another
    // binding under the id); the sentinel, which holds no twin, validates the
    // origin's genuine frame and forwards it: the origin pays, the sentinel
    // (an honest relay) does not.
    const far = await keyed(net, { bootstrap: sentinel.getMultiaddrs() })
    await onTopicBothWays(far.node, sentinel)
    await onTopicBothWays(sentinel, origin.node)
    assert.equal(far.node.libp2p.getConnections(origin.node.peerId).length, 0, 'the far node hears the origin only through the sentinel')
    const farRefused = refusals(far.node)
    const second = honestAnomaly(origin, 1)
    const { origin: __, ...secondBody } = second
    const twin = { ...second, severity: 0, binding: second.id + '00'.repeat(16) } as BoundAnomaly
    assert.equal(far.node.gossip.store.insert(twin, Uint8Array.of(0), Date.now()), 'new')
    await origin.node.libp2p.services.pubsub.publish(ANOMALY_TOPIC, seal(origin, secondBody))
    await eventually(() => sentinel.gossip.store.has(second.id) && farRefused.length >= 1, 'the sentinel to take it and the far node to refuse it')
    assert.deepEqual(farRefused.map(r => `${r.peer === origin.id ? 'origin' : r.peer}:${r.reason}`), ['origin:equivocation'])
    assert.equal(far.node.admission.suspicion.score(sentinel.peerId.toString()), 0, 'the relay was not charged')
    assert.ok(far.node.admission.suspicion.score(origin.id) >= 4.5, 'the signer was')
    assert.equal(far.node.gossip.list().find(a => a.id === second.id)?.severity, 0, 'nothing replaced the held twin')
  })
})

describe('relayed anomaly ids stay bound to their origin overlay (issue #13, item 4)', () => {
  const alpha = new TestNet({ overlay: 'alpha' })
  const beta = new TestNet({ overlay: 'beta' })
  after(async () => { await Promise.all([alpha.stop(), beta.stop()]) })

  it('a squatted copy handed across by a remote bridge is dropped as bad-id, a relayed copy published by a non-bridge is refused; neither is stored, and the honest one crosses', async () => {
    const tA = await alpha.issuer()
    const tB = await beta.issuer()
    const bridgeOf = async (net: TestNet, entry: TempusNode, anchor: { overlay: string, root: string }, remotes: string[]): Promise<TempusNode> =>
      await net.node({ type: 'bridge', ...QUIET, federation: { enabled: true, listen: ['/ip4/127.0.0.1/tcp/0'], anchors: [anchor], remotes, relay: { anomalyKinds: ['ioc-hash'] } }, bootstrap: entry.getMultiaddrs() } as any)
    const sA = await alpha.node({ type: 'sentinel', ...QUIET })
    const a1 = await bridgeOf(alpha, sA, { overlay: 'beta', root: tB.issuer.rootPublicKey }, [])
    const honest = await keyed(alpha, { bootstrap: sA.getMultiaddrs() })
    const attacker = await keyed(alpha, { bootstrap: sA.getMultiaddrs() })
    const sB = await beta.node({ type: 'sentinel', ...QUIET })
    const b1 = await bridgeOf(beta, sB, { overlay: 'alpha', root: tA.issuer.rootPublicKey }, a1.getFederationMultiaddrs())
    const insider = await keyed(beta, { bootstrap: sB.getMultiaddrs() })
    const eB = insider.node
    await eventually(() => a1.federation?.pins.state(b1.peerId.toString()) === 'fresh' && b1.federation?.pins.state(a1.peerId.toString()) === 'fresh', 'the bridges pinned', 30_000)
    await eventually(() => [b1, eB].every(n => n.libp2p.services.pubsub.getSubscribers(ANOMALY_TOPIC).length > 0), 'beta\'s gossip meshes', 30_000)
    await onTopicBothWays(eB, sB)
    const refusedAtSentinel = refusals(sB)

    // an honest alpha anomaly, and the alpha squatter's re-signed copy of it, handed across first
    const { origin: _, ...body } = honestAnomaly(honest, 0, 'ioc-hash')
    const honestFrame = seal(honest, body)
    const squat = seal(attacker, { ...body, severity: 0 })
    // a beta edge that got hold of the alpha frame publishes it as if it were a bridge re-publishing it
    await eB.libp2p.services.pubsub.publish(ANOMALY_TOPIC, seal(insider, { ...body, provenance: { overlay: 'alpha', origin: honest.id, signature: Buffer.from(GossipFrame.decode(honestFrame).signature).toString('base64url') } }))
    await eventually(() => refusedAtSentinel.length >= 1, 'the sentinel to refuse the relayed copy of a non-bridge')
    assert.deepEqual(refusedAtSentinel.map(r => `${r.peer === insider.id ? 'insider' : r.peer}:${r.reason}`), ['insider:bad-body'])
    assert.equal(await a1.federation?.relayAnomaly(squat), 1)
    await eventually(() => (b1.anomalyRelay?.stats.dropped['bad-id'] ?? 0) >= 1, 'beta\'s bridge to drop the squatted copy')
    assert.equal(await a1.federation?.relayAnomaly(honestFrame), 1)
    await eventually(() => [b1, eB].every(n => n.gossip.list().some(a => a.id === body.id)), 'the honest anomaly across')
    for (const n of [sB, b1, eB]) {
      const held = n.gossip.list().filter(a => a.id === body.id)
      assert.equal(held.length, 1)
      assert.equal(held[0]?.provenance?.origin, honest.id, 'bound to its original origin')
      assert.equal(held[0]?.origin, b1.peerId.toString(), 're-published by the bridge')
      assert.equal(held[0]?.severity, 7)
    }
    assert.equal(b1.anomalyRelay?.stats.republished, 1)
  })
})

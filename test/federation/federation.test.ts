import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { TestNet } from '../fixtures/nodes.ts'
import { eventually } from '../fixtures/wait.ts'
import type { TempusNode } from '../../src/node/tempus-node.ts'

const QUIET = { sampling: { edge: { period: '1h' }, bridge: { period: '1h' }, sentinel: { period: '1h' } } }

/** a federated bridge's config */
const federated = (anchors: Array<{ overlay: string, root: string }>, remotes: string[] = [], extra: Record<string, unknown> = {}): Record<string, unknown> =>
  ({ type: 'bridge', ...QUIET, federation: { enabled: true, listen: ['/ip4/127.0.0.1/tcp/0'], anchors, remotes, ...extra } })

describe('federation between two overlays', () => {
  const alpha = new TestNet({ overlay: 'alpha' })
  const beta = new TestNet({ overlay: 'beta' })
  const gamma = new TestNet({ overlay: 'gamma' })
  after(async () => { await Promise.all([alpha.stop(), beta.stop(), gamma.stop()]) })


  it('bridges pin each other with a 12 h deadline; edges and sentinels of the other overlay, and bridges of an unanchored one, are refused by every node (sentinel, bridge, edge)', async () => {
    const tA = await alpha.issuer()
    const tB = await beta.issuer()
    const sentinelA = await alpha.node({ type: 'sentinel', ...QUIET })
    const bridgeA = await alpha.node({ ...federated([{ overlay: 'beta', root: tB.issuer.rootPublicKey }]), bootstrap: sentinelA.getMultiaddrs() } as any)
    const bridgeB = await beta.node(federated([{ overlay: 'alpha', root: tA.issuer.rootPublicKey }], bridgeA.getFederationMultiaddrs()) as any)
    const a = bridgeA.peerId.toString()
    const b = bridgeB.peerId.toString()
    await eventually(() => bridgeA.federation?.pins.state(b) === 'fresh' && bridgeB.federation?.pins.state(a) === 'fresh', 'both bridges pinned', 30_000, 50)
    const pin = bridgeA.federation?.status().pins.find(p => p.remoteId === b)
    assert.equal(pin?.overlay, 'beta')
    assert.equal((pin?.rotationDue ?? 0) - (pin?.establishedAt ?? 0), 12 * 60 * 60_000)
    // the overlay's own endpoint never saw the remote bridge
    assert.ok(!bridgeA.admission.admitted.has(b))
    assert.ok(bridgeA.libp2p.getConnections().every(c => c.remotePeer.toString() !== b))

    // an edge and a sentinel of beta: refused at every endpoint of alpha, its edges' included
    const edgeA = await alpha.node({ type: 'edge', bootstrap: sentinelA.getMultiaddrs(), ...QUIET })
    const edgeB = await beta.node({ type: 'edge', ...QUIET })
    const sentinelB = await beta.node({ type: 'sentinel', ...QUIET })
    const targets = [...sentinelA.getMultiaddrs(), ...bridgeA.getMultiaddrs(), ...edgeA.getMultiaddrs(), ...bridgeA.getFederationMultiaddrs()]
    for (const outsider of [edgeB, sentinelB, bridgeB] as TempusNode[]) {
      for (const target of targets) {
        if (outsider === bridgeB && bridgeA.getFederationMultiaddrs().includes(target)) {
          continue
        }
        await assert.rejects(outsider.libp2p.dial(multiaddr(target), { signal: AbortSignal.timeout(10_000) }), `${outsider.type} of beta → ${target}`)
      }
    }
    // a bridge of an overlay without an anchor at alpha is refused at the federation endpoint too
    const bridgeG = await gamma.node(federated([{ overlay: 'alpha', root: tA.issuer.rootPublicKey }], bridgeA.getFederationMultiaddrs()) as any)
    await assert.rejects(bridgeG.federation?.handshake(peerIdFromString(a)) ?? Promise.reject(new Error('no federation')))
    await assert.rejects(bridgeG.libp2p.dial(multiaddr(bridgeA.getFederationMultiaddrs()[0] ?? ''), { signal: AbortSignal.timeout(10_000) }))
    assert.equal(bridgeA.federation?.pins.state(bridgeG.peerId.toString()), 'none')
    assert.deepEqual(bridgeA.federation?.status().pins.map(p => p.remoteId), [b])
  })

  it('a stale pin counts for nothing (a crossing is refused as stale-pin) until a new handshake restores it; forget removes it', async () => {
    const tA = await alpha.issuer()
    const tB = await beta.issuer()
    const bridgeA = await alpha.node(federated([{ overlay: 'beta', root: tB.issuer.rootPublicKey }], [], { rotationWindow: '1500ms' }) as any)
    const bridgeB = await beta.node(federated([{ overlay: 'alpha', root: tA.issuer.rootPublicKey }], bridgeA.getFederationMultiaddrs()) as any)
    const b = bridgeB.peerId.toString()
    await eventually(() => bridgeA.federation?.pins.state(b) === 'fresh', 'pinned', 30_000, 50)
    const first = bridgeA.federation?.pins.fresh(b)
    await eventually(() => bridgeA.federation?.pins.state(b) === 'stale', 'stale after the window', 10_000, 50)
    assert.equal(bridgeA.federation?.pins.fresh(b), undefined)
    // B still holds a fresh pin of A (its own window is 12 h), but nothing it sends crosses
    const refused: string[] = []
    bridgeA.federation?.addEventListener('refused', evt => { if (evt.detail.peer === b) refused.push(evt.detail.reason) })
    await assert.rejects(bridgeB.federation?.cross(bridgeA.peerId, {}) ?? Promise.reject(new Error('no federation')))
    assert.deepEqual(refused, ['stale-pin'])
    // a new, complete handshake (started by the dialer) restores it with a new deadline
    await bridgeB.federation?.handshake(bridgeA.peerId)
    const renewed = bridgeA.federation?.pins.fresh(b)
    assert.ok(renewed != null && first != null && renewed.rotationDue > first.rotationDue)
    await bridgeB.federation?.cross(bridgeA.peerId, {})
    assert.deepEqual(refused, ['stale-pin'], 'the crossing is taken once the pin is fresh again')
    assert.equal(await bridgeA.federation?.forget(b), true)
    assert.equal(bridgeA.federation?.pins.state(b), 'none')
  })

  it('refuses federation on anything but a bridge', async () => {
    await assert.rejects(alpha.node({ type: 'edge', federation: { enabled: true } } as any), /only bridges federate/)
  })
})

describe('federation over the admin API', () => {
  const alpha = new TestNet({ overlay: 'alpha' })
  const beta = new TestNet({ overlay: 'beta' })
  after(async () => { await Promise.all([alpha.stop(), beta.stop()]) })

  it('GET /v1/federation shows anchors and pins; anchors are added live; forget drops a pin', async () => {
    const tA = await alpha.issuer()
    const tB = await beta.issuer()
    const dataDir = await alpha.tempDir()
    const bridgeA = await alpha.node({ type: 'bridge', ...QUIET, api: { enabled: true, listen: '127.0.0.1:0' }, federation: { enabled: true, listen: ['/ip4/127.0.0.1/tcp/0'] }, options: { dataDir, passphrase: 'p' } } as any)
    const token = (await readFile(join(dataDir, 'api-token'), 'utf8')).trim()
    const base = bridgeA.api?.url ?? assert.fail('no API')
    const auth = { authorization: `Bearer ${token}` }
    const get = async (): Promise<any> => await (await fetch(`${base}/v1/federation`, { headers: auth })).json()
    const post = async (path: string, body: unknown): Promise<Response> => await fetch(`${base}${path}`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) })
    assert.deepEqual((await get()).anchors, [])
    // no anchor yet: beta's bridge cannot get in
    const bridgeB = await beta.node({ type: 'bridge', ...QUIET, federation: { enabled: true, listen: ['/ip4/127.0.0.1/tcp/0'], anchors: [{ overlay: 'alpha', root: tA.issuer.rootPublicKey }], remotes: bridgeA.getFederationMultiaddrs() } } as any)
    const b = bridgeB.peerId.toString()
    assert.equal((await post('/v1/federation/anchors', { overlay: 'beta', root: 'short' })).status, 400)
    assert.equal((await post('/v1/federation/anchors', { overlay: 'beta', root: tB.issuer.rootPublicKey, extra: 1 })).status, 400)
    const added = await post('/v1/federation/anchors', { overlay: 'beta', root: tB.issuer.rootPublicKey })
    assert.equal(added.status, 200)
    // beta's endpoint redials every 10 s; dial now instead of waiting
    await bridgeB.federation?.handshake(await bridgeB.federation.connect(bridgeA.getFederationMultiaddrs()[0] ?? ''))
    await eventually(async () => (await get()).pins?.some((p: any) => p.remoteId === b && p.state === 'fresh'), 'the pin listed', 30_000, 100)
    const status = await get()
    assert.equal(status.overlay, 'alpha')
    assert.deepEqual(status.anchors.map((x: any) => x.overlay), ['beta'])
    const forgot = await post('/v1/federation/forget', { remoteId: b })
    assert.deepEqual(await forgot.json(), { forgotten: true })
    assert.equal((await get()).pins.length, 0)
    assert.equal((await post('/v1/federation/forget', { remoteId: 'x' })).status, 400)
  })
})


describe('anomalies across overlays', () => {
  const alpha = new TestNet({ overlay: 'alpha' })
  const beta = new TestNet({ overlay: 'beta' })
  after(async () => { await Promise.all([alpha.stop(), beta.stop()]) })

  it('two bridges per side: a relayed kind crosses exactly once with its provenance, never echoes back; other kinds stay home', async () => {
    const tA = await alpha.issuer()
    const tB = await beta.issuer()
    const relay = { anomalyKinds: ['ioc-hash'] }
    const sA = await alpha.node({ type: 'sentinel', ...QUIET })
    const bridge = async (net: TestNet, entry: TempusNode, anchor: { overlay: string, root: string }, remotes: string[]): Promise<TempusNode> =>
      await net.node({ ...federated([anchor], remotes, { relay }), bootstrap: entry.getMultiaddrs() } as any)
    const a1 = await bridge(alpha, sA, { overlay: 'beta', root: tB.issuer.rootPublicKey }, [])
    const a2 = await bridge(alpha, sA, { overlay: 'beta', root: tB.issuer.rootPublicKey }, [])
    const eA = await alpha.node({ type: 'edge', bootstrap: sA.getMultiaddrs(), ...QUIET })
    const sB = await beta.node({ type: 'sentinel', ...QUIET })
    const remotes = [...a1.getFederationMultiaddrs(), ...a2.getFederationMultiaddrs()]
    const b1 = await bridge(beta, sB, { overlay: 'alpha', root: tA.issuer.rootPublicKey }, remotes)
    const b2 = await bridge(beta, sB, { overlay: 'alpha', root: tA.issuer.rootPublicKey }, remotes)
    const eB = await beta.node({ type: 'edge', bootstrap: sB.getMultiaddrs(), ...QUIET })
    const betaNodes = [sB, b1, b2, eB]
    const alphaNodes = [sA, a1, a2, eA]
    await eventually(() => [a1, a2].every(a => [b1, b2].every(b => a.federation?.pins.state(b.peerId.toString()) === 'fresh' && b.federation?.pins.state(a.peerId.toString()) === 'fresh')), 'four pins each way', 30_000, 50)
    // every node on the anomaly topic with someone
    await eventually(() => [...alphaNodes, ...betaNodes].every(n => n.libp2p.services.pubsub.getSubscribers('tempus/anomaly/1').length > 0), 'gossip meshes', 30_000, 50)
    const seen = new Map<TempusNode, string[]>()
    for (const n of [...alphaNodes, ...betaNodes]) {
      seen.set(n, [])
      n.gossip.addEventListener('anomaly', evt => { seen.get(n)?.push(evt.detail.id) })
    }
    const crossing = await eA.gossip.publish({ kind: 'ioc-hash', digest: 'ab'.repeat(32), severity: 8, metadata: { rule: 'r-1' } })
    const homebody = await eA.gossip.publish({ kind: 'local-only', digest: 'cd'.repeat(16), severity: 3 })
    await eventually(() => betaNodes.every(n => n.gossip.list().some(a => a.id === crossing.id)), 'every beta node to hold the relayed anomaly', 30_000, 50)
    await eventually(() => alphaNodes.every(n => n.gossip.list().some(a => a.id === homebody.id)), 'alpha to hold the local one', 30_000, 50)
    // both alpha bridges handed it to both beta bridges; it was re-published once or twice but delivered once per node
    await eventually(() => (a1.anomalyRelay?.stats.sent ?? 0) + (a2.anomalyRelay?.stats.sent ?? 0) === 2, 'both alpha bridges relayed it', 10_000, 50)
    await eventually(() => [b1, b2].reduce((n, b) => n + (b.anomalyRelay?.stats.republished ?? 0) + (b.anomalyRelay?.stats.dropped.duplicate ?? 0), 0) === 4, 'four arrivals at beta\'s bridges', 10_000, 50)
    for (const n of betaNodes) {
      assert.equal(seen.get(n)?.filter(id => id === crossing.id).length, 1, 'delivered once at each beta node')
      assert.ok(!(seen.get(n) ?? []).includes(homebody.id), 'a kind not in the policy stays home')
      const held = n.gossip.list().find(a => a.id === crossing.id)
      assert.deepEqual({ overlay: held?.provenance?.overlay, origin: held?.provenance?.origin }, { overlay: 'alpha', origin: eA.peerId.toString() })
      assert.ok(held?.origin === b1.peerId.toString() || held?.origin === b2.peerId.toString(), 're-published by a beta bridge')
      assert.equal(held?.digest, 'ab'.repeat(32))
    }
    // no echo: beta's bridges hand nothing back, and alpha delivered it once
    assert.equal((b1.anomalyRelay?.stats.sent ?? 0) + (b2.anomalyRelay?.stats.sent ?? 0), 0)
    for (const n of alphaNodes) {
      assert.ok((seen.get(n) ?? []).filter(id => id === crossing.id).length <= 1)
    }
    // the same figures reach /metrics (src/federation/metrics.ts)
    const figures = await a1.metricsRegistry.metrics()
    assert.match(figures, /^tempus_federation_pins\{freshness="fresh"\} 2$/m)
    assert.match(figures, new RegExp(`^tempus_federation_anomaly_crossings_total\\{direction="out"\\} ${a1.anomalyRelay?.stats.sent ?? -1}$`, 'm'))
    // the other way: a beta edge's relayed anomaly reaches alpha
    const back = await eB.gossip.publish({ kind: 'ioc-hash', digest: 'ef'.repeat(32), severity: 5 })
    await eventually(() => alphaNodes.every(n => n.gossip.list().some(a => a.id === back.id && a.provenance?.overlay === 'beta')), 'beta\'s anomaly across to alpha', 30_000, 50)
  })
})

describe('RPC across overlays', () => {
  const alpha = new TestNet({ overlay: 'alpha' })
  const beta = new TestNet({ overlay: 'beta' })
  after(async () => { await Promise.all([alpha.stop(), beta.stop()]) })

  it('a federated bridge calls only what a grant names, while its pin is fresh; anything else gets no answer, rising suspicion and, in the end, a closed connection', async () => {
    const tA = await alpha.issuer()
    const tB = await beta.issuer()
    // alpha's own rules grant every bridge of alpha everything: they do not apply to beta's bridges
    const bridgeA = await alpha.node({
      ...federated([{ overlay: 'beta', root: tB.issuer.rootPublicKey }], [], { rpc: [{ overlay: 'beta', allow: ['status.get'] }] }),
      rpc: { rules: [{ type: 'bridge', allow: ['*'] }] }
    } as any)
    const callers: Array<{ type?: string, overlay?: string }> = []
    bridgeA.rpc.expose('status.get', (_args, caller) => { callers.push({ type: caller.type, overlay: caller.overlay }); return { overlay: 'alpha' } })
    // a code-level grant written for alpha's bridges must not let a bridge of beta in
    bridgeA.rpc.expose('admin.secret', () => 'secret', { authorize: caller => caller.type === 'bridge' })
    const bridgeB = await beta.node(federated([{ overlay: 'alpha', root: tA.issuer.rootPublicKey }], bridgeA.getFederationMultiaddrs()) as any)
    const a = bridgeA.peerId.toString()
    const b = bridgeB.peerId.toString()
    await eventually(() => bridgeA.federation?.pins.state(b) === 'fresh' && bridgeB.federation?.pins.state(a) === 'fresh', 'pinned both ways', 30_000, 50)
    const rpcB = bridgeB.federatedRpc ?? assert.fail('no federated RPC')
    assert.deepEqual(await rpcB.call(a, 'status.get'), { overlay: 'alpha' })
    assert.deepEqual(callers, [{ type: 'bridge', overlay: 'beta' }])
    const suspicion = (): number => (bridgeA as any).federationEndpoint.state.suspicion.score(b)
    const before = suspicion()
    await assert.rejects(rpcB.call(a, 'admin.secret', null, { timeout: 5_000 }), { name: 'RpcError', code: 'unavailable' })
    await assert.rejects(rpcB.call(a, 'nosuch.method', null, { timeout: 5_000 }), { name: 'RpcError', code: 'unavailable' })
    assert.ok(suspicion() > before, 'suspicion rose')
    // the pin gone (or stale): the grant counts for nothing
    bridgeA.federation?.pins.forget(b)
    await assert.rejects(rpcB.call(a, 'status.get', null, { timeout: 5_000 }), { name: 'RpcError' })
    assert.equal(callers.length, 1)
    // a caller that keeps trying what it is not granted is quarantined and cut off
    for (let i = 0; i < 40 && (bridgeA as any).federationEndpoint.libp2p.getConnections().some((c: any) => c.remotePeer.toString() === b); i++) {
      await rpcB.call(a, `admin.secret${i}`, null, { timeout: 5_000 }).catch(() => {}) // a scan: one method again and again is one suspicion episode
    }
    await eventually(() => !(bridgeA as any).federationEndpoint.libp2p.getConnections().some((c: any) => c.remotePeer.toString() === b), 'the connection closed', 10_000, 50)
    assert.ok(['quarantined', 'banned'].includes((bridgeA as any).federationEndpoint.state.suspicion.state(b)))
  })
})

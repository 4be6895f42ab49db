/**
 * Federation: what crossing between overlays costs, against the same thing
 * inside one overlay, in the same run.
 *
 *   npm run bench:federation -- [--handshakes 50] [--anomalies 30] [--bundles 10] [--bundle-bytes 16384] [--json]
 *
 * Two overlays, alpha and beta, each with its own issuer: a sentinel, a
 * federated bridge (anchor for the other overlay, anomalies of kind
 * `bench.cross` and bundles relayed, `status.get` granted over RPC) and
 * two edges on the sentinel. The bridges keep each other connected and
 * pinned. All on loopback, every node with the product's defaults.
 *
 * 1. Handshake: `--handshakes` complete federation handshakes (signed
 *    challenge both ways, token checked under the anchor, pin written) on
 *    the live connection, one at a time; baseline: a federated RPC round
 *    trip on the same connection (the wire cost without the crypto).
 * 2. Anomalies: an alpha edge publishes `--anomalies` anomalies one at a
 *    time; time until the other alpha edge delivers it (baseline: gossip in
 *    one overlay) and until a beta edge delivers it (gossip to alpha's
 *    bridge, relay, checks under the anchor, re-publication, gossip in beta).
 * 3. Bundles: `--bundles` bundles of `--bundle-bytes` from an alpha edge,
 *    one every 1.2 s (DTN opens at most one session a second per peer), to
 *    the other alpha edge (baseline) and to a beta edge (`<peer>@beta`:
 *    spray to alpha's bridge, crossing, endorsement, on to the edge);
 *    time until the destination's `bundle` event.
 */
import { randomBytes } from 'node:crypto'
import { benchArgs, intArg } from './lib/args.ts'
import { startBenchOverlay } from './lib/overlay.ts'
import { round, summarise } from './lib/stats.ts'
import type { BenchOverlay } from './lib/overlay.ts'
import type { TempusNode } from '../src/node/tempus-node.ts'

const args = benchArgs({
  handshakes: { type: 'string', default: '50' },
  anomalies: { type: 'string', default: '30' },
  bundles: { type: 'string', default: '10' },
  'bundle-bytes': { type: 'string', default: '16384' },
  json: { type: 'boolean', default: false }
})
const HANDSHAKES = intArg(args.handshakes, 'handshakes', 1, 10_000)
const ANOMALIES = intArg(args.anomalies, 'anomalies', 1, 10_000)
const BUNDLES = intArg(args.bundles, 'bundles', 1, 1_000)
const BUNDLE_BYTES = intArg(args['bundle-bytes'], 'bundle-bytes', 1, 4 * 1024 * 1024)
const json = args.json === true
const say = (line: string): void => { if (!json) process.stdout.write(line + '\n') }
const KIND = 'bench.cross'
const t0 = performance.now()

/** Resolve when `check` holds, polling every `everyMs`; reject after `timeoutMs`. */
async function until (check: () => boolean, what: string, timeoutMs = 30_000, everyMs = 5): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!check()) {
    if (performance.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`)
    }
    await new Promise(resolve => setTimeout(resolve, everyMs))
  }
}

interface Side { net: BenchOverlay, sentinel: TempusNode, bridge: TempusNode, edges: [TempusNode, TempusNode] }

async function side (overlay: string, other: BenchOverlay | undefined, otherOverlay: string, remotes: string[]): Promise<Side> {
  const net = await startBenchOverlay(overlay)
  const sentinel = await net.node('sentinel')
  const bootstrap = sentinel.getMultiaddrs()
  const bridge = await net.node('bridge', {
    bootstrap,
    federation: {
      enabled: true,
      listen: ['/ip4/127.0.0.1/tcp/0'],
      remotes,
      anchors: other == null ? [] : [{ overlay: otherOverlay, root: other.issuer.rootPublicKey }],
      relay: { anomalyKinds: [KIND], bundles: true },
      rpc: [{ overlay: otherOverlay, allow: ['status.get'] }]
    }
  } as any)
  bridge.rpc.expose('status.get', () => ({ ok: true }))
  const edges = [await net.node('edge', { bootstrap }), await net.node('edge', { bootstrap })] as [TempusNode, TempusNode]
  return { net, sentinel, bridge, edges }
}

const alpha = await side('alpha', undefined, 'beta', [])
const beta = await side('beta', alpha.net, 'alpha', alpha.bridge.getFederationMultiaddrs())
// alpha learns beta's root now that it exists
alpha.bridge.federation?.anchors.add({ overlay: 'beta', root: beta.net.issuer.rootPublicKey })
const a = alpha.bridge.peerId.toString()
const b = beta.bridge.peerId.toString()
await beta.bridge.federation?.handshake(await beta.bridge.federation.connect(alpha.bridge.getFederationMultiaddrs()[0] ?? '')).catch(() => {})
await until(() => alpha.bridge.federation?.pins.state(b) === 'fresh' && beta.bridge.federation?.pins.state(a) === 'fresh', 'the bridges to pin each other')
const everyone = [alpha, beta].flatMap(s => [s.sentinel, s.bridge, ...s.edges])
await until(() => everyone.every(n => n.libp2p.services.pubsub.getSubscribers('tempus/anomaly/1').length > 0), 'gossip meshes')
say('two overlays up: alpha and beta, 4 nodes each, bridges pinned')

// ---- 1. handshakes ----------------------------------------------------------
const fed = beta.bridge.federation ?? process.exit(1)
const rpc = beta.bridge.federatedRpc ?? process.exit(1)
const alphaBridgeId = alpha.bridge.peerId
const handshake: number[] = []
const roundTrip: number[] = []
for (let i = 0; i < HANDSHAKES; i++) {
  let t = performance.now()
  await fed.handshake(alphaBridgeId)
  handshake.push(performance.now() - t)
  t = performance.now()
  await rpc.call(a, 'status.get')
  roundTrip.push(performance.now() - t)
}
const hs = summarise(handshake)
const rt = summarise(roundTrip)
say(`handshake      p50 ${round(hs.p50, 2)} ms, p99 ${round(hs.p99, 2)} ms   vs federated RPC round trip p50 ${round(rt.p50, 2)} ms, p99 ${round(rt.p99, 2)} ms   (${round(hs.p50 / rt.p50, 2)}×)`)

// ---- 2. anomalies -------------------------------------------------------------
const [source, homeEdge] = alpha.edges
const crossEdge = beta.edges[0]
const arrivals = (node: TempusNode): Map<string, number> => {
  const at = new Map<string, number>()
  node.gossip.addEventListener('anomaly', evt => { at.set(evt.detail.id, performance.now()) })
  return at
}
const homeAt = arrivals(homeEdge)
const crossAt = arrivals(crossEdge)
const home: number[] = []
const cross: number[] = []
for (let i = 0; i < ANOMALIES; i++) {
  const t = performance.now()
  const { id } = await source.gossip.publish({ kind: KIND, digest: randomBytes(32).toString('hex'), severity: 5 })
  await until(() => homeAt.has(id) && crossAt.has(id), `anomaly ${i} at both edges`)
  home.push((homeAt.get(id) as number) - t)
  cross.push((crossAt.get(id) as number) - t)
}
const ah = summarise(home)
const ac = summarise(cross)
say(`anomaly        across p50 ${round(ac.p50, 2)} ms, p99 ${round(ac.p99, 2)} ms   vs within alpha p50 ${round(ah.p50, 2)} ms, p99 ${round(ah.p99, 2)} ms   (p50 ${round(ac.p50 / ah.p50, 2)}×)`)

// ---- 3. bundles ---------------------------------------------------------------
const bundleAt = (node: TempusNode): Map<string, number> => {
  const at = new Map<string, number>()
  node.dtn.addEventListener('bundle', evt => { at.set(evt.detail.id, performance.now()) })
  return at
}
const homeBundles = bundleAt(homeEdge)
const crossBundles = bundleAt(crossEdge)
const bundleHome: number[] = []
const bundleCross: number[] = []
for (let i = 0; i < BUNDLES; i++) {
  for (const [to, at, out] of [[homeEdge.peerId.toString(), homeBundles, bundleHome], [`${crossEdge.peerId.toString()}@beta`, crossBundles, bundleCross]] as const) {
    const t = performance.now()
    const id = await source.dtn.send(to, randomBytes(BUNDLE_BYTES), { lifetimeMs: 120_000 })
    await until(() => at.has(id), `bundle ${i} to ${to}`, 60_000)
    out.push((at.get(id) as number) - t)
    // past the one-session-a-second spacing, so each bundle measures the path, not the spacing
    await new Promise(resolve => setTimeout(resolve, 1_200))
  }
}
const bh = summarise(bundleHome)
const bc = summarise(bundleCross)
say(`bundle ${BUNDLE_BYTES} B  across p50 ${round(bc.p50, 1)} ms, p99 ${round(bc.p99, 1)} ms   vs within alpha p50 ${round(bh.p50, 1)} ms, p99 ${round(bh.p99, 1)} ms   (p50 ${round(bc.p50 / bh.p50, 2)}×)`)

await Promise.all(everyone.map(async n => { await n.stop() }))
await Promise.all([alpha.net.stop(), beta.net.stop()])
const seconds = (performance.now() - t0) / 1000
if (json) {
  process.stdout.write(JSON.stringify({
    handshakeP50Ms: round(hs.p50, 3),
    handshakeP99Ms: round(hs.p99, 3),
    rpcRoundTripP50Ms: round(rt.p50, 3),
    handshakeRatioP50: round(hs.p50 / rt.p50, 3),
    anomalyCrossP50Ms: round(ac.p50, 3),
    anomalyCrossP99Ms: round(ac.p99, 3),
    anomalyHomeP50Ms: round(ah.p50, 3),
    anomalyHomeP99Ms: round(ah.p99, 3),
    anomalyRatioP50: round(ac.p50 / ah.p50, 3),
    bundleBytes: BUNDLE_BYTES,
    bundleCrossP50Ms: round(bc.p50, 2),
    bundleHomeP50Ms: round(bh.p50, 2),
    bundleRatioP50: round(bc.p50 / bh.p50, 3),
    seconds: round(seconds, 1)
  }) + '\n')
}
process.exit(0)

/**
 * Anomaly gossip: how fast an anomaly reaches every node of a tempus mesh
 * (p50/p99 of the time until the last node's application has it, and the
 * share delivered) against plain libp2p gossipsub on the same connection
 * graph with payloads of the same size, in the same run; then a flood of
 * invalid frames from 10% of the nodes: what it does to honest traffic,
 * whether an honest node ever forwards one, how many a flooder's
 * neighbours must check before they stop listening to it, and whether
 * gossipsub ends up graylisting it.
 *
 *   npm run bench:gossip -- [--nodes 50] [--messages 30] [--links 0] [--quiet] [--json]
 *
 * The mesh: three sentinels, four bridges, the rest edges, all bootstrapping
 * from the sentinels, with the product's defaults: peer sampling fills each
 * node's views with random admitted peers and the peer keeper dials from
 * them up to `minConnections`, so edges meet each other, not only the hubs.
 * The bench waits (bounded, 120 s) until every node has kept a gossipsub
 * mesh peer for 5 s in a row (the same for the baseline).
 * `--quiet` turns sampling off: then the overlay is a star (edges meet the
 * sentinels and bridges only; they are DHT clients), and gossipsub's mesh
 * (D 6, at most 12 at a hub) leaves most edges out — they hear of an anomaly
 * only by IHAVE at a hub's heartbeat, seconds later, or not at all.
 * `--links k` has each non-sentinel also dial k random others.
 */
import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { encodeAnomalyBody } from '../src/gossip/anomaly.ts'
import { ANOMALY_TOPIC } from '../src/gossip/constants.ts'
import { sealFrame } from '../src/gossip/frame.ts'
import { GossipFrame } from '../src/gossip/pb/gossip.ts'
import { SCORE_THRESHOLDS } from '../src/gossip/scoring.ts'
import { benchArgs, intArg } from './lib/args.ts'
import { BENCH_LIMITS } from './lib/connect.ts'
import { createPlainNode } from './lib/plain-stack.ts'
import type { PlainNode } from './lib/plain-stack.ts'
import { startBenchOverlay } from './lib/overlay.ts'
import { round, summarise } from './lib/stats.ts'
import type { AnomalyInput } from '../src/gossip/anomaly.ts'
import type { TempusConfigInput } from '../src/node/config.ts'
import type { PeerType } from '../src/core/peer-type.ts'
import type { TempusNode } from '../src/node/tempus-node.ts'
import type { GossipSub } from '@libp2p/gossipsub'
import type { PeerId, PrivateKey } from '@libp2p/interface'

const args = benchArgs({
  nodes: { type: 'string', default: '50' },
  messages: { type: 'string', default: '30' },
  links: { type: 'string', default: '0' },
  quiet: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false }
})
const N = intArg(args.nodes, 'nodes', 10, 200)
const M = intArg(args.messages, 'messages', 1, 1000)
const LINKS = intArg(args.links, 'links', 0, 20)
const json = args.json === true
const say = (line: string): void => { if (!json) process.stdout.write(line + '\n') }
const progress = (line: string): void => { if (process.stderr.isTTY) process.stderr.write(`  ${line}\n`) }

/** a message not everywhere after this long counts as this long, and the next one goes */
const MESSAGE_TIMEOUT_MS = 10_000
/** invalid frames per flooder */
const FLOOD_EACH = 40
const WARM_UP = 3
const BRIDGES = 4
const QUIET = args.quiet === true ? { sampling: { edge: { period: '1h' }, bridge: { period: '1h' }, sentinel: { period: '1h' } } } : {}
const GRAYLIST = SCORE_THRESHOLDS.graylistThreshold
const started = performance.now()

// ---- helpers ----------------------------------------------------------------

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/** Poll `condition` until it holds; false once `timeoutMs` has passed. */
async function until (condition: () => boolean, timeoutMs: number, intervalMs = 50): Promise<boolean> {
  const deadline = performance.now() + timeoutMs
  while (!condition()) {
    if (performance.now() >= deadline) {
      return false
    }
    await sleep(intervalMs)
  }
  return true
}

/** `n` gossipsub heartbeats of `pubsub` (at most `timeoutMs` in all). */
async function heartbeats (pubsub: GossipSub, n: number, timeoutMs = 5_000): Promise<void> {
  let seen = 0
  await new Promise<void>(resolve => {
    const done = (): void => { clearTimeout(timer); pubsub.removeEventListener('gossipsub:heartbeat', beat); resolve() }
    const beat = (): void => { if (++seen >= n) done() }
    const timer = setTimeout(done, timeoutMs)
    pubsub.addEventListener('gossipsub:heartbeat', beat)
  })
}

/** nodes that have no gossipsub mesh peer on the topic (they get messages by IHAVE/IWANT only) */
/** a node's mesh peers on the anomaly topic (gossipsub's own method, not on its interface) */
function meshPeers (pubsub: GossipSub): string[] {
  return (pubsub as unknown as { getMeshPeers(topic: string): string[] }).getMeshPeers(ANOMALY_TOPIC)
}

function countMeshless (pubsubs: GossipSub[]): number {
  return pubsubs.filter(p => meshPeers(p).length === 0).length
}

/**
 * Two heartbeats, then until every node has had a mesh peer for `SETTLED_MS`
 * in a row (bounded by `timeoutMs`: in a star some never do). In a row: an
 * edge that grafts the hubs is in their meshes for the few milliseconds
 * until their PRUNEs come back, and a single look can fall in them.
 */
async function settle (pubsubs: GossipSub[], timeoutMs: number): Promise<boolean> {
  await heartbeats(pubsubs[0] as GossipSub, 2)
  let since = performance.now()
  return await until(() => {
    if (countMeshless(pubsubs) > 0) {
      since = performance.now()
    }
    return performance.now() - since >= SETTLED_MS
  }, timeoutMs, 100)
}
/** how long every node must have had a mesh peer before a mesh counts as settled */
const SETTLED_MS = 5_000

/** When each receiver (by index) first had each message (by id), and waiting for "everywhere". */
class Arrivals {
  private readonly at = new Map<string, Map<number, number>>()
  private readonly waiters = new Map<string, { receivers: number[], resolve: () => void }>()

  record (id: string, receiver: number): void {
    const now = performance.now()
    let m = this.at.get(id)
    if (m == null) {
      m = new Map()
      this.at.set(id, m)
    }
    if (m.has(receiver)) {
      return
    }
    m.set(receiver, now)
    const w = this.waiters.get(id)
    if (w != null && this.reached(id, w.receivers) === w.receivers.length) {
      this.waiters.delete(id)
      w.resolve()
    }
  }

  reached (id: string, receivers: number[]): number {
    const m = this.at.get(id)
    return m == null ? 0 : receivers.filter(r => m.has(r)).length
  }

  /** the time the last of `receivers` had it, or undefined if one has not */
  last (id: string, receivers: number[]): number | undefined {
    const m = this.at.get(id)
    let last = -Infinity
    for (const r of receivers) {
      const t = m?.get(r)
      if (t == null) {
        return undefined
      }
      last = Math.max(last, t)
    }
    return last
  }

  async everywhere (id: string, receivers: number[], timeoutMs: number): Promise<boolean> {
    if (this.reached(id, receivers) === receivers.length) {
      return true
    }
    return new Promise(resolve => {
      const timer = setTimeout(() => { this.waiters.delete(id); resolve(false) }, Math.max(0, timeoutMs))
      this.waiters.set(id, { receivers, resolve: () => { clearTimeout(timer); resolve(true) } })
    })
  }
}

interface Sent { id: string, t0: number, receivers: number[] }

interface Figures {
  p50: number
  p99: number
  deliveries: number
  expected: number
  ratio: number
  incomplete: number
}

/** Time to everywhere per message (a timeout counts as the timeout), and deliveries. */
function figures (arrivals: Arrivals, sent: Sent[]): Figures {
  let deliveries = 0
  let expected = 0
  let incomplete = 0
  const times = sent.map(s => {
    deliveries += arrivals.reached(s.id, s.receivers)
    expected += s.receivers.length
    const last = arrivals.last(s.id, s.receivers)
    if (last == null || last - s.t0 > MESSAGE_TIMEOUT_MS) {
      incomplete++
      return MESSAGE_TIMEOUT_MS
    }
    return last - s.t0
  })
  const s = summarise(times)
  return { p50: s.p50, p99: s.p99, deliveries, expected, ratio: deliveries / Math.max(1, expected), incomplete }
}

/** One message after another from random publishers, each awaited everywhere (or the timeout). */
async function sequential (count: number, publishers: number[], receivers: (p: number) => number[], publish: (p: number) => Promise<string>, arrivals: Arrivals, label: string): Promise<Sent[]> {
  const sent: Sent[] = []
  for (let k = 0; k < count; k++) {
    const p = publishers[Math.floor(Math.random() * publishers.length)] as number
    const t0 = performance.now()
    const id = await publish(p)
    const s = { id, t0, receivers: receivers(p) }
    sent.push(s)
    await arrivals.everywhere(id, s.receivers, MESSAGE_TIMEOUT_MS - (performance.now() - t0))
    if ((k + 1) % 10 === 0 || k + 1 === count) {
      progress(`${label}: ${k + 1}/${count} messages`)
    }
  }
  return sent
}

const others = (n: number, except: (i: number) => boolean) => (p: number): number[] => Array.from({ length: n }, (_, i) => i).filter(i => i !== p && !except(i))
const input = (): AnomalyInput => ({ kind: 'bench', digest: randomBytes(32).toString('hex'), severity: 5, metadata: { rule: 'bench-gossip' } })

// ---- tempus: the mesh ---------------------------------------------------------

const overlay = await startBenchOverlay()
const keys = new Map<TempusNode, PrivateKey>()
/** `overlay.node`, keeping the key: a flooder forges frames with it */
async function keyedNode (type: PeerType, config: Partial<TempusConfigInput>): Promise<TempusNode> {
  const privateKey = await generateKeyPair('Ed25519')
  const node = await overlay.node(type, config, privateKey)
  keys.set(node, privateKey)
  return node
}

const FLOODERS = Math.max(1, Math.round(N / 10))
progress(`starting ${N} tempus nodes (3 sentinels, ${BRIDGES} bridges, ${N - 3 - BRIDGES} edges)`)
const sentinels: TempusNode[] = []
for (let i = 0; i < 3; i++) {
  sentinels.push(await overlay.node('sentinel', { bootstrap: sentinels.flatMap(s => s.getMultiaddrs()), connections: BENCH_LIMITS, ...QUIET }))
}
const bootstrap = sentinels.flatMap(s => s.getMultiaddrs())
const rest: TempusNode[] = []
// five at a time: a hundred enrolments at once time out on a loaded machine
for (let start = 0; start < N - 3; start += 5) {
  rest.push(...await Promise.all(Array.from({ length: Math.min(5, N - 3 - start) }, async (_, k) => {
    const i = start + k
    const type: PeerType = i < BRIDGES ? 'bridge' : 'edge'
    const config = { bootstrap, connections: BENCH_LIMITS, ...QUIET }
    // the last edges flood later; until then they are like any other node
    return i >= N - 3 - FLOODERS ? await keyedNode(type, config) : await overlay.node(type, config)
  })))
}
const nodes = [...sentinels, ...rest]
const index = new Map(nodes.map((n, i) => [n.peerId.toString(), i]))
if (LINKS > 0) {
  await Promise.all(rest.map(async (n, i) => {
    const candidates = rest.filter((m, j) => j !== i && n.libp2p.getConnections(m.peerId).length === 0)
    for (let k = 0; k < LINKS && candidates.length > 0; k++) {
      const [to] = candidates.splice(Math.floor(Math.random() * candidates.length), 1)
      await n.libp2p.dial(multiaddr(to?.getMultiaddrs()[0] ?? ''), { signal: AbortSignal.timeout(10_000) }).catch(() => {})
    }
  }))
}
const meshed = await until(() => nodes.every(n => n.libp2p.services.pubsub.getSubscribers(ANOMALY_TOPIC).length >= 2), 60_000, 100)
if (!meshed) {
  process.stderr.write('warning: not every tempus node had 2 peers on the anomaly topic after 60 s\n')
}
// sampling fills the views and the peer keeper dials from them (one more neighbour for a mesh
// stuck thin, src/gossip/mesh-starvation.ts); wait (bounded) until every node has kept a mesh peer
if (!await settle(nodes.map(n => n.libp2p.services.pubsub), 120_000)) {
  process.stderr.write(`warning: not every tempus node kept a mesh peer for ${SETTLED_MS / 1000} s within 120 s\n`)
}
const meshless = countMeshless(nodes.map(n => n.libp2p.services.pubsub))

/** the connection graph, as index pairs (i < j); the baseline dials the same */
function graph (peers: Array<{ getConnections: (peer?: PeerId) => Array<{ remotePeer: PeerId }> }>, indexOf: Map<string, number>): Array<[number, number]> {
  const pairs = new Map<string, [number, number]>()
  peers.forEach((n, i) => {
    for (const c of n.getConnections()) {
      const j = indexOf.get(c.remotePeer.toString())
      if (j != null && j !== i) {
        pairs.set(`${Math.min(i, j)}-${Math.max(i, j)}`, [Math.min(i, j), Math.max(i, j)])
      }
    }
  })
  return [...pairs.values()]
}
const edges = graph(nodes.map(n => n.libp2p), index)
const meanDegree = (2 * edges.length) / N

const flooders = nodes.slice(N - FLOODERS)
const flooderIds = new Set(flooders.map(f => f.peerId.toString()))
const isFlooder = (i: number): boolean => i >= N - FLOODERS
let phase: 'mesh' | 'flood' = 'mesh'
const arrivals = new Arrivals()
const publishedHonestly = new Set<string>()
let forwardedAnomalies = 0
let forwardedRefusals = 0
let refusalsBeforeFlood = 0
let lastRefusal = 0
let frameBytes = 0
let frames = 0
/** refusals at receiver i of frames from flooder f, by `${i} ${f}` */
const refusedFrom = new Map<string, number>()
nodes.forEach((n, i) => {
  n.gossip.addEventListener('anomaly', evt => {
    const a = evt.detail
    if (a.via === 'self') {
      return
    }
    arrivals.record(a.id, i)
    if (phase === 'flood' && flooderIds.has(a.origin) && !publishedHonestly.has(a.id)) {
      forwardedAnomalies++
    }
  })
  n.gossip.addEventListener('refused', evt => {
    const { peer } = evt.detail
    lastRefusal = performance.now()
    if (phase !== 'flood') {
      refusalsBeforeFlood++
    } else if (!flooderIds.has(peer)) {
      forwardedRefusals++
    } else {
      refusedFrom.set(`${i} ${peer}`, (refusedFrom.get(`${i} ${peer}`) ?? 0) + 1)
    }
  })
})
nodes[1]?.libp2p.services.pubsub.addEventListener('message', evt => {
  if (evt.detail.topic === ANOMALY_TOPIC) {
    frameBytes += evt.detail.data.length
    frames++
  }
})

const publishTempus = async (p: number): Promise<string> => {
  const a = await (nodes[p] as TempusNode).gossip.publish(input())
  publishedHonestly.add(a.id)
  return a.id
}
const all = Array.from({ length: N }, (_, i) => i)
const honest = all.filter(i => !isFlooder(i))
progress(`tempus mesh ready (${edges.length} connections, mean degree ${round(meanDegree, 1)}, ${meshless} nodes outside the gossipsub mesh); ${WARM_UP} warm-up messages`)
await sequential(WARM_UP, all, others(N, () => false), publishTempus, arrivals, 'tempus warm-up')
const tempusSent = await sequential(M, all, others(N, () => false), publishTempus, arrivals, 'tempus')
const tempus = figures(arrivals, tempusSent)
const payloadBytes = frames > 0 ? Math.round(frameBytes / frames) : 300
say(`tempus, ${N} nodes (${edges.length} connections, mean degree ${round(meanDegree, 1)}, ${LINKS} extra links per non-sentinel; ${meshless} nodes with no gossipsub mesh peer), ${M} anomalies of ${payloadBytes} bytes one after another:`)
say(`  time to every node: p50 ${round(tempus.p50, 1)} ms, p99 ${round(tempus.p99, 1)} ms; delivered ${tempus.deliveries}/${tempus.expected} (${round(tempus.ratio * 100, 2)}%)${tempus.incomplete > 0 ? `, ${tempus.incomplete} not everywhere within ${MESSAGE_TIMEOUT_MS / 1000} s` : ''}`)

// ---- tempus: the flood ----------------------------------------------------------

/** every honest node directly connected to a flooder when the flood starts */
const pairs: Array<{ receiver: number, flooder: string, peer: PeerId }> = []
for (const f of flooders) {
  for (const i of honest) {
    if ((nodes[i] as TempusNode).libp2p.getConnections(f.peerId).length > 0) {
      pairs.push({ receiver: i, flooder: f.peerId.toString(), peer: f.peerId })
    }
  }
}
function invalidFrames (f: TempusNode): Uint8Array[] {
  const key = keys.get(f) as PrivateKey
  const me = f.peerId.toString()
  const own = f.admission.ownToken
  if (own == null) {
    throw new Error('a flooder holds no token')
  }
  return Array.from({ length: FLOOD_EACH }, (_, k) => {
    const now = Date.now()
    const body = encodeAnomalyBody({ ...input(), id: randomBytes(16).toString('hex'), metadata: {}, timestamp: now, expires: now + 60_000 })
    if (k % 2 === 1) {
      // no evidence of admission
      return sealFrame(ANOMALY_TOPIC, key, me, { token: '', keyCertificate: '' }, body)
    }
    // admitted, but the origin's signature is forged
    const frame = GossipFrame.decode(sealFrame(ANOMALY_TOPIC, key, me, own, body))
    frame.signature[0] = (frame.signature[0] as number) ^ 0xff
    return GossipFrame.encode(frame)
  })
}
const floodFrames = flooders.map(invalidFrames)
progress(`flood: ${FLOODERS} flooders × ${FLOOD_EACH} invalid frames (${pairs.length} honest neighbours), ${M} honest anomalies one after another`)
phase = 'flood'
const floodStart = performance.now()
// graylisted: watched from the flood's start, every 100 ms. A neighbour that stops listening
// after a few invalid frames (its score is weighed again at each refusal) reads nothing more
// of the flooder, whose score then decays back over the threshold within seconds: looked at
// only once the flood is over, it would seem never to have been graylisted
const scoreOf = (pair: typeof pairs[number]): number => (nodes[pair.receiver] as TempusNode).gossip.score(pair.flooder)
const disconnected = (pair: typeof pairs[number]): boolean => (nodes[pair.receiver] as TempusNode).libp2p.getConnections(pair.peer).length === 0
const graylisted = new Set<number>()
const watchGraylist = (): void => { pairs.forEach((pair, k) => { if (scoreOf(pair) < GRAYLIST) graylisted.add(k) }) }
const graylistWatch = setInterval(watchGraylist, 100)
let floodSent = 0
let floodPublishErrors = 0
const flood = Promise.all(flooders.map(async (f, j) => {
  for (const data of floodFrames[j] ?? []) {
    try {
      await f.libp2p.services.pubsub.publish(ANOMALY_TOPIC, data)
      floodSent++
    } catch {
      floodPublishErrors++
    }
  }
})).then(() => performance.now() - floodStart)
// honest anomalies as in the quiet run (one after another, each awaited everywhere), from the flood's start
const honestDuringFlood = sequential(M, honest, others(N, isFlooder), publishTempus, arrivals, 'honest during the flood')
const floodPublishMs = await flood
const floodSentList = await honestDuringFlood
// the flood is over once no node has refused anything for a heartbeat (bounded)
await until(() => performance.now() - lastRefusal > 1_000, 10_000, 100)
const floodDurationMs = lastRefusal - floodStart
const honestInFlood = floodSentList.filter(s => s.t0 <= lastRefusal).length
const floodFigures = figures(arrivals, floodSentList)
/** honest nodes left with no mesh peer once their flooding neighbours were cut off */
const meshlessAfterFlood = countMeshless(honest.map(i => (nodes[i] as TempusNode).libp2p.services.pubsub))
// graylisted: gossipsub caches a score for a heartbeat (1 s); poll, bounded. gossipsub keeps a
// disconnected peer's score only if it was not positive when it left: a flooder cut off (its
// suspicion quarantined it) while its cached score was still positive is forgotten (score 0)
await until(() => {
  pairs.forEach((pair, k) => {
    if (scoreOf(pair) < GRAYLIST) {
      graylisted.add(k)
    }
  })
  return pairs.every((pair, k) => graylisted.has(k) || (scoreOf(pair) === 0 && disconnected(pair)))
}, 5_000, 100)
clearInterval(graylistWatch)
const perPair = pairs.map(p => refusedFrom.get(`${p.receiver} ${p.flooder}`) ?? 0)
const invalidUntilGraylisted = perPair.length === 0 ? 0 : Math.max(...perPair)
const invalidChecked = [...refusedFrom.values()].reduce((a, b) => a + b, 0)
const forwardedFromFlooders = forwardedAnomalies + forwardedRefusals
const graylistedShare = pairs.length === 0 ? NaN : graylisted.size / pairs.length
const stillConnected = pairs.filter(p => !disconnected(p)).length
/** every honest neighbour stopped listening to its flooder: graylisted, or cut off (quarantined) */
const everyNeighbourStopped = pairs.every((p, k) => graylisted.has(k) || disconnected(p))
/** what the flooder knew of the neighbour: whether it saw it subscribed, held a stream to send it frames on, and its score */
function flooderSide (pair: typeof pairs[number]): { seenSubscribed: boolean, outboundStream: boolean, scoreAtFlooder: number } {
  const pubsub = flooders.find(f => f.peerId.toString() === pair.flooder)?.libp2p.services.pubsub as unknown as { getSubscribers(topic: string): PeerId[], streamsOutbound: Map<string, unknown>, getScore(peer: string): number } | undefined
  const receiver = (nodes[pair.receiver] as TempusNode).peerId
  return {
    seenSubscribed: pubsub?.getSubscribers(ANOMALY_TOPIC).some(s => s.equals(receiver)) ?? false,
    outboundStream: pubsub?.streamsOutbound.has(receiver.toString()) ?? false,
    scoreAtFlooder: round(pubsub?.getScore(receiver.toString()) ?? NaN, 1)
  }
}
// the pairs neither graylisted nor cut off at the verdict (read now: once the nodes stop, every
// pair is disconnected), each with the invalid frames its neighbour refused, its score, whether
// the flooder is in its mesh, and what the flooder knew of it: a neighbour that refused fewer
// than the graylist's five, one whose score dipped under it between two of the watch's looks,
// or one the flooder never sent a frame to
const notStopped = pairs.flatMap((p, k) => graylisted.has(k) || disconnected(p)
  ? []
  : [{ refused: perPair[k], score: round(scoreOf(p), 1), inMesh: meshPeers((nodes[p.receiver] as TempusNode).libp2p.services.pubsub).includes(p.flooder), ...flooderSide(p) }])
const forgotten = pairs.filter(p => scoreOf(p) === 0 && disconnected(p)).length
say(`flood: ${FLOODERS} flooders sent ${floodSent} invalid frames in ${round(floodPublishMs, 0)} ms${floodPublishErrors > 0 ? ` (${floodPublishErrors} publish errors)` : ''}; refusals over ${round(floodDurationMs, 0)} ms; ${honestInFlood}/${M} honest anomalies published before the last refusal`)
say(`  honest time to every honest node during the flood: p50 ${round(floodFigures.p50, 1)} ms, p99 ${round(floodFigures.p99, 1)} ms (${round(floodFigures.p99 / tempus.p99, 2)}× the quiet p99); delivered ${floodFigures.deliveries}/${floodFigures.expected}${floodFigures.incomplete > 0 ? `, ${floodFigures.incomplete} not everywhere within ${MESSAGE_TIMEOUT_MS / 1000} s` : ''}; ${meshlessAfterFlood} honest nodes with no mesh peer afterwards`)
say(`  forwarded from flooders: ${forwardedFromFlooders} (${forwardedAnomalies} delivered to an application, ${forwardedRefusals} invalid frames handed on by an honest node)`)
say(`  every honest neighbour stopped listening to its flooder (graylisted or cut off): ${everyNeighbourStopped ? 'yes' : 'no'}, within ${invalidUntilGraylisted} invalid frames`)
say(`  invalid frames checked per (honest neighbour, flooder) pair: max ${invalidUntilGraylisted}, median ${summarise(perPair).p50}, min ${perPair.length === 0 ? 0 : Math.min(...perPair)} over ${pairs.length} pairs (${invalidChecked} in all); graylisted (score < ${GRAYLIST}) ${graylisted.size}/${pairs.length}; score forgotten (0) ${forgotten}/${pairs.length}; still connected ${stillConnected}/${pairs.length}`)
if (refusalsBeforeFlood > 0) {
  say(`  note: ${refusalsBeforeFlood} refusals before the flood started`)
}

progress('stopping the tempus mesh')
await Promise.allSettled(nodes.map(async n => n.stop()))
await overlay.stop()

// ---- baseline: plain libp2p gossipsub on the same graph ---------------------------

progress(`starting ${N} plain libp2p nodes`)
const plain: PlainNode[] = await Promise.all(Array.from({ length: N }, async () => await createPlainNode({ connectionManager: BENCH_LIMITS })))
const plainArrivals = new Arrivals()
plain.forEach((n, i) => {
  n.services.pubsub.subscribe(ANOMALY_TOPIC)
  n.services.pubsub.addEventListener('message', evt => {
    if (evt.detail.topic === ANOMALY_TOPIC) {
      plainArrivals.record(Buffer.from(evt.detail.data.subarray(0, 8)).toString('hex'), i)
    }
  })
})
await Promise.all(edges.map(async ([i, j]) => {
  const to = plain[i]?.getMultiaddrs()[0]
  if (to != null) {
    await plain[j]?.dial(to, { signal: AbortSignal.timeout(10_000) }).catch(() => {})
  }
}))
const plainMeshed = await until(() => plain.every(n => n.services.pubsub.getSubscribers(ANOMALY_TOPIC).length >= 2), 60_000, 100)
if (!plainMeshed) {
  process.stderr.write('warning: not every plain node had 2 peers on the topic after 60 s\n')
}
if (!await settle(plain.map(n => n.services.pubsub), 120_000)) {
  process.stderr.write(`warning: not every plain node kept a mesh peer for ${SETTLED_MS / 1000} s within 120 s\n`)
}
const plainMeshless = countMeshless(plain.map(n => n.services.pubsub))
const plainEdges = graph(plain, new Map(plain.map((n, i) => [n.peerId.toString(), i])))
let seq = 0
const publishPlain = async (p: number): Promise<string> => {
  // the same size as a tempus frame; the first 8 bytes name it
  const data = randomBytes(Math.max(8, payloadBytes))
  data.writeUInt32BE(0x7e57, 0)
  data.writeUInt32BE(seq++, 4)
  await plain[p]?.services.pubsub.publish(ANOMALY_TOPIC, data)
  return data.subarray(0, 8).toString('hex')
}
progress(`plain mesh ready (${plainEdges.length} connections); ${WARM_UP} warm-up messages`)
await sequential(WARM_UP, all, others(N, () => false), publishPlain, plainArrivals, 'baseline warm-up')
const baselineSent = await sequential(M, all, others(N, () => false), publishPlain, plainArrivals, 'baseline')
const baseline = figures(plainArrivals, baselineSent)
await Promise.allSettled(plain.map(async n => n.stop()))
const ratioP99 = tempus.p99 / baseline.p99
say(`plain libp2p gossipsub, same graph (${plainEdges.length} connections; ${plainMeshless} nodes with no mesh peer), ${payloadBytes}-byte payloads:`)
say(`  time to every node: p50 ${round(baseline.p50, 1)} ms, p99 ${round(baseline.p99, 1)} ms; delivered ${baseline.deliveries}/${baseline.expected} (${round(baseline.ratio * 100, 2)}%)`)
say(`ratioP99 (tempus / plain): ${round(ratioP99, 2)}×`)
const seconds = (performance.now() - started) / 1000
say(`${round(seconds, 1)} s in all`)
if (json) {
  process.stdout.write(JSON.stringify({
    nodes: N,
    messages: M,
    p50Ms: round(tempus.p50),
    p99Ms: round(tempus.p99),
    baselineP50Ms: round(baseline.p50),
    baselineP99Ms: round(baseline.p99),
    ratioP99: round(ratioP99),
    deliveryRatio: round(tempus.ratio, 4),
    baselineDeliveryRatio: round(baseline.ratio, 4),
    floodHonestP99Ms: round(floodFigures.p99),
    floodP99Degradation: round(floodFigures.p99 / tempus.p99),
    forwardedFromFlooders,
    invalidUntilGraylisted,
    everyNeighbourStopped,
    graylistedShare: round(graylistedShare, 4),
    notStopped,
    seconds: round(seconds, 1),
    links: LINKS,
    connections: edges.length,
    meshlessNodes: meshless,
    baselineMeshlessNodes: plainMeshless,
    incomplete: tempus.incomplete,
    baselineIncomplete: baseline.incomplete,
    baselineConnections: plainEdges.length,
    payloadBytes,
    flooders: FLOODERS,
    floodFrames: floodSent,
    floodPairs: pairs.length,
    floodDurationMs: round(floodDurationMs, 1),
    floodHonestP50Ms: round(floodFigures.p50),
    floodDeliveryRatio: round(floodFigures.ratio, 4),
    floodIncomplete: floodFigures.incomplete,
    meshlessAfterFlood,
    honestDuringFlood: honestInFlood,
    invalidChecked,
    scoreForgottenPairs: forgotten,
    stillConnectedPairs: stillConnected
  }) + '\n')
}
process.exit(0)

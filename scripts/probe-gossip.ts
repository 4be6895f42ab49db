/**
 * Why does an anomaly miss nodes on the live path? The bench's mesh (three
 * sentinels, four bridges, edges; sampling and the peer keeper on), traced
 * per node: connections opened and closed, GRAFT/PRUNE, every RPC on the
 * anomaly topic (messages, IHAVE, IWANT), validator time and verdict,
 * suspicion charges, gossipsub scores and graylisted RPCs. For every
 * anomaly that was slow to reach its last node, the story of the late
 * nodes is printed.
 *
 *   node dist/scripts/probe-gossip.js [--nodes 50] [--messages 30] [--slow 1000]
 */
import { createHash, randomBytes } from 'node:crypto'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { ANOMALY_TOPIC } from '../src/gossip/constants.ts'
import { decodeAnomalyBody } from '../src/gossip/anomaly.ts'
import { GossipFrame } from '../src/gossip/pb/gossip.ts'
import { peerIdFromMultihash } from '@libp2p/peer-id'
import * as Digest from 'multiformats/hashes/digest'
import { benchArgs, intArg } from './lib/args.ts'
import { BENCH_LIMITS } from './lib/connect.ts'
import { startBenchOverlay } from './lib/overlay.ts'
import type { PeerType } from '../src/core/peer-type.ts'
import type { TempusNode } from '../src/node/tempus-node.ts'

const args = benchArgs({
  nodes: { type: 'string', default: '50' },
  messages: { type: 'string', default: '30' },
  slow: { type: 'string', default: '1000' },
  quiet: { type: 'boolean', default: false }
})
const N = intArg(args.nodes, 'nodes', 5, 200)
const M = intArg(args.messages, 'messages', 1, 1000)
const SLOW = intArg(args.slow, 'slow', 1, 100_000)
const QUIET = args.quiet === true ? { sampling: { edge: { period: '1h' }, bridge: { period: '1h' }, sentinel: { period: '1h' } } } : {}
const T0 = performance.now()
const now = (): number => Math.round(performance.now() - T0)
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

interface Ev { t: number, node: number, what: string }
const events: Ev[] = []
const ev = (node: number, what: string): void => { events.push({ t: now(), node, what }) }

const overlay = await startBenchOverlay()
const sentinels: TempusNode[] = []
for (let i = 0; i < 3; i++) {
  sentinels.push(await overlay.node('sentinel', { bootstrap: sentinels.flatMap(s => s.getMultiaddrs()), connections: BENCH_LIMITS, ...QUIET }))
}
const bootstrap = sentinels.flatMap(s => s.getMultiaddrs())
const rest: TempusNode[] = []
// five at a time: fifty enrolments at once time out on a loaded machine
for (let i = 0; i < N - 3; i += 5) {
  rest.push(...await Promise.all(Array.from({ length: Math.min(5, N - 3 - i) }, async (_, k) => {
    const type: PeerType = i + k < 4 ? 'bridge' : 'edge'
    return await overlay.node(type, { bootstrap, connections: BENCH_LIMITS, ...QUIET })
  })))
}
const nodes = [...sentinels, ...rest]
const index = new Map(nodes.map((n, i) => [n.peerId.toString(), i]))
const name = (peer: string | { toString: () => string }): string => `#${index.get(peer.toString()) ?? '?'}`

/** anomaly id of a frame on the anomaly topic */
function idOf (data: Uint8Array): string {
  try {
    const f = GossipFrame.decode(data)
    return decodeAnomalyBody(f.body, peerIdFromMultihash(Digest.decode(f.origin)).toString()).id
  } catch {
    return 'undecodable-' + createHash('sha256').update(data).digest('hex').slice(0, 8)
  }
}
/** gossipsub message id text → anomaly id (learnt from the messages seen) */
const msgIdToAnomaly = new Map<string, string>()
const keyOf = (from?: Uint8Array, seqno?: Uint8Array): string => Buffer.concat([from ?? new Uint8Array(), seqno ?? new Uint8Array()]).toString('base64')

/** per anomaly id, per node: first time the rpc carried it, from whom (and whether a mesh peer), validator time, delivery time */
interface Arrival { rpcAt?: number, from?: string, fromMesh?: boolean, asked?: boolean, validatedMs?: number, verdict?: string, deliveredAt?: number, ihaveAt?: number, iwantAt?: number }
const arrivals = new Map<string, Map<number, Arrival>>()
const arrival = (id: string, i: number): Arrival => {
  let m = arrivals.get(id)
  if (m == null) { m = new Map(); arrivals.set(id, m) }
  let a = m.get(i)
  if (a == null) { a = {}; m.set(i, a) }
  return a
}
let validatorInFlight = 0
let validatorMaxInFlight = 0
const validatorTimes: number[] = []
const graylistDrops = new Map<string, number>()
const offences = new Map<string, number>()

nodes.forEach((n, i) => {
  const ps = n.libp2p.services.pubsub as any
  n.libp2p.addEventListener('peer:connect', e => { ev(i, `connect ${name(e.detail)}`) })
  n.libp2p.addEventListener('peer:disconnect', e => { ev(i, `disconnect ${name(e.detail)}`) })
  n.gossip.addEventListener('mesh:starved', e => { ev(i, `starved ${e.detail.topics.length}`) })
  const keeper = n.libp2p.services.keeper as any
  const addNeighbour = keeper.addNeighbour.bind(keeper)
  keeper.addNeighbour = async () => { const r = await addNeighbour(); ev(i, `addNeighbour ${String(r)} (${n.libp2p.getConnections().length} connections)`); return r }
  ps.addEventListener('gossipsub:graft', (e: any) => { if (e.detail.topic === ANOMALY_TOPIC) ev(i, `graft ${e.detail.direction} ${name(e.detail.peerId)}`) })
  ps.addEventListener('gossipsub:prune', (e: any) => { if (e.detail.topic === ANOMALY_TOPIC) ev(i, `prune ${e.detail.direction} ${name(e.detail.peerId)}`) })
  n.admission.addEventListener('offence', (e: any) => {
    const k = `${e.detail.offence}${e.detail.cause != null ? ':' + String(e.detail.cause) : ''}`
    offences.set(k, (offences.get(k) ?? 0) + 1)
    ev(i, `offence ${name(e.detail.peer)} ${k} → ${e.detail.change.score} ${e.detail.change.state}`)
  })
  const accept = ps.acceptFrom.bind(ps)
  ps.acceptFrom = (id: string) => {
    const ok = accept(id)
    if (!ok) { graylistDrops.set(`${i}<${name(id)}`, (graylistDrops.get(`${i}<${name(id)}`) ?? 0) + 1) }
    return ok
  }
  const handle = ps.handleReceivedRpc.bind(ps)
  ps.handleReceivedRpc = async (from: any, rpc: any) => {
    const t = now()
    const mesh: Set<string> = ps.mesh.get(ANOMALY_TOPIC) ?? new Set()
    for (const m of rpc.messages ?? []) {
      if (m.topic !== ANOMALY_TOPIC || m.data == null) continue
      const id = idOf(m.data)
      msgIdToAnomaly.set(keyOf(m.from, m.seqno), id)
      const a = arrival(id, i)
      if (a.rpcAt == null) {
        a.rpcAt = t
        a.from = name(from)
        a.fromMesh = mesh.has(from.toString())
        a.asked = a.iwantAt != null
      }
    }
    for (const ih of rpc.control?.ihave ?? []) {
      if (ih.topicID !== ANOMALY_TOPIC) continue
      for (const mid of ih.messageIDs ?? []) {
        const id = msgIdToAnomaly.get(Buffer.from(mid).toString('base64'))
        if (id != null) { const a = arrival(id, i); a.ihaveAt ??= t }
      }
    }
    return await handle(from, rpc)
  }
  const send = ps.sendRpc.bind(ps)
  ps.sendRpc = (id: string, rpc: any) => {
    for (const iw of rpc.control?.iwant ?? []) {
      for (const mid of iw.messageIDs ?? []) {
        const aid = msgIdToAnomaly.get(Buffer.from(mid).toString('base64'))
        if (aid != null) { const a = arrival(aid, i); a.iwantAt ??= now() }
      }
    }
    return send(id, rpc)
  }
  n.gossip.addEventListener('anomaly', e => { if (e.detail.via !== 'self') { const a = arrival(e.detail.id, i); a.deliveredAt ??= now(); (a as any).via = e.detail.via } })
})

// wait for every node to have a mesh peer (as the bench does)
const meshCount = (n: TempusNode): number => ((n.libp2p.services.pubsub as any).mesh.get(ANOMALY_TOPIC)?.size ?? 0) as number
for (let k = 0; k < 600 && nodes.some(n => meshCount(n) === 0 || n.libp2p.services.pubsub.getSubscribers(ANOMALY_TOPIC).length < 2); k++) {
  await sleep(100)
}
await sleep(2000)
// now wrap the validators (installed at afterStart) to time them
const tokenTimes: { cached: number[], fresh: number[] } = { cached: [], fresh: [] }
const loopDelay = monitorEventLoopDelay({ resolution: 10 })
loopDelay.enable()
nodes.forEach((n, i) => {
  const verifier = n.admission.verifier as any
  const verify = verifier.verify.bind(verifier)
  verifier.verify = async (token: string, expect: any) => {
    const cached = verifier.verified.has(token) === true
    const start = performance.now()
    try {
      return await verify(token, expect)
    } finally {
      (cached ? tokenTimes.cached : tokenTimes.fresh).push(performance.now() - start)
    }
  }

  const ps = n.libp2p.services.pubsub as any
  const v = ps.topicValidators.get(ANOMALY_TOPIC)
  ps.topicValidators.set(ANOMALY_TOPIC, async (peer: any, msg: any) => {
    const start = performance.now()
    validatorInFlight++
    validatorMaxInFlight = Math.max(validatorMaxInFlight, validatorInFlight)
    try {
      const r = await v(peer, msg)
      const id = idOf(msg.data)
      const a = arrival(id, i)
      a.validatedMs ??= Math.round(performance.now() - start)
      a.verdict ??= String(r)
      validatorTimes.push(performance.now() - start)
      return r
    } finally {
      validatorInFlight--
    }
  })
})

/** a per-node snapshot: connections, mesh size, subscribers, negative scores */
function snapshot (): string[] {
  return nodes.map((n, i) => {
    const ps = n.libp2p.services.pubsub as any
    const peers = n.libp2p.getConnections().map(c => c.remotePeer.toString())
    const negative = [...new Set(peers)].filter(p => ps.getScore(p) < 0).map(p => `${name(p)}:${Math.round(ps.getScore(p))}`)
    return `#${i} conns ${new Set(peers).size} mesh ${meshCount(n)} subs ${n.libp2p.services.pubsub.getSubscribers(ANOMALY_TOPIC).length} out ${ps.streamsOutbound.size} views e${n.sampling.view('edge').length}/b${n.sampling.view('bridge').length}/s${n.sampling.view('sentinel').length} notConnected ${['edge', 'bridge', 'sentinel'].flatMap(t => n.sampling.view(t as PeerType)).filter(e => !peers.includes(e.peerId)).length}${negative.length > 0 ? ' negative ' + negative.join(',') : ''}`
  })
}
const snapshots: Array<{ t: number, lines: string[] }> = []
/**
 * How many peers would push a message to node j right now: peers P with j in
 * P's mesh on the topic and an outbound gossipsub stream to j. A node fed by
 * none hears of a message only by IHAVE.
 */
function fedBy (): number[] {
  const ids = nodes.map(n => n.peerId.toString())
  const fed = nodes.map(() => 0)
  nodes.forEach(n => {
    const ps = n.libp2p.services.pubsub as any
    for (const id of ps.mesh.get(ANOMALY_TOPIC) ?? []) {
      const j = ids.indexOf(id)
      if (j >= 0 && ps.streamsOutbound.has(id) === true) fed[j] = (fed[j] ?? 0) + 1
    }
  })
  return fed
}
/** per node: connected peers gossipsub does not know, known peers with no outbound stream, peers that do not know this node subscribed */
function asymmetry (): string[] {
  const out: string[] = []
  nodes.forEach((n, i) => {
    const ps = n.libp2p.services.pubsub as any
    const connected = [...new Set(n.libp2p.getConnections().filter(c => c.status === 'open').map(c => c.remotePeer.toString()))]
    const unknown = connected.filter(p => ps.peers.has(p) !== true)
    const noOut = connected.filter(p => ps.peers.has(p) === true && ps.streamsOutbound.has(p) !== true)
    const notSubscribedThere = connected.filter(p => { const j = index.get(p); if (j == null) return false; const other = (nodes[j]?.libp2p.services.pubsub as any); return other?.topics.get(ANOMALY_TOPIC)?.has(n.peerId.toString()) !== true })
    if (unknown.length + noOut.length + notSubscribedThere.length > 0) out.push(`#${i}: unknown ${unknown.map(name).join(',')} noOut ${noOut.map(name).join(',')} notSubscribedThere ${notSubscribedThere.map(name).join(',')}`)
  })
  return out
}
/**
 * Honest peers held in bad standing: (node, connected peer) pairs where the
 * node's gossipsub score of the peer is < 0 (no mesh), < −10 (no gossip
 * either), and how much of it is P5 (minus the node's suspicion of it).
 */
const standing = { pairs: 0, negative: 0, belowGossip: 0, negativeBySuspicion: 0, samples: 0, worstNode: 0 }
function judgeStanding (): void {
  standing.samples++
  const excludedAt = nodes.map(() => 0)
  const connectedTo = nodes.map(() => 0)
  nodes.forEach(n => {
    const ps = n.libp2p.services.pubsub as any
    for (const p of new Set(n.libp2p.getConnections().map(c => c.remotePeer.toString()))) {
      const j = index.get(p)
      if (j == null) continue
      standing.pairs++
      connectedTo[j] = (connectedTo[j] ?? 0) + 1
      const score = ps.getScore(p) as number
      if (score < 0) {
        standing.negative++
        excludedAt[j] = (excludedAt[j] ?? 0) + 1
        if (score + n.admission.suspicion.score(p) >= 0) standing.negativeBySuspicion++
      }
      if (score < -10) standing.belowGossip++
    }
  })
  // the node excluded by the largest share of its neighbours
  standing.worstNode = Math.max(standing.worstNode, ...excludedAt.map((e, j) => (connectedTo[j] ?? 0) === 0 ? 0 : e / (connectedTo[j] ?? 1)))
}
/**
 * Zombie mesh links: peer X in P's mesh on the topic while P holds no
 * outbound gossipsub stream to X (P's forwards to X go nowhere), and
 * connected peers P holds no outbound stream to at all. Each episode: when
 * first seen, how long it lasted, how many connections P had to X.
 */
const zombies = new Map<string, { since: number, conns: number, mesh: boolean }>()
const zombieEpisodes: Array<{ pair: string, ms: number, conns: number, mesh: boolean }> = []
function judgeZombies (): void {
  const seen = new Set<string>()
  nodes.forEach((n, i) => {
    const ps = n.libp2p.services.pubsub as any
    const mesh: Set<string> = ps.mesh.get(ANOMALY_TOPIC) ?? new Set()
    const connected = new Set(n.libp2p.getConnections().filter(c => c.status === 'open').map(c => c.remotePeer.toString()))
    for (const x of new Set([...mesh, ...connected])) {
      if (ps.streamsOutbound.has(x) === true) continue
      const key = `#${i}->${name(x)}`
      seen.add(key)
      if (!zombies.has(key)) zombies.set(key, { since: now(), conns: n.libp2p.getConnections().filter(c => c.remotePeer.toString() === x).length, mesh: mesh.has(x) })
    }
  })
  for (const [key, z] of zombies) {
    if (!seen.has(key)) {
      zombieEpisodes.push({ pair: key, ms: now() - z.since, conns: z.conns, mesh: z.mesh })
      zombies.delete(key)
    }
  }
}
const unfed = new Map<number, number>()
let asymmetries = 0
const snapTimer = setInterval(() => {
  snapshots.push({ t: now(), lines: snapshot() })
  judgeStanding()
  judgeZombies()
  fedBy().forEach((f, j) => {
    if (f === 0) { if (!unfed.has(j)) { unfed.set(j, now()); ev(j, 'fed by no peer') } } else if (unfed.has(j)) { ev(j, `fed again after ${now() - (unfed.get(j) ?? 0)} ms`); unfed.delete(j) }
  })
  const a = asymmetry()
  if (a.length > 0) { asymmetries++; if (asymmetries % 10 === 1) events.push({ t: now(), node: -1, what: 'asymmetry ' + a.join(' | ') }) }
}, 500)

const report: string[] = []
const times: number[] = []
let incomplete = 0
for (let k = 0; k < M; k++) {
  const p = Math.floor(Math.random() * N)
  const t0 = now()
  const a = await (nodes[p] as TempusNode).gossip.publish({ kind: 'probe', digest: randomBytes(32).toString('hex'), severity: 5, metadata: { rule: 'probe' } })
  const receivers = nodes.map((_, i) => i).filter(i => i !== p)
  for (let w = 0; w < 200 && receivers.some(i => arrival(a.id, i).deliveredAt == null); w++) {
    await sleep(50)
  }
  const last = Math.max(...receivers.map(i => arrival(a.id, i).deliveredAt ?? Infinity))
  const ms = last - t0
  times.push(Math.min(ms, 10_000))
  if (ms > 10_000) incomplete++
  const line = `msg ${k} from #${p} at ${t0}: last after ${ms} ms`
  process.stdout.write(line + '\n')
  if (ms >= SLOW) {
    const late = receivers.filter(i => (arrival(a.id, i).deliveredAt ?? Infinity) - t0 >= Math.min(SLOW, ms * 0.8))
    report.push(`${line}; ${late.length} late node(s)`)
    for (const i of late) {
      const x = arrival(a.id, i)
      report.push(`  #${i}: ${JSON.stringify(x)} (times relative to publish: rpc +${(x.rpcAt ?? NaN) - t0}, ihave +${(x.ihaveAt ?? NaN) - t0}, iwant +${(x.iwantAt ?? NaN) - t0}, delivered +${(x.deliveredAt ?? NaN) - t0})`)
      const snap = snapshots.filter(s => s.t <= t0).at(-1)
      report.push(`    before: ${snap?.lines[i] ?? '?'}`)
      for (const e of events.filter(e => e.node === i && e.t >= t0 - 5_000 && e.t <= t0 + ms + 500)) {
        report.push(`    ${e.t - t0 >= 0 ? '+' : ''}${e.t - t0} ${e.what}`)
      }
      // who published, and how many copies reached this node's neighbours
      const neigh = nodes[i]?.libp2p.getConnections().map(c => index.get(c.remotePeer.toString()) ?? -1) ?? []
      report.push(`    neighbours now: ${[...new Set(neigh)].map(j => `#${j}(${(arrival(a.id, j).rpcAt ?? NaN) - t0})`).join(' ')}`)
    }
  }
}
clearInterval(snapTimer)
times.sort((a, b) => a - b)
process.stdout.write(`\n--- ${M} messages: p50 ${times[Math.floor(M / 2)]} ms, max ${times.at(-1)} ms, incomplete ${incomplete}\n`)
validatorTimes.sort((a, b) => a - b)
process.stdout.write(`validator: ${validatorTimes.length} runs, p50 ${validatorTimes[Math.floor(validatorTimes.length / 2)]?.toFixed(1)} ms, p99 ${validatorTimes[Math.floor(validatorTimes.length * 0.99)]?.toFixed(1)} ms, max ${validatorTimes.at(-1)?.toFixed(1)} ms; most in flight at once ${validatorMaxInFlight}\n`)
for (const [k, v] of Object.entries(tokenTimes)) {
  v.sort((a, b) => a - b)
  process.stdout.write(`token verify ${k}: ${v.length}, p50 ${v[Math.floor(v.length / 2)]?.toFixed(2)} ms, p99 ${v[Math.floor(v.length * 0.99)]?.toFixed(1)} ms, max ${v.at(-1)?.toFixed(1)} ms\n`)
}
process.stdout.write(`event loop delay: p50 ${(loopDelay.percentile(50) / 1e6).toFixed(1)} ms, p99 ${(loopDelay.percentile(99) / 1e6).toFixed(1)} ms, max ${(loopDelay.max / 1e6).toFixed(1)} ms\n`)
process.stdout.write(`offences: ${JSON.stringify([...offences])}\n`)
process.stdout.write(`graylisted RPCs dropped: ${JSON.stringify([...graylistDrops].slice(0, 40))}\n`)
const count = (re: RegExp): number => events.filter(e => re.test(e.what)).length
process.stdout.write(`events over the run: connects ${count(/^connect/)}, disconnects ${count(/^disconnect/)}, grafts ${count(/^graft/)}, prunes ${count(/^prune/)}\n`)
process.stdout.write(`standing over ${standing.samples} snapshots: ${standing.negative}/${standing.pairs} (node, peer) pairs with a negative score (${standing.negativeBySuspicion} of them only because of P5, the node's suspicion), ${standing.belowGossip} under the gossip threshold; the worst node was in bad standing with ${Math.round(standing.worstNode * 100)}% of its neighbours\n`)
for (const [key, z] of zombies) zombieEpisodes.push({ pair: key + ' (still)', ms: now() - z.since, conns: z.conns, mesh: z.mesh })
const long = zombieEpisodes.filter(z => z.ms >= 2000).sort((a, b) => b.ms - a.ms)
process.stdout.write(`no outbound stream to a connected or mesh peer: ${zombieEpisodes.length} episodes, ${long.length} of ≥ 2 s, ${long.filter(z => z.mesh).length} of them mesh links: ${JSON.stringify(long.slice(0, 12))}\n`)
process.stdout.write(`snapshots with an asymmetry: ${asymmetries}/${snapshots.length}; fed-by-none episodes: ${events.filter(e => e.what === 'fed by no peer').length}\n`)
for (const e of events.filter(e => e.node === -1).slice(0, 10)) process.stdout.write(`  ${e.t} ${e.what}\n`)
for (const e of events.filter(e => e.what.startsWith('fed again')).slice(0, 20)) process.stdout.write(`  #${e.node} ${e.t} ${e.what}\n`)
process.stdout.write(report.join('\n') + '\n')
process.stdout.write('final snapshot:\n' + snapshot().join('\n') + '\n')
// the thin meshes: what the mesh watch saw, and whom the keeper could have dialled
for (const [i, n] of nodes.entries()) {
  if (meshCount(n) >= 4) continue
  const ps = n.libp2p.services.pubsub as any
  const stored = await n.libp2p.peerStore.all()
  const connected = new Set(n.libp2p.getConnections().map(c => c.remotePeer.toString()))
  const dialable = stored.filter(p => p.addresses.length > 0 && !connected.has(p.id.toString()) && !p.id.equals(n.peerId))
  const backoff = ps.backoff?.get(ANOMALY_TOPIC) as Map<string, number> | undefined
  const subs = n.libp2p.services.pubsub.getSubscribers(ANOMALY_TOPIC).map(p => p.toString())
  const mesh = new Set(ps.getMeshPeers(ANOMALY_TOPIC))
  const candidates = subs.filter(p => !mesh.has(p) && !(backoff?.has(p) ?? false) && ps.getScore(p) >= 0 && ps.streamsOutbound.has(p))
  const failures = dialable.map(p => n.libp2p.services.keeper.redialOf(p.id)).filter(r => r != null).map(r => r?.failures)
  const started = await n.libp2p.services.keeper.addNeighbour()
  const before = n.libp2p.getConnections().length
  await sleep(3000)
  process.stdout.write(`  #${i} dial failures so far ${JSON.stringify(failures)}; addNeighbour now: ${String(started)}, connections ${before} -> ${n.libp2p.getConnections().length}\n`)
  process.stdout.write(`  #${i} story: ${events.filter(e => e.node === i && /^(starved|addNeighbour|connect|disconnect)/.test(e.what)).map(e => `${e.t} ${e.what}`).join(' | ')}\n`)
  process.stdout.write(`thin #${i}: mesh ${mesh.size}, subs ${subs.length}, in backoff ${backoff?.size ?? 0}, graftable ${candidates.map(name).join(',') || 'none'}, starved ${n.gossip.status().starved}, peer store ${stored.length} (dialable ${dialable.length}: ${dialable.map(p => name(p.id.toString())).join(',')}), watch ${JSON.stringify([...((n.gossip as any).starvation?.prunedUntil?.keys() ?? [])].filter((k: string) => k.startsWith(ANOMALY_TOPIC)).map((k: string) => name(k.split(' ')[1] ?? '')))}\n`)
}
await Promise.allSettled(nodes.map(async n => n.stop()))
await overlay.stop()
process.exit(0)

/**
 * An idle mesh: what N tempus nodes in one process cost once they have
 * settled and nothing happens (CPU as a share of one core, RSS per node),
 * against N plain libp2p nodes (TCP + Noise + Yamux + identify + gossipsub
 * subscribed to one topic) on the same connection graph, in the same run.
 *
 *   npm run bench:idle -- [--nodes 50] [--window 30] [--warmup 10] [--timers] [--wire] [--profile DIR] [--heap DIR] [--alloc DIR] [--json]
 *
 * The tempus phase starts the mesh the way `tempus dev` does
 * (`startDevMesh`: an issuer in the process, three sentinels, four bridges,
 * the rest edges, each with its data directory, log file and admin API) and
 * waits until it has settled: every node has at least two admitted peers
 * (with `--views`, also its own type's view as full as it can be: its
 * capacity, or every other node of its type); the mean view fill at the end
 * is printed. Then a warm-up, then the window: CPU is
 * `process.cpuUsage()` over wall time, RSS is the process's mean over the
 * window divided by the nodes. The baseline phase dials the same graph
 * (the tempus phase's connections, by node index) and measures the same way.
 * Each phase runs in its own child process, so they share no heap or RSS.
 *
 * `--profile DIR` writes a CPU profile of each phase's window (inspector,
 * the window only, not the start-up) into DIR and prints the functions with
 * the most self time.
 *
 * `--heap DIR` samples allocations from before the nodes start and, at the
 * window's end, writes what is still live (.heapprofile) into DIR and
 * prints it by package, by the innermost frame of this project's code, and
 * by allocating function (heap-census.ts): where a node's memory goes.
 *
 * `--alloc DIR` samples what the window allocates, whether the collector
 * freed it since or not, writes it (.heapprofile) into DIR and prints it the
 * same way: who makes the garbage a node's collector spends its time on.
 *
 * `--wire` counts what the nodes send during the window (wire-census.ts):
 * data frames and bytes per protocol, streams opened, socket writes, per
 * node per second.
 *
 * `--timers` also counts timer callbacks (setTimeout/setInterval/setImmediate)
 * during the window by where they were created, to say which per-node
 * timers fire how often; it slows the process a little, so the CPU figure of
 * such a run is not the one to quote.
 */
import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { benchArgs, intArg } from './lib/args.ts'
import { countTimers } from './lib/timer-census.ts'
import { countWire } from './lib/wire-census.ts'
import { countThreadCpu } from './lib/thread-census.ts'
import { countGc, formatGc } from './lib/gc-census.ts'
import type { GcFigures } from './lib/gc-census.ts'
import type { ThreadShare } from './lib/thread-census.ts'
import { allocatedHeap, liveHeap, startHeapSampling } from './lib/heap-census.ts'
import { useMemorySettings } from '../src/cli/heap-settings.ts'
import { getHeapSpaceStatistics } from 'node:v8'
import type { LiveHeap } from './lib/heap-census.ts'
import type { Session } from 'node:inspector/promises'
import type { Registry } from 'prom-client'

const args = benchArgs({
  nodes: { type: 'string', default: '50' },
  window: { type: 'string', default: '30' },
  warmup: { type: 'string', default: '10' },
  timers: { type: 'boolean', default: false },
  wire: { type: 'boolean', default: false },
  views: { type: 'boolean', default: false },
  /** write a CPU profile of the window (.cpuprofile) into this directory and print the top self-time functions */
  profile: { type: 'string' },
  /** write a sampling heap profile of what is live at the window's end (.heapprofile) into this directory and print where it was allocated */
  heap: { type: 'string' },
  /** write a sampling heap profile of what was allocated during the window, freed since or not (.heapprofile), into this directory and print by whom */
  alloc: { type: 'string' },
  json: { type: 'boolean', default: false },
  // internal: the child's part
  phase: { type: 'string' },
  graph: { type: 'string' },
  out: { type: 'string' }
})
const N = intArg(args.nodes, 'nodes', 8, 200)
const WINDOW_S = intArg(args.window, 'window', 5, 600)
const WARMUP_S = intArg(args.warmup, 'warmup', 0, 600)
const json = args.json === true
const SETTLE_TIMEOUT_MS = 120_000
/** --views: settled also means every own-type view full (on a loaded machine that can take minutes) */
const VIEWS_FILLED = args.views === true
const SENTINELS = 3
const BRIDGES = 4

export interface PhaseResult {
  nodes: number
  settled: boolean
  settleMs: number
  cpuShare: number
  /** cpuShare by thread (thread-census.ts): the main thread, V8's helpers, libuv's pool */
  threads: ThreadShare[]
  /** the collector's pauses on the main thread during the window, by kind (gc-census.ts) */
  gc: GcFigures
  /** where the RSS is at the window's end, MB: V8's spaces as committed, what V8 counts outside its heap, and the rest (native: Node, libuv, SQLite, code) */
  memory: MemorySplit
  rssMb: number
  rssPerNodeMb: number
  heapUsedMb: number
  /** tempus: the mean fill of each node's own view at the end of the window (1 = full) */
  viewFill?: number
  /** tempus: connections per connected pair of nodes (1 = no pair holds two) */
  connectionsPerPair?: number
  /** connections per node, mean */
  degree: number
  /** connections each node opened or accepted per second during the window (an idle mesh that keeps redialling pays a handshake for each) */
  connectionsOpenedPerSecondPerNode?: number
  /** tempus: of the connections that settled or closed during the window, the share closed before settling (their identify, gossipsub streams and DHT bookkeeping never paid: connection-settling.ts) */
  upkeepSkippedShare?: number
  /** tempus: requests the mesh's issuer answered per second during the window, by route (the revocation-list polls, tokens, keys) */
  issuerRequestsPerSecond?: Record<string, number>
  /** timer callbacks per second per node (with --timers) */
  timersPerSecondPerNode?: number
  /** the busiest timer origins, callbacks per second per node */
  timerOrigins?: Array<{ origin: string, perSecondPerNode: number }>
  /** with --wire: what the nodes sent, per node per second */
  wire?: {
    socketWrites: number
    byProtocol: Array<{ protocol: string, frames: number, bytes: number }>
    streams: Array<{ stream: string, opened: number }>
  }
  /** with --profile: the functions with the most self time, share of the window's CPU samples */
  topSelf?: Array<{ fn: string, share: number }>
  /** with --heap: the live heap at the window's end by where it was allocated (sampled since before the nodes started) */
  liveHeap?: LiveHeap
  /** with --alloc: what the window allocated (MB, freed since or not), by whom: what the collector works through */
  allocated?: LiveHeap
}

/** with --heap: sampling allocations from before the nodes start (each phase is its own process) */
let heapSession: Session | undefined
async function startHeap (): Promise<void> {
  if (args.heap == null) return
  const { Session } = await import('node:inspector/promises')
  heapSession = new Session()
  heapSession.connect()
  await startHeapSampling(heapSession)
}

/** Self time per function (name + file:line) from a V8 CPU profile, largest first. */
function topSelfTime (profile: { nodes: Array<{ id: number, callFrame: { functionName: string, url: string, lineNumber: number } }>, samples?: number[] }, n: number): Array<{ fn: string, share: number }> {
  const byId = new Map(profile.nodes.map(x => [x.id, x]))
  const counts = new Map<string, number>()
  const samples = profile.samples ?? []
  for (const id of samples) {
    const f = byId.get(id)?.callFrame
    if (f == null) continue
    const where = f.url.replace(/^.*node_modules\//, '').replace(/^.*\/dist\//, '').replace(/^file:\/\//, '')
    const key = `${f.functionName === '' ? '(anonymous)' : f.functionName} ${where}${where === '' ? '' : `:${f.lineNumber + 1}`}`
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  return [...counts].sort((a, b) => b[1] - a[1]).slice(0, n).map(([fn, c]) => ({ fn, share: Math.round(c / Math.max(1, samples.length) * 1000) / 1000 }))
}

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/** Poll `condition` until it holds; false once `timeoutMs` has passed. */
async function until (condition: () => boolean, timeoutMs: number, intervalMs = 500): Promise<boolean> {
  const deadline = performance.now() + timeoutMs
  while (!condition()) {
    if (performance.now() > deadline) {
      return false
    }
    await sleep(intervalMs)
  }
  return true
}


export interface MemorySplit {
  rssMb: number
  /** V8's heap, committed (what the spaces hold in pages, used or not) */
  heapCommittedMb: number
  heapUsedMb: number
  /** each space's committed and used MB */
  spaces: Array<{ space: string, committedMb: number, usedMb: number }>
  /** memory V8 is told of outside its heap (Buffers, ArrayBuffers) */
  externalMb: number
  /** the rest of the RSS: Node and libuv, native modules (SQLite), compiled code, thread stacks */
  otherMb: number
}

/** Where a process's RSS is right now. */
function memorySplit (): MemorySplit {
  const mb = (n: number): number => Math.round(n / 2 ** 20 * 10) / 10
  const m = process.memoryUsage()
  const spaces = getHeapSpaceStatistics()
  const committed = spaces.reduce((a, s) => a + s.physical_space_size, 0)
  return {
    rssMb: mb(m.rss),
    heapCommittedMb: mb(committed),
    heapUsedMb: mb(m.heapUsed),
    spaces: spaces.filter(s => s.physical_space_size > 2 ** 20).map(s => ({ space: s.space_name, committedMb: mb(s.physical_space_size), usedMb: mb(s.space_used_size) })),
    externalMb: mb(m.external),
    otherMb: mb(m.rss - committed - m.external)
  }
}

/** Requests the issuer has answered so far, by route (its `tempus_issuer_requests_total`). */
async function issuerRequestCounts (registry: Registry): Promise<Map<string, number>> {
  const counts = new Map<string, number>()
  const metric = registry.getSingleMetric('tempus_issuer_requests_total')
  for (const { labels, value } of (await metric?.get())?.values ?? []) {
    const route = String(labels.route ?? '?')
    counts.set(route, (counts.get(route) ?? 0) + value)
  }
  return counts
}

/** CPU share of one core and mean RSS over the window. */
async function measure (nodes: number, phase: string, timers?: ReturnType<typeof countTimers>, opened?: () => number, wire?: ReturnType<typeof countWire>, upkeep?: () => { settled: number, skipped: number }, issuerRequests?: () => Promise<Map<string, number>>): Promise<Pick<PhaseResult, 'issuerRequestsPerSecond' | 'cpuShare' | 'rssMb' | 'rssPerNodeMb' | 'heapUsedMb' | 'timersPerSecondPerNode' | 'timerOrigins' | 'topSelf' | 'connectionsOpenedPerSecondPerNode' | 'upkeepSkippedShare' | 'wire' | 'liveHeap' | 'allocated' | 'threads' | 'gc' | 'memory'>> {
  await sleep(WARMUP_S * 1000)
  const profileDir = args.profile == null ? undefined : String(args.profile)
  const { Session } = await import('node:inspector/promises')
  const session = profileDir == null ? undefined : new Session()
  if (session != null) {
    session.connect()
    await session.post('Profiler.enable')
    await session.post('Profiler.start')
  }
  const rss: number[] = []
  const heap: number[] = []
  timers?.start()
  wire?.start()
  const opened0 = opened?.() ?? 0
  const upkeep0 = upkeep?.()
  const issuer0 = await issuerRequests?.()
  const allocDir = args.alloc == null ? undefined : String(args.alloc)
  const allocSession = allocDir == null ? undefined : new Session()
  if (allocSession != null) {
    allocSession.connect()
    await startHeapSampling(allocSession, 16_384, true)
  }
  const cpu0 = process.cpuUsage()
  const threadCpu = countThreadCpu()
  const gcCount = countGc()
  const t0 = performance.now()
  const deadline = t0 + WINDOW_S * 1000
  while (performance.now() < deadline) {
    await sleep(1000)
    const m = process.memoryUsage()
    rss.push(m.rss)
    heap.push(m.heapUsed)
  }
  const cpu = process.cpuUsage(cpu0)
  const threads = threadCpu.stop()
  const gc = gcCount.stop()
  const memory = memorySplit()
  const wall = performance.now() - t0
  const counts = timers?.stop()
  const sent = wire?.stop()
  const openedInWindow = (opened?.() ?? 0) - opened0
  const upkeep1 = upkeep?.()
  const issuer1 = await issuerRequests?.()
  const decided = upkeep0 == null || upkeep1 == null ? 0 : (upkeep1.settled - upkeep0.settled) + (upkeep1.skipped - upkeep0.skipped)
  let topSelf: PhaseResult['topSelf']
  if (session != null && profileDir != null) {
    const { profile } = await session.post('Profiler.stop')
    session.disconnect()
    await mkdir(profileDir, { recursive: true }) // the directory need not exist yet
    await writeFile(join(profileDir, `idle-${phase}-${process.pid}.cpuprofile`), JSON.stringify(profile))
    topSelf = topSelfTime(profile as any, 30)
  }
  let allocated: LiveHeap | undefined
  if (allocSession != null && allocDir != null) {
    const { summary, profile } = await allocatedHeap(allocSession)
    allocSession.disconnect()
    await mkdir(allocDir, { recursive: true })
    await writeFile(join(allocDir, `alloc-${phase}-${process.pid}.heapprofile`), JSON.stringify(profile))
    allocated = summary
  }
  let live: LiveHeap | undefined
  if (heapSession != null && args.heap != null) {
    const { summary, profile } = await liveHeap(heapSession)
    await mkdir(String(args.heap), { recursive: true })
    await writeFile(join(String(args.heap), `idle-${phase}-${process.pid}.heapprofile`), JSON.stringify(profile))
    live = summary
  }
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)
  const rssMb = mean(rss) / 2 ** 20
  const perSecondPerNode = (n: number): number => Math.round(n / (wall / 1000) / nodes * 100) / 100
  return {
    ...(live == null ? {} : { liveHeap: live }),
    ...(allocated == null ? {} : { allocated }),
    cpuShare: Math.round((cpu.user + cpu.system) / 1000 / wall * 1000) / 1000,
    threads,
    gc,
    memory,
    rssMb: Math.round(rssMb * 10) / 10,
    rssPerNodeMb: Math.round(rssMb / nodes * 100) / 100,
    heapUsedMb: Math.round(mean(heap) / 2 ** 20 * 10) / 10,
    topSelf,
    ...(opened == null ? {} : { connectionsOpenedPerSecondPerNode: perSecondPerNode(openedInWindow) }),
    ...(issuer0 == null || issuer1 == null ? {} : { issuerRequestsPerSecond: Object.fromEntries([...issuer1].map(([route, n]) => [route, Math.round((n - (issuer0.get(route) ?? 0)) / (wall / 1000) * 100) / 100] as const).filter(([, rate]) => rate > 0).sort((a, b) => b[1] - a[1])) }),
    ...(upkeep0 == null || upkeep1 == null || decided === 0 ? {} : { upkeepSkippedShare: Math.round((upkeep1.skipped - upkeep0.skipped) / decided * 100) / 100 }),
    ...(sent == null
      ? {}
      : {
          wire: {
            socketWrites: perSecondPerNode(sent.socketWrites),
            byProtocol: [...sent.bytes].sort((a, b) => b[1] - a[1]).map(([protocol, bytes]) => ({ protocol: protocol === '' ? '(negotiating)' : protocol, frames: perSecondPerNode(sent.frames.get(protocol) ?? 0), bytes: perSecondPerNode(bytes) })),
            streams: [...sent.streams].sort((a, b) => b[1] - a[1]).map(([stream, n]) => ({ stream, opened: perSecondPerNode(n) }))
          }
        }),
    ...(counts == null
      ? {}
      : {
          timersPerSecondPerNode: perSecondPerNode([...counts.values()].reduce((a, b) => a + b, 0)),
          timerOrigins: [...counts].sort((a, b) => b[1] - a[1]).slice(0, 25).map(([origin, n]) => ({ origin, perSecondPerNode: perSecondPerNode(n) }))
        })
  }
}

// ---- the tempus phase --------------------------------------------------------

async function tempusPhase (graphFile: string): Promise<PhaseResult> {
  const timers = args.timers === true ? countTimers('bench-idle') : undefined
  const wire = args.wire === true ? countWire() : undefined
  // the memory settings `tempus dev` runs with (src/cli/heap-settings.ts), set before its modules load, as bin.ts does
  useMemorySettings(['dev'], process.execArgv, process.env.NODE_OPTIONS)
  const { startDevMesh } = await import('../src/cli/dev-mesh.ts')
  await startHeap()
  const started = performance.now()
  const mesh = await startDevMesh({ sentinels: SENTINELS, bridges: BRIDGES, edges: N - SENTINELS - BRIDGES, logLevel: 'info' })
  let opened = 0
  for (const n of mesh.nodes) {
    n.node.libp2p.addEventListener('connection:open', () => { opened++ })
  }
  try {
    const members = { sentinel: SENTINELS, bridge: BRIDGES, edge: N - SENTINELS - BRIDGES }
    const unsettled = (): string[] => mesh.nodes.flatMap(n => {
      const admitted = n.node.status().admission.admittedPeers
      const own = n.node.sampling.view(n.type).length
      const want = Math.min(n.node.config.sampling[n.type].capacity, members[n.type] - 1)
      return admitted >= 2 && (own > 0 || !VIEWS_FILLED) && own >= (VIEWS_FILLED ? want : 0) ? [] : [`${n.name} (admitted ${admitted}, view ${own}/${want})`]
    })
    const viewFill = (): number => Math.round(mesh.nodes.reduce((a, n) => a + n.node.sampling.view(n.type).length / Math.max(1, Math.min(n.node.config.sampling[n.type].capacity, members[n.type] - 1)), 0) / mesh.nodes.length * 100) / 100
    const settled = await until(() => unsettled().length === 0, SETTLE_TIMEOUT_MS)
    const settleMs = Math.round(performance.now() - started)
    if (!settled) {
      process.stderr.write(`warning: the tempus mesh had not settled after ${SETTLE_TIMEOUT_MS / 1000} s; measuring anyway; not settled: ${unsettled().join(', ')}\n`)
    }
    const upkeep = (): { settled: number, skipped: number } => mesh.nodes.reduce((sum, n) => {
      const s = n.node.libp2p.services.settling.stats()
      return { settled: sum.settled + s.settledByTime + s.settledAsked + s.settledByPeer, skipped: sum.skipped + s.closedUnsettled }
    }, { settled: 0, skipped: 0 })
    const figures = { ...await measure(N, 'tempus', timers, () => opened, wire, upkeep, async () => await issuerRequestCounts(mesh.issuer.metrics)), viewFill: 0 }
    // the graph the baseline dials: each connection once, by node index
    const index = new Map(mesh.nodes.map((n, i) => [n.node.peerId.toString(), i]))
    const edges = new Set<string>()
    let connections = 0
    mesh.nodes.forEach((n, i) => {
      for (const c of n.node.libp2p.getConnections()) {
        const j = index.get(c.remotePeer.toString())
        if (j != null) {
          connections++
          edges.add(i < j ? `${i}-${j}` : `${j}-${i}`)
        }
      }
    })
    figures.viewFill = viewFill()
    await writeFile(graphFile, JSON.stringify([...edges].map(e => e.split('-').map(Number))))
    return { nodes: N, settled, settleMs, degree: Math.round(connections / N * 10) / 10, connectionsPerPair: Math.round(connections / 2 / Math.max(1, edges.size) * 100) / 100, ...figures }
  } finally {
    // the figures are taken; a data directory a late log line kept from removal is not the bench's failure
    await mesh.stop().catch((err: Error) => { process.stderr.write(`note: stopping the mesh: ${err.message}\n`) })
  }
}

// ---- the baseline phase: plain libp2p + gossipsub on the same graph --------------

async function baselinePhase (graphFile: string): Promise<PhaseResult> {
  const timers = args.timers === true ? countTimers('bench-idle') : undefined
  const wire = args.wire === true ? countWire() : undefined
  const [{ createPlainNode }, { BENCH_LIMITS }] = await Promise.all([import('./lib/plain-stack.ts'), import('./lib/connect.ts')])
  const edges = JSON.parse(await readFile(graphFile, 'utf8')) as Array<[number, number]>
  await startHeap()
  const started = performance.now()
  const nodes = await Promise.all(Array.from({ length: N }, async () => await createPlainNode({ connectionManager: BENCH_LIMITS })))
  let opened = 0
  for (const n of nodes) {
    n.addEventListener('connection:open', () => { opened++ })
  }
  try {
    nodes.forEach(n => { n.services.pubsub.subscribe('tempus/anomaly/1') })
    await Promise.all(edges.map(async ([i, j]) => {
      const to = nodes[i]?.getMultiaddrs()[0]
      if (to != null) {
        await nodes[j]?.dial(to, { signal: AbortSignal.timeout(10_000) }).catch(() => {})
      }
    }))
    const settled = await until(() => nodes.every(n => n.services.pubsub.getSubscribers('tempus/anomaly/1').length >= Math.min(2, n.getConnections().length)), SETTLE_TIMEOUT_MS)
    const settleMs = Math.round(performance.now() - started)
    const figures = await measure(N, 'baseline', timers, () => opened, wire)
    const connections = nodes.reduce((a, n) => a + n.getConnections().length, 0)
    return { nodes: N, settled, settleMs, degree: Math.round(connections / N * 10) / 10, ...figures }
  } finally {
    await Promise.allSettled(nodes.map(async n => n.stop()))
  }
}

// ---- the parent: one child per phase ---------------------------------------------

async function runChild (phase: 'tempus' | 'baseline', graphFile: string, out: string): Promise<PhaseResult> {
  const argv = [...process.execArgv, process.argv[1] as string, '--phase', phase, '--graph', graphFile, '--out', out, '--nodes', String(N), '--window', String(WINDOW_S), '--warmup', String(WARMUP_S), ...(args.timers === true ? ['--timers'] : []), ...(args.wire === true ? ['--wire'] : []), ...(VIEWS_FILLED ? ['--views'] : []), ...(args.profile == null ? [] : ['--profile', String(args.profile)]), ...(args.heap == null ? [] : ['--heap', String(args.heap)]), ...(args.alloc == null ? [] : ['--alloc', String(args.alloc)])]
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'ignore', 'inherit'] })
    child.once('error', reject)
    child.once('exit', resolve)
  })
  if (code !== 0) {
    throw new Error(`the ${phase} phase exited with ${code}`)
  }
  return JSON.parse(await readFile(out, 'utf8')) as PhaseResult
}

if (args.phase != null) {
  const graphFile = String(args.graph ?? '')
  const out = String(args.out ?? '')
  if (graphFile === '' || out === '') {
    process.stderr.write('--phase needs --graph and --out\n')
    process.exit(2)
  }
  const result = args.phase === 'tempus' ? await tempusPhase(graphFile) : await baselinePhase(graphFile)
  await writeFile(out, JSON.stringify(result))
  process.exit(0)
}

const dir = await mkdtemp(join(tmpdir(), 'tempus-bench-idle-'))
try {
  const graph = join(dir, 'graph.json')
  if (!json) process.stdout.write(`tempus: ${N} nodes as \`tempus dev\` starts them; waiting until settled, ${WARMUP_S} s warm-up, ${WINDOW_S} s window\n`)
  const tempus = await runChild('tempus', graph, join(dir, 'tempus.json'))
  if (!json) process.stdout.write(`baseline: ${N} plain libp2p + gossipsub nodes on the same ${tempus.degree}-connections-per-node graph\n`)
  const baseline = await runChild('baseline', graph, join(dir, 'baseline.json'))
  const ratio = (a: number, b: number): number => Math.round(a / b * 100) / 100
  if (json) {
    process.stdout.write(JSON.stringify({ event: 'detail', tempus, baseline }) + '\n')
    process.stdout.write(JSON.stringify({ nodes: N, cpuShare: tempus.cpuShare, rssPerNodeMb: tempus.rssPerNodeMb, baselineCpuShare: baseline.cpuShare, baselineRssPerNodeMb: baseline.rssPerNodeMb }) + '\n')
  } else {
    const line = (name: string, r: PhaseResult): string => `${name.padEnd(9)} cpu ${(r.cpuShare * 100).toFixed(1).padStart(5)} % of a core  rss ${r.rssMb.toFixed(0).padStart(4)} MB = ${r.rssPerNodeMb.toFixed(2)} MB/node  heap ${r.heapUsedMb.toFixed(0)} MB  ${r.degree} conn/node${r.connectionsPerPair == null ? '' : ` (${r.connectionsPerPair} per pair)`}${r.connectionsOpenedPerSecondPerNode == null ? '' : `, ${r.connectionsOpenedPerSecondPerNode} opened/s/node`}${r.upkeepSkippedShare == null ? '' : ` (${Math.round(r.upkeepSkippedShare * 100)} % closed before settling)`}  settled ${r.settled ? 'yes' : 'NO'} in ${(r.settleMs / 1000).toFixed(1)} s${r.viewFill == null ? '' : `  views ${Math.round(r.viewFill * 100)} % full`}${r.timersPerSecondPerNode == null ? '' : `  timers ${r.timersPerSecondPerNode}/s/node`}\n`
    process.stdout.write(line('tempus', tempus) + line('baseline', baseline))
    process.stdout.write(`ratio     cpu ${ratio(tempus.cpuShare, baseline.cpuShare)}×  rss/node ${ratio(tempus.rssPerNodeMb, baseline.rssPerNodeMb)}×  (goal: cpu ≤ 0.15 of a core, rss ≤ 7 MB/node)\n`)
    for (const [name, r] of [['tempus', tempus], ['baseline', baseline]] as const) {
      process.stdout.write(`${name} by thread (% of a core, user + system): ` + r.threads.map(t => `${t.group}${t.threads > 1 ? ` ×${t.threads}` : ''} ${(t.user * 100).toFixed(1)} + ${(t.system * 100).toFixed(1)}`).join(', ') + '\n')
      process.stdout.write(`${name} collector on the main thread: ${formatGc(r.gc)}\n`)
      if (r.issuerRequestsPerSecond != null) {
        process.stdout.write(`${name} issuer requests per second: ${Object.entries(r.issuerRequestsPerSecond).map(([route, rate]) => `${route} ${rate}`).join(', ') || 'none'}\n`)
      }
      const m = r.memory
      process.stdout.write(`${name} memory at the window's end: rss ${m.rssMb} MB = V8 heap ${m.heapCommittedMb} MB committed (${m.heapUsedMb} used; ` + m.spaces.map(s => `${s.space} ${s.committedMb}/${s.usedMb}`).join(', ') + `) + external ${m.externalMb} MB + other ${m.otherMb} MB\n`)
      if (r.topSelf != null) {
        process.stdout.write(`${name} self time, share of the window's CPU samples:\n` + r.topSelf.map(o => `  ${(o.share * 100).toFixed(1).padStart(5)} %  ${o.fn}\n`).join(''))
      }
      if (r.wire != null) {
        process.stdout.write(`${name} on the wire, per node per second: ${r.wire.socketWrites} socket writes\n` +
          r.wire.byProtocol.map(o => `  ${o.frames.toFixed(2).padStart(7)} frames ${o.bytes.toFixed(0).padStart(6)} B  ${o.protocol}\n`).join('') +
          r.wire.streams.map(o => `  ${o.opened.toFixed(2).padStart(7)} streams opened ${o.stream}\n`).join(''))
      }
      if (r.liveHeap != null) {
        const h = r.liveHeap
        const rows = (title: string, xs: Array<{ where: string, mb: number }>): string => `  ${title}:\n` + xs.map(o => `    ${(o.mb / N).toFixed(3).padStart(7)} MB/node  ${o.where}\n`).join('')
        process.stdout.write(`${name} live heap at the window's end (sampled): ${h.totalMb} MB = ${(h.totalMb / N).toFixed(2)} MB/node\n` +
          rows('by package', h.byPackage) + rows('by the innermost frame of ours', h.byOwnFrame) + rows('by allocating function', h.byFunction))
      }
      if (r.allocated != null) {
        const a = r.allocated
        const rows = (title: string, xs: Array<{ where: string, mb: number }>): string => `  ${title}:\n` + xs.map(o => `    ${(o.mb / N / WINDOW_S * 1024).toFixed(1).padStart(7)} kB/node/s  ${o.where}\n`).join('')
        process.stdout.write(`${name} allocated during the window (sampled): ${a.totalMb} MB = ${(a.totalMb / N / WINDOW_S * 1024).toFixed(1)} kB/node/s\n` +
          rows('by package', a.byPackage) + rows('by the innermost frame of ours', a.byOwnFrame) + rows('by allocating function', a.byFunction))
      }
      if (r.timerOrigins != null) {
        process.stdout.write(`${name} timer callbacks per second per node, by origin:\n` + r.timerOrigins.map(o => `  ${o.perSecondPerNode.toFixed(2).padStart(7)}  ${o.origin}\n`).join(''))
      }
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true })
}

/**
 * What one node process costs: N `tempus start` processes on 127.0.0.1 (an
 * issuer in this process, two sentinels, one bridge, the rest edges; each
 * node initialised and enrolled with the CLI, started with the CLI, its admin
 * API on), read from the outside through /proc: RSS right after the node
 * said it started, CPU share of one core over a window after it has settled,
 * RSS at the end of the window and at `--hold` seconds after start. Then
 * the baseline, measured the same way: N plain libp2p node processes
 * (scripts/lib/plain-node.ts) in a full mesh; the ratios tempus / plain.
 *
 *   npm run bench:process -- [--nodes 8] [--warmup 60] [--window 60] [--hold 300] [--profile DIR] [--json]
 *
 * `--profile DIR`: one more edge process carries a CPU profile
 * (`--cpu-prof`) and a census (scripts/lib/process-census.ts: modules
 * loaded, timer callbacks per second by origin over the window); the top
 * self-time and inclusive functions of the window are printed. That process
 * is not counted in the figures (its census wraps the timers).
 */
import { execFile, spawn } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { benchArgs, intArg } from './lib/args.ts'
import type { ChildProcess } from 'node:child_process'

const args = benchArgs({
  nodes: { type: 'string', default: '8' },
  warmup: { type: 'string', default: '60' },
  window: { type: 'string', default: '60' },
  hold: { type: 'string', default: '300' },
  profile: { type: 'string' },
  json: { type: 'boolean', default: false }
})
const N = intArg(args.nodes, 'nodes', 3, 100)
const WARMUP_S = intArg(args.warmup, 'warmup', 0, 3600)
const WINDOW_S = intArg(args.window, 'window', 5, 3600)
const HOLD_S = intArg(args.hold, 'hold', 0, 7200)
const json = args.json === true
const profileDir = args.profile == null ? undefined : String(args.profile)
const BIN = fileURLToPath(new URL('../src/cli/bin.js', import.meta.url))
const CENSUS = fileURLToPath(new URL('./lib/process-census.js', import.meta.url))
const CLK_TCK = 100
const PAGE = 4096

const say = (line: string): void => { if (!json) process.stdout.write(line + '\n') }
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

async function cli (argv: string[]): Promise<string> {
  return await new Promise((resolve, reject) => {
    execFile(process.execPath, [BIN, ...argv], { timeout: 120_000 }, (err, stdout, stderr) => {
      if (err != null) reject(new Error(`tempus ${argv[0] ?? ''} failed: ${stderr}`))
      else resolve(stdout)
    })
  })
}

/** CPU seconds (user + system) and RSS of a process, from /proc */
function procStat (pid: number): { cpuS: number, rssMb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const cpuS = (Number(fields[11]) + Number(fields[12])) / CLK_TCK
  const rssMb = Number(fields[21]) * PAGE / 2 ** 20
  return { cpuS, rssMb }
}

interface Running {
  name: string
  dir: string
  child: ChildProcess
  rssStartMb: number
  probe: boolean
}

if (profileDir != null) await mkdir(profileDir, { recursive: true })
const root = await mkdtemp(join(tmpdir(), 'tempus-bench-process-'))
const running: Running[] = []
const { Issuer } = await import('../src/issuer/issuer.ts')
const { startIssuerHttp } = await import('../src/issuer/http.ts')
const { createLogger } = await import('../src/logging/logger.ts')
const { DEV_PASSPHRASE } = await import('../src/identity/index.ts')
const { apiGet } = await import('../src/cli/api-client.ts')
const issuer = await Issuer.init({ dir: join(root, 'issuer'), overlay: 'bench-process', passphrase: DEV_PASSPHRASE, revocationThreshold: 1 })
const http = await startIssuerHttp({ issuer, log: createLogger({ level: 'silent' }), perAddressPerSecond: 10_000 })
try {
  const count = N + (profileDir == null ? 0 : 1)
  const roles = Array.from({ length: count }, (_, i) => i < 2 ? 'sentinel' : i === 2 ? 'bridge' : 'edge')
  const base = 20_000 + Math.floor(Math.random() * 20_000)
  say(`${N} node processes (${roles.slice(0, N).filter(r => r === 'sentinel').length} sentinels, 1 bridge, the rest edges)${profileDir == null ? '' : ' + 1 profiled edge'}: init, enrol, start`)
  const nodes = await Promise.all(roles.map(async (type, i) => {
    const dir = join(root, `${type}-${i}`)
    const out = JSON.parse(await cli(['init', '--data', dir, '--type', type, '--listen', `/ip4/127.0.0.1/tcp/${base + i}`, '--no-mdns', '--json'])) as { peerId: string }
    await cli(['enroll', '--data', dir, '--issuer', http.url, '--code', await issuer.createCode(type as 'edge'), '--json'])
    return { type, dir, peerId: out.peerId, addr: `/ip4/127.0.0.1/tcp/${base + i}/p2p/${out.peerId}` }
  }))
  const sentinels = nodes.filter(n => n.type === 'sentinel').map(n => n.addr)
  for (const [i, n] of nodes.entries()) {
    const probe = profileDir != null && i === nodes.length - 1
    const execArgv = probe ? ['--cpu-prof', '--cpu-prof-dir', profileDir, '--import', CENSUS] : []
    const env = probe ? { ...process.env, TEMPUS_CENSUS_FILE: join(profileDir, 'census.json'), TEMPUS_CENSUS_FROM_MS: String(WARMUP_S * 1000), TEMPUS_CENSUS_TO_MS: String((WARMUP_S + WINDOW_S) * 1000) } : process.env
    const bootstrap = sentinels.filter(a => a !== n.addr).flatMap(a => ['--bootstrap', a])
    const child = spawn(process.execPath, [...execArgv, BIN, 'start', '--data', n.dir, ...bootstrap, '--log-level', 'warn', '--json'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    // the last of stderr, said when a start fails (a port taken by another program: exit 2)
    let stderr = ''
    child.stderr?.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-2048) })
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`${n.dir}: no start line within 120 s`)) }, 120_000)
      child.once('exit', code => { clearTimeout(timer); reject(new Error(`${n.dir}: exited with ${code} before it started: ${stderr.trim()}`)) })
      createInterface({ input: child.stdout! }).on('line', line => { if (line.includes('"started"')) { clearTimeout(timer); resolve() } })
    })
    running.push({ name: `${n.type}-${i}`, dir: n.dir, child, rssStartMb: procStat(child.pid as number).rssMb, probe })
  }
  const measured = running.filter(r => !r.probe)
  const allStarted = performance.now()
  say(`started; ${WARMUP_S} s to settle, then a ${WINDOW_S} s window`)
  await sleep(WARMUP_S * 1000)
  const before = measured.map(r => procStat(r.child.pid as number).cpuS)
  const rssSamples: number[][] = measured.map(() => [])
  const t0 = performance.now()
  const windowStart = t0
  while (performance.now() - t0 < WINDOW_S * 1000) {
    await sleep(5_000)
    measured.forEach((r, i) => { rssSamples[i]?.push(procStat(r.child.pid as number).rssMb) })
  }
  const wallS = (performance.now() - t0) / 1000
  const windowEnd = performance.now()
  const cpuShares = measured.map((r, i) => (procStat(r.child.pid as number).cpuS - (before[i] as number)) / wallS)
  const rssWindow = rssSamples.map(xs => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length))
  const status = await Promise.all(measured.map(async r => await apiGet<{ connections: number, peers: number }>(r.dir, '/v1/status').catch(() => ({ connections: NaN, peers: NaN }))))
  const holdLeft = HOLD_S * 1000 - (performance.now() - allStarted)
  if (holdLeft > 0) {
    say(`holding until ${HOLD_S} s after start`)
    await sleep(holdLeft)
  }
  const rssHold = measured.map(r => procStat(r.child.pid as number).rssMb)
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)
  const r1 = (x: number): number => Math.round(x * 10) / 10
  const result = {
    nodes: N,
    rssStartMb: r1(mean(measured.map(r => r.rssStartMb))),
    rssSettledMb: r1(mean(rssWindow)),
    rssHoldMb: r1(mean(rssHold)),
    holdS: HOLD_S,
    cpuShare: Math.round(mean(cpuShares) * 1000) / 1000,
    cpuShareMax: Math.round(Math.max(...cpuShares) * 1000) / 1000,
    connections: r1(mean(status.map(s => s.connections))),
    load: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
  }
  // stop: SIGTERM, so the profiled process writes its profile
  await Promise.all(running.map(async r => {
    if (r.child.exitCode != null || r.child.signalCode != null) return
    const exited = new Promise(resolve => r.child.once('exit', resolve))
    r.child.kill('SIGTERM')
    await exited
  }))
  running.length = 0
  say(`per node process: rss ${result.rssStartMb} MB at start, ${result.rssSettledMb} MB settled, ${result.rssHoldMb} MB at ${HOLD_S} s; cpu ${(result.cpuShare * 100).toFixed(1)} % of a core (max ${(result.cpuShareMax * 100).toFixed(1)} %); ${result.connections} connections; load ${result.load}`)
  say(`baseline: ${N} plain libp2p processes (TCP, Noise, Yamux, identify, ping, gossipsub on the anomaly topic), each dialling every one started before it; ${WARMUP_S} s to settle, then a ${WINDOW_S} s window`)
  const baseline = await baselinePhase(base + count + 10)
  const ratio = (a: number, b: number): number => Math.round(a / Math.max(b, 1e-9) * 100) / 100
  const ratios = { rssSettledRatio: ratio(result.rssSettledMb, baseline.rssSettledMb), cpuShareRatio: ratio(result.cpuShare, baseline.cpuShare) }
  say(`baseline per process: rss ${baseline.rssStartMb} MB at start, ${baseline.rssSettledMb} MB settled; cpu ${(baseline.cpuShare * 100).toFixed(1)} % of a core; load ${baseline.load}`)
  say(`ratio tempus / plain: rss settled ${ratios.rssSettledRatio}×, cpu ${ratios.cpuShareRatio}×`)
  if (json) {
    process.stdout.write(JSON.stringify({ ...result, baselineRssStartMb: baseline.rssStartMb, baselineRssSettledMb: baseline.rssSettledMb, baselineCpuShare: baseline.cpuShare, ...ratios }) + '\n')
  }
  if (profileDir != null) {
    await printProfile(profileDir, windowStart, windowEnd)
  }
} finally {
  for (const r of running) r.child.kill('SIGKILL')
  await http.close()
  await issuer.close()
  await rm(root, { recursive: true, force: true })
}

/**
 * The baseline: N plain libp2p node processes (scripts/lib/plain-node.ts),
 * each dialling every one started before it (a full mesh, as 8 tempus nodes
 * make), measured as the tempus processes were: RSS after the start line,
 * then CPU and mean RSS over the window after the same settling time.
 */
async function baselinePhase (firstPort: number): Promise<{ rssStartMb: number, rssSettledMb: number, cpuShare: number, load: string }> {
  const PLAIN = fileURLToPath(new URL('./lib/plain-node.js', import.meta.url))
  const plain: Running[] = []
  const addrs: string[] = []
  try {
    for (let i = 0; i < N; i++) {
      const child = spawn(process.execPath, [PLAIN, String(firstPort + i), ...addrs], { stdio: ['ignore', 'pipe', 'pipe'] })
      let stderr = ''
      child.stderr?.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-2048) })
      const addr = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => { reject(new Error(`plain node ${i}: no start line within 60 s`)) }, 60_000)
        child.once('exit', code => { clearTimeout(timer); reject(new Error(`plain node ${i}: exited with ${code} before it started: ${stderr.trim()}`)) })
        createInterface({ input: child.stdout! }).on('line', line => {
          try {
            const event = JSON.parse(line) as { event?: string, addr?: string }
            if (event.event === 'started' && event.addr != null) { clearTimeout(timer); resolve(event.addr) }
          } catch {}
        })
      })
      addrs.push(addr)
      plain.push({ name: `plain-${i}`, dir: '', child, rssStartMb: procStat(child.pid as number).rssMb, probe: false })
    }
    await sleep(WARMUP_S * 1000)
    const before = plain.map(r => procStat(r.child.pid as number).cpuS)
    const samples: number[][] = plain.map(() => [])
    const t0 = performance.now()
    while (performance.now() - t0 < WINDOW_S * 1000) {
      await sleep(5_000)
      plain.forEach((r, i) => { samples[i]?.push(procStat(r.child.pid as number).rssMb) })
    }
    const wallS = (performance.now() - t0) / 1000
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)
    const r1 = (x: number): number => Math.round(x * 10) / 10
    return {
      rssStartMb: r1(mean(plain.map(r => r.rssStartMb))),
      rssSettledMb: r1(mean(samples.map(xs => mean(xs)))),
      cpuShare: Math.round(mean(plain.map((r, i) => (procStat(r.child.pid as number).cpuS - (before[i] as number)) / wallS)) * 1000) / 1000,
      load: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
    }
  } finally {
    await Promise.all(plain.map(async r => {
      if (r.child.exitCode != null || r.child.signalCode != null) return
      const exited = new Promise(resolve => r.child.once('exit', resolve))
      r.child.kill('SIGTERM')
      const timer = setTimeout(() => r.child.kill('SIGKILL'), 5_000)
      await exited
      clearTimeout(timer)
    }))
  }
}

interface ProfileNode { id: number, callFrame: { functionName: string, url: string, lineNumber: number }, children?: number[] }

/** The window's self and inclusive time per function, as % of one core, and the census. */
async function printProfile (dir: string, windowStart: number, windowEnd: number): Promise<void> {
  const { readdir } = await import('node:fs/promises')
  const file = (await readdir(dir)).find(f => f.endsWith('.cpuprofile'))
  const census = JSON.parse(await readFile(join(dir, 'census.json'), 'utf8')) as { modules: string[], timers: Array<{ origin: string, perSecond: number }>, timersPerSecond: number, gc: Array<{ kind: string, perSecond: number, msPerSecond: number }>, allocations: { bytesPerSecond: number, sites: Array<{ site: string, bytesPerSecond: number }> }, memory: NodeJS.MemoryUsage }
  if (file == null) return
  const profile = JSON.parse(await readFile(join(dir, file), 'utf8')) as { nodes: ProfileNode[], samples: number[], timeDeltas: number[], startTime: number }
  // the profile's clock starts with the process; the window is where the census counted (WARMUP_S..WARMUP_S+WINDOW_S after load)
  const from = profile.startTime + WARMUP_S * 1e6
  const to = from + (windowEnd - windowStart) * 1000
  const byId = new Map(profile.nodes.map(x => [x.id, x]))
  const parent = new Map<number, number>()
  for (const x of profile.nodes) for (const c of x.children ?? []) parent.set(c, x.id)
  const key = (x: ProfileNode): string => {
    const f = x.callFrame
    const where = f.url.replace(/^.*node_modules\//, '').replace(/^.*\/dist\//, '').replace(/^file:\/\//, '')
    return `${f.functionName === '' ? '(anonymous)' : f.functionName} ${where}${where === '' ? '' : `:${f.lineNumber + 1}`}`
  }
  const self = new Map<string, number>()
  const incl = new Map<string, number>()
  const byPackage = new Map<string, number>()
  let t = profile.startTime
  let busy = 0
  let prevT = t
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0
    const dt = t - prevT
    prevT = t
    if (t < from || t > to) continue
    const leaf = byId.get(profile.samples[i] as number)
    if (leaf == null || leaf.callFrame.functionName === '(idle)') continue
    busy += dt
    self.set(key(leaf), (self.get(key(leaf)) ?? 0) + dt)
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(leaf.callFrame.url)?.[1] ?? (leaf.callFrame.url.includes('/dist/') ? `tempus ${leaf.callFrame.url.replace(/^.*\/dist\/src\/([^/]+).*$/, '$1')}` : (leaf.callFrame.url === '' ? leaf.callFrame.functionName : 'node'))
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + dt)
    const seen = new Set<string>()
    for (let id: number | undefined = leaf.id; id != null; id = parent.get(id)) {
      const x = byId.get(id)
      if (x == null) break
      const k = key(x)
      if (!seen.has(k)) { seen.add(k); incl.set(k, (incl.get(k) ?? 0) + dt) }
    }
  }
  const span = to - from
  const pct = (us: number): string => `${(us / span * 100).toFixed(2).padStart(6)} %`
  const top = (m: Map<string, number>, n: number): string => [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `  ${pct(v)}  ${k}`).join('\n')
  process.stdout.write(`profiled edge, window ${(span / 1e6).toFixed(0)} s: busy ${pct(busy)} of a core\n`)
  process.stdout.write(`self time by package (% of one core):\n${top(byPackage, 20)}\n`)
  process.stdout.write(`self time (% of one core):\n${top(self, 30)}\n`)
  process.stdout.write(`inclusive time (% of one core):\n${top(incl, 40)}\n`)
  process.stdout.write(`timer callbacks: ${census.timersPerSecond}/s; by origin:\n${census.timers.slice(0, 25).map(o => `  ${o.perSecond.toFixed(2).padStart(7)}  ${o.origin}`).join('\n')}\n`)
  process.stdout.write(`garbage collections: ${census.gc.map(g => `${g.kind} ${g.perSecond}/s, ${g.msPerSecond} ms/s`).join('; ')}\n`)
  const kb = (b: number): string => `${(b / 1024).toFixed(1).padStart(7)} kB/s`
  process.stdout.write(`allocated: ${kb(census.allocations.bytesPerSecond).trim()} (sampled, freed objects too); by site:\n${census.allocations.sites.slice(0, 30).map(a => `  ${kb(a.bytesPerSecond)}  ${a.site}`).join('\n')}\n`)
  const pkgs = new Map<string, number>()
  for (const u of census.modules) {
    const p = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(u)?.[1] ?? (u.includes('/dist/') ? `tempus ${u.replace(/^.*\/dist\/(src\/[^/]+|scripts).*$/, '$1')}` : u.startsWith('node:') ? 'node:*' : 'other')
    pkgs.set(p, (pkgs.get(p) ?? 0) + 1)
  }
  process.stdout.write(`modules loaded: ${census.modules.length}; by package:\n${[...pkgs].sort((a, b) => b[1] - a[1]).map(([p, n]) => `  ${String(n).padStart(4)}  ${p}`).join('\n')}\n`)
  const m = census.memory
  process.stdout.write(`memory at the window's end: rss ${(m.rss / 2 ** 20).toFixed(1)} MB, heapTotal ${(m.heapTotal / 2 ** 20).toFixed(1)}, heapUsed ${(m.heapUsed / 2 ** 20).toFixed(1)}, external ${(m.external / 2 ** 20).toFixed(1)}, arrayBuffers ${(m.arrayBuffers / 2 ** 20).toFixed(1)} MB\n`)
}

/**
 * The issuer under a fleet's refreshes, measured against its baseline in
 * the same run. Real `tempus issuer start` processes; the simulated nodes
 * (each with its own key and credential) in this process, over HTTP:
 *
 * 1. throughput: every node asks for tokens back to back (challenge + token,
 *    a proof of possession each) for `--duration` seconds, against
 *    - one issuer on sqlite (the embedded default: the baseline),
 *    - one replica on PostgreSQL,
 *    - three replicas on one PostgreSQL database (each node spreads its
 *      requests and fails over, as a node does: `IssuerReplicas`);
 * 2. refresh under a replica failure: every node refreshes every
 *    `--refresh-ms` (jittered) against the three replicas while one of them
 *    is killed with SIGKILL and started again; `failedRefreshes` counts
 *    refreshes no replica answered (goal 0), `maxRefreshGapMs` the longest
 *    time any node went between two fresh tokens.
 *
 * The PostgreSQL server is a throwaway cluster (the test fixture) unless
 * `--store postgres://USER@HOST:PORT/DATABASE` names one (password in
 * PGPASSWORD); its database must be empty. Client and servers share this
 * machine's cores: the figures are what one machine does with all of it.
 *
 *   npm run bench:issuer -- [--nodes 200] [--duration 8] [--refresh-ms 2000] [--refresh-duration 24] [--store URL] [--json]
 */
import { spawn } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { IssuerClient } from '../src/issuer-client/client.ts'
import { IssuerReplicas } from '../src/issuer-client/replicas.ts'
import { startPostgres } from '../test/fixtures/postgres.ts'
import { benchArgs, intArg } from './lib/args.ts'
import { round, summarise } from './lib/stats.ts'
import type { IssuerApi } from '../src/issuer-client/replicas.ts'
import type { ChildProcess } from 'node:child_process'
import type { PrivateKey } from '@libp2p/interface'

const args = benchArgs({
  nodes: { type: 'string', default: '200' },
  duration: { type: 'string', default: '8' },
  'refresh-ms': { type: 'string', default: '2000' },
  'refresh-duration': { type: 'string', default: '24' },
  store: { type: 'string' },
  json: { type: 'boolean', default: false }
})
const nodes = intArg(args.nodes, 'nodes', 1, 5000)
const durationMs = intArg(args.duration, 'duration', 1, 600) * 1000
const refreshMs = intArg(args['refresh-ms'], 'refresh-ms', 100, 60_000)
const refreshDurationMs = intArg(args['refresh-duration'], 'refresh-duration', 3, 3600) * 1000
const json = args.json === true
const say = (line: string): void => { if (!json) process.stdout.write(line + '\n') }

const BIN = fileURLToPath(new URL('../src/cli/bin.js', import.meta.url))
const PASSPHRASE = 'bench-issuer-passphrase'
// the load comes from one address: per-address and per-peer limits are raised for it
const LIMITS = ['--per-address-per-second', '1000000', '--per-peer-per-minute', '1000000']

const children = new Set<ChildProcess>()
const cleanup: Array<() => Promise<void>> = []
process.on('exit', () => { for (const c of children) c.kill('SIGKILL') })

async function cli (argv: string[], env: NodeJS.ProcessEnv): Promise<any> {
  const child = spawn(process.execPath, [BIN, ...argv, '--json'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.on('data', (c: Buffer) => { out += c.toString() })
  child.stderr.on('data', (c: Buffer) => { err += c.toString() })
  const code = await new Promise<number | null>(resolve => child.once('exit', resolve))
  if (code !== 0) {
    throw new Error(`tempus ${argv.slice(0, 2).join(' ')} failed: ${err.slice(-2000)}`)
  }
  return JSON.parse(out.trim().split('\n').pop() as string)
}

interface Replica { url: string, child: ChildProcess, start: () => Promise<Replica> }

async function startReplica (dir: string, env: NodeJS.ProcessEnv, store: string[], listen = '127.0.0.1:0'): Promise<Replica> {
  // BENCH_ISSUER_PROFILE=DIR writes each issuer process's V8 CPU profile there (open in Chrome DevTools)
  const profile = process.env.BENCH_ISSUER_PROFILE == null ? [] : ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_ISSUER_PROFILE]
  const child = spawn(process.execPath, [...profile, BIN, 'issuer', 'start', '--data', dir, ...store, '--listen', listen, '--json', ...LIMITS], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  children.add(child)
  child.once('exit', () => children.delete(child))
  let err = ''
  child.stderr?.on('data', (c: Buffer) => { err = (err + c.toString()).slice(-4000) })
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`issuer did not start: ${err}`)) }, 60_000)
    createInterface({ input: child.stdout! }).on('line', line => {
      if (line.includes('"started"')) {
        clearTimeout(timer)
        resolve(JSON.parse(line).url)
      }
    })
    child.once('exit', () => { clearTimeout(timer); reject(new Error(`issuer exited: ${err}`)) })
  })
  const port = new URL(url).port
  return { url, child, start: async () => await startReplica(dir, env, store, `127.0.0.1:${port}`) }
}

async function stopReplica (r: Replica, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (r.child.exitCode != null || r.child.signalCode != null) return
  const exited = new Promise(resolve => r.child.once('exit', resolve))
  r.child.kill(signal)
  await exited
}

interface Member { key: PrivateKey, credential: string }

async function enrolFleet (url: string, dir: string, env: NodeJS.ProcessEnv, store: string[]): Promise<Member[]> {
  const { code } = await cli(['issuer', 'code', '--data', dir, ...store, '--typ', 'edge', '--uses', String(nodes), '--expires', '1h'], env)
  const client = new IssuerClient({ url })
  const out: Member[] = []
  // a few at a time: enrolment is not what is measured
  for (let i = 0; i < nodes; i += 25) {
    out.push(...await Promise.all(Array.from({ length: Math.min(25, nodes - i) }, async () => {
      const key = await generateKeyPair('Ed25519')
      return { key, credential: (await client.enroll(key, code)).credential }
    })))
  }
  return out
}

/** CPU seconds used so far by processes of one kind: `comm` as in /proc/PID/stat, or an explicit pid list. */
async function cpuSeconds (match: { pids?: number[], comm?: string }): Promise<number> {
  const ticks = 100
  let total = 0
  const pids = match.pids ?? (await readdir('/proc')).filter(d => /^[0-9]+$/.test(d)).map(Number)
  for (const pid of pids) {
    try {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
      if (match.comm != null && comm !== match.comm) continue
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      total += (Number(fields[11]) + Number(fields[12])) / ticks
    } catch {}
  }
  return total
}

/** Where the CPU of one setup went, per token: this process (the fleet), the issuer processes, PostgreSQL. */
interface CpuSplit { clientMs: number, issuerMs: number, postgresMs: number }

/** Every node asks back to back for `durationMs`: tokens per second, latency, and CPU per token. */
async function throughput (members: Member[], api: (i: number) => IssuerApi, servers: Replica[]): Promise<{ perSec: number, p50: number, p99: number, failed: number, cpu: CpuSplit }> {
  const latencies: number[] = []
  let failed = 0
  const pids = servers.map(r => r.child.pid as number)
  const before = { client: process.cpuUsage(), issuer: await cpuSeconds({ pids }), postgres: await cpuSeconds({ comm: 'postgres' }) }
  const start = performance.now()
  const end = start + durationMs
  await Promise.all(members.map(async (m, i) => {
    const client = api(i)
    while (performance.now() < end) {
      const t = performance.now()
      try {
        await client.token(m.key, m.credential)
        latencies.push(performance.now() - t)
      } catch {
        failed++
      }
    }
  }))
  const s = summarise(latencies)
  const client = process.cpuUsage(before.client)
  const per = (seconds: number): number => round(seconds * 1000 / Math.max(1, latencies.length), 3)
  const cpu = {
    clientMs: per((client.user + client.system) / 1e6),
    issuerMs: per(await cpuSeconds({ pids }) - before.issuer),
    postgresMs: per(await cpuSeconds({ comm: 'postgres' }) - before.postgres)
  }
  return { perSec: latencies.length / ((performance.now() - start) / 1000), p50: s.p50, p99: s.p99, failed, cpu }
}

const cpuText = (c: CpuSplit): string => `CPU per token: fleet ${c.clientMs} ms, issuers ${c.issuerMs} ms, postgres ${c.postgresMs} ms`

async function issuerOn (store: string[], env: NodeJS.ProcessEnv, count: number): Promise<{ replicas: Replica[], members: Member[], dirs: string[] }> {
  const dirs: string[] = []
  for (let i = 0; i < count; i++) {
    dirs.push(await mkdtemp(join(tmpdir(), 'tempus-bench-issuer-')))
  }
  cleanup.push(async () => { await Promise.all(dirs.map(async d => { await rm(d, { recursive: true, force: true }) })) })
  await cli(['issuer', 'init', '--data', dirs[0] as string, ...store, '--overlay', 'bench'], env)
  const replicas: Replica[] = []
  for (const dir of dirs) {
    replicas.push(await startReplica(dir, env, store))
  }
  const members = await enrolFleet((replicas[0] as Replica).url, dirs[0] as string, env, store)
  return { replicas, members, dirs }
}

const env: NodeJS.ProcessEnv = { TEMPUS_ISSUER_PASSPHRASE: PASSPHRASE }
say(`bench:issuer — ${nodes} nodes; throughput ${durationMs / 1000} s per setup; refresh every ${refreshMs} ms for ${refreshDurationMs / 1000} s with one replica killed (SIGKILL) and restarted`)

// the store: a throwaway cluster unless one is named
let pgUrl: string
let pgDatabases: () => Promise<string>
if (typeof args.store === 'string') {
  pgUrl = args.store
  pgDatabases = async () => pgUrl
} else {
  const cluster = await startPostgres()
  cleanup.push(async () => { await cluster.stop() })
  env.PGPASSWORD = cluster.password
  let n = 0
  pgDatabases = async () => {
    const u = new URL(await cluster.createDatabase(`bench_${n++}`))
    u.password = ''
    return u.toString()
  }
  pgUrl = ''
}

try {
  // 1a. baseline: one issuer on sqlite
  const sqlite = await issuerOn([], env, 1)
  const base = await throughput(sqlite.members, () => new IssuerClient({ url: (sqlite.replicas[0] as Replica).url }), sqlite.replicas)
  say(`sqlite, 1 issuer:         ${round(base.perSec, 0)} tokens/s, p50 ${round(base.p50, 1)} ms, p99 ${round(base.p99, 1)} ms, failed ${base.failed}; ${cpuText(base.cpu)}`)
  await Promise.all(sqlite.replicas.map(async r => { await stopReplica(r) }))

  // 1b. one replica on PostgreSQL
  const one = await issuerOn(['--store', await pgDatabases()], env, 1)
  const single = await throughput(one.members, () => new IssuerClient({ url: (one.replicas[0] as Replica).url }), one.replicas)
  say(`postgres, 1 replica:      ${round(single.perSec, 0)} tokens/s, p50 ${round(single.p50, 1)} ms, p99 ${round(single.p99, 1)} ms, failed ${single.failed}; ${cpuText(single.cpu)}`)
  await Promise.all(one.replicas.map(async r => { await stopReplica(r) }))

  // 1c. three replicas on one PostgreSQL database
  const storeUrl = typeof args.store === 'string' ? pgUrl : await pgDatabases()
  const three = await issuerOn(['--store', storeUrl], env, 3)
  const urls = three.replicas.map(r => r.url)
  const fleet = three.members.map(() => new IssuerReplicas({ urls }))
  const tri = await throughput(three.members, i => fleet[i] as IssuerReplicas, three.replicas)
  say(`postgres, 3 replicas:     ${round(tri.perSec, 0)} tokens/s, p50 ${round(tri.p50, 1)} ms, p99 ${round(tri.p99, 1)} ms, failed ${tri.failed}; ${cpuText(tri.cpu)}\n  → ${round(tri.perSec / base.perSec, 2)}× the sqlite baseline (goal ≥ 2,000/s)`)
  // what the issuer side costs, whatever shares the machine: tokens per second one core of replicas and database sustains
  const perServerCore = 1000 / (tri.cpu.issuerMs + tri.cpu.postgresMs)
  say(`  issuer side: ${round(tri.cpu.issuerMs + tri.cpu.postgresMs, 2)} ms of CPU per token (replicas + PostgreSQL) = ${round(perServerCore, 0)} tokens/s per server core; the fleet's own ${tri.cpu.clientMs} ms per token runs on the same ${cpus().length} cores here`)

  // 2. refreshes while a replica dies and comes back
  const refreshLatencies: number[] = []
  let failedRefreshes = 0
  const lastFresh = three.members.map(() => performance.now())
  let maxGap = 0
  const started = performance.now()
  const end = started + refreshDurationMs
  const killer = (async () => {
    await new Promise(resolve => setTimeout(resolve, refreshDurationMs / 3))
    const victim = three.replicas[0] as Replica
    await stopReplica(victim, 'SIGKILL')
    say(`  replica ${victim.url} killed (SIGKILL) at +${round((performance.now() - started) / 1000, 1)} s`)
    await new Promise(resolve => setTimeout(resolve, refreshDurationMs / 3))
    three.replicas[0] = await victim.start()
    say(`  replica ${victim.url} started again at +${round((performance.now() - started) / 1000, 1)} s`)
  })()
  await Promise.all(three.members.map(async (m, i) => {
    const api = fleet[i] as IssuerReplicas
    // spread the fleet over one period
    await new Promise(resolve => setTimeout(resolve, Math.random() * refreshMs))
    while (performance.now() < end) {
      const t = performance.now()
      try {
        await api.token(m.key, m.credential)
        const now = performance.now()
        refreshLatencies.push(now - t)
        maxGap = Math.max(maxGap, now - (lastFresh[i] as number))
        lastFresh[i] = now
      } catch {
        failedRefreshes++
      }
      await new Promise(resolve => setTimeout(resolve, refreshMs * (0.75 + Math.random() * 0.5)))
    }
  }))
  await killer
  const refresh = summarise(refreshLatencies)
  const failovers = fleet.reduce((sum, f) => sum + f.failovers, 0)
  say(`refresh with a replica killed: ${refresh.n} refreshes, p50 ${round(refresh.p50, 1)} ms, p99 ${round(refresh.p99, 1)} ms, failed ${failedRefreshes} (goal 0), ${failovers} failovers, longest gap between fresh tokens ${round(maxGap, 0)} ms (refresh period ${refreshMs} ms)`)
  await Promise.all(three.replicas.map(async r => { await stopReplica(r) }))

  if (json) {
    process.stdout.write(JSON.stringify({
      nodes,
      replicas: 3,
      tokensPerSec: round(tri.perSec, 0),
      tokensPerSecOneReplica: round(single.perSec, 0),
      tokensPerSecSqlite: round(base.perSec, 0),
      ratioVsSqlite: round(tri.perSec / base.perSec, 2),
      tokenP99Ms: round(tri.p99, 1),
      refreshP50Ms: round(refresh.p50, 1),
      refreshP99Ms: round(refresh.p99, 1),
      failedRefreshes,
      failovers,
      maxRefreshGapMs: round(maxGap, 0),
      cpuPerTokenMs: tri.cpu,
      tokensPerSecPerServerCore: round(perServerCore, 0),
      cores: cpus().length
    }) + '\n')
  }
} finally {
  for (const c of children) c.kill('SIGKILL')
  for (const step of cleanup.reverse()) await step().catch(() => {})
}

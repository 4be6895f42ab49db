/**
 * The chaos harness: an issuer (two replicas on a throwaway PostgreSQL
 * cluster when its binaries are installed, else one sqlite issuer), N node
 * processes each in a network namespace of its own on one bridge, a seeded
 * fault schedule run against them, and the figures computed from what the
 * nodes reported (chaos-metrics.ts). Used by scripts/chaos.ts and by the CI
 * run in test/chaos/.
 *
 * Cleanup (node processes, issuer replicas, the PostgreSQL cluster,
 * namespaces, bridge, temp directory) runs in `finally` and on SIGINT or
 * SIGTERM, whatever failed; a run killed with SIGKILL is cleaned up by the
 * next one (removeStaleChaos).
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { appendFile, chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { DOMAINS } from '../../src/core/domains.ts'
import { generateEd25519, rawPublicKey, signDomain } from '../../src/core/keys.ts'
import { IssuerClient } from '../../src/issuer-client/client.ts'
import { killAll, spawnTempus, tempus } from '../../test/fixtures/cli.ts'
import { findPostgresBin, startPostgres } from '../../test/fixtures/postgres.ts'
import { ChaosLab, removeStaleChaos } from './chaos-lab.ts'
import { anomalyMisses, computeFigures, honestOffences } from './chaos-metrics.ts'
import { heapFlags } from '../../src/cli/heap-settings.ts'
import { describePlan, planChaos } from './chaos-schedule.ts'
import { childrenOf, scheduleFirst, schedstat } from './host-share.ts'
import type { Schedstat } from './host-share.ts'
import type { ChaosHost } from './chaos-lab.ts'
import type { ChaosFigures, NodeEvent, NodeRecord, RanFault, Sent } from './chaos-metrics.ts'
import type { ChaosAction, ChaosPlan } from './chaos-schedule.ts'
import type { LongRunning } from '../../test/fixtures/cli.ts'
import type { PostgresCluster } from '../../test/fixtures/postgres.ts'
import type { ChildProcess } from 'node:child_process'

export interface ChaosOptions {
  nodes: number
  durationMs: number
  seed: number
  /** progress lines (the schedule, phases); default: none */
  log?: (line: string) => void
  /** how long a node must be present for a bundle to count as deliverable @default 10000 */
  windowMs?: number
  /** write every node's events, the faults as they ran and what was sent here (JSON), for a post-mortem */
  dumpFile?: string
}

export interface ChaosResult {
  figures: ChaosFigures
  plan: ChaosPlan
  issuer: 'postgres' | 'sqlite'
  /** what the harness saw go wrong (commands refused, nodes that did not answer) */
  notes: string[]
}

const NODE_SCRIPT = fileURLToPath(new URL('./chaos-node.js', import.meta.url))
const PASSPHRASE = 'chaos-harness-issuer-passphrase'
/**
 * The node processes' niceness. A fleet's issuer replicas and their
 * database run on hosts of their own, and the harness is the observer: on
 * two cores shared with 100 nodes they queued behind the nodes, so tokens
 * came late enough to lapse (a 100-node run where 27 nodes lost every
 * connection for good, and the key rotation ran 200 s late) and the
 * schedule slipped. The nodes share what is left of the machine equally.
 */
const NODE_NICENESS = 5
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, Math.max(0, ms))) }

interface RunningNode {
  index: number
  host: ChaosHost
  file: string
  peerId: string
  record: NodeRecord
  child?: ChildProcess
  /** set when the harness itself ends the process */
  expectExit: boolean
  waiters: Set<{ predicate: (e: NodeEvent) => boolean, resolve: (e: NodeEvent) => void }>
}

export async function runChaos (options: ChaosOptions): Promise<ChaosResult> {
  const log = options.log ?? (() => {})
  const notes: string[] = []
  const plan = planChaos({ nodes: options.nodes, durationMs: options.durationMs, seed: options.seed, replicas: 2 })
  const lab = new ChaosLab()
  const running: RunningNode[] = []
  const replicas: Array<LongRunning | undefined> = []
  let cluster: PostgresCluster | undefined
  let dir: string | undefined
  let cleaned: Promise<void> | undefined
  /** CPU seconds (utime + stime) each node process had used at its last reading */
  const cpuByPid = new Map<number, number>()
  /** ... and when the faults began: what starting the mesh cost, not what running it costs */
  const cpuAtFaults = new Map<number, number>()
  const rssMb: number[] = []
  /** the issuer's processes' time on a CPU and waiting for one, per sampling window (host-share.ts) */
  const issuerShare: Array<{ at: number, issuer: Schedstat, postgres: Schedstat }> = []
  const schedByPid = new Map<number, Schedstat>()

  const cleanup = async (): Promise<void> => {
    cleaned ??= (async () => {
      await Promise.allSettled(running.map(async n => { await stopNode(n) }))
      await killAll()
      await cluster?.stop().catch(() => {})
      await lab.destroy()
      if (dir != null) await rm(dir, { recursive: true, force: true })
    })()
    await cleaned
  }
  const onSignal = (signal: NodeJS.Signals): void => {
    log(`${signal}: cleaning up`)
    cleanup().finally(() => { process.exit(signal === 'SIGINT' ? 130 : 143) })
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)

  try {
    const stale = await removeStaleChaos()
    if (stale.length > 0) log(`removed what an earlier run left: ${stale.join(', ')}`)
    log(describePlan(plan))
    dir = await mkdtemp(join(tmpdir(), `chaos-${process.pid}-`))
    const hosts = await lab.create(options.nodes)

    // the issuer: replicated on PostgreSQL when it is installed
    let store: string | undefined
    const env: NodeJS.ProcessEnv = { TEMPUS_ISSUER_PASSPHRASE: PASSPHRASE }
    const issuerKind = await findPostgresBin().then(() => 'postgres' as const, () => 'sqlite' as const)
    if (issuerKind === 'postgres') {
      cluster = await startPostgres()
      // the server and the workers it has started; the backends it forks later inherit its class
      await issuerFirst([cluster.process.pid as number, ...childrenOf(cluster.process.pid as number)])
      const u = new URL(await cluster.createDatabase('chaos'))
      u.password = ''
      store = u.toString()
      env.PGPASSWORD = cluster.password
    }
    const replicaCount = issuerKind === 'postgres' ? 2 : 1
    const issuerDirs = Array.from({ length: replicaCount }, (_, i) => join(dir as string, `issuer-${i}`))
    const storeArgs = store == null ? [] : ['--store', store]
    for (const d of issuerDirs) await mkdir(d, { mode: 0o700 })
    // The harness's own waits (a CLI call, a restart, an issuer replica's
    // start) grow with the node count, as the first start's budget does: on
    // a saturated machine a process starts slowly, and a wait the harness
    // gives up on is a fault that did not happen (at 100 nodes, 60 s killed
    // `tempus issuer rotate-key` before it could answer, and five restarts
    // were given up on while the nodes were still starting).
    const harnessWaitMs = 60_000 + options.nodes * 2_000
    const cli = async (args: string[]): Promise<any> => {
      const r = await tempus([...args, ...storeArgs, '--json'], env, harnessWaitMs)
      if (r.code !== 0) throw new Error(`tempus ${args.slice(0, 2).join(' ')} failed (exit ${r.code}; killed at ${harnessWaitMs / 1000} s if it had not ended): ${r.stderr.slice(-500)}`)
      return JSON.parse(r.stdout.trim().split('\n').pop() as string)
    }
    await cli(['issuer', 'init', '--data', issuerDirs[0] as string, '--overlay', 'chaos', '--threshold', '2'])
    const admins = [generateEd25519(), generateEd25519()]
    for (const [i, admin] of admins.entries()) {
      await cli(['issuer', 'admin', 'add', '--data', issuerDirs[0] as string, '--name', `chaos-admin-${i}`, '--key', Buffer.from(rawPublicKey(admin.publicKey)).toString('base64url')])
    }
    const urls = issuerDirs.map((_, i) => `http://${lab.hostIp}:${7400 + i}`)
    const startReplica = async (i: number): Promise<void> => {
      const p = spawnTempus(['issuer', 'start', '--data', issuerDirs[i] as string, ...storeArgs, '--listen', `${lab.hostIp}:${7400 + i}`, '--log-level', 'warn', '--json'], env)
      replicas[i] = p
      // at once, so a replica restarted under load starts as fast as its own host would let it,
      // and again once it is up for any thread made in between
      await issuerFirst([p.child.pid as number])
      await p.nextLine(l => l.includes('"started"'), harnessWaitMs)
      await issuerFirst([p.child.pid as number])
    }
    for (let i = 0; i < replicaCount; i++) await startReplica(i)
    await cli(['issuer', 'replicas', '--data', issuerDirs[0] as string, '--set', ...urls])
    log(`issuer: ${replicaCount} replica(s) on ${issuerKind} at ${urls.join(' ')}`)

    // keys, enrolment, one config file per node (0600: it holds the key)
    const keys = await Promise.all(plan.roles.map(async () => await generateKeyPair('Ed25519')))
    const peerIds = keys.map(k => peerIdFromPrivateKey(k).toString())
    const bootstrap = plan.roles.flatMap((r, i) => r === 'sentinel' ? [`/ip4/${hosts[i]?.ip as string}/tcp/4001/p2p/${peerIds[i] as string}`] : [])
    const codes: Record<string, string> = {}
    for (const type of new Set(plan.roles)) {
      codes[type] = (await cli(['issuer', 'code', '--data', issuerDirs[0] as string, '--type', type, '--uses', String(plan.roles.length), '--expires', '1h'])).code
    }
    const client = new IssuerClient({ url: urls[0] as string })
    for (const [i, type] of plan.roles.entries()) {
      const key = keys[i]
      if (key == null) continue
      const enrollment = { ...(await client.enroll(key, codes[type] as string)), issuerUrl: urls[0] }
      const file = join(dir, `node-${i}.json`)
      const config = {
        type,
        listen: ['/ip4/0.0.0.0/tcp/4001'],
        bootstrap: bootstrap.filter(b => !b.endsWith(peerIds[i] as string)),
        issuers: urls,
        api: { enabled: false },
        log: { level: 'silent' }
      }
      await writeFile(file, JSON.stringify({ config, key: Buffer.from(privateKeyToProtobuf(key)).toString('base64'), enrollment, dataDir: join(dir, `data-${i}`) }), { mode: 0o600 })
      await chmod(file, 0o600)
      running.push({ index: i, host: hosts[i] as ChaosHost, file, peerId: peerIds[i] as string, expectExit: false, waiters: new Set(), record: { index: i, peerId: peerIds[i] as string, events: [], unexpectedExits: [] } })
    }

    // start: a few at a time (each start costs a second or two of CPU, and more as the
    // nodes already up take the cores: 78 of 100 were up after 6 min here). Each start
    // has its own bound, so a slow machine runs late instead of stopping the run
    const startedBy = Date.now() + 60_000 + options.nodes * 3_000
    const startBoundMs = 120_000
    for (let i = 0; i < running.length; i += 4) {
      await Promise.all(running.slice(i, i + 4).map(async n => { await startNode(n, startBoundMs) }))
    }
    log(`${running.length} node processes started in ${Math.round((Date.now() - (startedBy - 60_000 - options.nodes * 3_000)) / 1000)} s`)
    // a mesh first: every node admitted by at least one peer (bounded)
    await Promise.all(running.map(async n => await waitFor(n, e => e.event === 'admitted', 'a first admission', Math.max(startBoundMs, startedBy - Date.now())).catch(err => { notes.push(`node ${n.index}: ${String(err.message).slice(0, 200)}`) })))
    log(`${running.length} nodes up; faults begin`)

    // the schedule
    for (const n of running) {
      const pid = n.child?.pid
      const seconds = pid == null ? undefined : readCpu(pid)
      if (pid != null && seconds != null) cpuAtFaults.set(pid, seconds)
    }
    const sampler = setInterval(sample, 5_000)
    const faults: RanFault[] = []
    const sent: Sent[] = []
    let revocation: { at: number, n: number } | undefined
    const t0 = Date.now()
    const startedAt = t0
    const tasks: Array<Promise<void>> = []
    const perform = async (a: ChaosAction): Promise<void> => {
      const node = 'node' in a ? running[a.node] as RunningNode : undefined
      switch (a.kind) {
        case 'kill': {
          const from = Date.now()
          await stopNode(node as RunningNode, 'SIGKILL')
          await sleep(a.downMs)
          await startNode(node as RunningNode, harnessWaitMs).catch(err => { notes.push(`restart of node ${a.node}: ${String(err.message).slice(0, 200)}`) })
          faults.push({ kind: 'kill', nodes: [a.node], from, to: Date.now() })
          return
        }
        case 'link': {
          const from = Date.now()
          await lab.linkDown((node as RunningNode).host)
          await sleep(a.downMs)
          await lab.linkUp((node as RunningNode).host)
          faults.push({ kind: 'link', nodes: [a.node], from, to: Date.now() })
          return
        }
        case 'partition': {
          const from = Date.now()
          const cut = a.half.map(i => (running[i] as RunningNode).host)
          await lab.partition(cut)
          await sleep(a.downMs)
          await lab.heal(cut)
          faults.push({ kind: 'partition', nodes: a.half, from, to: Date.now() })
          return
        }
        case 'issuer-kill': {
          const from = Date.now()
          const replica = Math.min(a.replica, replicaCount - 1)
          const p = replicas[replica]
          if (p != null) {
            p.child.kill('SIGKILL')
            await p.exited
          }
          await sleep(a.downMs)
          await startReplica(replica)
          faults.push({ kind: 'issuer-kill', nodes: [], from, to: Date.now() })
          return
        }
        case 'rotate': {
          await cli(['issuer', 'rotate-key', '--data', issuerDirs[0] as string, '--announce'])
          await sleep(a.activateAfterMs)
          await cli(['issuer', 'rotate-key', '--data', issuerDirs[0] as string, '--activate'])
          log(`+${((Date.now() - t0) / 1000).toFixed(1)}s signing key rotated`)
          return
        }
        case 'revoke': {
          const request = await cli(['issuer', 'revoke', (node as RunningNode).peerId, '--data', issuerDirs[0] as string, '--reason', 'chaos harness'])
          for (const [k, admin] of admins.entries()) {
            const body = JSON.stringify({ request: request.id, adminKey: Buffer.from(rawPublicKey(admin.publicKey)).toString('base64url'), signature: Buffer.from(signDomain(admin.privateKey, DOMAINS.revocationApproval, Buffer.from(request.payload, 'base64url'))).toString('base64url') })
            // each approval on a different replica, falling back to the first when that one is down
            let ok = false
            for (const url of [urls[k % urls.length] as string, urls[0] as string]) {
              const status = await fetch(`${url}/v1/revoke`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).then(r => r.status, () => 0)
              if (status === 200) { ok = true; break }
            }
            if (!ok) throw new Error(`approval ${k} of the revocation was refused by every replica`)
          }
          const list = await client.revocationList()
          revocation = { at: Date.now(), n: list?.n ?? 0 }
          log(`+${((Date.now() - t0) / 1000).toFixed(1)}s node ${a.node} revoked (list ${revocation.n})`)
          return
        }
        case 'anomaly':
        case 'bundle': {
          const n = node as RunningNode
          if (n.child == null) { notes.push(`${a.ref}: node ${a.node} was down`); return }
          const lifetimeMs = 60 * 60_000
          n.child.stdin?.write(JSON.stringify(a.kind === 'anomaly'
            ? { cmd: 'anomaly', ref: a.ref, digest: Buffer.from(`${options.seed}:${a.ref}`).toString('hex').padEnd(64, '0').slice(0, 64), lifetimeMs }
            : { cmd: 'bundle', ref: a.ref, to: (running[a.to] as RunningNode).peerId, lifetimeMs }) + '\n')
          const ack = await waitFor(n, e => (e.event === 'published' || e.event === 'sent' || e.event === 'refused') && e.ref === a.ref, a.ref, 30_000).catch(() => undefined)
          if (ack == null || ack.event === 'refused') { notes.push(`${a.ref} at node ${a.node} not acknowledged: ${ack?.name ?? 'no answer'} ${ack?.message ?? ''}`); return }
          sent.push({ ref: a.ref, kind: a.kind, node: a.node, to: a.kind === 'bundle' ? a.to : undefined, id: ack.id, at: a.kind === 'anomaly' ? ack.timestamp : ack.at, expires: Date.now() + lifetimeMs })
        }
      }
    }
    for (const a of plan.actions) {
      await sleep(t0 + a.at - Date.now())
      tasks.push(perform(a).catch(err => { notes.push(`${a.kind} at ${a.at}: ${String(err.message).slice(0, 300)}`) }))
    }
    await Promise.all(tasks)
    const settleFrom = Date.now()
    await sleep(t0 + options.durationMs - Date.now())
    clearInterval(sampler)
    sample()
    log(describeIssuerShare(issuerShare))

    // the nodes' own account of what they hold
    await Promise.all(running.map(async n => {
      if (n.child == null) return
      const asked = Date.now()
      n.child.stdin?.write(JSON.stringify({ cmd: 'report' }) + '\n')
      const report = await waitFor(n, e => e.event === 'report' && e.at >= asked, 'its report', 30_000).catch(() => undefined)
      if (report == null) notes.push(`node ${n.index} gave no report`)
      else n.record.report = { anomalies: report.anomalies, inbox: report.inbox, held: report.held, connections: report.connections }
    }))
    const endedAt = Date.now()
    const figures = computeFigures({
      nodes: running.map(n => n.record),
      revoked: plan.revoked,
      faults,
      sent,
      revocation,
      startedAt,
      endedAt,
      settleFrom,
      windowMs: options.windowMs ?? 10_000,
      rssMb,
      // a process started before the faults counts from then; a restart (the schedule's) from its start
      cpuSeconds: [...cpuByPid].reduce((sum, [pid, seconds]) => sum + seconds - (cpuAtFaults.get(pid) ?? 0), 0),
      startCpuSeconds: [...cpuAtFaults.values()].reduce((a, b) => a + b, 0)
    })
    notes.push(...anomalyMisses({ nodes: running.map(n => n.record), revoked: plan.revoked, faults, sent, startedAt, endedAt }))
    notes.push(...honestOffences({ nodes: running.map(n => n.record), revoked: plan.revoked, startedAt }))
    if (options.dumpFile != null) {
      await writeFile(options.dumpFile, JSON.stringify({ plan, faults, sent, revocation, startedAt, endedAt, issuerShare, nodes: running.map(n => n.record) }))
    }
    return { figures, plan, issuer: issuerKind, notes }
  } finally {
    process.removeListener('SIGINT', onSignal)
    process.removeListener('SIGTERM', onSignal)
    await cleanup()
  }

  async function startNode (n: RunningNode, timeoutMs: number): Promise<void> {
    // the heap settings `tempus start` runs with (src/cli/heap-settings.ts): the same process shape as a real node
    // TEMPUS_CHAOS_LOG_NODES=3,40: TEMPUS_CHAOS_LOG applies to these nodes only (a debug log of 100 nodes would be the run)
    const logged = process.env.TEMPUS_CHAOS_LOG_NODES?.split(',').map(Number)
    const env = logged == null || logged.includes(n.index) ? process.env : { ...process.env, TEMPUS_CHAOS_LOG: 'silent' }
    // TEMPUS_CHAOS_PROF_NODES=3,40 with TEMPUS_CHAOS_PROF_DIR=<dir>: these nodes write a V8 CPU profile there when they exit (a kill -9 loses it)
    const profiled = process.env.TEMPUS_CHAOS_PROF_DIR != null && (process.env.TEMPUS_CHAOS_PROF_NODES?.split(',').map(Number) ?? []).includes(n.index)
    const profile = profiled ? ['--cpu-prof', `--cpu-prof-dir=${process.env.TEMPUS_CHAOS_PROF_DIR ?? ''}`, `--cpu-prof-name=node-${n.index}-${Date.now()}.cpuprofile`] : []
    // below the issuer, its PostgreSQL and this harness (NODE_NICENESS): they stand for hosts of their own
    const child = spawn('nice', ['-n', String(NODE_NICENESS), 'ip', 'netns', 'exec', n.host.ns, process.execPath, ...heapFlags(['start'], [], undefined), ...profile, NODE_SCRIPT, n.file], { stdio: ['pipe', 'pipe', 'pipe'], env })
    n.child = child
    n.expectExit = false
    let stderr = ''
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000)
      // TEMPUS_CHAOS_STDERR=<dir>: keep every node's stderr (with TEMPUS_CHAOS_LOG=debug, its log) for a post-mortem
      if (process.env.TEMPUS_CHAOS_STDERR != null) void appendFile(join(process.env.TEMPUS_CHAOS_STDERR, `node-${n.index}.err`), chunk).catch(() => {})
    })
    child.stdin?.on('error', () => {})
    createInterface({ input: child.stdout! }).on('line', line => {
      let event: NodeEvent
      try {
        event = JSON.parse(line)
      } catch {
        return
      }
      n.record.events.push(event)
      for (const w of n.waiters) {
        if (w.predicate(event)) {
          n.waiters.delete(w)
          w.resolve(event)
        }
      }
    })
    child.once('exit', (code, signal) => {
      if (n.child === child) n.child = undefined
      if (!n.expectExit) {
        n.record.unexpectedExits.push({ at: Date.now(), code, signal })
        notes.push(`node ${n.index} exited on its own (code ${code}, signal ${signal}): ${stderr.slice(-600)}`)
      }
    })
    const since = Date.now()
    await waitFor(n, e => e.event === 'started' && e.at >= since, 'start', timeoutMs)
  }

  async function stopNode (n: RunningNode, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = n.child
    if (child == null || child.exitCode != null || child.signalCode != null) return
    n.expectExit = true
    const exited = new Promise<void>(resolve => child.once('exit', () => { resolve() }))
    readCpu(child.pid)
    child.kill(signal)
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
    await exited
    clearTimeout(timer)
  }

  async function waitFor (n: RunningNode, predicate: (e: NodeEvent) => boolean, what: string, timeoutMs: number): Promise<NodeEvent> {
    const past = n.record.events.find(predicate)
    if (past != null) return past
    return await new Promise((resolve, reject) => {
      const waiter = { predicate, resolve: (e: NodeEvent) => { clearTimeout(timer); resolve(e) } }
      const timer = setTimeout(() => {
        n.waiters.delete(waiter)
        reject(new Error(`node ${n.index}: timed out after ${timeoutMs} ms waiting for ${what}`))
      }, timeoutMs)
      n.waiters.add(waiter)
    })
  }

  /**
   * CPU seconds (utime + stime) of a node process, from /proc, remembered
   * per pid; read synchronously so a reading just before a kill is the last
   */
  function readCpu (pid: number | undefined): number | undefined {
    if (pid == null) return undefined
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      const seconds = (Number(fields[11]) + Number(fields[12])) / 100
      cpuByPid.set(pid, seconds)
      return seconds
    } catch {
      return undefined // gone already: its last reading stands
    }
  }
  /**
   * The issuer's processes scheduled ahead of the nodes, as hosts of their
   * own would serve them (host-share.ts). At niceness 0 against the nodes'
   * 5, a replica asked by a healed half for 49 tokens at once waited for a
   * core three times as long as it ran (a stateless challenge answered in
   * 1.2 s at the median and 8.6 s at worst, a token in up to 9 s, against
   * 15–50 ms on a quiet machine: seed 2, 100 nodes); at niceness -10 it
   * still waited 75 % of its runnable time, as fifty runnable nodes on a
   * core outweigh any one process.
   */
  async function issuerFirst (pids: number[]): Promise<void> {
    const failed = await scheduleFirst(pids)
    if (failed != null && !notes.some(n => n.startsWith('issuer not scheduled first'))) {
      notes.push(`issuer not scheduled first (${failed}): it shares the cores with the nodes as one of them`)
      log(notes.at(-1) as string)
    }
  }
  /** what `pids` used and waited since the last reading (a new pid: since it started) */
  function schedSince (pids: number[]): Schedstat {
    const delta = { cpuNs: 0, waitNs: 0 }
    for (const pid of pids) {
      const now = schedstat([pid])
      const was = schedByPid.get(pid) ?? { cpuNs: 0, waitNs: 0 }
      schedByPid.set(pid, now)
      delta.cpuNs += Math.max(0, now.cpuNs - was.cpuNs)
      delta.waitNs += Math.max(0, now.waitNs - was.waitNs)
    }
    return delta
  }
  function sample (): void {
    const postmaster = cluster?.process.pid
    issuerShare.push({
      at: Date.now(),
      issuer: schedSince(replicas.flatMap(r => r?.child.pid == null || r.child.exitCode != null ? [] : [r.child.pid])),
      postgres: schedSince(postmaster == null ? [] : [postmaster, ...childrenOf(postmaster)])
    })
    for (const n of running) {
      const pid = n.child?.pid
      if (pid == null) continue
      readCpu(pid)
      readFile(`/proc/${pid}/status`, 'utf8').then(status => {
        const kb = /VmRSS:\s+(\d+)/.exec(status)?.[1]
        if (kb != null) rssMb.push(Number(kb) / 1024)
      }, () => {})
    }
  }
}

/** The issuer's and PostgreSQL's waits for a core over the run: the worst 5-s window, and overall. */
function describeIssuerShare (share: Array<{ at: number, issuer: Schedstat, postgres: Schedstat }>): string {
  const part = (pick: (w: { issuer: Schedstat, postgres: Schedstat }) => Schedstat): string => {
    const windows = share.slice(1).map(pick)
    const cpu = windows.reduce((a, w) => a + w.cpuNs, 0) / 1e9
    const wait = windows.reduce((a, w) => a + w.waitNs, 0) / 1e9
    const worst = windows.reduce((a, w) => Math.max(a, w.waitNs / Math.max(1, w.cpuNs + w.waitNs)), 0)
    return `${cpu.toFixed(1)} CPU-s, waited ${wait.toFixed(1)} s for a core (${(100 * wait / Math.max(1e-9, cpu + wait)).toFixed(0)} % of its runnable time; worst 5-s window ${(100 * worst).toFixed(0)} %)`
  }
  return `issuer replicas: ${part(w => w.issuer)}; PostgreSQL: ${part(w => w.postgres)}`
}

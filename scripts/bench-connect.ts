/**
 * Connection establishment: a tempus node against a plain libp2p node with
 * the same transports (TCP + Noise + Yamux) and the same connection-manager
 * limits, in the same run.
 *
 * - latency: one dialer dials the target, the connection is upgraded, the
 *   dialer closes it; repeated `--iterations` times (after a warm-up);
 * - throughput: `--dialers` nodes dial and close in a loop for `--duration`
 *   seconds; connections per second over all of them.
 *
 *   npm run bench:connect -- [--iterations 300] [--dialers 4] [--duration 3] [--json]
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { createLogger } from '../src/logging/logger.ts'
import { CONNECTION_DEFAULTS } from '../src/node/constants.ts'
import { createTempusNode } from '../src/node/tempus-node.ts'
import { benchArgs, intArg } from './lib/args.ts'
import { round, summarise } from './lib/stats.ts'
import type { Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

const args = benchArgs({
  iterations: { type: 'string', default: '300' },
  dialers: { type: 'string', default: '4' },
  duration: { type: 'string', default: '3' },
  json: { type: 'boolean', default: false }
})
const iterations = intArg(args.iterations, 'iterations', 10, 100_000)
const dialers = intArg(args.dialers, 'dialers', 1, 64)
const durationS = intArg(args.duration, 'duration', 1, 600)
const json = args.json === true
const say = (line: string): void => { if (!json) process.stdout.write(line + '\n') }

interface Stack {
  name: string
  target(): Promise<{ node: Libp2p, addr: Multiaddr, stop(): Promise<void> }>
  dialer(): Promise<{ node: Libp2p, stop(): Promise<void> }>
}

const silent = createLogger({ level: 'silent' })
const limits = {
  maxConnections: 10_000,
  maxIncomingPendingConnections: CONNECTION_DEFAULTS.maxIncomingPendingConnections,
  // the same per-host limit for both, high enough that loopback is not throttled
  inboundConnectionThreshold: 100_000,
  maxParallelDials: CONNECTION_DEFAULTS.maxParallelDials
}

const tempusStack: Stack = {
  name: 'tempus',
  async target () {
    // a bridge: the dialer's peer keeper does not redial bridges it was not told to keep
    const t = await createTempusNode({ type: 'bridge', listen: ['/ip4/127.0.0.1/tcp/0'], mdns: { enabled: false }, api: { enabled: false }, connections: limits }, { logger: silent })
    return { node: t.libp2p, addr: multiaddr(t.getMultiaddrs()[0] ?? ''), stop: async () => t.stop() }
  },
  async dialer () {
    const d = await createTempusNode({ type: 'edge', listen: ['/ip4/127.0.0.1/tcp/0'], mdns: { enabled: false }, api: { enabled: false }, connections: { ...limits, minConnections: 0 } }, { logger: silent })
    return { node: d.libp2p, stop: async () => d.stop() }
  }
}

const plainStack: Stack = {
  name: 'plain libp2p',
  async target () {
    const n = await createLibp2p({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()], connectionManager: limits })
    return { node: n, addr: n.getMultiaddrs()[0] as Multiaddr, stop: async () => n.stop() }
  },
  async dialer () {
    const n = await createLibp2p({ transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()], connectionManager: limits })
    return { node: n, stop: async () => n.stop() }
  }
}

async function connectOnce (dialer: Libp2p, addr: Multiaddr): Promise<number> {
  const start = performance.now()
  const connection = await dialer.dial(addr, { signal: AbortSignal.timeout(10_000) })
  const elapsed = performance.now() - start
  await connection.close()
  return elapsed
}

async function measure (stack: Stack): Promise<{ p50: number, p99: number, mean: number, perSecond: number, failures: number }> {
  const target = await stack.target()
  const one = await stack.dialer()
  try {
    for (let i = 0; i < 20; i++) {
      await connectOnce(one.node, target.addr)
    }
    const samples: number[] = []
    for (let i = 0; i < iterations; i++) {
      samples.push(await connectOnce(one.node, target.addr))
    }
    const latency = summarise(samples)

    const many = await Promise.all(Array.from({ length: dialers }, async () => stack.dialer()))
    let done = 0
    let failures = 0
    const deadline = performance.now() + durationS * 1000
    const started = performance.now()
    await Promise.all(many.map(async d => {
      while (performance.now() < deadline) {
        try {
          await connectOnce(d.node, target.addr)
          done++
        } catch {
          failures++
        }
      }
    }))
    const perSecond = done / ((performance.now() - started) / 1000)
    await Promise.all(many.map(async d => d.stop()))
    return { p50: latency.p50, p99: latency.p99, mean: latency.mean, perSecond, failures }
  } finally {
    await one.stop()
    await target.stop()
  }
}

say(`bench:connect — ${iterations} sequential connects (after 20 warm-up), then ${dialers} dialers for ${durationS}s, on 127.0.0.1`)
const ours = await measure(tempusStack)
const base = await measure(plainStack)
const ratio = ours.p50 / base.p50
const rows = [
  ['stack', 'p50 ms', 'p99 ms', 'mean ms', 'conn/s', 'failures'],
  ['tempus', round(ours.p50), round(ours.p99), round(ours.mean), round(ours.perSecond, 1), ours.failures],
  ['plain libp2p', round(base.p50), round(base.p99), round(base.mean), round(base.perSecond, 1), base.failures]
]
for (const r of rows) {
  say(r.map(String).map((c, i) => i === 0 ? c.padEnd(14) : c.padStart(10)).join(''))
}
say(`ratio (tempus / plain, p50): ${round(ratio)}×; throughput ratio: ${round(ours.perSecond / base.perSecond)}×`)
const result = {
  connectP50Ms: round(ours.p50),
  connectP99Ms: round(ours.p99),
  baselineConnectP50Ms: round(base.p50),
  baselineConnectP99Ms: round(base.p99),
  ratio: round(ratio),
  connectionsPerSecond: round(ours.perSecond, 1),
  baselineConnectionsPerSecond: round(base.perSecond, 1),
  throughputRatio: round(ours.perSecond / base.perSecond),
  iterations,
  dialers,
  durationSeconds: durationS
}
if (json) {
  process.stdout.write(JSON.stringify(result) + '\n')
}
process.exit(0)

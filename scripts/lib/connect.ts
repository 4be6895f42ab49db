/**
 * Connection establishment, measured the same way for any stack: one
 * dialler dials, the connection is upgraded, the dialler closes it; then
 * several diallers in a loop for a fixed time.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { CONNECTION_DEFAULTS } from '../../src/node/constants.ts'
import { summarise } from './stats.ts'
import type { BenchOverlay } from './overlay.ts'
import type { Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface Stack {
  name: string
  target(): Promise<{ addr: Multiaddr, stop(): Promise<void> }>
  dialer(): Promise<{ node: Libp2p, stop(): Promise<void> }>
}

export interface ConnectFigures {
  p50: number
  p99: number
  mean: number
  perSecond: number
  failures: number
}

/** the same limits for every stack, high enough that loopback is not throttled */
export const BENCH_LIMITS = {
  maxConnections: 10_000,
  maxIncomingPendingConnections: CONNECTION_DEFAULTS.maxIncomingPendingConnections,
  inboundConnectionThreshold: 100_000,
  maxParallelDials: CONNECTION_DEFAULTS.maxParallelDials
}

export function tempusStack (overlay: BenchOverlay): Stack {
  return {
    name: 'tempus',
    async target () {
      // a bridge: the dialler's peer keeper does not redial bridges it was not told to keep
      const t = await overlay.node('bridge', { connections: BENCH_LIMITS })
      return { addr: multiaddr(t.getMultiaddrs()[0] ?? ''), stop: async () => t.stop() }
    },
    async dialer () {
      const d = await overlay.node('edge', { connections: { ...BENCH_LIMITS, minConnections: 0 } })
      return { node: d.libp2p, stop: async () => d.stop() }
    }
  }
}

export const plainStack: Stack = {
  name: 'plain libp2p',
  async target () {
    const n = await createLibp2p({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()], connectionManager: BENCH_LIMITS })
    return { addr: n.getMultiaddrs()[0] as Multiaddr, stop: async () => n.stop() }
  },
  async dialer () {
    const n = await createLibp2p({ transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()], connectionManager: BENCH_LIMITS })
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

export async function measureConnect (stack: Stack, iterations: number, dialers: number, durationS: number): Promise<ConnectFigures> {
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
    const started = performance.now()
    const deadline = started + durationS * 1000
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

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? NaN
}

/**
 * Measure two stacks in alternating rounds (ours, base, ours, base, …) so
 * that drift in the machine's load hits both alike; report each figure's
 * median over the rounds.
 */
export async function compareConnect (ours: Stack, base: Stack, rounds: number, iterations: number, dialers: number, durationS: number, progress?: (line: string) => void): Promise<{ ours: ConnectFigures, base: ConnectFigures }> {
  const runs: { ours: ConnectFigures[], base: ConnectFigures[] } = { ours: [], base: [] }
  for (let r = 0; r < rounds; r++) {
    runs.ours.push(await measureConnect(ours, iterations, dialers, durationS))
    runs.base.push(await measureConnect(base, iterations, dialers, durationS))
    progress?.(`  round ${r + 1}/${rounds}: ${ours.name} p50 ${runs.ours.at(-1)?.p50.toFixed(2)} ms, ${base.name} p50 ${runs.base.at(-1)?.p50.toFixed(2)} ms`)
  }
  const fold = (list: ConnectFigures[]): ConnectFigures => ({
    p50: median(list.map(f => f.p50)),
    p99: median(list.map(f => f.p99)),
    mean: median(list.map(f => f.mean)),
    perSecond: median(list.map(f => f.perSecond)),
    failures: list.reduce((n, f) => n + f.failures, 0)
  })
  return { ours: fold(runs.ours), base: fold(runs.base) }
}

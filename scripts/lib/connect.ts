/**
 * Connection establishment, measured the same way for any stack: one
 * dialler dials, the connection is upgraded, the dialler closes it; then
 * several diallers in a loop for a fixed time.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createLibp2p } from 'libp2p'
import { admittingEncrypter } from '../../src/admission/encrypter.ts'
import { admissionGater } from '../../src/admission/gater.ts'
import { admissionStateFor } from '../../src/admission/state.ts'
import { noiseCrypto } from '../../src/core/noise-crypto.ts'
import { IssuerClient } from '../../src/issuer-client/client.ts'
import { CONNECTION_DEFAULTS } from '../../src/node/constants.ts'
import { summarise } from './stats.ts'
import type { BenchOverlay } from './overlay.ts'
import type { TempusConfigInput } from '../../src/node/config.ts'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
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

/**
 * Two full tempus nodes, one dialling the other over and over: from the
 * second connect on, each resumes on the ticket the last one handed out
 * (admission.md, "Resuming without Noise's handshake"), as a fleet's
 * connect → call → close does. `config.admission.resumption: false` for
 * the full exchange every time.
 */
export function tempusStack (overlay: BenchOverlay, config: Partial<TempusConfigInput> = {}, name = 'tempus'): Stack {
  return {
    name,
    async target () {
      // a bridge: the dialler's peer keeper does not redial bridges it was not told to keep
      const t = await overlay.node('bridge', { ...config, connections: BENCH_LIMITS })
      return { addr: multiaddr(t.getMultiaddrs()[0] ?? ''), stop: async () => t.stop() }
    },
    async dialer () {
      const d = await overlay.node('edge', { ...config, connections: { ...BENCH_LIMITS, minConnections: 0 } })
      return { node: d.libp2p, stop: async () => d.stop() }
    }
  }
}

/**
 * Plain libp2p with admission and nothing else: the same transports, Noise
 * and Yamux as `plainStack`, plus the admission exchange inside Noise, and
 * Noise's crypto as the node sets it. The difference between the two is
 * what a first connect costs a node over plain libp2p (no ticket yet: no
 * resumption here; `tempusStack`'s repeated connects resume).
 */
export function admittedStack (overlay: BenchOverlay, options: { name?: string, key?: () => Promise<PrivateKey> } = {}): Stack {
  const make = async (listen: boolean): Promise<Libp2p> => {
    const privateKey = await (options.key ?? (async () => generateKeyPair('Ed25519')))()
    const client = new IssuerClient({ url: overlay.http.url })
    const enrollment = await client.enroll(privateKey, (await overlay.issuer.createCode('edge')))
    const state = await admissionStateFor(enrollment)
    const token = await client.token(privateKey, enrollment.credential)
    state.setOwnToken({ ...token, claims: await state.verifier.verify(token.token) })
    return createLibp2p({
      privateKey,
      addresses: { listen: listen ? ['/ip4/127.0.0.1/tcp/0'] : [] },
      transports: [tcp()],
      // Noise as the node configures it (its X25519 keys made once: src/core/noise-crypto.ts)
      connectionEncrypters: [admittingEncrypter(noise({ crypto: noiseCrypto }), state)],
      streamMuxers: [yamux()],
      connectionGater: admissionGater(state),
      connectionManager: BENCH_LIMITS
    })
  }
  return {
    name: options.name ?? 'libp2p + admission',
    async target () {
      const n = await make(true)
      return { addr: n.getMultiaddrs()[0] as Multiaddr, stop: async () => n.stop() }
    },
    async dialer () {
      const n = await make(false)
      return { node: n, stop: async () => n.stop() }
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
 * Measure stacks in alternating rounds (a, b, c, a, b, c, …) so that drift
 * in the machine's load hits all alike; report each figure's median over
 * the rounds, in the order given.
 */
export async function compareStacks (stacks: Stack[], rounds: number, iterations: number, dialers: number, durationS: number, progress?: (line: string) => void): Promise<ConnectFigures[]> {
  const runs: ConnectFigures[][] = stacks.map(() => [])
  for (let r = 0; r < rounds; r++) {
    for (const [i, stack] of stacks.entries()) {
      runs[i]?.push(await measureConnect(stack, iterations, dialers, durationS))
    }
    progress?.(`  round ${r + 1}/${rounds}: ` + stacks.map((st, i) => `${st.name} p50 ${runs[i]?.at(-1)?.p50.toFixed(2)} ms`).join(', '))
  }
  return runs.map(list => ({
    p50: median(list.map(f => f.p50)),
    p99: median(list.map(f => f.p99)),
    mean: median(list.map(f => f.mean)),
    perSecond: median(list.map(f => f.perSecond)),
    failures: list.reduce((n, f) => n + f.failures, 0)
  }))
}

export async function compareConnect (ours: Stack, base: Stack, rounds: number, iterations: number, dialers: number, durationS: number, progress?: (line: string) => void): Promise<{ ours: ConnectFigures, base: ConnectFigures }> {
  const [a, b] = await compareStacks([ours, base], rounds, iterations, dialers, durationS, progress)
  return { ours: a as ConnectFigures, base: b as ConnectFigures }
}

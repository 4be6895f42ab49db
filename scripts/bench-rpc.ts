/**
 * RPC: calls per second and latency, sequential and with 64 calls in
 * flight, for `node.rpc.call` between two admitted tempus nodes — over the
 * session (`/tempus/rpc/session/1.0.0`, the default) and one stream per
 * call (`rpc.sessions: false`) — against a bare libp2p stream-per-call
 * echo (same transports, libp2p's defaults) in the same run; and the cost
 * of a refused call.
 *
 *   npm run bench:rpc -- [--rounds 3] [--calls 2000] [--inflight 64] [--json]
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { benchArgs, intArg } from './lib/args.ts'
import { BENCH_LIMITS } from './lib/connect.ts'
import { startBenchOverlay } from './lib/overlay.ts'
import { round, summarise } from './lib/stats.ts'
import type { Libp2p } from '@libp2p/interface'

const args = benchArgs({
  calls: { type: 'string', default: '2000' },
  inflight: { type: 'string', default: '64' },
  rounds: { type: 'string', default: '3' },
  json: { type: 'boolean', default: false }
})
const ROUNDS = intArg(args.rounds, 'rounds', 1, 50)
const CALLS = intArg(args.calls, 'calls', 10, 1_000_000)
const INFLIGHT = intArg(args.inflight, 'inflight', 1, 1024)
const json = args.json === true
const say = (line: string): void => { if (!json) process.stdout.write(line + '\n') }

/** `cpuUs`: CPU per call (µs, user + system), both sides together: they share this process */
async function drive (call: () => Promise<unknown>, calls: number, inflight: number): Promise<{ perSecond: number, p50: number, p99: number, cpuUs: number }> {
  const samples: number[] = []
  let next = 0
  const cpu = process.cpuUsage()
  const start = performance.now()
  await Promise.all(Array.from({ length: inflight }, async () => {
    while (next < calls) {
      next++
      const t = performance.now()
      await call()
      samples.push(performance.now() - t)
    }
  }))
  const s = summarise(samples)
  const used = process.cpuUsage(cpu)
  return { perSecond: calls / ((performance.now() - start) / 1000), p50: s.p50, p99: s.p99, cpuUs: (used.user + used.system) / calls }
}

// tempus: two admitted nodes
const overlay = await startBenchOverlay()
const server = await overlay.node('sentinel', { connections: BENCH_LIMITS, rpc: { callsPerSecondPerPeer: 1_000_000, maxInFlightPerPeer: 1024 } })
const client = await overlay.node('edge', { bootstrap: server.getMultiaddrs(), connections: { ...BENCH_LIMITS, minConnections: 0 } })
const caller = await overlay.node('edge', { bootstrap: server.getMultiaddrs(), connections: { ...BENCH_LIMITS, minConnections: 0 } })
const perStreamClient = await overlay.node('edge', { bootstrap: server.getMultiaddrs(), connections: { ...BENCH_LIMITS, minConnections: 0 }, rpc: { sessions: false } })
server.rpc.expose('echo.back', a => a)
server.rpc.policy.replace([{ peer: client.peerId.toString(), allow: ['echo.back'] }, { peer: perStreamClient.peerId.toString(), allow: ['echo.back'] }])
// by address: the bootstrap list may not have put the server's address in the peer store yet
const serverAddr = multiaddr(String(server.getMultiaddrs()[0]))
await client.libp2p.dial(serverAddr, { signal: AbortSignal.timeout(60_000) })
await perStreamClient.libp2p.dial(serverAddr, { signal: AbortSignal.timeout(60_000) })
const payload = { n: 42, s: 'tempus' }
for (let i = 0; i < 200; i++) await client.rpc.call(server.peerId, 'echo.back', payload)
for (let i = 0; i < 200; i++) await perStreamClient.rpc.call(server.peerId, 'echo.back', payload)

// baseline: bare libp2p, one stream per call, length-prefixed echo
const ECHO = '/bench/echo/1.0.0'
const plainServer: Libp2p = await createLibp2p({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()], connectionManager: BENCH_LIMITS })
await plainServer.handle(ECHO, async (stream) => {
  const lp = lpStream(stream)
  await lp.write(await lp.read())
  await stream.close()
}, { maxInboundStreams: 1024 })
const plainClient: Libp2p = await createLibp2p({ transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()], connectionManager: BENCH_LIMITS })
const bytes = new TextEncoder().encode(JSON.stringify(payload))
const echo = async (): Promise<void> => {
  const stream = await plainClient.dialProtocol(plainServer.getMultiaddrs()[0] as any, ECHO, { maxOutboundStreams: 1024 } as any)
  const lp = lpStream(stream)
  await lp.write(bytes)
  await lp.read()
  await stream.close()
}
for (let i = 0; i < 200; i++) await echo()

const rpcCall = async (): Promise<unknown> => client.rpc.call(server.peerId, 'echo.back', payload)
const perStreamCall = async (): Promise<unknown> => perStreamClient.rpc.call(server.peerId, 'echo.back', payload)
// alternating rounds, medians: drift in the machine's load hits both alike
const median = <T>(runs: T[], key: (r: T) => number): T => [...runs].sort((a, b) => key(a) - key(b))[Math.floor(runs.length / 2)] as T
type Figures = Awaited<ReturnType<typeof drive>>
const seqRuns: Array<{ ours: Figures, perStream: Figures, base: Figures }> = []
const runs: typeof seqRuns = []
for (let r = 0; r < ROUNDS; r++) {
  seqRuns.push({ ours: await drive(rpcCall, Math.min(CALLS, 500), 1), perStream: await drive(perStreamCall, Math.min(CALLS, 500), 1), base: await drive(echo, Math.min(CALLS, 500), 1) })
  runs.push({ ours: await drive(rpcCall, CALLS, INFLIGHT), perStream: await drive(perStreamCall, CALLS, INFLIGHT), base: await drive(echo, CALLS, INFLIGHT) })
  say(`  round ${r + 1}/${ROUNDS}: ${INFLIGHT} in flight rpc session ${round(runs.at(-1)?.ours.perSecond ?? 0, 0)}/s, rpc per stream ${round(runs.at(-1)?.perStream.perSecond ?? 0, 0)}/s, echo ${round(runs.at(-1)?.base.perSecond ?? 0, 0)}/s`)
}
const seqOurs = median(seqRuns.map(r => r.ours), r => r.perSecond)
const seqPerStream = median(seqRuns.map(r => r.perStream), r => r.perSecond)
const seqBase = median(seqRuns.map(r => r.base), r => r.perSecond)
const ours = median(runs.map(r => r.ours), r => r.perSecond)
const perStream = median(runs.map(r => r.perStream), r => r.perSecond)
const base = median(runs.map(r => r.base), r => r.perSecond)
say(`sequential: rpc session ${round(seqOurs.perSecond, 0)} calls/s (p50 ${round(seqOurs.p50)} ms, p99 ${round(seqOurs.p99)} ms), rpc per stream ${round(seqPerStream.perSecond, 0)}/s (p50 ${round(seqPerStream.p50)} ms) vs echo ${round(seqBase.perSecond, 0)}/s (p50 ${round(seqBase.p50)} ms)`)
say(`CPU per call (${INFLIGHT} in flight, both sides): rpc session ${round(ours.cpuUs, 0)} µs, rpc per stream ${round(perStream.cpuUs, 0)} µs, echo ${round(base.cpuUs, 0)} µs`)
say(`${INFLIGHT} in flight: rpc session ${round(ours.perSecond, 0)} calls/s (p50 ${round(ours.p50)} ms, p99 ${round(ours.p99)} ms): ${round(ours.perSecond / base.perSecond)}×; rpc per stream ${round(perStream.perSecond, 0)}/s: ${round(perStream.perSecond / base.perSecond)}×; vs echo ${round(base.perSecond, 0)}/s`)

// a refused call: what it costs the caller to learn "unavailable" (four
// calls: a fifth would have the caller quarantined, and then the connection
// itself is refused, which is cheaper still)
await caller.libp2p.dial(serverAddr, { signal: AbortSignal.timeout(60_000) })
const refused: number[] = []
for (let i = 0; i < 4; i++) {
  const t = performance.now()
  await caller.rpc.call(server.peerId, 'echo.back', payload).catch(() => {})
  refused.push(performance.now() - t)
}
const refusedCost = summarise(refused).p50
say(`refused call: ${round(refusedCost)} ms at p50 (the caller learns only "unavailable")`)

await Promise.all([client.stop(), caller.stop(), perStreamClient.stop(), server.stop(), plainClient.stop(), plainServer.stop()])
await overlay.stop()
if (json) {
  process.stdout.write(JSON.stringify({
    callsPerSec: round(ours.perSecond, 0),
    baselineCallsPerSec: round(base.perSecond, 0),
    ratio: round(ours.perSecond / base.perSecond),
    p50Ms: round(ours.p50),
    p99Ms: round(ours.p99),
    sequentialCallsPerSec: round(seqOurs.perSecond, 0),
    sequentialP50Ms: round(seqOurs.p50),
    baselineSequentialCallsPerSec: round(seqBase.perSecond, 0),
    baselineSequentialP50Ms: round(seqBase.p50),
    perStreamCallsPerSec: round(perStream.perSecond, 0),
    perStreamRatio: round(perStream.perSecond / base.perSecond),
    perStreamSequentialCallsPerSec: round(seqPerStream.perSecond, 0),
    perStreamSequentialP50Ms: round(seqPerStream.p50),
    cpuPerCallUs: round(ours.cpuUs, 0),
    perStreamCpuPerCallUs: round(perStream.cpuUs, 0),
    baselineCpuPerCallUs: round(base.cpuUs, 0),
    refusedCallCostMs: round(refusedCost)
  }) + '\n')
}
process.exit(0)

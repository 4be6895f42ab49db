/**
 * Connection establishment: a tempus node (TCP + Noise + admission + Yamux)
 * against a plain libp2p node with the same transports and connection
 * limits, in the same run.
 *
 *   npm run bench:connect -- [--rounds 3] [--iterations 300] [--dialers 4] [--duration 3] [--json]
 */
import { benchArgs, intArg } from './lib/args.ts'
import { compareConnect, plainStack, tempusStack } from './lib/connect.ts'
import { startBenchOverlay } from './lib/overlay.ts'
import { round } from './lib/stats.ts'

const args = benchArgs({
  iterations: { type: 'string', default: '300' },
  dialers: { type: 'string', default: '4' },
  duration: { type: 'string', default: '3' },
  rounds: { type: 'string', default: '3' },
  json: { type: 'boolean', default: false }
})
const rounds = intArg(args.rounds, 'rounds', 1, 50)
const iterations = intArg(args.iterations, 'iterations', 10, 100_000)
const dialers = intArg(args.dialers, 'dialers', 1, 64)
const durationS = intArg(args.duration, 'duration', 1, 600)
const json = args.json === true
const say = (line: string): void => { if (!json) process.stdout.write(line + '\n') }

say(`bench:connect — ${rounds} alternating rounds of ${iterations} sequential connects (after 20 warm-up) and ${dialers} dialers for ${durationS}s, on 127.0.0.1; medians`)
const overlay = await startBenchOverlay()
const { ours, base } = await compareConnect(tempusStack(overlay), plainStack, rounds, iterations, dialers, durationS, say)
await overlay.stop()
const ratio = ours.p50 / base.p50
for (const r of [
  ['stack', 'p50 ms', 'p99 ms', 'mean ms', 'conn/s', 'failures'],
  ['tempus', round(ours.p50), round(ours.p99), round(ours.mean), round(ours.perSecond, 1), ours.failures],
  ['plain libp2p', round(base.p50), round(base.p99), round(base.mean), round(base.perSecond, 1), base.failures]
]) {
  say(r.map(String).map((c, i) => i === 0 ? c.padEnd(14) : c.padStart(10)).join(''))
}
say(`ratio (tempus / plain, p50): ${round(ratio)}×; throughput ratio: ${round(ours.perSecond / base.perSecond)}×`)
if (json) {
  process.stdout.write(JSON.stringify({
    connectP50Ms: round(ours.p50),
    connectP99Ms: round(ours.p99),
    baselineConnectP50Ms: round(base.p50),
    baselineConnectP99Ms: round(base.p99),
    ratio: round(ratio),
    connectionsPerSecond: round(ours.perSecond, 1),
    baselineConnectionsPerSecond: round(base.perSecond, 1),
    throughputRatio: round(ours.perSecond / base.perSecond),
    rounds,
    iterations,
    dialers,
    durationSeconds: durationS
  }) + '\n')
}
process.exit(0)

/**
 * Chaos at scale with real processes:
 *
 *   npm run chaos -- [--nodes 100] [--duration 10m] [--seed 1] [--json] [--dump events.json]
 *
 * N node processes (10 % sentinels, 5 % bridges, the rest edges), each in a
 * network namespace of its own on one Linux bridge, mDNS on the bridge and
 * the sentinels as bootstrap list; an issuer with two replicas on a
 * throwaway PostgreSQL cluster (one sqlite issuer when PostgreSQL is not
 * installed); a seeded fault schedule, printed first (kill -9 and restart,
 * links down for seconds to minutes, a partition that heals, an issuer
 * replica killed, a signing-key rotation, a 2-of-2 revocation, anomalies and
 * bundles throughout, some to nodes that are away). Faults end at 70 % of
 * the duration; the last 20 % settles. The figures come from the nodes'
 * own events and stores (scripts/lib/chaos-metrics.ts); the last line is
 * one JSON object. Needs root and iproute2; cleans up on exit and on
 * SIGINT/SIGTERM, and removes what a killed earlier run left.
 */
import { parseDuration } from '../src/core/duration.ts'
import { benchArgs, intArg } from './lib/args.ts'
import { runChaos } from './lib/chaos-run.ts'

const args = benchArgs({
  nodes: { type: 'string', default: '100' },
  duration: { type: 'string', default: '10m' },
  seed: { type: 'string', default: '1' },
  json: { type: 'boolean', default: false },
  dump: { type: 'string' }
})
const nodes = intArg(args.nodes, 'nodes', 6, 240)
const seed = intArg(args.seed, 'seed', 0, 2 ** 31)
let durationMs: number
try {
  durationMs = parseDuration(String(args.duration), "duration")
} catch {
  process.stderr.write(`--duration must be a duration such as 90s or 10m, got ${JSON.stringify(args.duration)}\n`)
  process.exit(2)
}
if (process.getuid?.() !== 0) {
  process.stderr.write('the chaos harness creates network namespaces: run it as root\n')
  process.exit(2)
}
const json = args.json === true
const started = Date.now()
let result: Awaited<ReturnType<typeof runChaos>>
try {
  result = await runChaos({ nodes, durationMs, seed, log: line => { process.stderr.write(`${line}\n`) }, dumpFile: args.dump as string | undefined })
} catch (err: any) {
  // the harness has cleaned up by now (its finally): say what stopped it, without a stack
  process.stderr.write(`chaos: the run stopped after ${Math.round((Date.now() - started) / 1000)} s: ${String(err?.message ?? err)}\n`)
  process.exit(1)
}
for (const note of result.notes) process.stderr.write(`note: ${note}\n`)
const f = result.figures
if (!json) {
  process.stdout.write([
    `chaos: ${f.nodes} nodes, ${f.durationS} s, seed ${seed}, issuer ${result.issuer}, wall ${Math.round((Date.now() - started) / 1000)} s`,
    `revocation p50 ${f.revocationP50Ms} ms, p99 ${f.revocationP99Ms} ms (missed ${f.revocationMissed}); revoked node cut off after ${f.revokedCutOffMs} ms`,
    `anomalies: delivery ${f.anomalyDelivery}, p99 ${f.anomalyP99Ms} ms`,
    `bundles: ${f.bundlesDelivered}/${f.bundlesExpected} of the oracle (${f.bundleDeliveryVsOracle})`,
    `lost ${f.lost}, honest penalised ${f.honestPenalised} (offences ${f.honestOffences}), crashes ${f.crashes} (escaped network errors ${f.escapedNetworkErrors})`,
    `reconnect p99 ${f.reconnectP99Ms} ms (links ${f.linkReconnectP99Ms} ms, a partition's nodes across the cut ${f.partitionHealP99Ms} ms, median ${f.partitionHealP50Ms} ms, the halves joined again in ${f.partitionRejoinMs} ms); RSS ${f.rssPerNodeMb} MB per node (max ${f.rssMaxMb}); CPU ${f.cpuPerNodePct} % of a core per node while the faults ran (${f.startCpuSPerNode} s each to start and mesh)`
  ].join('\n') + '\n')
}
process.stdout.write(JSON.stringify({ seed, issuer: result.issuer, ...f }) + '\n')

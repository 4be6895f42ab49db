import { multiaddr } from '@multiformats/multiaddr'
import { startBenchOverlay } from '../lib/overlay.ts'
import { summarise } from '../lib/stats.ts'
const resumption = process.argv[2] !== 'full'
const n = Number(process.argv[3] ?? 400)
const overlay = await startBenchOverlay()
const config = { admission: { resumption }, connections: { minConnections: 0, allow: ['127.0.0.0/8'] }, sampling: { edge: { period: '1h' }, bridge: { period: '1h' }, sentinel: { period: '1h' } } }
const target = await overlay.node('sentinel', config as any)
target.rpc.expose('echo.back', (x: unknown) => x as any)
target.rpc.policy.replace([{ type: 'edge', allow: ['echo.*'] }])
const dialer = await overlay.node('edge', config as any)
const outcomes: Record<string, number> = {}
for (const [name, n] of [["target", target], ["dialer", dialer]] as const) { const note = n.admission.noteResumption; n.admission.noteResumption = (o: string) => { const k = name + ":" + o; outcomes[k] = (outcomes[k] ?? 0) + 1; note?.(o as any) } }
const addr = multiaddr(target.getMultiaddrs()[0] ?? '')
const samples: number[] = []
const dialMs: number[] = []
const c0 = process.cpuUsage()
const w0 = performance.now()
for (let i = 0; i < n + 20; i++) {
  const t0 = performance.now()
  const connection = await dialer.libp2p.dial(addr, { signal: AbortSignal.timeout(10_000) })
  const t1 = performance.now()
  await dialer.rpc.call(target.peerId, 'echo.back', i, { timeout: 10_000 })
  const elapsed = performance.now() - t0
  await connection.close()
  if (i >= 20) { samples.push(elapsed); dialMs.push(t1 - t0) }
}
const cpu = process.cpuUsage(c0)
const wall = performance.now() - w0
console.log(JSON.stringify({ resumption, p50: summarise(samples).p50, dialP50: summarise(dialMs).p50, cpuMsPerCycle: (cpu.user + cpu.system) / 1000 / (n + 20), wallMsPerCycle: wall / (n + 20), outcomes }))
await dialer.stop(); await target.stop(); await overlay.stop()

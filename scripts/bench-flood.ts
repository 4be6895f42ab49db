/**
 * What a flood of length bytes before any key costs a node: raw TCP
 * connections to its listener, each sending 0x80 0x80 … (a multistream-select
 * length that never ends) as fast as the socket takes it, for at most
 * `--seconds` or until the node cuts it; the process's CPU over each flood,
 * and the bytes it took before the cut. Against a tempus node
 * (src/core/negotiation-guard.ts cuts at the second byte) and, in the same
 * run, a plain libp2p node (TCP + Noise + Yamux + identify + gossipsub),
 * whose reader takes every byte for "not yet" with a new Error each.
 *
 *   npm run bench:flood -- [--connections 3] [--seconds 3] [--json]
 */
import { connect } from 'node:net'
import { benchArgs, intArg } from './lib/args.ts'
import { startBenchOverlay } from './lib/overlay.ts'
import { createPlainNode } from './lib/plain-stack.ts'
import { round } from './lib/stats.ts'

const args = benchArgs({
  connections: { type: 'string', default: '3' },
  seconds: { type: 'string', default: '3' },
  json: { type: 'boolean', default: false }
})
const CONNECTIONS = intArg(args.connections, 'connections', 1, 100)
const SECONDS = intArg(args.seconds, 'seconds', 1, 60)
const say = (line: string): void => { if (args.json !== true) process.stdout.write(`${line}\n`) }

interface Flood { cpuMs: number, bytes: number, cut: boolean }

/** One raw connection flooding `port` with 0x80 until the node closes it or the time is up. */
async function flood (port: number): Promise<Flood> {
  const socket = connect(port, '127.0.0.1')
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  let cut = false
  socket.on('close', () => { cut = true })
  socket.on('error', () => {})
  const chunk = Buffer.alloc(16 * 1024, 0x80)
  const cpu0 = process.cpuUsage()
  const until = performance.now() + SECONDS * 1000
  let bytes = 0
  while (!cut && !socket.destroyed && performance.now() < until) {
    if (socket.write(chunk)) {
      bytes += chunk.length
      await new Promise(resolve => setImmediate(resolve))
    } else {
      // the node's reader is behind: wait for it, or for the cut, or for the time
      await new Promise<void>(resolve => {
        const t = setTimeout(resolve, Math.max(0, until - performance.now()))
        const done = (): void => { clearTimeout(t); resolve() }
        socket.once('drain', done)
        socket.once('close', done)
      })
      if (!cut) bytes += chunk.length
    }
  }
  const cpu = process.cpuUsage(cpu0)
  socket.destroy()
  return { cpuMs: (cpu.user + cpu.system) / 1000, bytes, cut }
}

async function series (port: number): Promise<Flood[]> {
  const out: Flood[] = []
  for (let i = 0; i < CONNECTIONS; i++) {
    out.push(await flood(port))
  }
  return out
}

const portOf = (addr: string): number => Number(/\/tcp\/(\d+)/.exec(addr)?.[1])
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length

const overlay = await startBenchOverlay()
const tempus = await overlay.node('sentinel', { connections: { minConnections: 0 }, sampling: { edge: { period: '1h' }, bridge: { period: '1h' }, sentinel: { period: '1h' } } })
const t = await series(portOf(tempus.getMultiaddrs()[0]?.toString() ?? ''))
await tempus.stop()
await overlay.stop()

const plain = await createPlainNode()
const p = await series(portOf(plain.getMultiaddrs()[0]?.toString() ?? ''))
await plain.stop()

const tempusCpu = mean(t.map(f => f.cpuMs))
const plainCpu = mean(p.map(f => f.cpuMs))
say(`${CONNECTIONS} raw connections each flooding 0x80 for up to ${SECONDS} s, one after another`)
say(`tempus: ${round(tempusCpu, 1)} ms of CPU per connection, ${Math.round(mean(t.map(f => f.bytes)))} bytes taken, cut by the node in ${t.filter(f => f.cut).length} of ${CONNECTIONS}`)
say(`plain libp2p: ${round(plainCpu, 1)} ms of CPU per connection, ${Math.round(mean(p.map(f => f.bytes)))} bytes taken, cut by the node in ${p.filter(f => f.cut).length} of ${CONNECTIONS}`)
say(`CPU per flooding connection, tempus / plain: ${round(tempusCpu / plainCpu, 4)}×`)
if (args.json === true) {
  process.stdout.write(JSON.stringify({
    connections: CONNECTIONS,
    floodSeconds: SECONDS,
    tempusCpuMsPerConnection: round(tempusCpu, 1),
    plainCpuMsPerConnection: round(plainCpu, 1),
    cpuRatio: round(tempusCpu / plainCpu, 4),
    tempusBytesTaken: Math.round(mean(t.map(f => f.bytes))),
    plainBytesTaken: Math.round(mean(p.map(f => f.bytes))),
    tempusCut: t.filter(f => f.cut).length,
    plainCut: p.filter(f => f.cut).length
  }) + '\n')
}
process.exit(0)

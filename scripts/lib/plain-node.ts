/**
 * One plain libp2p node as a process of its own: `bench:process`'s
 * baseline. The same transport, encryption and muxer as a tempus node
 * (TCP, Noise, Yamux), identify, ping and gossipsub subscribed to the
 * anomaly topic, no admission and no tempus service. It listens on the port
 * it is given, dials the addresses it is given, prints one JSON line
 * (`{"event":"started","addr":…}`) and runs until SIGTERM.
 *
 *   node dist/scripts/lib/plain-node.js PORT [MULTIADDR…]
 */
import { multiaddr } from '@multiformats/multiaddr'
import { createPlainNode } from './plain-stack.ts'

const port = Number(process.argv[2])
if (!Number.isInteger(port) || port <= 0 || port > 65_535) {
  process.stderr.write(`plain-node: the first argument must be a TCP port, got ${JSON.stringify(process.argv[2])}\n`)
  process.exit(2)
}
const node = await createPlainNode({ listen: `/ip4/127.0.0.1/tcp/${port}`, ping: true })
node.services.pubsub.subscribe('tempus/anomaly/1')
for (const addr of process.argv.slice(3)) {
  node.dial(multiaddr(addr), { signal: AbortSignal.timeout(10_000) }).catch(() => {})
}
process.stdout.write(JSON.stringify({ event: 'started', addr: `${node.getMultiaddrs()[0]?.toString() ?? ''}` }) + '\n')
process.once('SIGTERM', () => {
  Promise.resolve(node.stop()).finally(() => { process.exit(0) })
})

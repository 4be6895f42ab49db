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
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'

const port = Number(process.argv[2])
if (!Number.isInteger(port) || port <= 0 || port > 65_535) {
  process.stderr.write(`plain-node: the first argument must be a TCP port, got ${JSON.stringify(process.argv[2])}\n`)
  process.exit(2)
}
const node = await createLibp2p({
  addresses: { listen: [`/ip4/127.0.0.1/tcp/${port}`] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  services: {
    identify: identify(),
    ping: ping(),
    // the IP colocation penalty graylists everyone on 127.0.0.1 (tempus turns it off too)
    pubsub: gossipsub({ emitSelf: false, allowPublishToZeroTopicPeers: true, scoreParams: { IPColocationFactorWeight: 0 } })
  }
})
node.services.pubsub.subscribe('tempus/anomaly/1')
for (const addr of process.argv.slice(3)) {
  node.dial(multiaddr(addr), { signal: AbortSignal.timeout(10_000) }).catch(() => {})
}
process.stdout.write(JSON.stringify({ event: 'started', addr: `${node.getMultiaddrs()[0]?.toString() ?? ''}` }) + '\n')
process.once('SIGTERM', () => {
  Promise.resolve(node.stop()).finally(() => { process.exit(0) })
})

/**
 * The benchmarks' baseline node: plain libp2p with the transport,
 * encryption and muxer a tempus node has (TCP, Noise, Yamux), identify and
 * gossipsub, no admission and no tempus service. `bench:gossip` and
 * `bench:idle` run many in one process; `bench:process` one per process
 * (plain-node.ts), with the ping protocol answered as a tempus node does.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Libp2p } from '@libp2p/interface'
import type { ConnectionManagerInit } from 'libp2p'

export type PlainNode = Libp2p<{ identify: unknown, pubsub: GossipSub, ping?: unknown }>

export async function createPlainNode (options: { listen?: string, connectionManager?: ConnectionManagerInit, ping?: boolean } = {}): Promise<PlainNode> {
  return await createLibp2p({
    addresses: { listen: [options.listen ?? '/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    ...(options.connectionManager != null ? { connectionManager: options.connectionManager } : {}),
    services: {
      identify: identify(),
      ...(options.ping === true ? { ping: ping() } : {}),
      // gossipsub's defaults, except the IP colocation penalty (−5·(n − 10)² for more than ten
      // peers on one address): on 127.0.0.1 it graylists everyone (tempus turns it off too)
      pubsub: gossipsub({ emitSelf: false, allowPublishToZeroTopicPeers: true, scoreParams: { IPColocationFactorWeight: 0 } })
    }
  }) as unknown as PlainNode
}

import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { after, describe, it } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import { TestNet } from '../fixtures/nodes.ts'
import { eventually } from '../fixtures/wait.ts'
import type { Socket } from 'node:net'

function tcpHandles (): number {
  return process.getActiveResourcesInfo().filter(r => r === 'TCPSocketWrap').length
}

type Abuse = (socket: Socket) => void
const garbage = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 131 + 7) & 0xff))

/** Ways a hostile or broken client treats a listener. */
const ABUSES: Abuse[] = [
  s => { s.resetAndDestroy() },
  s => { s.end(garbage(64)) },
  s => { s.write(garbage(4096)); s.resetAndDestroy() },
  s => { s.write('/multistream/1.0.0\n'); s.end(garbage(300)) },
  s => { s.write(Buffer.from([0x13, ...Buffer.from('/multistream/1.0.0\n')])); s.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])); s.resetAndDestroy() },
  s => { s.write(Buffer.from([0x13, ...Buffer.from('/multistream/1.0.0\n'), 0x07, ...Buffer.from('/noise\n')])); s.end(garbage(200)) },
  s => { s.end() },
  // slow lorises: the node must drop them at its inbound upgrade timeout
  s => { s.write('/multi') },
  () => {}
]

async function abuse (host: string, port: number, how: Abuse): Promise<void> {
  await new Promise<void>(resolve => {
    const socket = connect({ host, port, localAddress: '127.0.0.2' })
    socket.on('error', () => {})
    socket.resume() // read (and drop) whatever the node answers, so its FIN is seen
    socket.on('close', () => { resolve() })
    socket.on('connect', () => { how(socket) })
    socket.setTimeout(10_000, () => { socket.destroy() })
  })
}

describe('robustness', () => {
  const net = new TestNet()
  after(async () => { await net.stop() })

  it('survives 200 resets and garbage connects, returns to its handle count, and still admits a real peer', async () => {
    const target = await net.node({ type: 'sentinel', connections: { inboundUpgradeTimeout: '2s' } })
    const [, , host, , portText] = (target.getMultiaddrs()[0] ?? '').split('/')
    const addr = { address: host ?? '', port: Number(portText) }
    const baseline = tcpHandles()

    for (let batch = 0; batch < 10; batch++) {
      await Promise.all(Array.from({ length: 20 }, async (_, i) => abuse(addr.address, addr.port, ABUSES[(batch * 20 + i) % ABUSES.length] as Abuse)))
    }
    assert.equal(target.libp2p.status, 'started')
    await eventually(() => tcpHandles() <= baseline, `TCP handles back to ${baseline} (now ${tcpHandles()})`, 30_000, 100)
    assert.equal(target.libp2p.getConnections().length, 0, 'no garbage became a connection')

    const peer = await net.node({ type: 'edge' })
    await peer.libp2p.dial(multiaddr(target.getMultiaddrs()[0] ?? ''), { signal: AbortSignal.timeout(10_000) })
    await eventually(() => target.libp2p.getPeers().some(p => p.equals(peer.peerId)), 'the real peer to be connected')
  })

  it('dialers survive a listener that refuses a burst past its inbound rate limit', async () => {
    const target = await net.node({ type: 'sentinel', connections: { inboundConnectionThreshold: 2 } })
    const dialers = await Promise.all(Array.from({ length: 12 }, async () => net.node({ type: 'edge', connections: { minConnections: 0 } })))
    const results = await Promise.allSettled(dialers.map(async d => d.libp2p.dial(multiaddr(target.getMultiaddrs()[0] ?? ''), { signal: AbortSignal.timeout(10_000) })))
    assert.ok(results.some(r => r.status === 'rejected'), 'the limit refused some dials')
    assert.ok(results.some(r => r.status === 'fulfilled'), 'the limit let some dials through')
    for (const d of dialers) {
      assert.equal(d.libp2p.status, 'started')
    }
  })
})

/**
 * One end pings a connection, not both (src/liveness/heard-pings.ts): real
 * libp2p nodes over TCP + Noise + Yamux on loopback, each with the ping
 * monitor. A monitor leaves out a connection whose peer pinged it within
 * half an interval, counted as heard; the other end keeps pinging and
 * getting answers; when that end stops pinging, this one pings again at
 * its next beat. Fails if Yamux no longer hands its ping frames to
 * `handlePing` (then both ends ping every connection, as before).
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { hearingPings, pingedWithin } from '../../src/liveness/heard-pings.ts'
import { pingMonitor } from '../../src/liveness/ping-monitor.ts'
import { waitForEvent } from '../fixtures/wait.ts'
import type { PingMonitor } from '../../src/liveness/ping-monitor.ts'
import type { Libp2p } from '@libp2p/interface'

type Node = Libp2p<{ liveness: PingMonitor }>

describe('heard pings', () => {
  const nodes: Node[] = []
  // an hour's interval: the test beats by hand; half of it is the window a heard ping counts in
  const node = async (): Promise<Node> => {
    const n = await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [hearingPings(yamux({ enableKeepAlive: false }))],
      services: { liveness: pingMonitor({ intervalMs: 3_600_000, timeoutMs: 2_000 }) }
    })
    nodes.push(n)
    return n
  }
  let a: Node
  let b: Node
  before(async () => {
    a = await node()
    b = await node()
    await a.dial(b.getMultiaddrs())
  })
  after(async () => {
    await Promise.all(nodes.map(async n => { await n.stop() }))
  })

  const count = (n: Node): Record<'pong' | 'heard', number> => {
    const seen = { pong: 0, heard: 0 }
    n.services.liveness.addEventListener('pong', () => { seen.pong++ })
    n.services.liveness.addEventListener('heard', () => { seen.heard++ })
    return seen
  }

  it('the end that was pinged leaves the connection to the pinging end, which keeps getting answers', async () => {
    const atA = count(a)
    const atB = count(b)
    const connection = a.getConnections(b.peerId)[0]
    assert.ok(connection != null)
    assert.equal(pingedWithin(connection, 60_000), false, 'nothing heard before the first ping')
    for (let round = 0; round < 3; round++) {
      const pong = waitForEvent(a.services.liveness, 'pong', () => true, 5_000)
      a.services.liveness.beat()
      await pong
      const heard = waitForEvent(b.services.liveness, 'heard', () => true, 5_000)
      b.services.liveness.beat()
      await heard
    }
    assert.deepEqual(atA, { pong: 3, heard: 0 })
    assert.deepEqual(atB, { pong: 0, heard: 3 }, 'b sent no ping: a pinged it within half an interval each time')
    const atB2 = b.getConnections(a.peerId)[0]
    assert.ok(atB2 != null && pingedWithin(atB2, 60_000))
    assert.equal(pingedWithin(connection, 60_000), false, 'an answer to its own ping is not a ping heard')
  })

  it('an end that hears no ping within half an interval pings itself', async () => {
    // a monitor whose half interval is 5 ms: a's last ping is older than that
    const { PingMonitor } = await import('../../src/liveness/ping-monitor.ts')
    const quick = new PingMonitor((b as unknown as { components: ConstructorParameters<typeof PingMonitor>[0] }).components, { intervalMs: 10, timeoutMs: 2_000 })
    const pong = waitForEvent(quick, 'pong', () => true, 5_000)
    await new Promise<void>(resolve => { setTimeout(resolve, 20) })
    quick.beat()
    await pong
    // and a, pinged now, leaves its next beat to b
    const heard = waitForEvent(a.services.liveness, 'heard', () => true, 5_000)
    a.services.liveness.beat()
    await heard
  })
})

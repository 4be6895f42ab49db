import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { InboundLoad } from '../../src/admission/inbound-load.ts'
import { TestNet } from '../fixtures/nodes.ts'
import { eventually } from '../fixtures/wait.ts'
import type { Socket } from 'node:net'

/** a probe whose windows read the lateness the test sets, as the loop would have measured it */
function scriptedProbe (): { watch: () => { lateMs: () => number, close: () => void }, late: number, open: number } {
  const probe = {
    late: 0,
    open: 0,
    watch () {
      const from = probe.late
      probe.open++
      let closed = false
      return { lateMs: () => probe.late - from, close: () => { if (!closed) { closed = true; probe.open-- } } }
    }
  }
  return probe
}

describe('inbound handshakes a starved node cannot finish', () => {
  it('refuses new ones only while one under way has run a second with the loop late for half of it', () => {
    let now = 0
    const probe = scriptedProbe()
    const load = new InboundLoad({ probe, now: () => now })
    assert.equal(load.shouldShed(), false, 'nothing under way')
    const first = load.begin()
    now = 900
    probe.late = 900
    assert.equal(load.overloaded(), false, 'younger than a second: not judged yet')
    now = 1_000
    probe.late = 499
    assert.equal(load.overloaded(), false, 'late for less than half its age')
    probe.late = 500
    assert.equal(load.shouldShed(), true)
    assert.equal(load.shouldShed(), true)
    assert.equal(load.shedTotal, 2)
    // a later handshake's window counts only its own lateness: the first one's end ends the refusal
    const second = load.begin()
    now = 1_500
    first.end()
    first.end()
    assert.equal(load.pending, 1)
    assert.equal(load.overloaded(), false, 'the one left is too young')
    second.end()
    assert.equal(probe.open, 0, 'every window closed')
    assert.equal(load.shedTotal, 2)
  })

  it('a peer that stalls its handshake makes it old, never late: a healthy node refuses nobody', () => {
    let now = 0
    const probe = scriptedProbe()
    const load = new InboundLoad({ probe, now: () => now })
    const stalled = Array.from({ length: 64 }, () => load.begin())
    now = 4_900
    probe.late = 40 // a healthy loop: a few ms late a second
    assert.equal(load.shouldShed(), false)
    for (const s of stalled) s.end()
  })

  describe('on a real node', () => {
    const net = new TestNet()
    const sockets: Socket[] = []
    after(async () => {
      for (const s of sockets) s.destroy()
      await net.stop()
    })

    /** a raw client that selects Noise and then says nothing: a handshake under way at the server */
    const stalledHandshake = async (addr: string): Promise<Socket> => {
      const [, , host, , port] = addr.split('/')
      const socket = connect(Number(port), host)
      sockets.push(socket)
      await new Promise<void>((resolve, reject) => { socket.once('connect', resolve).once('error', reject) })
      const line = (s: string): Buffer => Buffer.concat([Buffer.from([s.length + 1]), Buffer.from(`${s}\n`)])
      socket.write(Buffer.concat([line('/multistream/1.0.0'), line('/noise')]))
      return socket
    }

    it('a node whose loop ran late under a handshake refuses the next connection before any handshake, and takes it once that one ends', async () => {
      const server = await net.node({ type: 'sentinel', connections: { minConnections: 0 } })
      const edge = await net.node({ type: 'edge', connections: { minConnections: 0 } })
      const addr = server.getMultiaddrs()[0] ?? ''
      await edge.libp2p.peerStore.merge(server.peerId, { multiaddrs: server.libp2p.getMultiaddrs() })
      // all of it within the server's inbound upgrade timeout (5 s), which ends the stalled handshake
      const stalled = await stalledHandshake(addr)
      await eventually(() => server.admission.inbound.pending === 1, 'the server to start the stalled handshake')

      // stalled, on a healthy loop: old, not late; the edge gets in
      const held = Date.now()
      await eventually(() => Date.now() - held > 1_100, 'the stalled handshake a second old', 3_000)
      await edge.libp2p.dial(server.peerId, { signal: AbortSignal.timeout(10_000) })
      assert.equal(server.admission.inbound.shedTotal, 0, 'a stalling peer does not make a healthy node refuse')
      await edge.libp2p.hangUp(server.peerId)
      await eventually(() => server.libp2p.getConnections(edge.peerId).length === 0, 'the edge gone')

      // now the process's loop really runs late under the stalled handshake (both nodes share it)
      const until = Date.now() + 1_500
      while (Date.now() < until) { /* the CPU taken from this process: its loop runs 1.5 s late */ }
      await assert.rejects(edge.libp2p.dial(server.peerId, { signal: AbortSignal.timeout(10_000) }))
      assert.ok(server.admission.inbound.shedTotal >= 1, 'refused for load')
      assert.match(await server.metricsRegistry.metrics(), /tempus_admission_inbound_shed_total [1-9]/)
      assert.equal(server.admission.suspicion.score(edge.peerId.toString()), 0, 'nobody charged')

      // the stalled handshake ends; the next dial is taken
      stalled.destroy()
      await eventually(() => server.admission.inbound.pending === 0, 'the stalled handshake to end')
      const shed = server.admission.inbound.shedTotal
      await edge.libp2p.dial(server.peerId, { signal: AbortSignal.timeout(10_000) })
      await eventually(() => server.admission.admitted.has(edge.peerId.toString()), 'the edge admitted')
      assert.equal(server.admission.inbound.shedTotal, shed)
    })
  })
})

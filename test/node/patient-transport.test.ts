/**
 * Connection deadlines that do not fall on this node's own lateness
 * (src/node/patient-transport.ts), with real libp2p nodes (TCP, Noise,
 * Yamux) over a relay that holds each chunk 100 ms each way, so a
 * connection's upgrade takes several round trips (~0.6 s) against a
 * nominal deadline of 150 ms. A node whose loop keeps up gives up at the
 * deadline, as libp2p's fixed one did; a node whose loop ran late (its
 * lateness probe on a clock that runs twice as fast: every tick is a tick
 * late) moves the deadline on and the handshake finishes: dialling, and
 * accepting.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { LoopLagProbe } from '../../src/core/loop-lag.ts'
import { hardCaps, patientTransport } from '../../src/node/patient-transport.ts'
import { eventually } from '../fixtures/wait.ts'
import { startDelayRelay } from '../../scripts/lib/delay-relay.ts'
import type { DelayRelay } from '../../scripts/lib/delay-relay.ts'
import type { Libp2p } from '@libp2p/interface'

const NOMINAL_MS = 150
/** enough for the slow handshake when every deadline is moved on; two would not be (3 × 150 ms) */
const EXTENSIONS = 12

/** a probe whose clock runs twice as fast as the loop's: each tick reads as a whole interval late */
const starved = (): LoopLagProbe => new LoopLagProbe({ intervalMs: 50, now: () => 2 * performance.now() })

interface Side { probe: LoopLagProbe, extended: Array<'inbound' | 'outbound'> }

async function node (side: Side): Promise<Libp2p> {
  const nominal = { dialMs: NOMINAL_MS, addressDialMs: NOMINAL_MS, inboundUpgradeMs: NOMINAL_MS }
  return await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [patientTransport(tcp(), { addressDialMs: NOMINAL_MS, inboundUpgradeMs: NOMINAL_MS, extensions: EXTENSIONS, probe: side.probe, onExtended: d => { side.extended.push(d) } })],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: hardCaps(nominal, EXTENSIONS)
  })
}

describe('patient connection deadlines', () => {
  const nodes: Libp2p[] = []
  const relays: DelayRelay[] = []
  after(async () => {
    await Promise.all(nodes.map(async n => { await n.stop() }))
    await Promise.all(relays.map(async r => { await r.stop() }))
  })

  /** a dialler and a listener, the listener reached through the slow relay */
  const pair = async (dialler: Side, listener: Side): Promise<{ dial: () => Promise<unknown>, a: Libp2p, b: Libp2p }> => {
    const a = await node(dialler)
    const b = await node(listener)
    nodes.push(a, b)
    const port = Number(/\/tcp\/(\d+)/.exec(b.getMultiaddrs()[0]?.toString() ?? '')?.[1])
    const relay = await startDelayRelay(port, 100)
    relays.push(relay)
    const target = multiaddr(`/ip4/127.0.0.1/tcp/${relay.port}/p2p/${b.peerId.toString()}`)
    return { a, b, dial: async () => await a.dial(target) }
  }

  it('a dialler that keeps up gives up at the nominal deadline; one that ran late finishes the handshake', async () => {
    const keepsUp: Side = { probe: new LoopLagProbe(), extended: [] }
    const patientListener: Side = { probe: starved(), extended: [] }
    const slow = await pair(keepsUp, patientListener)
    await assert.rejects(slow.dial(), 'a handshake of several 200-ms round trips does not fit in 150 ms')

    const late: Side = { probe: starved(), extended: [] }
    const ok = await pair(late, { probe: starved(), extended: [] })
    await ok.dial()
    assert.equal(ok.a.getConnections(ok.b.peerId).length, 1)
    assert.ok(late.extended.includes('outbound'), 'the dialler moved its deadline on')
  })

  it('a listener that keeps up drops a slow upgrade at the nominal deadline; one that ran late lets it finish', async () => {
    const patientDialler: Side = { probe: starved(), extended: [] }
    const keepsUp: Side = { probe: new LoopLagProbe(), extended: [] }
    const slow = await pair(patientDialler, keepsUp)
    await assert.rejects(slow.dial(), 'the listener aborts the upgrade')
    assert.equal(slow.b.getConnections().length, 0)

    const late: Side = { probe: starved(), extended: [] }
    const ok = await pair({ probe: starved(), extended: [] }, late)
    await ok.dial()
    // the listener's upgrade ends half a round trip after the dialler's
    await eventually(() => ok.b.getConnections(ok.a.peerId).length === 1, 'the listener\'s side of the connection')
    assert.ok(late.extended.includes('inbound'), 'the listener moved its deadline on')
  })
})

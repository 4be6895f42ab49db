/**
 * A connection dialled only for a sample exchange or a shuffle is closed
 * afterwards (the node keeps `keepConnections`), but never under a stream
 * of another protocol: an RPC call that took that connection meanwhile
 * must get its answer (issue #16; the hub-attack test's `unavailable`).
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { withPartner } from '../../src/sampling/shuffle-wire.ts'
import { IdleCloser } from '../../src/sampling/idle-connection.ts'
import { sampleProtocol } from '../../src/sampling/constants.ts'
import { TestNet } from '../fixtures/nodes.ts'
import { eventually } from '../fixtures/wait.ts'
import type { PeerEntry } from '../../src/sampling/peer-entry.ts'
import type { TempusNode } from '../../src/node/tempus-node.ts'
import type { Connection } from '@libp2p/interface'

/** what withPartner needs of `node`: its own peer store and connection manager, and a dial budget that allows every dial */
function wireOf (node: TempusNode): Parameters<typeof withPartner>[0] {
  const components = (node.libp2p as any).components
  return { peerStore: components.peerStore, connectionManager: components.connectionManager, dialBudget: { dialTargets: (_peer, addrs) => addrs } }
}

/** `partner` as an entry a view would hold: its id, its type and its addresses */
function entryOf (partner: TempusNode): PeerEntry {
  return { id: partner.peerId.toString(), age: 0, type: partner.type, token: '', keyCertificate: '', record: new Uint8Array(0), addrs: partner.getMultiaddrs().map(String) }
}

/** a call B answers only when the test says so, and how often B ran it */
function holdCalls (b: TempusNode): { entered: Promise<void>, release: () => void, runs: () => number } {
  let runs = 0
  let entered!: () => void
  let release!: () => void
  const enteredP = new Promise<void>(resolve => { entered = resolve })
  const released = new Promise<void>(resolve => { release = resolve })
  b.rpc.expose('test.hold', async () => { runs++; entered(); await released; return { held: true } })
  b.rpc.policy.replace([{ type: 'edge', allow: ['test.hold'] }])
  return { entered: enteredP, release, runs: () => runs }
}

/** resolves when `connection` has closed (bounded) */
async function connectionClosed (connection: Connection | undefined, timeoutMs = 20_000): Promise<void> {
  assert.ok(connection != null)
  if (connection.status === 'closed') return
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`the connection is still ${connection.status} after ${timeoutMs} ms: ${JSON.stringify(connection.streams.map(s => s.protocol))}`)) }, timeoutMs)
    connection.addEventListener('close', () => { clearTimeout(timer); resolve() }, { once: true })
  })
}

describe('closing a connection dialled for an exchange', () => {
  const net = new TestNet()
  after(async () => { await net.stop() })

  it('an RPC call on a connection an exchange dialled survives the exchange\'s end', async () => {
    const a = await net.node({ type: 'edge' })
    const b = await net.node({ type: 'edge' })
    const hold = holdCalls(b)
    assert.equal(a.libp2p.getConnections(b.peerId).length, 0)
    let call: Promise<unknown> | undefined
    let dialled: Connection | undefined
    // the node keeps no connection: the exchange's is one too many, so the
    // old rule closed it whatever it carried
    const closer = new IdleCloser(() => true)
    await withPartner(wireOf(a), entryOf(b), { timeoutMs: 10_000, closer }, async (peer, signal) => {
      dialled = a.libp2p.getConnections(peer)[0]
      // the exchange's own stream, opened and closed on that connection
      const own = await dialled?.newStream(sampleProtocol('edge'), { signal })
      await own?.close({ signal }).catch(() => {})
      own?.abort(new Error('done'))
      // meanwhile the application calls B on the same connection
      call = a.rpc.call(b.peerId, 'test.hold', {}, { timeout: 20_000 }).catch((err: Error) => err)
      await hold.entered
    })
    assert.equal(dialled?.status, 'open', 'the connection carrying the call stays open')
    const closed = connectionClosed(dialled)
    hold.release()
    assert.deepEqual(await call, { held: true })
    assert.equal(hold.runs(), 1)
    // once the call is over, nothing keeps it: it is closed after all
    await closed
    assert.equal(a.libp2p.getConnections(b.peerId).length, 0)
  })

  it('an idle connection dialled for an exchange is still closed when the node holds more than it keeps', async () => {
    const a = await net.node({ type: 'edge' })
    const b = await net.node({ type: 'edge' })
    let dialled: Connection | undefined
    const closer = new IdleCloser(() => true)
    await withPartner(wireOf(a), entryOf(b), { timeoutMs: 10_000, closer }, async (peer, signal) => {
      dialled = a.libp2p.getConnections(peer)[0]
      const own = await dialled?.newStream(sampleProtocol('edge'), { signal })
      await own?.close({ signal }).catch(() => {})
      own?.abort(new Error('done'))
    })
    // closed at once, or as soon as the gossip catch-up each new connection
    // runs is over, or (a stream that was still negotiating and became
    // upkeep ends with no event) at the sampler's next sweep
    await eventually(async () => { await closer.sweep(); return dialled?.status === 'closed' }, 'the idle connection to close', 20_000, 100)
    assert.equal(closer.lingering, 0)
    assert.equal(a.libp2p.getConnections(b.peerId).length, 0)
  })
})

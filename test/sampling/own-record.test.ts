/**
 * A node's own signed peer record: one per address set, handed out alike
 * by identify on every connection and in the node's own Cyclon entry, and
 * sealed again (a higher sequence number, the new address in it) as soon
 * as its addresses change. Before, identify sealed a new record for every
 * identify it answered, so every peer verified and stored a new one per
 * connection, and each receiver of an entry verified it again.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import { PeerRecord, RecordEnvelope } from '@libp2p/peer-record'
import { TestNet } from '../fixtures/nodes.ts'
import { eventually, waitForEvent } from '../fixtures/wait.ts'
import type { TempusNode } from '../../src/node/tempus-node.ts'

const MANUAL = { sampling: { edge: { period: '1h' }, bridge: { period: '1h' }, sentinel: { period: '1h' } }, liveness: { maintainInterval: '1h' } }

/** the record `holder`'s peer store holds for `of`: its bytes, sequence number and addresses */
async function recordAt (holder: TempusNode, of: TempusNode): Promise<{ bytes: string, seq: bigint, addrs: string[] } | undefined> {
  const envelope = (await holder.libp2p.peerStore.get(of.peerId)).peerRecordEnvelope
  if (envelope == null) {
    return undefined
  }
  const record = PeerRecord.createFromProtobuf(RecordEnvelope.createFromProtobuf(envelope).payload)
  return { bytes: Buffer.from(envelope).toString('base64'), seq: record.seqNumber, addrs: record.multiaddrs.map(String) }
}

/** a new connection from `from` to `to`, identified at `from` */
async function reconnect (from: TempusNode, to: TempusNode): Promise<void> {
  await from.libp2p.hangUp(to.peerId)
  const identified = waitForEvent(from.libp2p, 'peer:identify', evt => evt.detail.peerId.equals(to.peerId))
  await from.libp2p.dial(multiaddr(to.getMultiaddrs()[0] as string))
  await identified
}

describe('a node\'s own peer record', () => {
  const net = new TestNet()
  after(async () => { await net.stop() })

  it('is the same bytes on every connection and in its own entry until an address changes; then a newer one with the new address', async () => {
    const a = await net.node({ type: 'sentinel', ...MANUAL })
    const b = await net.node({ type: 'edge', bootstrap: a.getMultiaddrs(), ...MANUAL })
    await eventually(async () => await recordAt(b, a), 'b holds a record of a')
    // (the very first identify may answer before a sealed its record at start: libp2p's own then)
    await eventually(() => (a.sampling as any).ownRecord != null, 'a sealed its record')
    await reconnect(b, a)
    const first = await recordAt(b, a)
    assert.ok(first != null)
    for (let i = 0; i < 3; i++) {
      await reconnect(b, a)
      assert.deepEqual(await recordAt(b, a), first, `identify ${i + 2} handed out the same record`)
    }
    // the node's own Cyclon entry carries those very bytes
    const own = (a.sampling as unknown as { selfEntry: () => { record: Uint8Array } }).selfEntry()
    assert.equal(Buffer.from(own.record).toString('base64'), first.bytes)

    // an address is added (confirmed as observed): sealed again at once, the next identify hands out the new one
    const extra = '/ip4/10.77.0.1/tcp/4001'
    const components = (a.libp2p as any).components
    components.addressManager.addObservedAddr(multiaddr(extra))
    components.addressManager.confirmObservedAddr(multiaddr(extra), { type: 'observed' })
    await eventually(() => (a.sampling as any).ownRecord?.addrs?.includes(extra) === true, 'a sealed a record with the new address')
    await reconnect(b, a)
    const second = await recordAt(b, a)
    assert.ok(second != null && second.seq > first.seq, 'a higher sequence number')
    assert.ok(second.addrs.includes(extra), `the new address is in it: ${second.addrs.join(', ')}`)
  })
})

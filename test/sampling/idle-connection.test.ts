import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { IdleCloser, isIdle, keepsConnection } from '../../src/sampling/idle-connection.ts'
import { REFRESH_PROTOCOL } from '../../src/admission/constants.ts'
import { RPC_PROTOCOL } from '../../src/rpc/constants.ts'
import { cyclonProtocol, sampleProtocol } from '../../src/sampling/constants.ts'
import type { ConnectionLike, StreamLike } from '../../src/sampling/idle-connection.ts'

class FakeStream extends EventTarget implements StreamLike {
  constructor (public protocol: string, public status = 'open') { super() }
  end (): void { this.status = 'closed'; this.dispatchEvent(new Event('close')) }
}

function fakeConnection (streams: FakeStream[]): ConnectionLike & { closes: number } {
  const c = {
    status: 'open',
    streams,
    closes: 0,
    close: async () => { c.closes++; c.status = 'closed' },
    abort: () => { c.status = 'closed' }
  }
  return c
}

describe('closing only idle connections (pure)', () => {
  it('upkeep streams do not keep a connection; any other stream, or one still negotiating, does', () => {
    for (const p of ['/ipfs/id/1.0.0', '/ipfs/id/push/1.0.0', '/ipfs/ping/1.0.0', '/meshsub/1.2.0', '/meshsub/1.1.0', REFRESH_PROTOCOL]) {
      assert.equal(keepsConnection({ protocol: p, status: 'open' }), false, p)
    }
    for (const p of [RPC_PROTOCOL, '/tempus/dtn/1.0.0', '/tempus/anomaly/catchup/1.0.0', '/tempus/kad/1.0.0', cyclonProtocol('edge'), sampleProtocol('bridge'), '']) {
      assert.equal(keepsConnection({ protocol: p, status: 'open' }), true, p)
    }
    assert.equal(keepsConnection({ status: 'open' }), true, 'no protocol yet')
    assert.equal(keepsConnection({ protocol: RPC_PROTOCOL, status: 'closed' }), false)
    assert.equal(keepsConnection({ protocol: RPC_PROTOCOL, status: 'reset' }), false)
    assert.equal(isIdle({ streams: [{ protocol: '/meshsub/1.2.0' }, { protocol: '/ipfs/id/1.0.0' }] }), true)
    assert.equal(isIdle({ streams: [{ protocol: '/meshsub/1.2.0' }, { protocol: RPC_PROTOCOL }] }), false)
  })

  it('an idle connection closes at once, a busy one when its last busy stream ends, and only while wanted', async () => {
    const closer = new IdleCloser(() => true)
    const idle = fakeConnection([new FakeStream('/meshsub/1.2.0')])
    await closer.release(idle)
    assert.equal(idle.closes, 1)

    const rpc = new FakeStream(RPC_PROTOCOL)
    const dtn = new FakeStream('/tempus/dtn/1.0.0')
    const busy = fakeConnection([rpc, dtn, new FakeStream('/ipfs/ping/1.0.0')])
    await closer.release(busy)
    assert.equal(busy.closes, 0)
    assert.equal(closer.lingering, 1)
    rpc.end()
    await new Promise(resolve => setImmediate(resolve))
    assert.equal(busy.closes, 0, 'the DTN session still uses it')
    dtn.end()
    await new Promise(resolve => setImmediate(resolve))
    assert.equal(busy.closes, 1)
    assert.equal(closer.lingering, 0)

    let wanted = true
    const choosy = new IdleCloser(() => wanted)
    const call = new FakeStream(RPC_PROTOCOL)
    const kept = fakeConnection([call])
    await choosy.release(kept)
    wanted = false // the node holds no more than it keeps now
    call.end()
    await new Promise(resolve => setImmediate(resolve))
    assert.equal(kept.closes, 0)
    wanted = true // and more again: the sweep closes it
    await choosy.sweep()
    assert.equal(kept.closes, 1)
  })

  it('a connection released `always` (a hub the node does not keep) closes once idle even while the node holds no more than it keeps', async () => {
    const closer = new IdleCloser(() => false)
    const partner = fakeConnection([new FakeStream('/meshsub/1.2.0')])
    await closer.release(partner)
    assert.equal(partner.closes, 0, 'not wanted: left open')
    const hub = fakeConnection([new FakeStream('/meshsub/1.2.0')])
    await closer.release(hub, { always: true })
    assert.equal(hub.closes, 1, 'a hub not kept: closed')
    const call = new FakeStream(RPC_PROTOCOL)
    const busyHub = fakeConnection([call])
    await closer.release(busyHub, { always: true })
    assert.equal(busyHub.closes, 0, 'busy: kept until the call ends')
    call.end()
    await new Promise(resolve => setImmediate(resolve))
    assert.equal(busyHub.closes, 1)
  })

  it('a stream still negotiating keeps the connection; once it turned out upkeep, the sweep closes it', async () => {
    const closer = new IdleCloser(() => true)
    const negotiating = new FakeStream('')
    const c = fakeConnection([negotiating])
    await closer.release(c)
    assert.equal(c.closes, 0)
    negotiating.protocol = '/meshsub/1.2.0' // no event: gossipsub's stream stays open
    await closer.sweep()
    assert.equal(c.closes, 1)
    assert.equal(closer.lingering, 0)
  })
})

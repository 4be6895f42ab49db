/**
 * A redial that overtakes the old connection's close. libp2p announces
 * `peer:disconnect` when a peer's last open connection closes; a new
 * connection admitted a moment before, still selecting its muxer, is not
 * open yet and does not count. The admission made for it must survive
 * that event, or the new connection lives without it (RPC sees no type,
 * DTN and sampling no member). The race is built, not waited for: the old
 * connection is cut the moment the new one is admitted.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { TestNet } from '../fixtures/nodes.ts'
import { eventually } from '../fixtures/wait.ts'
import type { TempusNode } from '../../src/node/tempus-node.ts'

describe('a redial that overtakes the old connection\'s close', () => {
  const net = new TestNet()
  let server: TempusNode
  let edge: TempusNode
  before(async () => {
    server = await net.statusServer()
    edge = await net.node({ type: 'edge', bootstrap: server.getMultiaddrs(), connections: { minConnections: 0 } })
  })
  after(async () => { await net.stop() })

  it('keeps the admission made for the new connection through the old one\'s peer:disconnect', async () => {
    const id = edge.peerId.toString()
    await eventually(() => server.admission.admitted.has(id) && server.libp2p.getConnections(edge.peerId).length === 1, 'one admitted connection')
    const old = server.libp2p.getConnections(edge.peerId)[0]
    assert.ok(old != null)
    let disconnectedBeforeOpen = false
    server.libp2p.addEventListener('peer:disconnect', evt => {
      if (evt.detail.toString() === id && server.libp2p.getConnections(edge.peerId).length === 0) disconnectedBeforeOpen = true
    })
    // the moment the new connection is admitted (its muxer not chosen yet), the old one goes
    const cutOld = (evt: CustomEvent<{ peer: string, refreshed: boolean }>): void => {
      if (evt.detail.peer !== id || evt.detail.refreshed) return
      server.admission.removeEventListener('admitted', cutOld)
      old.abort(new Error('the old connection went'))
    }
    server.admission.addEventListener('admitted', cutOld)
    await edge.libp2p.dial(server.peerId, { force: true })
    await eventually(() => server.libp2p.getConnections(edge.peerId).some(c => c.status === 'open' && c.id !== old.id), 'the new connection open at the server')
    assert.equal(disconnectedBeforeOpen, true, 'the race happened: the peer had no open connection between the two')
    assert.equal(server.admission.admitted.has(id), true, 'the new connection kept its admission')
    assert.equal(server.admission.admitted.get(id)?.claims.typ, 'edge')
    assert.equal(await edge.rpc.call(server.peerId, 'status.get'), 'up', 'and RPC knows its type')
  })
})

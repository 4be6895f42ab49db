import assert from 'node:assert/strict'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { KAD_PROTOCOL } from '../../src/node/constants.ts'
import { ConfigError } from '../../src/node/errors.ts'
import { createTempusNode } from '../../src/node/tempus-node.ts'
import { TestNet } from '../fixtures/nodes.ts'
import { eventually, waitForEvent } from '../fixtures/wait.ts'

describe('tempus node', () => {
  const net = new TestNet()
  after(async () => { await net.stop() })

  it('rejects an invalid config before touching the network', async () => {
    await assert.rejects(createTempusNode({ type: 'edge', connections: { maxConnections: -1 } } as any), (err: Error) =>
      err instanceof ConfigError && err.field === 'connections.maxConnections')
  })

  it('speaks the private DHT protocol only, in server mode for sentinels and client mode for edges', async () => {
    const sentinel = await net.node({ type: 'sentinel' })
    const edge = await net.node({ type: 'edge', bootstrap: sentinel.getMultiaddrs() })
    const protocols = sentinel.libp2p.getProtocols()
    assert.ok(protocols.includes(KAD_PROTOCOL))
    assert.ok(!protocols.includes('/ipfs/kad/1.0.0'))
    assert.equal(sentinel.status().dhtMode, 'server')
    assert.equal(edge.status().dhtMode, 'client')
    assert.ok(!edge.libp2p.getProtocols().includes(KAD_PROTOCOL), 'a DHT client does not serve the DHT')
    await eventually(() => edge.libp2p.getPeers().some(p => p.equals(sentinel.peerId)), 'edge connected to sentinel')
    assert.ok(sentinel.libp2p.services.pubsub != null)
  })

  it('learns peer types from their verified tokens and reports peers with last-seen times', async () => {
    const sentinel = await net.node({ type: 'sentinel' })
    const bridge = await net.node({ type: 'bridge', bootstrap: sentinel.getMultiaddrs() })
    const peers = await eventually(async () => {
      const list = await bridge.peers()
      const s = list.find(p => p.peerId === sentinel.peerId.toString())
      return s?.type === 'sentinel' ? list : undefined
    }, 'bridge to learn the sentinel type')
    const s = peers.find(p => p.peerId === sentinel.peerId.toString())
    assert.equal(s?.connected, true)
    assert.ok(s?.lastSeen != null && !Number.isNaN(Date.parse(s.lastSeen)))
    assert.ok((s?.addresses.length ?? 0) > 0)
    assert.equal(s?.lastConnectionEnd, null, 'no connection to it ended yet')
  })

  it('says how the last connection to each peer ended: aborted here with its cause, and the peer saw the cut', async () => {
    const sentinel = await net.node({ type: 'sentinel' })
    const edge = await net.node({ type: 'edge', bootstrap: sentinel.getMultiaddrs() })
    const connection = await eventually(() => edge.libp2p.getConnections(sentinel.peerId)[0], 'the edge to connect')
    const ended = waitForEvent(sentinel.libp2p, 'connection:close', evt => evt.detail.remotePeer.equals(edge.peerId))
    connection.abort(new Error('an operator test'))
    await ended
    const here = (await edge.peers()).find(p => p.peerId === sentinel.peerId.toString())?.lastConnectionEnd
    assert.equal(here?.how, 'aborted')
    assert.equal(here?.cause, 'Error: an operator test')
    assert.ok(here != null && !Number.isNaN(Date.parse(here.at)))
    const there = (await sentinel.peers()).find(p => p.peerId === edge.peerId.toString())?.lastConnectionEnd
    assert.notEqual(there, null, 'the sentinel saw it end too')
    // the socket's end at the sentinel: a reset or an ECONNRESET, never the edge's own reason
    assert.notEqual(there?.cause, 'Error: an operator test', `the edge's reason is not sent: ${JSON.stringify(there)}`)
    assert.ok(there != null && (there.how === 'reset' || /ECONNRESET|reset/i.test(there.cause) || there.how === 'closed'), JSON.stringify(there))
  })

  it('keeps its PeerId and its known peers across a restart, and reconnects on its own', async () => {
    const dataDir = await net.tempDir()
    const sentinel = await net.node({ type: 'sentinel' })
    const first = await net.node({ type: 'edge', bootstrap: sentinel.getMultiaddrs(), options: { dataDir, passphrase: 'test-pass', scryptN: 1 << 10 } })
    const id = first.peerId.toString()
    await eventually(async () => (await first.peers()).find(p => p.peerId === sentinel.peerId.toString())?.type === 'sentinel', 'sentinel type stored')
    assert.equal((await stat(join(dataDir, 'identity.key'))).mode & 0o777, 0o600)
    assert.equal((await stat(join(dataDir, 'api-token'))).mode & 0o777, 0o600)
    await first.stop()
    await eventually(() => sentinel.libp2p.getPeers().length === 0, 'sentinel to see the edge leave')

    // no bootstrap list this time: the persisted peer store is all it has
    const reconnected = waitForEvent(sentinel.libp2p, 'peer:connect', evt => evt.detail.toString() === id)
    const second = await net.node({ type: 'edge', options: { dataDir, passphrase: 'test-pass' } })
    assert.equal(second.peerId.toString(), id)
    await reconnected
  })

  it('writes a runtime file while running and removes it on stop', async () => {
    const dataDir = await net.tempDir()
    const node = await net.node({ type: 'edge', api: { enabled: true }, options: { dataDir, passphrase: 'p', scryptN: 1 << 10 } })
    const info = JSON.parse(await readFile(join(dataDir, 'node.json'), 'utf8'))
    assert.equal(info.peerId, node.peerId.toString())
    assert.equal(info.api, node.api?.url)
    await node.stop()
    await assert.rejects(stat(join(dataDir, 'node.json')), { code: 'ENOENT' })
  })
})

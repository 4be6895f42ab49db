import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { TestNet } from '../fixtures/nodes.ts'
import type { TempusNode } from '../../src/node/tempus-node.ts'
import { eventually, waitForEvent } from '../fixtures/wait.ts'
import { revokeNewMember } from '../fixtures/issuer.ts'
import { probeConnection } from '../../src/liveness/probe.ts'
import { addressSnapshot } from '../../src/liveness/network-change.ts'

/** yamux under a libp2p connection (a private field): where a test makes a peer answer its pings late, or never */
function muxerOf (connection: unknown): { handlePing: (header: unknown) => void } {
  return (connection as { muxer: { handlePing: (header: unknown) => void } }).muxer
}

/** The node's network watcher reads `table` from now on (set by the returned function), starting from `initial`: a test's own interface changes. */
function fakeInterfaces (node: TempusNode, initial: Record<string, any[]>): (next: Record<string, any[]>) => void {
  let table = initial
  const watcher = node.libp2p.services.network as any
  watcher.readInterfaces = () => table
  watcher.snapshot = addressSnapshot(initial)
  return next => { table = next }
}

const ETH0 = { eth0: [{ address: '10.1.0.2', family: 'IPv4', internal: false }] }

describe('liveness and reconnection', () => {
  const net = new TestNet()
  after(async () => { await net.stop() })

  it('peers reconnect on their own when a sentinel stops and starts again on the same address', async () => {
    const dataDir = await net.tempDir()
    const opts = { dataDir, passphrase: 'p', scryptN: 1 << 10 }
    const first = await net.node({ type: 'sentinel', options: opts })
    const port = Number(/\/tcp\/(\d+)/.exec(first.getMultiaddrs()[0] ?? '')?.[1])
    const edges = await Promise.all([1, 2, 3].map(async () => net.node({ type: 'edge', bootstrap: first.getMultiaddrs(), connections: { minConnections: 1 } })))
    await eventually(() => first.libp2p.getPeers().length === 3, 'three edges connected')
    const id = first.peerId

    const dropped = edges.map(async e => waitForEvent(e.libp2p, 'peer:disconnect', evt => evt.detail.equals(id)))
    await first.stop()
    await Promise.all(dropped)

    const back = edges.map(async e => waitForEvent(e.libp2p, 'peer:connect', evt => evt.detail.equals(id), 30_000))
    const second = await net.node({ type: 'sentinel', listen: [`/ip4/127.0.0.1/tcp/${port}`], options: opts })
    assert.ok(second.peerId.equals(id), 'same identity')
    await Promise.all(back)
    await eventually(() => second.libp2p.getPeers().length === 3, 'the sentinel to count all three edges')
  })

  it('a peer it could not reach coming back brings the other redials forward: one way across a healed cut is enough', async () => {
    // A keeps B and C. Both go away; A's redials of each fail and its
    // backoff grows to 100 s. Both come back on their addresses; only B
    // reaches out to A. A redials C at once, not 100 s later.
    const quiet = { sampling: { edge: { period: '1h' }, bridge: { period: '1h' }, sentinel: { period: '1h' } }, connections: { minConnections: 0 } }
    const a = await net.node({ ...quiet, redial: { initialDelay: '100ms', factor: 1000, maxDelay: '10m', jitter: 0, earlyFor: '0s' } })
    const keys = await Promise.all([0, 1].map(async () => await generateKeyPair('Ed25519')))
    const enrolled = await Promise.all(keys.map(async k => await net.enroll(k, 'edge')))
    const start = async (i: number, listen?: string[]): Promise<TempusNode> => await net.node({ ...quiet, ...(listen == null ? {} : { listen }), options: { privateKey: keys[i], enrollment: enrolled[i] } })
    let [b, c] = [await start(0), await start(1)]
    const addrs = [b, c].map(n => n.getMultiaddrs().map(m => m.replace(/\/p2p\/.*$/, '')))
    for (const n of [b, c]) {
      await a.libp2p.dial(n.libp2p.getMultiaddrs())
      a.libp2p.services.keeper.keep(n.peerId)
    }
    const [idB, idC] = [b.peerId, c.peerId]
    await Promise.all([b.stop(), c.stop()])
    // A's redials of each have failed twice (after 0.1 s, then 0.1 s more): the next is 100 s away
    await eventually(() => [idB, idC].every(id => (a.libp2p.services.keeper.redialOf(id)?.failures ?? 0) >= 2), 'two failed redials of each')
    const next = a.libp2p.services.keeper.redialOf(idC)
    assert.ok(next != null && next.nextAt - Date.now() > 60_000, 'C\'s next redial is far away')

    const backToC = waitForEvent(a.libp2p, 'peer:connect', evt => evt.detail.equals(idC), 20_000)
    ;[b, c] = [await start(0, addrs[0]), await start(1, addrs[1])]
    await b.libp2p.dial(a.libp2p.getMultiaddrs())
    await backToC
    assert.equal(a.libp2p.services.keeper.redialOf(idC), undefined, 'C is connected, its backoff forgotten')
  })

  it('early in a kept peer\'s absence its redials stay close together, whatever the backoff has grown to (a partition that heals in a minute is crossed in seconds)', async () => {
    // issue #20: after a 60 s partition the chaos run's nodes waited up to 56 s to cross, their backoffs grown to 30 s
    const quiet = { sampling: { edge: { period: '1h' }, bridge: { period: '1h' }, sentinel: { period: '1h' } }, connections: { minConnections: 0 } }
    const a = await net.node({ ...quiet, redial: { initialDelay: '100ms', factor: 1000, maxDelay: '10m', jitter: 0, earlyMaxDelay: '300ms' } })
    const b = await net.node(quiet)
    await a.libp2p.dial(b.libp2p.getMultiaddrs())
    a.libp2p.services.keeper.keep(b.peerId)
    await b.stop()
    // without the early cap the third redial would be 100 s after the second
    await eventually(() => (a.libp2p.services.keeper.redialOf(b.peerId)?.failures ?? 0) >= 4, 'four failed redials of the kept peer', 20_000)
    const next = a.libp2p.services.keeper.redialOf(b.peerId)
    assert.ok(next != null && next.nextAt - Date.now() <= 300, `the next redial is at most 300 ms away: ${next == null ? 'none' : next.nextAt - Date.now()} ms`)
  })

  it('a redial the node\'s own dial budget holds back is a deferral, not a failure: it runs when the budget allows and the backoff does not grow', async () => {
    // A keeps B; B goes away and A's three redials spend the address's budget (3 at once, then one per 5 s).
    // B comes back and A is told to redial now (as a new epoch or an outage's end does): the budget
    // says wait, and A dials when it allows, not after a backoff grown by a failure nobody made
    const quiet = { sampling: { edge: { period: '1h' }, bridge: { period: '1h' }, sentinel: { period: '1h' } }, connections: { minConnections: 0 } }
    const a = await net.node({ ...quiet, redial: { initialDelay: '100ms', factor: 10, maxDelay: '10m', jitter: 0, earlyFor: '0s' } })
    const key = await generateKeyPair('Ed25519')
    const enrolled = await net.enroll(key, 'edge')
    let b = await net.node({ ...quiet, options: { privateKey: key, enrollment: enrolled } })
    const addr = b.getMultiaddrs().map(m => m.replace(/\/p2p\/.*$/, ''))
    const keeper = a.libp2p.services.keeper
    await a.libp2p.dial(b.libp2p.getMultiaddrs())
    keeper.keep(b.peerId)
    const id = b.peerId
    await b.stop()
    // three redials (0.1 s, 1 s, then 10 s apart): the address's budget is spent
    await eventually(() => (keeper.redialOf(id)?.failures ?? 0) >= 3, 'three failed redials')
    b = await net.node({ ...quiet, listen: addr, options: { privateKey: key, enrollment: enrolled } })
    const seen = new Set<string>()
    const watch = setInterval(() => { const e = keeper.redialOf(id)?.lastError; if (e != null) seen.add(e.split(':')[0] ?? e) }, 5)
    try {
      const back = waitForEvent(a.libp2p, 'peer:connect', evt => evt.detail.equals(id), 20_000)
      await keeper.reconnectNow()
      await back
    } finally {
      clearInterval(watch)
    }
    assert.ok(!seen.has('DialBudgetError'), `no failure was counted for the budget's wait (seen: ${[...seen].join(', ')})`)
  })

  it('a peer a network fault took is redialled though not kept; a peer whose connection was closed is not (issue #20: a healed partition is crossed again by every node)', async () => {
    const quiet = { sampling: { edge: { period: '1h' }, bridge: { period: '1h' }, sentinel: { period: '1h' } }, connections: { minConnections: 0 } }
    const a = await net.node({ ...quiet, liveness: { pingInterval: '200ms', pingTimeout: '300ms' } })
    const [b, c] = [await net.node(quiet), await net.node(quiet)]
    for (const n of [b, c]) {
      await a.libp2p.dial(n.libp2p.getMultiaddrs())
    }
    assert.equal(a.libp2p.services.keeper.keptSentinels.size, 0, 'A keeps nobody')

    // C's connection is closed: a decision, not a fault
    const goneC = waitForEvent(a.libp2p, 'peer:disconnect', evt => evt.detail.equals(c.peerId))
    await Promise.all(a.libp2p.getConnections(c.peerId).map(async x => { await x.close() }))
    await goneC

    // B stops answering pings on its connection to A: A's ping monitor ends it, and A dials B again
    for (const x of b.libp2p.getConnections(a.peerId)) {
      muxerOf(x).handlePing = () => {}
    }
    await b.libp2p.unhandle('/ipfs/ping/1.0.0')
    await b.libp2p.handle('/ipfs/ping/1.0.0', () => {})
    const lostB = waitForEvent(a.libp2p, 'peer:disconnect', evt => evt.detail.equals(b.peerId), 20_000)
    const backB = waitForEvent(a.libp2p, 'peer:connect', evt => evt.detail.equals(b.peerId), 20_000)
    await lostB
    await eventually(() => a.libp2p.services.keeper.lostPeers().includes(b.peerId.toString()) || a.libp2p.getConnections(b.peerId).length > 0, 'B counted as lost')
    await backB
    const back = a.libp2p.getConnections(b.peerId)
    assert.ok(back.length > 0 && back.every(x => x.direction === 'outbound'), 'A dialled B again')
    assert.deepEqual(a.libp2p.services.keeper.lostPeers(), [], 'B is back: no longer lost')
    assert.equal(a.libp2p.getConnections(c.peerId).length, 0, 'C, closed, is not dialled')
    assert.equal(a.libp2p.services.keeper.redialOf(c.peerId), undefined, 'nor waiting for a redial')
  })

  it('drops a connection whose peer stops answering pings', async () => {
    const sentinel = await net.node({ type: 'sentinel', liveness: { pingInterval: '200ms', pingTimeout: '300ms' } })
    const edge = await net.node({ type: 'edge', bootstrap: sentinel.getMultiaddrs(), connections: { minConnections: 1 } })
    await eventually(() => sentinel.libp2p.getPeers().some(p => p.equals(edge.peerId)), 'edge connected')
    // the edge stops answering pings (its muxer swallows them, and its ping
    // handler too), so the sentinel's ping monitor judges the connection dead and aborts it
    for (const c of edge.libp2p.getConnections(sentinel.peerId)) {
      muxerOf(c).handlePing = () => {}
    }
    await edge.libp2p.unhandle('/ipfs/ping/1.0.0')
    await edge.libp2p.handle('/ipfs/ping/1.0.0', () => {})
    await waitForEvent(sentinel.libp2p, 'peer:disconnect', evt => evt.detail.equals(edge.peerId), 20_000)
  })

  it('keeps a connection whose peer answers pings slower than the ping interval: a ping still running is waited for, never doubled', async () => {
    // the CI failure of the outage test: a heartbeat came while the last one
    // still waited for its answer, libp2p refused a second outbound ping
    // stream (TooManyOutboundProtocolStreamsError), and its connection
    // monitor aborted an honest connection for it
    const sentinel = await net.node({ type: 'sentinel', liveness: { pingInterval: '100ms', pingTimeout: '3s' } })
    const edge = await net.node({ type: 'edge', bootstrap: sentinel.getMultiaddrs(), connections: { minConnections: 1 } })
    const connection = await eventually(() => sentinel.libp2p.getConnections(edge.peerId)[0], 'edge connected')
    // the edge answers every ping, 400 ms late (four beats of the sentinel): the muxer's and the ping protocol's
    for (const c of edge.libp2p.getConnections(sentinel.peerId)) {
      const muxer = muxerOf(c)
      const answer = muxer.handlePing.bind(muxer)
      muxer.handlePing = (header: unknown) => { setTimeout(() => { try { answer(header) } catch {} }, 400) }
    }
    await edge.libp2p.unhandle('/ipfs/ping/1.0.0')
    await edge.libp2p.handle('/ipfs/ping/1.0.0', (stream) => {
      stream.addEventListener('message', (evt) => {
        const data = evt.data.subarray()
        setTimeout(() => { try { stream.send(data) } catch {} }, 400)
      })
    }, { maxInboundStreams: 4 })
    const monitor = sentinel.libp2p.services.liveness
    let pongs = 0
    let dropped = false
    // four answers, or the connection's end: whichever comes first
    await new Promise<void>(resolve => {
      monitor.addEventListener('dropped', () => { dropped = true; resolve() })
      connection.addEventListener('close', () => { resolve() })
      monitor.addEventListener('pong', (evt) => { if (evt.detail.connection === connection.id && ++pongs === 4) resolve() })
    })
    assert.equal(dropped, false, 'no connection dropped')
    assert.equal(connection.status, 'open')
    assert.ok(sentinel.libp2p.getConnections(edge.peerId).some(c => c.id === connection.id), 'the same connection')
    // (a 400 ms timer may end a millisecond short of 400 by Date.now)
    assert.ok((connection.rtt ?? 0) >= 390, `the round trip was measured: ${connection.rtt}`)
  })

  it('probes with the muxer\'s ping: no ping stream is opened, and an answer that comes after the probe gave up ends nothing', async () => {
    const sentinel = await net.node({ type: 'sentinel', liveness: { pingInterval: '100ms', pingTimeout: '300ms', pingFailures: 10 } })
    const edge = await net.node({ type: 'edge', bootstrap: sentinel.getMultiaddrs(), connections: { minConnections: 1 } })
    const connection = await eventually(() => sentinel.libp2p.getConnections(edge.peerId)[0], 'edge connected')
    let pingStreams = 0
    await edge.libp2p.unhandle('/ipfs/ping/1.0.0')
    await edge.libp2p.handle('/ipfs/ping/1.0.0', (stream) => {
      pingStreams++
      stream.addEventListener('message', (evt) => { try { stream.send(evt.data.subarray()) } catch {} })
    }, { maxInboundStreams: 4 })
    const monitor = sentinel.libp2p.services.liveness
    const pongs = async (n: number): Promise<void> => {
      await new Promise<void>((resolve, reject) => {
        let seen = 0
        connection.addEventListener('close', (evt: any) => { reject(new Error(`the connection closed: ${String(evt?.error?.name ?? '')} ${String(evt?.error?.message ?? '')} seen ${seen}`)) })
        monitor.addEventListener('pong', (evt) => { if (evt.detail.connection === connection.id && ++seen === n) resolve() })
      })
    }
    await pongs(3)
    assert.equal(pingStreams, 0, 'the edge was asked through no ping stream')
    // now every answer comes 600 ms late, after the probe (300 ms) gave up: the
    // late answer must not be taken for an unrequested one (a protocol error);
    // two or three failed probes between answers, ten allowed (a loaded machine)
    for (const c of edge.libp2p.getConnections(sentinel.peerId)) {
      const muxer = muxerOf(c)
      const answer = muxer.handlePing.bind(muxer)
      muxer.handlePing = (header: unknown) => { setTimeout(() => { try { answer(header) } catch {} }, 600) }
    }
    await pongs(3)
    assert.equal(connection.status, 'open')
    assert.ok(sentinel.libp2p.getConnections(edge.peerId).some(c => c.id === connection.id), 'the same connection')
  })

  it('a probe whose stream fails at once leaves no unhandled rejection behind', async () => {
    // the CI failure after the ping monitor landed: send threw on a stream the
    // remote had just reset, the probe gave up, and the stream's close then
    // rejected a promise nobody awaited any more. libp2p's streams throw from
    // send once closed for writing (StreamStateError); this one does at once.
    const unhandled: unknown[] = []
    const onUnhandled = (err: unknown): void => { unhandled.push(err) }
    process.on('unhandledRejection', onUnhandled)
    try {
      const stream = Object.assign(new EventTarget(), {
        send: () => { throw Object.assign(new Error('cannot write to a closed stream'), { name: 'StreamStateError' }) },
        abort: () => { stream.dispatchEvent(new Event('close')) }
      })
      const connection = { newStream: async () => stream } as any
      await assert.rejects(probeConnection(connection, 1_000), /closed stream/)
      await new Promise(resolve => setImmediate(resolve)) // one turn: where an unhandled rejection would surface
      assert.deepEqual(unhandled, [])
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
  })

  it('the network watcher probes connections on an address change and keeps the live ones', async () => {
    const sentinel = await net.node({ type: 'sentinel' })
    const edge = await net.node({ type: 'edge', bootstrap: sentinel.getMultiaddrs(), liveness: { networkPollInterval: '1h' } })
    await eventually(() => edge.libp2p.getPeers().length === 1, 'connected')
    const setInterfaces = fakeInterfaces(edge, ETH0)
    setInterfaces({ wlan0: [{ address: '10.2.0.7', family: 'IPv4', internal: false }] })
    const order: string[] = []
    edge.libp2p.services.network.addEventListener('network:addresses', () => { order.push('addresses') })
    edge.libp2p.services.network.addEventListener('network:change', () => { order.push('change') })
    const changed = waitForEvent(edge.libp2p.services.network, 'network:change')
    const change = await edge.libp2p.services.network.check()
    assert.deepEqual(change, { added: ['wlan0/10.2.0.7'], removed: ['eth0/10.1.0.2'] })
    const evt = await changed
    assert.equal(evt.detail.closed, 0, 'a loopback connection still answers, so it stays')
    assert.equal(edge.libp2p.getPeers().length, 1)
    assert.deepEqual(order, ['addresses', 'change'], 'what does not wait on the probes hears of the change first')
  })

  it('an address added asks the issuer at once for what the node may have missed: the revocation list is polled now, not at the next poll an hour on', async () => {
    const node = await net.node({ type: 'edge', admission: { crlPollInterval: '1h', pollWait: '0s' } })
    // the poll at start has been answered
    await eventually(() => node.admission.revocations.number >= 0, 'the first revocation list')
    const t = await net.issuer()
    const revoked = await revokeNewMember(t, 'network-change')
    assert.ok(!node.admission.revocations.isRevoked(revoked), 'nothing told the node yet')
    fakeInterfaces(node, {})(ETH0)
    await node.libp2p.services.network.check()
    await eventually(() => node.admission.revocations.isRevoked(revoked), 'the revocation, polled on the network change')
  })

  it('an address added is a way back: the redial backoffs grown meanwhile are forgotten; an address removed alone forgets none', async () => {
    const sentinel = await net.node({ type: 'sentinel' })
    const edge = await net.node({ type: 'edge', bootstrap: sentinel.getMultiaddrs(), liveness: { networkPollInterval: '1h' } })
    await eventually(() => edge.libp2p.getPeers().length === 1, 'connected')
    const setInterfaces = fakeInterfaces(edge, ETH0)
    const keeper = edge.libp2p.services.keeper
    await sentinel.stop()
    // the sentinel is kept: the edge redials it with a growing backoff, failing each time
    await eventually(() => (keeper.redialOf(sentinel.peerId)?.failures ?? 0) >= 3, 'three failed redials of the sentinel', 30_000)
    setInterfaces({})
    await edge.libp2p.services.network.check()
    assert.ok((keeper.redialOf(sentinel.peerId)?.failures ?? 0) >= 3, 'an address gone is no way back: the backoff stands')
    const before = keeper.redialOf(sentinel.peerId)?.failures ?? 0
    setInterfaces(ETH0)
    await edge.libp2p.services.network.check()
    assert.ok((keeper.redialOf(sentinel.peerId)?.failures ?? 0) < before, 'the backoff grown while the link was away is forgotten')
  })
})

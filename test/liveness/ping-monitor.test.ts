/**
 * The ping monitor's verdicts: a connection whose peer leaves two pings in
 * a row unanswered is aborted; a ping that went unanswered while this
 * node's own event loop ran late gives no verdict (issue #20: starved
 * sentinels aborted their own healthy links by the dozen). The starvation
 * is real (the test holds the event loop); the connection is one that
 * never answers, so the only question is whose fault the silence is.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { PingMonitor } from '../../src/liveness/ping-monitor.ts'
import { waitForEvent } from '../fixtures/wait.ts'
import type { Connection } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import { Registry } from 'prom-client'

/** hold the event loop for `ms`, as a starved host does */
const block = (ms: number): void => {
  const until = performance.now() + ms
  while (performance.now() < until) { /* starving */ }
}

/** A connection whose peer never answers: neither the muxer's ping nor a ping stream. */
async function silentConnection (): Promise<Connection & { aborted?: Error }> {
  const remotePeer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  const connection: any = {
    id: `silent-${Math.random().toString(36).slice(2)}`,
    status: 'open',
    remotePeer,
    muxer: { ping: async () => await new Promise<number>(() => {}) },
    newStream: async (_protocol: string, options: { signal: AbortSignal }) => await new Promise((_resolve, reject) => {
      options.signal.addEventListener('abort', () => { reject(options.signal.reason) }, { once: true })
    }),
    abort (err: Error) {
      connection.status = 'closed'
      connection.aborted = err
    }
  }
  return connection
}

function monitorOf (connection: Connection, registry?: Registry): PingMonitor {
  const connectionManager = { getConnections: () => connection.status === 'open' ? [connection] : [] } as unknown as ConnectionManager
  return new PingMonitor({ connectionManager, logger: defaultLogger() }, { intervalMs: 3_600_000, timeoutMs: 400, failuresToDrop: 2, registry })
}

describe('ping monitor', () => {
  it('aborts a connection whose peer leaves two pings in a row unanswered', async () => {
    const connection = await silentConnection()
    const monitor = monitorOf(connection)
    const missed = waitForEvent(monitor, 'missed', () => true, 5_000)
    monitor.beat()
    assert.equal((await missed).detail.failures, 1)
    assert.equal(connection.status, 'open', 'one lost ping is not a dead peer')
    const dropped = waitForEvent(monitor, 'dropped', () => true, 5_000)
    monitor.beat()
    assert.equal((await dropped).detail.failures, 2)
    assert.equal(connection.status, 'closed')
    assert.match(String(connection.aborted?.message), /no answer to 2 pings in a row/)
  })

  it('gives no verdict on a ping that went unanswered while this node\'s loop ran late', async () => {
    const connection = await silentConnection()
    const registry = new Registry()
    const monitor = monitorOf(connection, registry)
    let counted = 0
    monitor.addEventListener('missed', () => { counted++ })
    for (let i = 0; i < 3; i++) {
      const starved = waitForEvent(monitor, 'starved', () => true, 5_000)
      monitor.beat()
      // starved past the whole timeout while the ping waits
      block(700)
      const { detail } = await starved
      assert.ok(detail.lateMs >= 400, `late ${detail.lateMs} ms`)
      assert.equal(connection.status, 'open', `still open after ${i + 1} starved pings`)
    }
    assert.equal(counted, 0, 'no starved ping was counted')
    // on time again, the silence is the peer's: two failures and it goes
    const missed = waitForEvent(monitor, 'missed', () => true, 5_000)
    monitor.beat()
    assert.equal((await missed).detail.failures, 1)
    const dropped = waitForEvent(monitor, 'dropped', () => true, 5_000)
    monitor.beat()
    assert.equal((await dropped).detail.failures, 2)
    assert.equal(connection.status, 'closed')
    const metric = await registry.getSingleMetric('tempus_pings_total')?.get()
    const count = (outcome: string): number | undefined => metric?.values.find(v => v.labels.outcome === outcome)?.value
    assert.deepEqual([count('starved'), count('missed'), count('dropped'), count('pong')], [3, 2, 1, 0])
  })
})

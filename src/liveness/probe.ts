/**
 * Probe one connection (not "the peer") with a ping on that very connection,
 * so a connection left stale by a network change is told apart from a fresh
 * one to the same peer.
 *
 * At most one probe runs per connection: a second caller (the ping monitor
 * and the network watcher, or a beat that comes while the last one is still
 * waiting for a slow answer) shares the one in flight. The ping spec allows
 * a dialler one outbound ping stream per peer, and libp2p refuses a second
 * with TooManyOutboundProtocolStreamsError; read as a failed ping, that
 * collision used to abort honest connections under load.
 */
import { Uint8ArrayList } from 'uint8arraylist'
import type { Connection } from '@libp2p/interface'

export const PING_PROTOCOL = '/ipfs/ping/1.0.0'
const PING_LENGTH = 32

const inFlight = new WeakMap<Connection, Promise<number>>()

/**
 * A probe refused because a ping stream of ours is still open on that
 * connection (its removal trails its end by a tick): no verdict on the peer.
 */
export function isOwnPingStillOpen (err: unknown): boolean {
  return (err as Error | undefined)?.name === 'TooManyOutboundProtocolStreamsError'
}

/** Resolves with the round-trip time in ms; rejects when the probe fails or times out. */
export async function probeConnection (connection: Connection, timeoutMs: number): Promise<number> {
  const running = inFlight.get(connection)
  if (running != null) {
    return await running
  }
  const probe = ping(connection, timeoutMs).finally(() => { inFlight.delete(connection) })
  inFlight.set(connection, probe)
  return await probe
}

async function ping (connection: Connection, timeoutMs: number): Promise<number> {
  const signal = AbortSignal.timeout(timeoutMs)
  const data = crypto.getRandomValues(new Uint8Array(PING_LENGTH))
  const start = Date.now()
  const stream = await connection.newStream(PING_PROTOCOL, { signal })
  try {
    const received = new Uint8ArrayList()
    const done = new Promise<void>((resolve, reject) => {
      const fail = (): void => { reject(new Error('probe failed')) }
      signal.addEventListener('abort', fail, { once: true })
      stream.addEventListener('close', fail, { once: true })
      stream.addEventListener('message', (evt) => {
        received.append(evt.data)
        if (received.byteLength >= PING_LENGTH) {
          signal.removeEventListener('abort', fail)
          resolve()
        }
      })
    })
    // a rejection after we gave up (the stream closing under our own abort
    // below, a send that threw) must not surface as an unhandled rejection
    done.catch(() => {})
    stream.send(data)
    await done
    const echoed = received.subarray(0, PING_LENGTH)
    if (!echoed.every((b, i) => b === data[i])) {
      throw new Error('probe answered with the wrong bytes')
    }
    return Date.now() - start
  } finally {
    stream.abort(new Error('probe done'))
  }
}

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
 *
 * Where the connection's muxer can ping (yamux), the probe is the muxer's
 * ping: one 12-byte frame each way, where a ping stream costs a stream
 * opened and closed on both sides, protocol negotiation and five to six
 * encrypted frames. In an idle mesh those streams were more than half of
 * every stream opened (bench-process: 1.6 ping streams a second on an edge
 * with 8 connections, against 0.5 Cyclon shuffles and 0.5 sample
 * exchanges). It proves the same thing: the remote node's libp2p, on this
 * very connection, reads and answers.
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

/** the ping of a muxer that has one (yamux); libp2p's Connection keeps its muxer in a field of its own */
interface PingingMuxer {
  status?: string
  ping?: (options?: { signal?: AbortSignal }) => Promise<number>
}

async function ping (connection: Connection, timeoutMs: number): Promise<number> {
  const muxer = (connection as unknown as { muxer?: PingingMuxer }).muxer
  if (typeof muxer?.ping === 'function') {
    try {
      return await muxerPing(muxer as Required<Pick<PingingMuxer, 'ping'>>, timeoutMs)
    } catch {
      // no answer in time: a ping stream decides. Yamux keeps one ping out
      // at a time and never times out its own keep-alive ping, so one lost
      // answer would leave every later muxer ping waiting on it; the stream
      // ping judges the connection on its own, and the cost of the fallback
      // is paid only when the muxer was slow
    }
  }
  return await streamPing(connection, timeoutMs)
}

/**
 * The muxer's ping, given up on after `timeoutMs` but never aborted: yamux
 * forgets an aborted ping's id, and the answer arriving late would then be
 * an unrequested pong, a protocol error that ends an honest connection. A
 * ping left running is shared by the next probe (yamux sends no second
 * ping while one is out), as a slow ping stream was.
 */
async function muxerPing (muxer: Required<Pick<PingingMuxer, 'ping'>>, timeoutMs: number): Promise<number> {
  const answer = muxer.ping()
  answer.catch(() => {}) // given up on, it may still fail when the connection ends
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(Object.assign(new Error(`no answer to a muxer ping within ${timeoutMs} ms`), { name: 'TimeoutError' })) }, timeoutMs)
  })
  try {
    return await Promise.race([answer, late])
  } finally {
    clearTimeout(timer)
  }
}

async function streamPing (connection: Connection, timeoutMs: number): Promise<number> {
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

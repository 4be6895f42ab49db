/**
 * Probe one connection (not "the peer") with a ping on that very connection,
 * so a connection left stale by a network change is told apart from a fresh
 * one to the same peer.
 */
import { Uint8ArrayList } from 'uint8arraylist'
import type { Connection } from '@libp2p/interface'

export const PING_PROTOCOL = '/ipfs/ping/1.0.0'
const PING_LENGTH = 32

/** Resolves with the round-trip time in ms; rejects when the probe fails or times out. */
export async function probeConnection (connection: Connection, timeoutMs: number): Promise<number> {
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

/**
 * A TCP relay on 127.0.0.1 that holds every chunk for `oneWayMs` in each
 * direction: a link with a round trip of twice that, for benchmarks that
 * count round trips (this machine's kernel has no netem). It runs in a
 * worker thread, so its own work is not on the measured event loop.
 * Chunks leave in the order they came (timers of one duration fire in
 * order); a close follows the data before it.
 */
import { connect, createServer } from 'node:net'
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads'
import type { Socket } from 'node:net'

export interface DelayRelay {
  /** the relay's port: dial 127.0.0.1 on it in place of the target's */
  port: number
  stop: () => Promise<void>
}

/** Start a relay to 127.0.0.1:`targetPort`, each direction held `oneWayMs`. */
export async function startDelayRelay (targetPort: number, oneWayMs: number): Promise<DelayRelay> {
  const worker = new Worker(new URL(import.meta.url), { workerData: { targetPort, oneWayMs } })
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', (m: { port: number }) => { resolve(m.port) })
    worker.once('error', reject)
  })
  return { port, stop: async () => { await worker.terminate() } }
}

function relay (targetPort: number, oneWayMs: number): void {
  const later = (f: () => void): void => { setTimeout(f, oneWayMs) }
  const pipe = (from: Socket, to: Socket): void => {
    from.on('data', (chunk: Buffer) => { later(() => { if (!to.destroyed) to.write(chunk) }) })
    from.on('end', () => { later(() => { to.end() }) })
    from.on('close', () => { later(() => { to.destroy() }) })
    from.on('error', () => {})
  }
  const server = createServer(inbound => {
    const outbound = connect(targetPort, '127.0.0.1')
    inbound.setNoDelay(true)
    outbound.setNoDelay(true)
    pipe(inbound, outbound)
    pipe(outbound, inbound)
  })
  server.listen(0, '127.0.0.1', () => {
    const address = server.address()
    parentPort?.postMessage({ port: typeof address === 'object' && address != null ? address.port : 0 })
  })
}

if (!isMainThread && workerData?.targetPort != null) {
  relay(workerData.targetPort as number, workerData.oneWayMs as number)
}

/**
 * What the admin API and the issuer API share: JSON answers, listening on a
 * host and port, and closing with every connection dropped.
 */
import type { Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export function json (res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' })
  res.end(JSON.stringify(body))
}

export interface Listening {
  /** `host:port` as a URL authority (IPv6 in brackets) */
  authority: string
  port: number
  close(): Promise<void>
}

export async function listen (server: Server, host: string, port: number): Promise<Listening> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address() as AddressInfo
  const authority = `${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`
  return {
    authority,
    port: address.port,
    async close () {
      await new Promise<void>(resolve => {
        server.close(() => { resolve() })
        server.closeAllConnections()
      })
    }
  }
}

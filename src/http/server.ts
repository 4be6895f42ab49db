/**
 * What the admin API and the issuer API share: JSON answers, listening on a
 * host and port, and closing with every connection dropped.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
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

/** A request body that is not a bounded JSON object; the message is safe to show the caller. */
export class BodyError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'BodyError'
  }
}

/** Read a JSON object of at most `maxBytes`; throws a `BodyError` saying what is wrong. */
export async function readJsonObject (req: IncomingMessage, maxBytes: number): Promise<Record<string, unknown>> {
  const type = req.headers['content-type'] ?? ''
  if (!type.startsWith('application/json')) {
    throw new BodyError('send application/json')
  }
  if (Number(req.headers['content-length'] ?? 0) > maxBytes) {
    throw new BodyError('body too large')
  }
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > maxBytes) {
      throw new BodyError('body too large')
    }
    chunks.push(chunk as Buffer)
  }
  let value: unknown
  try {
    value = JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch {
    value = undefined
  }
  if (value == null || typeof value !== 'object' || Array.isArray(value)) {
    throw new BodyError('the body is not a JSON object')
  }
  return value as Record<string, unknown>
}

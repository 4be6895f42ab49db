/**
 * The issuer's HTTP API (loopback by default; HTTPS when given a cert and a
 * key). JSON in and out, bodies capped, rate limits per address and per
 * peer, errors as `{ "error": code }`: clear for an honest client, nothing
 * more for anyone else.
 */
import { createServer as createHttpServer } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { RateLimiter } from '@libp2p/utils'
import { BodyError, json, listen, readJsonObject } from '../http/server.ts'
import { IssuerError } from './errors.ts'
import type { Issuer } from './issuer.ts'
import type { PinoLogger } from '../logging/logger.ts'
import type { IncomingMessage, ServerResponse, Server } from 'node:http'

export interface IssuerHttpInit {
  issuer: Issuer
  host?: string
  port?: number
  /** PEM; both or neither */
  tls?: { cert: string, key: string }
  log: PinoLogger
  /** requests per second per client address on the POST endpoints */
  perAddressPerSecond?: number
  /** token requests per minute per peer */
  perPeerPerMinute?: number
}

export interface IssuerHttp {
  url: string
  close(): Promise<void>
}

const MAX_BODY = 16 * 1024

const STATUS: Record<string, number> = {
  'bad-request': 400,
  'invalid-code': 403,
  'invalid-challenge': 403,
  'invalid-proof': 403,
  'attestation-failed': 403,
  'invalid-credential': 403,
  revoked: 403,
  'not-found': 404,
  conflict: 409,
  'rate-limited': 429
}

export async function startIssuerHttp (init: IssuerHttpInit): Promise<IssuerHttp> {
  const { issuer, log } = init
  const perAddress = new RateLimiter({ points: init.perAddressPerSecond ?? 200, duration: 1 })
  const perPeer = new RateLimiter({ points: init.perPeerPerMinute ?? 60, duration: 60 })

  const limit = (limiter: RateLimiter, key: string): void => {
    try {
      limiter.consume(key, 1)
    } catch {
      throw new IssuerError('rate-limited', 'too many requests; retry later')
    }
  }

  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://issuer')
    const path = url.pathname
    const address = req.socket.remoteAddress ?? 'unknown'
    if (req.method === 'GET') {
      if (path === '/healthz') {
        return json(res, 200, { status: 'ok' })
      }
      if (path === '/v1/keys') {
        return json(res, 200, issuer.keys())
      }
      if (path === '/v1/overlay') {
        return json(res, 200, issuer.overlayConfig())
      }
      if (path === '/v1/crl') {
        const crl = issuer.revocationList()
        const etag = `"${crl.n}"`
        res.setHeader('etag', etag)
        if (req.headers['if-none-match'] === etag) {
          res.writeHead(304)
          res.end()
          return
        }
        return json(res, 200, crl)
      }
      if (path.startsWith('/v1/revoke/')) {
        return json(res, 200, issuer.revocationRequest(decodeURIComponent(path.slice('/v1/revoke/'.length))))
      }
      if (path === '/v1/audit/checkpoint') {
        limit(perAddress, address)
        return json(res, 200, issuer.audit.checkpoint())
      }
      if (path === '/v1/audit/checkpoints') {
        return json(res, 200, { checkpoints: issuer.audit.checkpoints() })
      }
      if (path === '/v1/audit/consistency') {
        limit(perAddress, address)
        const from = Number(url.searchParams.get('from'))
        const to = Number(url.searchParams.get('to'))
        if (!Number.isInteger(from) || !Number.isInteger(to) || from < 1 || to < from || to > issuer.audit.size) {
          throw new IssuerError('bad-request', 'from and to must be sizes with 1 ≤ from ≤ to ≤ the log size')
        }
        return json(res, 200, { from, to, proof: issuer.audit.consistency(from, to) })
      }
      if (path === '/v1/audit/entries') {
        const from = Number(url.searchParams.get('from') ?? 0)
        const count = Math.min(1000, Number(url.searchParams.get('limit') ?? 100))
        if (!Number.isInteger(from) || from < 0 || !Number.isInteger(count) || count < 1) {
          throw new IssuerError('bad-request', 'from ≥ 0 and 1 ≤ limit ≤ 1000')
        }
        return json(res, 200, { entries: issuer.audit.entries(from, count) })
      }
      throw new IssuerError('not-found', 'no such endpoint')
    }
    if (req.method !== 'POST') {
      res.setHeader('allow', 'GET, POST')
      return json(res, 405, { error: 'method-not-allowed' })
    }
    limit(perAddress, address)
    const body = await readJson(req)
    if (path === '/v1/challenge') {
      return json(res, 200, { challenge: issuer.challenge() })
    }
    if (path === '/v1/enroll') {
      return json(res, 200, await issuer.enroll(body))
    }
    if (path === '/v1/token') {
      // per peer: the credential's subject, once its signature and proof verified
      return json(res, 200, await issuer.token(body, peerId => { limit(perPeer, peerId) }))
    }
    if (path === '/v1/revoke') {
      return json(res, 200, await issuer.approve(String(body?.request ?? ''), String(body?.adminKey ?? ''), String(body?.signature ?? '')))
    }
    throw new IssuerError('not-found', 'no such endpoint')
  }

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    handler(req, res).catch((err: any) => {
      if (err instanceof IssuerError) {
        if (err.code !== 'not-found') {
          log.info({ path: req.url, code: err.code, remote: req.socket.remoteAddress, detail: err.message }, 'issuer request refused')
        }
        json(res, STATUS[err.code] ?? 400, { error: err.code })
        return
      }
      log.error({ path: req.url, err: err?.message }, 'issuer request failed')
      json(res, 500, { error: 'internal' })
    })
  }

  const options = { maxHeaderSize: 16 * 1024, requestTimeout: 10_000, headersTimeout: 5_000, keepAliveTimeout: 5_000 }
  const server: Server = init.tls != null
    ? createHttpsServer({ ...options, cert: init.tls.cert, key: init.tls.key }, onRequest)
    : createHttpServer(options, onRequest)
  server.on('clientError', (_err, socket) => { socket.destroy() })
  const listening = await listen(server, init.host ?? '127.0.0.1', init.port ?? 0)
  const url = `${init.tls != null ? 'https' : 'http'}://${listening.authority}`
  log.info({ url, overlay: issuer.overlay, attestation: issuer.attestation.kind }, 'issuer listening')
  return { url, close: listening.close }
}

async function readJson (req: IncomingMessage): Promise<any> {
  try {
    return await readJsonObject(req, MAX_BODY)
  } catch (err: any) {
    throw new IssuerError('bad-request', err instanceof BodyError ? err.message : 'the body could not be read')
  }
}

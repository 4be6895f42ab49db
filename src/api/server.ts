/**
 * The admin HTTP API. Loopback only, bearer token on everything but
 * `/healthz`, Host header checked (no DNS rebinding from a browser), bodies
 * bounded JSON objects, errors as `{ "error": code }` (plus `detail` when
 * the caller's own input is wrong).
 */
import { createServer } from 'node:http'
import { API_DEFAULTS } from '../node/constants.ts'
import { GossipError } from '../gossip/errors.ts'
import { DtnError } from '../dtn/errors.ts'
import { parseBundleInput } from '../dtn/input.ts'
import { parseAnchor } from '../federation/anchors.ts'
import { parseAnomalyInput } from '../gossip/anomaly.ts'
import { BodyError, json, listen, readJsonObject } from '../http/server.ts'
import { tokensEqual } from './token.ts'
import type { PinoLogger } from '../logging/logger.ts'
import type { TempusNode } from '../node/tempus-node.ts'
import type { IncomingMessage, ServerResponse } from 'node:http'

export interface AdminApiInit {
  node: TempusNode
  token: string
  host: string
  port: number
  log: PinoLogger
}

export interface AdminApi {
  url: string
  close(): Promise<void>
}

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>

export async function startAdminApi (init: AdminApiInit): Promise<AdminApi> {
  const { node, token, log } = init
  const routes: Record<string, Handler> = {
    '/v1/status': async (_req, res) => { json(res, 200, node.status()) },
    '/v1/mesh/peers': async (_req, res) => { json(res, 200, { peers: await node.peers() }) },
    '/v1/rpc/permissions': async (_req, res) => { json(res, 200, { rules: node.rpc.policy.list(), exposed: node.rpc.exposedMethods() }) },
    '/v1/mesh/views': async (_req, res) => {
      const views: Record<string, unknown> = {}
      for (const type of ['edge', 'bridge', 'sentinel'] as const) {
        const entries = node.sampling.view(type)
        views[type] = { member: type === node.type, capacity: node.sampling.capacity(type), size: entries.length, entries }
      }
      json(res, 200, { views })
    },
    '/v1/anomalies': async (req, res) => {
      const query = new URL(req.url ?? '/', 'http://localhost').searchParams
      const since = query.get('since')
      const limit = query.get('limit')
      const sinceMs = since == null ? undefined : (/^\d{1,15}$/.test(since) ? Number(since) : Date.parse(since))
      if (sinceMs != null && !Number.isFinite(sinceMs)) {
        json(res, 400, { error: 'bad-request', detail: 'since: ms since the epoch or an ISO date' })
        return
      }
      if (limit != null && (!/^\d{1,4}$/.test(limit) || Number(limit) < 1 || Number(limit) > 1000)) {
        json(res, 400, { error: 'bad-request', detail: 'limit: 1 to 1000' })
        return
      }
      json(res, 200, { anomalies: node.gossip.list({ since: sinceMs, kind: query.get('kind') ?? undefined, limit: limit == null ? undefined : Number(limit) }) })
    },
    '/v1/bundles': async (req, res) => {
      const query = new URL(req.url ?? '/', 'http://localhost').searchParams
      const box = query.get('box') ?? 'inbox'
      const limit = query.get('limit')
      if (box !== 'inbox' && box !== 'outbox' && box !== 'carried') {
        json(res, 400, { error: 'bad-request', detail: 'box: inbox, outbox or carried' })
        return
      }
      if (limit != null && (!/^\d{1,4}$/.test(limit) || Number(limit) < 1 || Number(limit) > 1000)) {
        json(res, 400, { error: 'bad-request', detail: 'limit: 1 to 1000' })
        return
      }
      const entries = node.dtn.list(box, limit == null ? 100 : Number(limit))
        .map(e => 'payload' in e && e.payload != null ? { ...e, payload: Buffer.from(e.payload).toString('base64') } : e)
      json(res, 200, { box, bundles: entries })
    },
    '/v1/federation': async (_req, res) => {
      const federation = node.federation
      json(res, 200, federation == null
        ? { enabled: false }
        : { enabled: true, overlay: node.enrollment.overlay, addrs: node.getFederationMultiaddrs(), ...federation.status(), relay: { anomalyKinds: node.config.federation.relay.anomalyKinds, ...node.anomalyRelay?.stats, bundles: node.config.federation.relay.bundles ? { ...node.bundleRelay?.stats } : false }, rpc: node.config.federation.rpc })
    },
    '/metrics': async (_req, res) => {
      const body = await node.metricsRegistry.metrics()
      res.writeHead(200, { 'content-type': node.metricsRegistry.contentType })
      res.end(body)
    }
  }
  // a bundle's payload travels as base64 in the body
  const bundleBodyBytes = Math.ceil(node.config.dtn.maxPayload * 4 / 3) + 4096
  const bodyLimit = (path: string): number => path === '/v1/bundles' ? bundleBodyBytes : API_DEFAULTS.maxBodyBytes
  const federationRoute = (fn: (body: Record<string, unknown>) => Promise<unknown>): Handler => async (req, res) => {
    if (node.federation == null) {
      json(res, 409, { error: 'not-federated', detail: 'federation.enabled is false (bridges only)' })
      return
    }
    try {
      json(res, 200, await fn(await readJsonObject(req, API_DEFAULTS.maxBodyBytes)))
    } catch (err: any) {
      if (err instanceof BodyError || err instanceof TypeError) {
        json(res, 400, { error: 'bad-request', detail: err.message })
        return
      }
      throw err
    }
  }
  const postRoutes: Record<string, Handler> = {
    '/v1/federation/anchors': federationRoute(async body => {
      const anchor = parseAnchor(body)
      node.federation?.anchors.add(anchor)
      return { anchors: node.federation?.anchors.list() }
    }),
    '/v1/federation/forget': federationRoute(async body => {
      if (typeof body.remoteId !== 'string' || !/^[1-9A-HJ-NP-Za-km-z]{20,80}$/.test(body.remoteId)) {
        throw new TypeError('remoteId: a PeerId')
      }
      return { forgotten: await node.federation?.forget(body.remoteId) }
    }),
    '/v1/bundles': async (req, res) => {
      try {
        const input = parseBundleInput(await readJsonObject(req, bundleBodyBytes))
        const id = await node.dtn.send(input.destination, input.payload, input.options)
        json(res, 202, { id, size: input.payload.length })
      } catch (err) {
        if (err instanceof BodyError || (err instanceof DtnError && (err.reason === 'malformed' || err.reason === 'oversize' || err.reason === 'bad-destination'))) {
          json(res, err instanceof DtnError && err.reason === 'oversize' ? 413 : 400, { error: 'bad-request', detail: err.message })
          return
        }
        if (err instanceof DtnError && err.reason === 'quota-full') {
          json(res, 507, { error: 'quota-full', detail: err.message })
          return
        }
        if (err instanceof DtnError && err.reason === 'no-token') {
          json(res, 503, { error: 'not-admitted' })
          return
        }
        throw err
      }
    },
    '/v1/mesh/gossip': async (req, res) => {
      try {
        const anomaly = await node.gossip.publish(parseAnomalyInput(await readJsonObject(req, API_DEFAULTS.maxBodyBytes)))
        json(res, 201, { anomaly })
      } catch (err) {
        if (err instanceof BodyError || (err instanceof GossipError && err.reason === 'bad-body')) {
          json(res, 400, { error: 'bad-request', detail: err.message })
          return
        }
        if (err instanceof GossipError) {
          json(res, 503, { error: 'not-admitted' })
          return
        }
        throw err
      }
    }
  }
  let allowedHosts = new Set<string>()

  const server = createServer({ maxHeaderSize: 16 * 1024, requestTimeout: 10_000, headersTimeout: 5_000 }, (req, res) => {
    handle(req, res).catch(err => {
      log.error({ err: err?.message, path: req.url }, 'admin API handler failed')
      if (!res.headersSent) {
        json(res, 500, { error: 'internal' })
      } else {
        res.destroy()
      }
    })
  })
  server.on('clientError', (_err, socket) => { socket.destroy() })

  async function handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const host = (req.headers.host ?? '').toLowerCase()
    if (!allowedHosts.has(host)) {
      json(res, 421, { error: 'misdirected' })
      return
    }
    const path = new URL(req.url ?? '/', 'http://localhost').pathname
    if (path === '/healthz') {
      json(res, 200, { status: node.libp2p.status === 'started' ? 'ok' : node.libp2p.status })
      return
    }
    const clear = /^\/v1\/mesh\/peers\/([1-9A-HJ-NP-Za-km-z]{20,80})\/clear$/.exec(path)
    const route = routes[path]
    const postRoute = postRoutes[path]
    if (route == null && clear == null && postRoute == null) {
      json(res, 404, { error: 'not-found' })
      return
    }
    if (!authorised(req.headers.authorization, token)) {
      log.warn({ path, remote: req.socket.remoteAddress }, 'admin API request without a valid token')
      res.setHeader('www-authenticate', 'Bearer')
      json(res, 401, { error: 'unauthorized' })
      return
    }
    if (Number(req.headers['content-length'] ?? 0) > bodyLimit(path)) {
      json(res, 413, { error: 'too-large' })
      return
    }
    if (clear != null) {
      if (req.method !== 'POST') {
        res.setHeader('allow', 'POST')
        json(res, 405, { error: 'method-not-allowed' })
        return
      }
      const peerId = clear[1] as string
      const cleared = await node.clearPeer(peerId)
      json(res, cleared == null ? 400 : 200, cleared ?? { error: 'bad-peer-id' })
      return
    }
    if (postRoute != null && (route == null || req.method === 'POST')) {
      if (req.method !== 'POST') {
        res.setHeader('allow', 'POST')
        json(res, 405, { error: 'method-not-allowed' })
        return
      }
      await postRoute(req, res)
      return
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', postRoute != null ? 'GET, HEAD, POST' : 'GET, HEAD')
      json(res, 405, { error: 'method-not-allowed' })
      return
    }
    await route?.(req, res)
  }

  const listening = await listen(server, init.host, init.port)
  const port = listening.port
  allowedHosts = new Set([listening.authority, `localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`])
  const url = `http://${listening.authority}`
  log.info({ url }, 'admin API listening')
  return { url, close: listening.close }
}

function authorised (header: string | undefined, token: string): boolean {
  if (header == null || header.length > 1024) {
    return false
  }
  const match = /^Bearer\s+(\S+)$/i.exec(header)
  return match?.[1] != null && tokensEqual(match[1], token)
}

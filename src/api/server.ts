/**
 * The admin HTTP API, on the shared Fastify server (`src/http/server.ts`).
 * Loopback only, Host header checked (no DNS rebinding from a browser),
 * then the bearer token on everything but `/healthz` and `/readyz` — both before routing,
 * so a stranger gets the same 401 for every path, real or not, and no body
 * is read before the token is. Bodies are JSON objects under a per-route
 * limit, with a cap on the body bytes all requests hold at once; errors are
 * `{ "error": code }` plus `detail` saying what the (authenticated)
 * caller's input got wrong.
 */
import { API_MAX_BODY_BYTES } from './constants.ts'
import { lintClean } from './exposition.ts'
import { GossipError } from '../gossip/errors.ts'
import { DtnError } from '../dtn/errors.ts'
import { parseBundleInput } from '../dtn/input.ts'
import { parseAnchor } from '../federation/anchors.ts'
import { parseAnomalyInput } from '../gossip/anomaly.ts'
import { createHttpServer, HttpError, listen } from '../http/server.ts'
import { tokensEqual } from './token.ts'
import { DASHBOARD_PREFIX, registerDashboard } from './dashboard/routes.ts'
import type { Dashboard } from './dashboard/routes.ts'
import type { ErrorAnswer } from '../http/server.ts'
import type { PinoLogger } from '../logging/logger.ts'
import type { AdminApiNode } from './node-port.ts'
import type { FastifyRequest } from 'fastify'

export interface AdminApiInit {
  /** the node it serves, through the narrow port it needs (`node-port.ts`) */
  node: AdminApiNode
  token: string
  host: string
  port: number
  log: PinoLogger
}

export interface AdminApi {
  url: string
  /** body bytes held now and at most, across all requests (tests read it) */
  bodyBytes(): { inFlight: number, peak: number, capacity: number }
  close(): Promise<void>
}

const PEER_ID = '^[1-9A-HJ-NP-Za-km-z]{20,80}$'
const LIMIT = { type: 'string', pattern: '^[0-9]{1,4}$' }
const OBJECT = { type: 'object' }
const SCHEMAS = {
  anomalies: { type: 'object', additionalProperties: false, properties: { since: { type: 'string', minLength: 1, maxLength: 40 }, kind: { type: 'string', minLength: 1, maxLength: 64 }, limit: LIMIT } },
  bundles: { type: 'object', additionalProperties: false, properties: { box: { type: 'string', enum: ['inbox', 'outbox', 'carried'] }, limit: LIMIT } },
  peer: { type: 'object', properties: { peerId: { type: 'string', pattern: PEER_ID } }, required: ['peerId'] }
}

/** limit: 1 to 1000 (the schema has checked it is digits) */
function limitOf (limit: string | undefined, fallback: number | undefined): number | undefined {
  if (limit == null) {
    return fallback
  }
  const n = Number(limit)
  if (n < 1 || n > 1000) {
    throw new HttpError(400, 'bad-request', 'limit: 1 to 1000')
  }
  return n
}

/** the node's typed errors, for the routes that raise them */
function classify (err: unknown): ErrorAnswer | undefined {
  if (err instanceof DtnError) {
    if (err.reason === 'malformed' || err.reason === 'bad-destination') {
      return { status: 400, code: 'bad-request', detail: err.message }
    }
    if (err.reason === 'oversize') {
      return { status: 413, code: 'bad-request', detail: err.message }
    }
    if (err.reason === 'quota-full') {
      return { status: 507, code: 'quota-full', detail: err.message }
    }
    if (err.reason === 'no-token') {
      return { status: 503, code: 'not-admitted' }
    }
    return undefined
  }
  if (err instanceof GossipError) {
    return err.reason === 'bad-body' ? { status: 400, code: 'bad-request', detail: err.message } : { status: 503, code: 'not-admitted', detail: err.message }
  }
  return undefined
}

export async function startAdminApi (init: AdminApiInit): Promise<AdminApi> {
  const { node, token, log } = init
  // a bundle's payload travels as base64 in the body
  const bundleBodyBytes = Math.ceil(node.config.dtn.maxPayload * 4 / 3) + 4096
  let allowedHosts = new Set<string>()
  let dashboard: Dashboard | undefined

  /** before routing: the Host header, then the token (except /healthz and /readyz) */
  const guard = (request: FastifyRequest): ErrorAnswer | undefined => {
    if (!allowedHosts.has((request.headers.host ?? '').toLowerCase())) {
      return { status: 421, code: 'misdirected' }
    }
    const path = request.url.split('?', 1)[0] ?? ''
    // the dashboard: a session cookie from its login page, or the same bearer token (dashboard/routes.ts)
    if (path === DASHBOARD_PREFIX || path.startsWith(`${DASHBOARD_PREFIX}/`)) {
      return dashboard == null ? { status: 503, code: 'busy' } : dashboard.guard(request, path)
    }
    if (path !== '/healthz' && path !== '/readyz' && !authorised(request.headers.authorization, token)) {
      return { status: 401, code: 'unauthorized', headers: { 'www-authenticate': 'Bearer' } }
    }
    return undefined
  }

  const { app, budget, answerOtherMethods } = await createHttpServer({
    name: 'admin-api',
    log,
    bodyLimit: API_MAX_BODY_BYTES,
    // one largest bundle and room for the small requests beside it
    maxInFlightBodyBytes: bundleBodyBytes + 1024 * 1024,
    details: true,
    guard,
    classify,
    refusalLevel: status => status === 401 || status === 421 ? 'warn' : 'info'
  })

  // 200 whatever it says: the process answers; `degraded` (no token, issuer
  // unreachable, no peers) is for the operator and alerts, not a reason to restart
  app.get('/healthz', async () => node.health())
  // 503 until the node can do its job (stores open, a valid token, admitted
  // to a peer or alone by design), with every reason and what to do
  app.get('/readyz', async (_request, reply) => {
    const readiness = node.readiness()
    return await reply.code(readiness.ready ? 200 : 503).send(readiness)
  })
  app.get('/v1/status', async () => node.status())
  app.get('/v1/mesh/peers', async () => ({ peers: await node.peers() }))
  app.get('/v1/rpc/permissions', async () => ({ rules: node.rpc.policy.list(), exposed: node.rpc.exposedMethods() }))
  app.get('/v1/mesh/views', async () => {
    const views: Record<string, unknown> = {}
    for (const type of ['edge', 'bridge', 'sentinel'] as const) {
      const entries = node.sampling.view(type)
      views[type] = { member: type === node.type, capacity: node.sampling.capacity(type), size: entries.length, entries }
    }
    return { views }
  })
  app.get<{ Querystring: { since?: string, kind?: string, limit?: string } }>('/v1/anomalies', { schema: { querystring: SCHEMAS.anomalies } }, async request => {
    const { since, kind } = request.query
    const sinceMs = since == null ? undefined : (/^\d{1,15}$/.test(since) ? Number(since) : Date.parse(since))
    if (sinceMs != null && !Number.isFinite(sinceMs)) {
      throw new HttpError(400, 'bad-request', 'since: ms since the epoch or an ISO date')
    }
    return { anomalies: node.gossip.list({ since: sinceMs, kind, limit: limitOf(request.query.limit, undefined) }) }
  })
  app.get<{ Querystring: { box?: 'inbox' | 'outbox' | 'carried', limit?: string } }>('/v1/bundles', { schema: { querystring: SCHEMAS.bundles } }, async request => {
    const box = request.query.box ?? 'inbox'
    const entries = node.dtn.list(box, limitOf(request.query.limit, 100) ?? 100)
      .map(e => 'payload' in e && e.payload != null ? { ...e, payload: Buffer.from(e.payload).toString('base64') } : e)
    return { box, bundles: entries }
  })
  app.get('/v1/federation', async () => {
    const federation = node.federation
    return federation == null
      ? { enabled: false }
      : { enabled: true, overlay: node.enrollment.overlay, addrs: node.getFederationMultiaddrs(), ...federation.status(), relay: { anomalyKinds: node.config.federation.relay.anomalyKinds, ...node.anomalyRelay?.stats, bundles: node.config.federation.relay.bundles ? { ...node.bundleRelay?.stats } : false }, rpc: node.config.federation.rpc }
  })
  app.get('/metrics', async (_request, reply) => {
    // libp2p's and prom-client's own families, renamed where they break Prometheus's lint (exposition.ts)
    const body = lintClean(await node.metricsRegistry.metrics())
    return await reply.type(node.metricsRegistry.contentType).send(body)
  })

  const federated = async <T>(fn: (federation: NonNullable<AdminApiNode['federation']>) => Promise<T>): Promise<T> => {
    if (node.federation == null) {
      throw new HttpError(409, 'not-federated', 'federation.enabled is false (bridges only)')
    }
    try {
      return await fn(node.federation)
    } catch (err) {
      if (err instanceof TypeError) {
        throw new HttpError(400, 'bad-request', err.message)
      }
      throw err
    }
  }
  app.post('/v1/federation/anchors', { schema: { body: OBJECT } }, async request => await federated(async federation => {
    federation.anchors.add(parseAnchor(request.body as Record<string, unknown>))
    return { anchors: federation.anchors.list() }
  }))
  app.post('/v1/federation/forget', { schema: { body: { type: 'object', additionalProperties: false, properties: { remoteId: { type: 'string', pattern: PEER_ID } }, required: ['remoteId'] } } }, async request => await federated(async federation =>
    ({ forgotten: await federation.forget((request.body as { remoteId: string }).remoteId) })))
  app.post('/v1/bundles', { bodyLimit: bundleBodyBytes, schema: { body: OBJECT } }, async (request, reply) => {
    const input = parseBundleInput(request.body as Record<string, unknown>)
    const id = await node.dtn.send(input.destination, input.payload, input.options)
    return await reply.code(202).send({ id, size: input.payload.length })
  })
  app.post('/v1/mesh/gossip', { schema: { body: OBJECT } }, async (request, reply) => {
    const anomaly = await node.gossip.publish(parseAnomalyInput(request.body as Record<string, unknown>))
    return await reply.code(201).send({ anomaly })
  })
  app.post('/v1/mesh/peers/clear', async () => await node.clearAllPeers())
  app.post<{ Params: { peerId: string } }>('/v1/mesh/peers/:peerId/clear', { schema: { params: SCHEMAS.peer } }, async (request, reply) => {
    const cleared = await node.clearPeer(request.params.peerId)
    if (cleared == null) {
      throw new HttpError(400, 'bad-peer-id', 'not a PeerId')
    }
    return await reply.send(cleared)
  })

  dashboard = registerDashboard(app, { node, token, log, authorised: header => authorised(header, token), allowedHosts: () => allowedHosts, tokensEqual })

  answerOtherMethods()

  const listening = await listen(app, init.host, init.port)
  const port = listening.port
  allowedHosts = new Set([listening.authority, `localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`])
  const url = `http://${listening.authority}`
  log.info({ url }, 'admin API listening')
  return {
    url,
    bodyBytes: () => ({ inFlight: budget.inFlight, peak: budget.peak, capacity: budget.capacity }),
    close: async () => {
      dashboard?.close()
      await listening.close()
    }
  }
}

function authorised (header: string | undefined, token: string): boolean {
  if (header == null || header.length > 1024) {
    return false
  }
  const match = /^Bearer\s+(\S+)$/i.exec(header)
  return match?.[1] != null && tokensEqual(match[1], token)
}

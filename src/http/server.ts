/**
 * What the admin API and the issuer API share: a Fastify server configured
 * so that hostile requests are the framework's problem, not each handler's.
 *
 * - Bodies: per-route `bodyLimit` (Content-Length checked before a byte is
 *   read), JSON only (`application/json`; every other type is refused), JSON
 *   schemas on bodies, query strings and headers with no type coercion and
 *   no silent stripping, prototype-poisoning keys refused, and a
 *   `BodyBudget` capping the body bytes all requests hold at once.
 * - Time: socket idle, whole-request, header and handler timeouts; Node
 *   checks them every second rather than every 30.
 * - Errors: one error handler that maps every failure (schema, parser,
 *   limit, rate limit, a route's typed error, a bug) to `{ "error": code }`
 *   and cannot throw; malformed HTTP and bad percent-encoding answered
 *   without reaching a route; a request whose socket is gone is nobody's
 *   problem (Fastify isolates each request, so no rejection escapes).
 * - An answer sent before its body was read closes the connection, so the
 *   server never drains an unread body.
 */
import { STATUS_CODES } from 'node:http'
import { Transform } from 'node:stream'
import rateLimit from '@fastify/rate-limit'
import Fastify from 'fastify'
import { BodyBudget } from './body-budget.ts'
import { answerFor, CODES, refuse } from './answers.ts'
import { HttpError } from './errors.ts'
import type { ErrorAnswer } from './errors.ts'
import type { PinoLogger } from '../logging/logger.ts'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import type { Readable } from 'node:stream'

export { HttpError } from './errors.ts'
export type { ErrorAnswer } from './errors.ts'
export { BodyBudget } from './body-budget.ts'
export { answerFor, refuse } from './answers.ts'
export { etagMatches } from './etag.ts'

/** Timeouts every server here uses, in milliseconds. */
export const HTTP_TIMEOUTS = {
  /** headers must arrive within this */
  headersMs: 5_000,
  /** the whole request, body included (a trickled body ends here with 408) */
  requestMs: 10_000,
  /** a socket with no bytes either way for this long is closed */
  idleMs: 10_000,
  /** an idle keep-alive connection is closed after this */
  keepAliveMs: 5_000,
  /** a handler that has not answered by then gets 503 */
  handlerMs: 15_000,
  /** how often Node checks the request and header timeouts (its default, 30 s, would let a slow body live 40 s) */
  checkEveryMs: 1_000
} as const

/** largest request head (request line + headers); larger is 431 */
export const MAX_HEADER_BYTES = 16 * 1024

export interface HttpServerInit {
  /** what this server is, in log lines */
  name: string
  log: PinoLogger
  /** body limit of routes that set none, bytes */
  bodyLimit: number
  /** body bytes all requests may hold at once; beyond it a request gets 503 `busy` before its body is read */
  maxInFlightBodyBytes: number
  /**
   * Whether 4xx answers carry `detail` (what the caller's input got wrong):
   * always (only where every caller was authenticated before any route
   * ran), never, or for the answers a policy picks (the issuer: input
   * mistakes yes, refused proofs and credentials never)
   */
  details: DetailPolicy
  /** PEM; HTTPS when given */
  tls?: { cert: string, key: string }
  /**
   * Checked on every request before routing, unknown paths and malformed
   * URLs included (so refusals reveal no route): an answer refuses it.
   */
  guard?: (request: FastifyRequest) => ErrorAnswer | undefined
  /** a route's own typed errors as answers; undefined when not one of them */
  classify?: (err: unknown) => ErrorAnswer | undefined
  /** the log level of a refusal (default: info; 5xx are always errors) */
  refusalLevel?: (status: number) => 'debug' | 'info' | 'warn'
}

/** Which 4xx answers carry their `detail`. */
export type DetailPolicy = boolean | ((answer: ErrorAnswer) => boolean)

export interface HttpServer {
  app: FastifyInstance
  budget: BodyBudget
  /** once every route is registered: 405 with `Allow` for the methods a known path does not serve */
  answerOtherMethods(): void
}

export async function createHttpServer (init: HttpServerInit): Promise<HttpServer> {
  const { log, details } = init
  const budget = new BodyBudget(init.maxInFlightBodyBytes)
  const nodeOptions = { maxHeaderSize: MAX_HEADER_BYTES, headersTimeout: HTTP_TIMEOUTS.headersMs, connectionsCheckingInterval: HTTP_TIMEOUTS.checkEveryMs }
  const options = {
    logger: false,
    bodyLimit: init.bodyLimit,
    connectionTimeout: HTTP_TIMEOUTS.idleMs,
    keepAliveTimeout: HTTP_TIMEOUTS.keepAliveMs,
    requestTimeout: HTTP_TIMEOUTS.requestMs,
    handlerTimeout: HTTP_TIMEOUTS.handlerMs,
    forceCloseConnections: true,
    return503OnClosing: true,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    routerOptions: { maxParamLength: 200, ignoreTrailingSlash: false, ignoreDuplicateSlashes: false },
    // a wrong type is an error, never converted; unknown properties are refused, never silently dropped
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: true, allErrors: false } },
    clientErrorHandler: (err: Error & { code?: string }, socket: Socket) => { onClientError(err, socket) },
    frameworkErrors: (err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      refuse(reply, guarded(request) ?? answerFor(err), details)
    }
  } as const
  const app = (init.tls != null
    ? Fastify({ ...options, https: { ...nodeOptions, cert: init.tls.cert, key: init.tls.key } })
    : Fastify({ ...options, http: nodeOptions })) as unknown as FastifyInstance

  function guarded (request: FastifyRequest): ErrorAnswer | undefined {
    try {
      return init.guard?.(request)
    } catch {
      return { status: 500, code: 'internal' }
    }
  }

  /** Malformed HTTP (bad method, header overflow, timeouts): answer if the socket can take it, then drop it. */
  function onClientError (err: Error & { code?: string }, socket: Socket): void {
    try {
      if (err.code !== 'ECONNRESET' && !socket.destroyed && socket.writable && (socket as any)._httpMessage == null) {
        const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400
        const body = JSON.stringify({ error: CODES[status] ?? 'bad-request' })
        socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nconnection: close\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${body.length}\r\n\r\n${body}`)
      }
      log.debug({ server: init.name, code: err.code }, 'malformed HTTP refused')
    } catch {}
    socket.destroy()
  }

  // an accept that fails (EMFILE under a connection flood) is emitted on the server; unheard, it would end the process
  app.server.on('error', (err: Error & { code?: string }) => {
    log.warn({ server: init.name, code: err.code, err: err.message }, 'server error')
  })
  app.removeContentTypeParser(['text/plain'])

  if (init.guard != null) {
    app.addHook('onRequest', async (request, reply) => {
      const refusal = guarded(request)
      if (refusal != null) {
        refuse(reply, refusal, refusal.status === 401 ? false : details)
        return reply
      }
    })
  }

  // the body budget: a share taken before reading (Content-Length) or as chunks arrive, given back when the answer is done
  app.addHook('preParsing', async (request, reply, payload) => {
    if (request.method === 'GET' || request.method === 'HEAD') {
      return payload
    }
    const limit = request.routeOptions.bodyLimit ?? init.bodyLimit
    let held = 0
    let answered = false
    const release = (): void => {
      answered = true
      budget.give(held)
      held = 0
    }
    reply.raw.once('close', release)
    const busy = (): HttpError => {
      reply.header('retry-after', '1')
      return new HttpError(503, 'busy', 'too many request bodies in flight; retry in a second')
    }
    const declared = request.headers['content-length']
    if (declared != null) {
      const length = Number(declared)
      if (length > limit) {
        throw new HttpError(413, 'too-large', `bodies on this route are limited to ${limit} bytes`)
      }
      if (!budget.take(length)) {
        throw busy()
      }
      held = length
    }
    let received = 0
    const counted = new Transform({
      transform (chunk: Buffer, _encoding, callback) {
        if (answered) {
          // bytes still buffered after the answer went out: nobody will read them
          callback()
          return
        }
        const before = received
        received += chunk.length
        // Fastify's parser compares this with the route's limit and answers 413 (and closes) past it
        ;(counted as Transform & { receivedEncodedLength?: number }).receivedEncodedLength = received
        // a request never holds more than its route's limit
        const more = Math.min(received, limit) - held
        if (more > 0) {
          if (!budget.take(more)) {
            callback(busy())
            return
          }
          held += more
        }
        // past the limit the parser has refused the body: what still arrives before the close is dropped
        callback(null, before > limit ? undefined : chunk)
      }
    })
    // errors of ours reach the parser (which answers them) without destroying the request, so the
    // answer still goes out; an aborted request ends the counter, so the parser hears of it
    const source = payload as Readable
    source.on('error', err => { counted.destroy(err) })
    source.on('close', () => {
      if (!source.readableEnded) {
        counted.destroy(new HttpError(400, 'bad-request', 'the request was aborted'))
      }
    })
    source.pipe(counted)
    return counted
  })

  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('cache-control', 'no-store')
    if (!request.raw.complete) {
      // answered before the body was read: close rather than drain it
      reply.header('connection', 'close')
    }
    return payload
  })

  app.addHook('onResponse', async (request, reply) => {
    const status = reply.statusCode
    if (status >= 400 && status < 500) {
      const level = init.refusalLevel?.(status) ?? 'info'
      log[level]({ server: init.name, method: request.method, route: request.routeOptions.url ?? 'unmatched', status, remote: request.ip }, 'request refused')
    }
  })

  app.setErrorHandler((err, request, reply) => {
    const answer = answerFor(err, init.classify)
    if (answer.status >= 500 && answer.code === 'internal') {
      log.error({ server: init.name, route: request.routeOptions.url ?? 'unmatched', err: (err as Error)?.message }, 'request failed')
    }
    refuse(reply, answer, details)
  })

  app.setNotFoundHandler((_request, reply) => {
    // no detail, even for an authenticated caller: a code says it all
    refuse(reply, { status: 404, code: 'not-found' }, details)
  })

  await app.register(rateLimit, {
    global: false,
    keyGenerator: (request: FastifyRequest) => request.ip == null ? 'gone' : rateLimit.normalizeIP(request.ip, 64),
    errorResponseBuilder: (_request, context) => new HttpError(context.statusCode, 'rate-limited', `too many requests; retry in ${context.after}`)
  })

  // the routes as registered, so 405 answers need no list kept by hand
  const served = new Map<string, Set<string>>()
  app.addHook('onRoute', route => {
    for (const method of [route.method].flat()) {
      served.set(route.url, (served.get(route.url) ?? new Set()).add(method))
    }
  })
  return {
    app,
    budget,
    answerOtherMethods: () => { methodNotAllowed(app, served, details) }
  }
}

/** A per-route, per-address rate limit for `config.rateLimit`. */
export function perAddress (max: number, timeWindowMs: number): { rateLimit: { max: number, timeWindow: number } } {
  return { rateLimit: { max, timeWindow: timeWindowMs } }
}

/**
 * Answer 405 with `Allow` for the methods a known path does not serve,
 * before any body is read (Fastify alone would answer 404 and read bodies
 * first). Call after every route is registered.
 *
 * One hook, not a route per path and method: those were ~100 routes per
 * server, each with its router entries and Fastify context, 215 kB of heap
 * per admin API, and a dev mesh runs one admin API per node. The hook
 * runs after the guard's (registered first), so a caller without the
 * token learns nothing of which methods a path serves.
 */
function methodNotAllowed (app: FastifyInstance, served: Map<string, Set<string>>, details: DetailPolicy): void {
  const paths = [...served].map(([url, methods]) => {
    const segments = url.split('/')
    // a `:param` segment is one segment, empty too, as the router matches it
    const pattern = new RegExp('^' + segments.map(s => s.startsWith(':') ? '[^/]*' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('/') + '$')
    const allow = new Set(methods.has('GET') ? [...methods, 'HEAD'] : methods)
    return { pattern, params: segments.filter(s => s.startsWith(':')).length, allow: [...allow].join(', ') }
  })
    // a static path before a parametric one that also matches it, as the router prefers
    .sort((a, b) => a.params - b.params)
  app.addHook('onRequest', async (request, reply) => {
    if (!request.is404) {
      return
    }
    const path = request.url.split('?', 1)[0] ?? ''
    const known = paths.find(p => p.pattern.test(path))
    if (known != null) {
      reply.header('allow', known.allow)
      refuse(reply, { status: 405, code: 'method-not-allowed' }, details)
      return reply
    }
  })
}

export interface Listening {
  /** `host:port` as a URL authority (IPv6 in brackets) */
  authority: string
  port: number
  close(): Promise<void>
}

export async function listen (app: FastifyInstance, host: string, port: number): Promise<Listening> {
  await app.listen({ host, port })
  const address = app.server.address() as AddressInfo
  const authority = `${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`
  return {
    authority,
    port: address.port,
    async close () {
      await app.close()
    }
  }
}

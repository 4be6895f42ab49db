/**
 * The dashboard on the admin API's server: a login page, the page itself,
 * its static files (our own, and uPlot from node_modules: no CDN, nodes may
 * be air-gapped), and the live feed.
 *
 * - Login: the page POSTs `{ "token": … }` as JSON (never a URL, so the
 *   token lands in no log or history); the right token gets a session
 *   cookie (HttpOnly, SameSite=Strict, Path=/dashboard), a wrong one 401
 *   and no session. Rate limited per address; a cross-origin POST refused.
 * - Everything under /dashboard but the login page and the static files
 *   needs a live session (or the bearer token); the page without one is
 *   sent to the login page.
 * - Pages carry a strict CSP: scripts and styles from this origin only, no
 *   inline script, no framing.
 */
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { perAddress } from '../../http/server.ts'
import { HttpError } from '../../http/errors.ts'
import { LOGIN_BODY_BYTES, LOGIN_PER_MINUTE, MAX_SESSIONS, SESSION_TTL_MS } from './constants.ts'
import { DashboardFeed } from './feed.ts'
import { clearedCookie, cookieValue, sessionCookie, Sessions } from './session.ts'
import type { DashboardNode } from './port.ts'
import type { ErrorAnswer } from '../../http/errors.ts'
import type { PinoLogger } from '../../logging/logger.ts'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

export const DASHBOARD_PREFIX = '/dashboard'
/** the feed's key for a stream opened with the bearer token (no session; it lasts as long as its connection) */
const BEARER = 'bearer'

/** the pages' headers: nothing runs or loads but from this origin; no framing, no referrer, no sniffing */
export const PAGE_HEADERS: Record<string, string> = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin'
}

const STATIC = new URL('./static/', import.meta.url)
const require = createRequire(import.meta.url)

/** every file the dashboard serves, by name: nothing else is read from disk */
const FILES: Record<string, { path: () => string, type: string }> = {
  'dashboard.js': { path: () => staticPath('dashboard.js'), type: 'text/javascript; charset=utf-8' },
  'graph.js': { path: () => staticPath('graph.js'), type: 'text/javascript; charset=utf-8' },
  'login.js': { path: () => staticPath('login.js'), type: 'text/javascript; charset=utf-8' },
  'dashboard.css': { path: () => staticPath('dashboard.css'), type: 'text/css; charset=utf-8' },
  'uPlot.esm.js': { path: () => require.resolve('uplot/dist/uPlot.esm.js'), type: 'text/javascript; charset=utf-8' },
  'uPlot.min.css': { path: () => require.resolve('uplot/dist/uPlot.min.css'), type: 'text/css; charset=utf-8' }
}
const PAGES = { index: 'index.html', login: 'login.html' }

/**
 * The static files sit beside the sources (`src/api/dashboard/static/`);
 * the build (`dist/src/api/dashboard/`) reads them there, since `tsc`
 * copies no file that is not TypeScript.
 */
function staticPath (name: string): string {
  const built = fileURLToPath(new URL(name, STATIC))
  return built.includes('/dist/src/') ? built.replace('/dist/src/', '/src/') : built
}

export interface DashboardInit {
  node: DashboardNode
  token: string
  log: PinoLogger
  /** whether the bearer token in this header is the API's (constant time) */
  authorised: (header: string | undefined) => boolean
  /** the hosts the API answers to (`host:port`), for the login's Origin check */
  allowedHosts: () => Set<string>
  tokensEqual: (presented: string, expected: string) => boolean
  now?: () => number
}

export interface Dashboard {
  /** the admin API's guard for paths under /dashboard */
  guard: (request: FastifyRequest, path: string) => ErrorAnswer | undefined
  feed: DashboardFeed
  sessions: Sessions
  close: () => void
}

export function registerDashboard (app: FastifyInstance, init: DashboardInit): Dashboard {
  const now = init.now ?? Date.now
  const sessions = new Sessions({ ttlMs: SESSION_TTL_MS, maxSessions: MAX_SESSIONS, now })
  const feed = new DashboardFeed({ node: init.node, log: init.log, now, sessionExpiry: id => id === BEARER ? Number.POSITIVE_INFINITY : sessions.check(id) })
  const cache = new Map<string, Buffer>()
  const read = async (path: string): Promise<Buffer> => {
    let body = cache.get(path)
    if (body == null) {
      body = await readFile(path)
      cache.set(path, body)
    }
    return body
  }
  const sessionOf = (request: FastifyRequest): string | undefined => {
    const id = cookieValue(request.headers.cookie)
    return sessions.check(id) == null ? undefined : id
  }

  const publicPaths = new Set([`${DASHBOARD_PREFIX}/login`, ...Object.keys(FILES).map(f => `${DASHBOARD_PREFIX}/static/${f}`)])
  const guard = (request: FastifyRequest, path: string): ErrorAnswer | undefined => {
    if (publicPaths.has(path) || sessionOf(request) != null || init.authorised(request.headers.authorization)) {
      return undefined
    }
    if (request.method === 'GET' && (path === DASHBOARD_PREFIX || path === `${DASHBOARD_PREFIX}/`)) {
      return { status: 303, code: 'login', headers: { location: `${DASHBOARD_PREFIX}/login` } }
    }
    return { status: 401, code: 'unauthorized' }
  }

  const page = async (reply: FastifyReply, name: string): Promise<FastifyReply> =>
    await reply.headers(PAGE_HEADERS).type('text/html; charset=utf-8').send(await read(staticPath(name)))

  app.get(DASHBOARD_PREFIX, async (_request, reply) => await reply.redirect(`${DASHBOARD_PREFIX}/`, 303))
  app.get(`${DASHBOARD_PREFIX}/`, async (_request, reply) => await page(reply, PAGES.index))
  app.get(`${DASHBOARD_PREFIX}/login`, async (_request, reply) => await page(reply, PAGES.login))
  app.get<{ Params: { name: string } }>(`${DASHBOARD_PREFIX}/static/:name`, {
    schema: { params: { type: 'object', properties: { name: { type: 'string', pattern: '^[A-Za-z0-9.]{1,40}$' } }, required: ['name'] } }
  }, async (request, reply) => {
    const file = Object.hasOwn(FILES, request.params.name) ? FILES[request.params.name] : undefined
    if (file == null) {
      throw new HttpError(404, 'not-found', 'no such file')
    }
    return await reply.headers(PAGE_HEADERS).type(file.type).send(await read(file.path()))
  })

  app.post<{ Body: { token: string } }>(`${DASHBOARD_PREFIX}/login`, {
    bodyLimit: LOGIN_BODY_BYTES,
    config: perAddress(LOGIN_PER_MINUTE, 60_000),
    schema: { body: { type: 'object', additionalProperties: false, properties: { token: { type: 'string', minLength: 1, maxLength: 512 } }, required: ['token'] } }
  }, async (request, reply) => {
    // a page of another origin cannot log a browser in (the cookie is SameSite=Strict anyway)
    const origin = request.headers.origin
    if (origin != null && !init.allowedHosts().has(originHost(origin))) {
      throw new HttpError(403, 'forbidden', 'log in from the dashboard\'s own page')
    }
    if (!init.tokensEqual(request.body.token, init.token)) {
      init.log.warn({ remote: request.ip }, 'dashboard login refused: wrong token')
      throw new HttpError(401, 'unauthorized', 'not the admin API token (the api-token file in the data directory)')
    }
    const session = sessions.create()
    init.log.info({ remote: request.ip, sessions: sessions.size }, 'dashboard login')
    return await reply.code(204).header('set-cookie', sessionCookie(session)).send()
  })

  app.post(`${DASHBOARD_PREFIX}/logout`, { bodyLimit: LOGIN_BODY_BYTES }, async (request, reply) => {
    const id = cookieValue(request.headers.cookie)
    if (id != null && sessions.check(id) != null) {
      sessions.end(id)
      feed.endSession(id)
    }
    return await reply.code(204).header('set-cookie', clearedCookie()).send()
  })

  app.get(`${DASHBOARD_PREFIX}/events`, async (request, reply) => {
    // a bearer caller (a script) has no session: its stream is keyed by a name no session has
    const session = sessionOf(request) ?? BEARER
    if (!feed.admits(session)) {
      reply.header('retry-after', '5')
      throw new HttpError(503, 'busy', 'too many dashboard pages are open; close one')
    }
    reply.hijack()
    feed.open(reply.raw, session)
  })

  feed.start()
  return {
    guard,
    feed,
    sessions,
    close: () => {
      feed.stop()
      sessions.clear()
    }
  }
}

function originHost (origin: string): string {
  try {
    const url = new URL(origin)
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.host.toLowerCase() : ''
  } catch {
    return ''
  }
}

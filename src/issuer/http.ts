/**
 * The issuer's HTTP API (loopback by default; HTTPS when given a cert and a
 * key) on the shared Fastify server (`src/http/server.ts`): JSON schemas on
 * every body and query, bodies ≤ 16 KiB, every anonymous endpoint rate
 * limited per address and per route (429 with Retry-After), tokens also per
 * peer, the audit log's entries only for a signed admin request, errors as
 * `{ "error": code }`, with a `detail` saying what to change when the
 * refusal is about the request's shape or the issuer's state (the caller's
 * own input: nothing an attacker learns from), never when a code,
 * challenge, proof, credential or attestation was refused.
 */
import { RateLimiter } from '@libp2p/utils'
import { createHttpServer, etagMatches, HTTP_TIMEOUTS, HttpError, listen, perAddress } from '../http/server.ts'
import { AdminRequestVerifier } from '../issuer-client/admin-request.ts'
import { IssuerError } from './errors.ts'
import { IssuerHttpMetrics } from './metrics.ts'
import { HeldPolls, preferredWaitMs } from './held-polls.ts'
import { createHash } from 'node:crypto'
import { MAX_EK_CERTIFICATE_B64, MAX_STRUCTURE_B64, MAX_TPM_EVIDENCE } from './tpm/evidence.ts'
import type { IssuerErrorCode } from './errors.ts'
import type { Issuer } from './issuer.ts'
import type { EnrollRequest, KeySet, RekeyRequest, RenewRequest, TokenRequest } from '../issuer-client/wire.ts'
import type { ErrorAnswer } from '../http/server.ts'
import type { PinoLogger } from '../logging/logger.ts'
import type { FastifyReply, FastifyRequest } from 'fastify'

export interface IssuerHttpInit {
  issuer: Issuer
  host?: string
  port?: number
  /** PEM; both or neither */
  tls?: { cert: string, key: string }
  log: PinoLogger
  /**
   * requests per second per client address, per route, on every anonymous
   * endpoint (the POSTs, keys, crl, overlay, revocation requests)
   * @default 200
   */
  perAddressPerSecond?: number
  /**
   * requests per second per client address, per route, on the audit log's
   * reads (checkpoints, proofs, entries)
   * @default 20
   */
  auditPerAddressPerSecond?: number
  /**
   * token and renewal requests per minute per peer (one budget for both)
   * @default 60
   */
  perPeerPerMinute?: number
  /**
   * the window of the per-address limits, ms (tests lengthen it so a burst cannot straddle two windows)
   * @default 1000
   */
  rateWindowMs?: number
  /** the clock signed admin requests are checked against */
  now?: () => number
}

export interface IssuerHttp {
  url: string
  /** body bytes held now and at most, across all requests (tests read it) */
  bodyBytes(): { inFlight: number, peak: number, capacity: number }
  /** polls held now, waiting for a newer revocation list or newer keys (`Prefer: wait`) */
  heldPolls(): { crl: number, keys: number }
  /** serve new connections with this certificate and key (a renewal; SIGHUP to `tempus issuer start`); false when serving plain HTTP */
  setTls(tls: { cert: string, key: string }): boolean
  close(): Promise<void>
}

/**
 * the longest a poll of the revocation list or the keys may wait for a
 * newer one (`Prefer: wait=N`; held-polls.ts): under the 60 s that proxies
 * and NATs commonly keep an idle connection
 */
export const MAX_POLL_WAIT_MS = 30_000
/** beyond a held poll's wait, before its socket or handler is given up on */
const POLL_WAIT_MARGIN_MS = 5_000

/**
 * The key set's entity tag: the same on every replica for the same keys (a
 * digest of the certificates), so a node's poll can be held by any of them.
 */
export function keySetTag (keys: KeySet): string {
  const digest = createHash('sha256').update(keys.current).update('\n').update(keys.announced ?? '').digest('base64url').slice(0, 22)
  return `"k${keys.epoch}-${digest}"`
}

/**
 * Hold a poll whose `If-None-Match` names `tag` (what the store has now)
 * and which asks to wait, until `polls` sees something newer, the wait
 * ends, the client goes or the issuer stops; answers `Preference-Applied`
 * when it waited. True: something newer may exist (read the store again).
 */
async function hold (request: FastifyRequest, reply: FastifyReply, polls: HeldPolls, version: string | number, tag: string): Promise<boolean> {
  const waitMs = preferredWaitMs(request.headers.prefer, MAX_POLL_WAIT_MS)
  if (waitMs === 0 || !etagMatches(request.headers['if-none-match'], tag)) {
    return false
  }
  // the socket may be silent for the wait: its idle timeout is lengthened for it, then put back
  const socket = request.raw.socket
  socket.setTimeout(waitMs + POLL_WAIT_MARGIN_MS)
  const gone = new AbortController()
  const onClose = (): void => { gone.abort() }
  reply.raw.once('close', onClose)
  try {
    const end = await polls.wait(version, waitMs, gone.signal)
    if (end !== 'full' && end !== 'gone') {
      reply.header('preference-applied', `wait=${Math.round(waitMs / 1000)}`)
    }
    return end === 'newer'
  } finally {
    reply.raw.off('close', onClose)
    socket.setTimeout(HTTP_TIMEOUTS.idleMs)
  }
}

/** `body` under its entity tag, or 304 when the request's `If-None-Match` names the tag. */
async function tagged<T> (request: FastifyRequest, reply: FastifyReply, etag: string, body: T): Promise<T | FastifyReply> {
  reply.header('etag', etag)
  reply.header('vary', 'if-none-match, prefer')
  if (etagMatches(request.headers['if-none-match'], etag)) {
    return await reply.code(304).send()
  }
  return body
}

/** largest request body */
export const ISSUER_MAX_BODY = 16 * 1024
/** body bytes all requests may hold at once: 64 full bodies */
export const ISSUER_MAX_IN_FLIGHT_BODY_BYTES = 64 * ISSUER_MAX_BODY

// every code has its status: a code added later without one does not compile
const STATUS: Record<IssuerErrorCode, number> = {
  'bad-request': 400,
  'invalid-code': 403,
  'wrong-type': 403,
  twin: 409,
  'not-initialised': 503,
  unavailable: 503,
  'invalid-challenge': 403,
  'invalid-proof': 403,
  'not-admin': 403,
  'attestation-failed': 403,
  'invalid-credential': 403,
  revoked: 403,
  'not-found': 404,
  conflict: 409,
  'rate-limited': 429
}

// platform evidence: an Android chain (3 to 5 certificates) is about 5 KiB, an App Attest object with its receipt about 9 KiB once base64url; each verifier bounds its own format
const ATTESTATION_MAX_CHARS = 12 * 1024
const b64url = (max: number): Record<string, unknown> => ({ type: 'string', minLength: 1, maxLength: max, pattern: '^[A-Za-z0-9_-]+$' })
const jws = { type: 'string', minLength: 1, maxLength: 4096, pattern: '^[A-Za-z0-9_.-]+$' }
const bodyOf = (properties: Record<string, unknown>, required: string[]): Record<string, unknown> =>
  ({ type: 'object', additionalProperties: false, properties, required })
const queryOf = (properties: Record<string, unknown>, required: string[] = []): Record<string, unknown> =>
  ({ type: 'object', additionalProperties: false, properties, required })
const count = { type: 'string', pattern: '^[0-9]{1,15}$' }
const peerIdText = { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9]+$' }
// a clone proof's two chains (src/core/clone-proof.ts): at most 24 hops each
const hops = { type: 'array', minItems: 1, maxItems: 24, items: bodyOf({ to: peerIdText, signature: b64url(86) }, ['to', 'signature']) }

const SCHEMAS = {
  // `tpm`: a challenge sealed for this EK certificate and AK (protocols/attestation.md)
  challenge: bodyOf({ tpm: bodyOf({ ekCertificate: b64url(MAX_EK_CERTIFICATE_B64), akPublic: b64url(MAX_STRUCTURE_B64) }, ['ekCertificate', 'akPublic']) }, []),
  // the largest evidence: a TPM's (a quote, its key, the EK certificate, PCR values) or an attestation chain
  enroll: bodyOf({ code: { type: 'string', minLength: 1, maxLength: 256 }, publicKey: b64url(64), challenge: b64url(128), signature: b64url(128), attestation: { type: 'string', maxLength: Math.max(MAX_TPM_EVIDENCE, ATTESTATION_MAX_CHARS) }, typ: { type: 'string', enum: ['edge', 'bridge', 'sentinel'] } }, ['code', 'publicKey', 'challenge', 'signature']),
  token: bodyOf({ credential: jws, challenge: b64url(128), signature: b64url(128), instance: { type: 'string', minLength: 8, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' } }, ['credential', 'challenge', 'signature']),
  renew: bodyOf({ credential: jws, challenge: b64url(128), signature: b64url(128) }, ['credential', 'challenge', 'signature']),
  rekey: bodyOf({ credential: jws, challenge: b64url(128), signature: b64url(128), publicKey: b64url(64), newSignature: b64url(128) }, ['credential', 'challenge', 'signature', 'publicKey', 'newSignature']),
  approve: bodyOf({ request: { type: 'string', minLength: 1, maxLength: 64 }, adminKey: b64url(64), signature: b64url(128) }, ['request', 'adminKey', 'signature']),
  consistency: queryOf({ from: count, to: count }, ['from', 'to']),
  inclusion: queryOf({ index: count, size: count }, ['index']),
  entries: queryOf({ from: count, limit: count }),
  checkpoints: queryOf({ from: count, limit: count }),
  revokeId: { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: 64 } }, required: ['id'] },
  cloneProof: bodyOf({ type: { type: 'string', enum: ['edge', 'bridge', 'sentinel'] }, subject: peerIdText, mintedAt: { type: 'integer', minimum: 0 }, signature: b64url(86), a: hops, b: hops }, ['type', 'subject', 'mintedAt', 'signature', 'a', 'b'])
}

/**
 * The codes whose answer carries its `detail`: mistakes in the caller's own
 * request (its shape, its size, its rate, a name that does not exist) and
 * the issuer's state that an honest client must act on. Refused codes,
 * challenges, proofs, credentials and attestations are told by their code
 * alone: the detail would tell a forger which check it failed.
 */
export const DETAILED_CODES: ReadonlySet<string> = new Set([
  'bad-request', 'too-large', 'rate-limited', 'wrong-type', 'twin', 'not-found', 'conflict', 'not-admin', 'method-not-allowed', 'timeout'
])

/** the issuer's typed errors as answers (their message goes out as `detail` only for DETAILED_CODES) */
function classify (err: unknown): ErrorAnswer | undefined {
  if (err instanceof IssuerError) {
    return { status: STATUS[err.code] ?? 400, code: err.code, detail: err.message }
  }
  return undefined
}

export async function startIssuerHttp (init: IssuerHttpInit): Promise<IssuerHttp> {
  const { issuer, log } = init
  const now = init.now ?? Date.now
  const perPeer = new RateLimiter({ points: init.perPeerPerMinute ?? 60, duration: 60 })
  const window = init.rateWindowMs ?? 1000
  const anonymous = perAddress(init.perAddressPerSecond ?? 200, window)
  const audit = perAddress(init.auditPerAddressPerSecond ?? 20, window)
  const admins = new AdminRequestVerifier({ adminName: key => issuer.adminName(key), now })

  const { app, budget, answerOtherMethods } = await createHttpServer({
    name: 'issuer',
    log,
    bodyLimit: ISSUER_MAX_BODY,
    maxInFlightBodyBytes: ISSUER_MAX_IN_FLIGHT_BODY_BYTES,
    details: answer => DETAILED_CODES.has(answer.code),
    classify,
    refusalLevel: status => status === 429 || status === 404 ? 'debug' : 'info',
    ...(init.tls != null ? { tls: init.tls } : {})
  })

  /** a signed request by a registered admin key, or a bare 401 */
  const adminOnly = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const result = await admins.verify(request.method, request.url, request.headers)
    if (!result.ok) {
      log.info({ route: request.routeOptions.url, reason: result.reason, remote: request.ip }, 'admin request refused')
      if (result.reason === 'busy') {
        throw new HttpError(503, 'busy', 'too many admin requests at once')
      }
      reply.header('www-authenticate', 'TempusAdmin')
      throw new HttpError(401, 'unauthorized', 'sign the request with a registered admin key')
    }
    log.info({ route: request.routeOptions.url, admin: result.admin }, 'admin request')
  }

  const metrics = new IssuerHttpMetrics(issuer.metrics)
  app.addHook('onResponse', async (request, reply) => {
    // a held poll's time is mostly its wait: the latency histogram is for the issuer's work
    metrics.answered(request.routeOptions.url, request.method, reply.statusCode, reply.hasHeader('preference-applied') ? undefined : reply.elapsedTime / 1000)
  })

  app.get('/healthz', async () => ({ status: 'ok' }))
  // Prometheus text (tempus_issuer_*: twins, …) for a scraper on this host only:
  // the counts say how busy the overlay is, which a stranger has no need to know
  app.get('/metrics', { config: anonymous }, async (request, reply) => {
    if (!isLoopback(request.ip)) {
      throw new IssuerError('not-found', 'metrics are served to loopback clients only')
    }
    return await reply.type(issuer.metrics.contentType).send(await issuer.metrics.metrics())
  })
  // a node that holds the newest list or keys may ask to be answered when newer ones exist (held-polls.ts)
  const onPollError = (what: string) => (err: unknown): void => { log.warn({ err: (err as Error)?.message }, `reading the ${what} for held polls failed; trying again`) }
  const crlPolls = new HeldPolls({ newest: async () => (await issuer.revocationList()).n, onError: onPollError('newest revocation list') })
  const keyPolls = new HeldPolls({ newest: async () => keySetTag(await issuer.keys()), onError: onPollError('signing keys') })
  app.addHook('preClose', async () => {
    crlPolls.close()
    keyPolls.close()
  })
  const holdable = { config: anonymous, handlerTimeout: MAX_POLL_WAIT_MS + POLL_WAIT_MARGIN_MS }
  app.get('/v1/keys', holdable, async (request, reply) => {
    let keys = await issuer.keys()
    const tag = keySetTag(keys)
    if (await hold(request, reply, keyPolls, tag, tag)) {
      keys = await issuer.keys()
    }
    return await tagged(request, reply, keySetTag(keys), keys)
  })
  app.get('/v1/overlay', { config: anonymous }, async () => await issuer.overlayConfig())
  app.get('/v1/crl', holdable, async (request, reply) => {
    let crl = await issuer.revocationList()
    if (await hold(request, reply, crlPolls, crl.n, `"${crl.n}"`)) {
      crl = await issuer.revocationList()
    }
    return await tagged(request, reply, `"${crl.n}"`, crl)
  })
  app.get<{ Params: { id: string } }>('/v1/revoke/:id', { config: anonymous, schema: { params: SCHEMAS.revokeId } }, async request =>
    await issuer.revocationRequest(request.params.id))

  app.get('/v1/audit/checkpoint', { config: audit }, async () => await issuer.audit.checkpoint())
  // an offline root: checkpoints are signed by an audit key, which this root-signed certificate names (null: the root signs them)
  app.get('/v1/audit/key', { config: audit }, async () => ({ certificate: await issuer.auditCertificate() ?? null }))
  app.get<{ Querystring: { from?: string, limit?: string } }>('/v1/audit/checkpoints', { config: audit, schema: { querystring: SCHEMAS.checkpoints } }, async request =>
    ({ checkpoints: await issuer.audit.checkpoints(Number(request.query.from ?? 0), Number(request.query.limit ?? 1000)) }))
  app.get<{ Querystring: { from: string, to: string } }>('/v1/audit/consistency', { config: audit, schema: { querystring: SCHEMAS.consistency } }, async request => {
    const from = Number(request.query.from)
    const to = Number(request.query.to)
    if (from < 1 || to < from || to > await issuer.audit.size()) {
      throw new IssuerError('bad-request', 'from and to must be sizes with 1 ≤ from ≤ to ≤ the log size')
    }
    return { from, to, proof: await issuer.audit.consistency(from, to) }
  })
  app.get<{ Querystring: { index: string, size?: string } }>('/v1/audit/inclusion', { config: audit, schema: { querystring: SCHEMAS.inclusion } }, async request => {
    const index = Number(request.query.index)
    const logSize = await issuer.audit.size()
    const size = request.query.size == null ? logSize : Number(request.query.size)
    if (index >= size || size > logSize) {
      throw new IssuerError('bad-request', 'index < size ≤ the log size')
    }
    return { index, size, proof: await issuer.audit.inclusion(index, size) }
  })
  // entries name every member and its type: admins only
  app.get<{ Querystring: { from?: string, limit?: string } }>('/v1/audit/entries', { config: audit, schema: { querystring: SCHEMAS.entries }, preHandler: adminOnly }, async request => {
    const from = Number(request.query.from ?? 0)
    const limit = Number(request.query.limit ?? 100)
    if (limit < 1 || limit > 1000) {
      throw new IssuerError('bad-request', 'from ≥ 0 and 1 ≤ limit ≤ 1000')
    }
    return { entries: await issuer.audit.entries(from, limit) }
  })

  app.post<{ Body: { tpm?: unknown } }>('/v1/challenge', { config: anonymous, schema: { body: SCHEMAS.challenge } }, async request =>
    request.body.tpm != null ? issuer.sealedChallenge(request.body.tpm) : { challenge: issuer.challenge() })
  app.post('/v1/enroll', { config: anonymous, schema: { body: SCHEMAS.enroll } }, async request => {
    try {
      const enrolled = await issuer.enroll(request.body as EnrollRequest)
      metrics.enrolled('ok')
      // who joined, as what; never the code or the credential
      log.info({ peerId: enrolled.peerId, typ: enrolled.typ, remote: request.ip }, 'node enrolled')
      return enrolled
    } catch (err) {
      metrics.enrolled(err instanceof IssuerError ? err.code : 'error')
      throw err
    }
  })
  /** per peer: the credential's subject, once its signature and proof verified */
  const chargePeer = (reply: FastifyReply) => (peerId: string): void => {
    try {
      perPeer.consume(peerId, 1)
    } catch (err: any) {
      reply.header('retry-after', String(Math.max(1, Math.ceil(Number(err?.msBeforeNext ?? 60_000) / 1000))))
      throw new IssuerError('rate-limited', 'too many token requests for this peer; retry later')
    }
  }
  app.post('/v1/token', { config: anonymous, schema: { body: SCHEMAS.token } }, async (request, reply) => {
    let peerId: string | undefined
    const charge = chargePeer(reply)
    const token = await issuer.token(request.body as TokenRequest, peer => { charge(peer); peerId = peer })
    metrics.tokenIssued()
    // whose token, until when; never the token itself
    log.info({ peerId, expiresAt: new Date(token.expiresAt).toISOString(), remote: request.ip }, 'token issued')
    return token
  })
  // renewals share the per-peer budget of tokens: a member cannot mint
  // credentials faster than it may fetch tokens
  app.post('/v1/renew', { config: anonymous, schema: { body: SCHEMAS.renew } }, async (request, reply) =>
    await issuer.renew(request.body as RenewRequest, chargePeer(reply)))
  // a re-key spends the old key's token budget too
  app.post('/v1/rekey', { config: anonymous, schema: { body: SCHEMAS.rekey } }, async (request, reply) =>
    await issuer.rekey(request.body as RekeyRequest, chargePeer(reply)))
  app.post<{ Body: { request: string, adminKey: string, signature: string } }>('/v1/revoke', { config: anonymous, schema: { body: SCHEMAS.approve } }, async request => {
    const approved = await issuer.approve(request.body.request, request.body.adminKey, request.body.signature)
    // an approval that completed a revocation published a list: held polls hear of it now
    crlPolls.nudge()
    return approved
  })

  // a node's proof that a peer cloned a Cyclon descriptor: grounds for a revocation request (protocols/cyclon.md)
  app.post('/v1/evidence/clone', { config: anonymous, schema: { body: SCHEMAS.cloneProof } }, async request =>
    await issuer.offerCloneProof(request.body))

  answerOtherMethods()

  const listening = await listen(app, init.host ?? '127.0.0.1', init.port ?? 0)
  const url = `${init.tls != null ? 'https' : 'http'}://${listening.authority}`
  log.info({ url, overlay: issuer.overlay, attestation: issuer.attestation.kind }, 'issuer listening')
  return {
    url,
    bodyBytes: () => ({ inFlight: budget.inFlight, peak: budget.peak, capacity: budget.capacity }),
    heldPolls: () => ({ crl: crlPolls.size, keys: keyPolls.size }),
    setTls: tls => {
      if (init.tls == null) {
        return false
      }
      // a bad pair throws here, before anything changed; open connections keep theirs
      (app.server as unknown as { setSecureContext: (options: { cert: string, key: string }) => void }).setSecureContext(tls)
      return true
    },
    close: listening.close
  }
}

function isLoopback (ip: string): boolean {
  return ip === '::1' || ip.startsWith('127.') || ip.startsWith('::ffff:127.')
}

/**
 * Every failure as the one answer shape `{ "error": code }`: a route's
 * typed error, a schema or parser failure, a limit, a rate limit, or a bug
 * (a 500 `internal`, logged). Sending it never throws.
 */
import { HttpError } from './errors.ts'
import type { ErrorAnswer } from './errors.ts'
import type { FastifyError, FastifyReply } from 'fastify'

/** the code of each status a refusal is answered with */
export const CODES: Record<number, string> = {
  400: 'bad-request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not-found',
  405: 'method-not-allowed',
  408: 'timeout',
  413: 'too-large',
  421: 'misdirected',
  429: 'rate-limited',
  431: 'too-large',
  503: 'busy'
}

/** A refusal as its answer; anything unknown is a 500 `internal` (and logged as a bug). */
export function answerFor (err: unknown, classify?: (err: unknown) => ErrorAnswer | undefined): ErrorAnswer {
  if (err instanceof HttpError) {
    return { status: err.status, code: err.code, detail: err.message }
  }
  const own = classify?.(err)
  if (own != null) {
    return own
  }
  const e = err as Partial<FastifyError> & { validation?: Array<{ instancePath?: string, message?: string, keyword?: string, params?: Record<string, unknown> }> }
  if (Array.isArray(e?.validation)) {
    const first = e.validation[0]
    const where = `${e.validationContext ?? 'request'}${first?.instancePath ?? ''}`
    const detail = first?.keyword === 'type' && first.instancePath === ''
      ? `the ${where} is not a JSON ${String(first.params?.type ?? 'value')}`
      : `${where}: ${first?.message ?? 'invalid'}`
    return { status: 400, code: 'bad-request', detail }
  }
  switch (e?.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 400, code: 'bad-request', detail: 'send the body as application/json' }
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { status: 400, code: 'bad-request', detail: 'the body is not valid JSON: send one JSON object' }
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, code: 'too-large', detail: 'the body is larger than this route accepts' }
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, code: 'bad-request', detail: 'the body does not match its Content-Length' }
    case 'FST_ERR_BAD_URL':
      return { status: 400, code: 'bad-request', detail: 'the path is not valid percent-encoded UTF-8' }
    case 'FST_ERR_HANDLER_TIMEOUT':
      return { status: 503, code: 'timeout' }
  }
  const status = typeof e?.statusCode === 'number' ? e.statusCode : 500
  if (err instanceof SyntaxError && status === 400) {
    return { status: 400, code: 'bad-request', detail: 'the body is not valid JSON: send one JSON object' }
  }
  if (status === 415) {
    // a JSON type with a charset other than UTF-8, and the like
    return { status: 400, code: 'bad-request', detail: 'send the body as application/json (UTF-8)' }
  }
  if (status >= 400 && status < 500) {
    // Fastify's other refusals (prototype poisoning, a body on a route without a parser, …)
    return { status, code: CODES[status] ?? 'bad-request', detail: status === 429 ? 'too many requests; retry after the Retry-After seconds' : 'the request is malformed' }
  }
  return { status: 500, code: 'internal' }
}

/** Send a refusal, or drop the connection when an answer already started. Never throws. */
export function refuse (reply: FastifyReply, answer: ErrorAnswer, details: boolean | ((answer: ErrorAnswer) => boolean)): void {
  try {
    if (reply.sent || reply.raw.headersSent) {
      reply.raw.destroy()
      return
    }
    for (const [name, value] of Object.entries(answer.headers ?? {})) {
      reply.header(name, value)
    }
    if ((answer.status === 503 || answer.status === 429) && !reply.hasHeader('retry-after')) {
      reply.header('retry-after', '1')
    }
    const detailed = typeof details === 'function' ? details(answer) : details
    const body = detailed && answer.detail != null && answer.status < 500 ? { error: answer.code, detail: answer.detail } : { error: answer.code }
    reply.code(answer.status).type('application/json; charset=utf-8').send(body)
  } catch {
    reply.raw.destroy()
  }
}

/**
 * A send request from outside (the admin API, the CLI): validated with a
 * schema, each mistake a `DtnError('malformed')` naming the field.
 */
import { z } from 'zod'
import { parseDuration } from '../core/duration.ts'
import { parseDestination } from './destination.ts'
import { MAX_COPIES, MAX_HOP_LIMIT, MAX_LIFETIME_MS } from './constants.ts'
import { DtnError } from './errors.ts'
import type { Destination } from './destination.ts'
import type { SendOptions } from './service.ts'

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/

const inputSchema = z.strictObject({
  /** a PeerId, edge / bridge / sentinel, or * */
  destination: z.string().min(1).max(300),
  /** the payload as UTF-8 text… */
  text: z.string().optional(),
  /** …or as base64 (standard or url-safe) */
  payload: z.string().regex(BASE64, 'base64 expected').optional(),
  /** a duration ("10m", "1h") or ms */
  lifetime: z.union([z.string().max(16), z.number()]).optional(),
  copies: z.number().int().min(1).max(MAX_COPIES).optional(),
  hopLimit: z.number().int().min(1).max(MAX_HOP_LIMIT).optional(),
  encrypt: z.boolean().optional(),
  routing: z.enum(['spray', 'epidemic']).optional()
}).refine(v => (v.text == null) !== (v.payload == null), { message: 'exactly one of text and payload', path: ['payload'] })

export interface BundleInput {
  destination: Destination
  payload: Uint8Array
  options: SendOptions
}

export function parseBundleInput (value: unknown): BundleInput {
  const r = inputSchema.safeParse(value)
  if (!r.success) {
    const issue = r.error.issues[0]
    throw new DtnError('malformed', `${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`)
  }
  let destination: Destination
  try {
    destination = parseDestination(r.data.destination)
  } catch (err: any) {
    throw new DtnError('malformed', `destination: ${err.message}`)
  }
  const options: SendOptions = {}
  if (r.data.lifetime != null) {
    try {
      options.lifetimeMs = parseDuration(r.data.lifetime, 'lifetime')
    } catch (err: any) {
      throw new DtnError('malformed', err.message)
    }
    if (options.lifetimeMs < 1 || options.lifetimeMs > MAX_LIFETIME_MS) {
      throw new DtnError('malformed', 'lifetime: from 1 ms to 7 days')
    }
  }
  if (r.data.copies != null) options.copies = r.data.copies
  if (r.data.hopLimit != null) options.hopLimit = r.data.hopLimit
  if (r.data.encrypt != null) options.encrypt = r.data.encrypt
  if (r.data.routing != null) options.routing = r.data.routing
  const payload = r.data.text != null ? Buffer.from(r.data.text, 'utf8') : Buffer.from(r.data.payload as string, 'base64')
  return { destination, payload, options }
}

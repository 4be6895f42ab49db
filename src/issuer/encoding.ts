/** How the issuer reads and writes the byte strings and hashes of its requests. */
import { createHash } from 'node:crypto'
import { IssuerError } from './errors.ts'

export const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url')

/** base64url from a request, at most `max` characters, or a bad-request naming `what` */
export function unb64 (s: unknown, what: string, max = 512): Uint8Array {
  if (typeof s !== 'string' || s.length === 0 || s.length > max || !/^[A-Za-z0-9_-]+$/.test(s)) {
    throw new IssuerError('bad-request', `${what} must be base64url`)
  }
  return new Uint8Array(Buffer.from(s, 'base64url'))
}

export const sha256hex = (s: string): string => createHash('sha256').update(s).digest('hex')

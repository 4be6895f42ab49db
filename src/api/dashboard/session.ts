/**
 * The dashboard's sessions: the operator types the admin API's bearer token
 * into the login page once (a POST body, never a URL), and gets an opaque
 * session id in an HttpOnly, SameSite=Strict cookie scoped to `/dashboard`.
 * The server keeps only a hash of each id, at most `maxSessions` of them
 * (the oldest is ended first), each for `ttlMs`; they die with the process.
 */
import { createHash, randomBytes } from 'node:crypto'
import { SESSION_COOKIE, SESSION_PATH } from './constants.ts'

export interface SessionsInit {
  /** how long a session lasts, ms */
  ttlMs: number
  /** the most sessions held at once; a new one past it ends the oldest */
  maxSessions: number
  now: () => number
  /** @default node:crypto's randomBytes */
  random?: (n: number) => Uint8Array
}

export interface Session {
  /** the cookie's value: 32 random bytes, base64url */
  id: string
  expiresAt: number
  /** how long it lasts from its creation, ms (the cookie's Max-Age: one clock reading, not a second one that may have ticked) */
  ttlMs: number
}

const ID = /^[A-Za-z0-9_-]{43}$/

function hash (id: string): string {
  return createHash('sha256').update(id).digest('base64url')
}

export class Sessions {
  /** hash of the id → expiry (ms), in creation order */
  private readonly held = new Map<string, number>()
  private readonly init: SessionsInit

  constructor (init: SessionsInit) {
    this.init = init
  }

  get size (): number {
    this.sweep()
    return this.held.size
  }

  create (): Session {
    this.sweep()
    while (this.held.size >= this.init.maxSessions) {
      const oldest = this.held.keys().next().value
      if (oldest == null) break
      this.held.delete(oldest)
    }
    const id = Buffer.from((this.init.random ?? randomBytes)(32)).toString('base64url')
    const expiresAt = this.init.now() + this.init.ttlMs
    this.held.set(hash(id), expiresAt)
    return { id, expiresAt, ttlMs: this.init.ttlMs }
  }

  /** the session's expiry when `id` names a live one, else undefined */
  check (id: string | undefined): number | undefined {
    if (id == null || !ID.test(id)) {
      return undefined
    }
    const key = hash(id)
    const expiresAt = this.held.get(key)
    if (expiresAt == null) {
      return undefined
    }
    if (expiresAt <= this.init.now()) {
      this.held.delete(key)
      return undefined
    }
    return expiresAt
  }

  end (id: string | undefined): void {
    if (id != null && ID.test(id)) {
      this.held.delete(hash(id))
    }
  }

  clear (): void {
    this.held.clear()
  }

  private sweep (): void {
    const now = this.init.now()
    for (const [key, expiresAt] of this.held) {
      if (expiresAt <= now) this.held.delete(key)
    }
  }
}

/** The value of cookie `name` in a Cookie header (bounded: a header over 8 KiB or 64 pairs is read as none). */
export function cookieValue (header: string | undefined, name: string = SESSION_COOKIE): string | undefined {
  if (header == null || header.length > 8192) {
    return undefined
  }
  const pairs = header.split(';')
  if (pairs.length > 64) {
    return undefined
  }
  for (const pair of pairs) {
    const eq = pair.indexOf('=')
    if (eq > 0 && pair.slice(0, eq).trim() === name) {
      return pair.slice(eq + 1).trim()
    }
  }
  return undefined
}

/** Set-Cookie for a new session: HttpOnly, SameSite=Strict, only under /dashboard (plain HTTP on loopback: no Secure). */
export function sessionCookie (session: Session): string {
  const maxAge = Math.max(0, Math.floor(session.ttlMs / 1000))
  return `${SESSION_COOKIE}=${session.id}; Path=${SESSION_PATH}; Max-Age=${maxAge}; HttpOnly; SameSite=Strict`
}

/** Set-Cookie that removes the session cookie. */
export function clearedCookie (): string {
  return `${SESSION_COOKIE}=; Path=${SESSION_PATH}; Max-Age=0; HttpOnly; SameSite=Strict`
}

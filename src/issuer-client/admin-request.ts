/**
 * A signed admin request: how an administrator proves, on a plain HTTP
 * request, that it comes from an admin key the issuer registered (`tempus
 * issuer admin add`). Used where the issuer serves what strangers must not
 * read, such as the audit log's entries (they name every member and its
 * type); checkpoints and proofs stay public, as in Certificate Transparency.
 *
 * The admin signs, with the key it already uses for revocation approvals,
 *
 *   "tempus-issuer-admin-request-v1" ‖ 0x00 ‖ METHOD "\n" request-target "\n" time "\n" nonce
 *
 * (request-target is the path and query exactly as sent; time is ms since
 * the epoch in decimal; nonce is 16 random bytes, base64url; a request
 * target cannot hold a newline, so the fields cannot run into each other)
 * and sends key, time, nonce and signature in four headers. The issuer
 * refuses a time outside ±skew of its clock and a nonce it has seen within
 * that window, so a captured request cannot be replayed: within the window
 * the nonce is remembered, outside it the time is refused.
 */
import { randomBytes } from 'node:crypto'
import { DOMAINS } from '../core/domains.ts'
import { publicKeyFromRawBytes, rawPublicKey, signDomain, verifyDomain } from '../core/keys.ts'
import type { KeyObject } from 'node:crypto'

/** how far a signed admin request's time may be from the issuer's clock, ms (the skew tokens get too) */
export const ADMIN_REQUEST_SKEW_MS = 30_000

export const ADMIN_REQUEST_HEADERS = {
  key: 'x-tempus-admin-key',
  time: 'x-tempus-admin-time',
  nonce: 'x-tempus-admin-nonce',
  signature: 'x-tempus-admin-signature'
} as const

/** nonces remembered at once; only requests with a valid admin signature are remembered, so only admins can fill it */
export const MAX_REMEMBERED_NONCES = 10_000

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url')

/** The bytes an admin signs for one request. */
export function adminRequestBytes (method: string, target: string, time: number, nonce: string): Uint8Array {
  return Buffer.from(`${method.toUpperCase()}\n${target}\n${time}\n${nonce}`, 'utf8')
}

/** The four headers that sign `method target` with an admin key at `now`. */
export function signAdminRequest (key: { privateKey: KeyObject, publicKey: KeyObject }, method: string, target: string, now: number): Record<string, string> {
  const nonce = b64(randomBytes(16))
  const time = Math.floor(now)
  const signature = signDomain(key.privateKey, DOMAINS.adminRequest, adminRequestBytes(method, target, time, nonce))
  return {
    [ADMIN_REQUEST_HEADERS.key]: b64(rawPublicKey(key.publicKey)),
    [ADMIN_REQUEST_HEADERS.time]: String(time),
    [ADMIN_REQUEST_HEADERS.nonce]: nonce,
    [ADMIN_REQUEST_HEADERS.signature]: b64(signature)
  }
}

/** Why a request was refused: for the issuer's log only; the caller gets a bare 401. */
export type AdminRequestRefusal = 'missing' | 'malformed' | 'stale' | 'unknown-key' | 'bad-signature' | 'replayed' | 'busy'

export type AdminRequestResult = { ok: true, admin: string } | { ok: false, reason: AdminRequestRefusal }

export interface AdminRequestVerifierInit {
  /** the name of a registered admin key (base64url raw Ed25519), or undefined */
  adminName: (publicKey: string) => Promise<string | undefined> | string | undefined
  now: () => number
  /** how far a request's time may be from ours, ms */
  skewMs?: number
  maxRemembered?: number
}

const KEY = /^[A-Za-z0-9_-]{43}$/
const NONCE = /^[A-Za-z0-9_-]{22}$/
const SIGNATURE = /^[A-Za-z0-9_-]{86}$/
const TIME = /^[0-9]{1,15}$/

export class AdminRequestVerifier {
  private readonly adminName: (publicKey: string) => Promise<string | undefined> | string | undefined
  private readonly now: () => number
  private readonly skewMs: number
  private readonly maxRemembered: number
  /** key ‖ nonce → when it may be forgotten (its time is then outside the window anyway) */
  private readonly seen = new Map<string, number>()

  constructor (init: AdminRequestVerifierInit) {
    this.adminName = init.adminName
    this.now = init.now
    this.skewMs = init.skewMs ?? ADMIN_REQUEST_SKEW_MS
    this.maxRemembered = init.maxRemembered ?? MAX_REMEMBERED_NONCES
  }

  async verify (method: string, target: string, headers: Record<string, string | string[] | undefined>): Promise<AdminRequestResult> {
    const key = headers[ADMIN_REQUEST_HEADERS.key]
    const time = headers[ADMIN_REQUEST_HEADERS.time]
    const nonce = headers[ADMIN_REQUEST_HEADERS.nonce]
    const signature = headers[ADMIN_REQUEST_HEADERS.signature]
    if (key == null && time == null && nonce == null && signature == null) {
      return { ok: false, reason: 'missing' }
    }
    if (typeof key !== 'string' || !KEY.test(key) || typeof time !== 'string' || !TIME.test(time) ||
      typeof nonce !== 'string' || !NONCE.test(nonce) || typeof signature !== 'string' || !SIGNATURE.test(signature)) {
      return { ok: false, reason: 'malformed' }
    }
    const now = this.now()
    const at = Number(time)
    if (Math.abs(now - at) > this.skewMs) {
      return { ok: false, reason: 'stale' }
    }
    const admin = await this.adminName(key)
    if (admin == null) {
      return { ok: false, reason: 'unknown-key' }
    }
    let valid = false
    try {
      const raw = new Uint8Array(Buffer.from(key, 'base64url'))
      valid = raw.length === 32 && verifyDomain(publicKeyFromRawBytes(raw), new Uint8Array(Buffer.from(signature, 'base64url')), DOMAINS.adminRequest, adminRequestBytes(method, target, at, nonce))
    } catch {
      valid = false
    }
    if (!valid) {
      return { ok: false, reason: 'bad-signature' }
    }
    const id = `${key}.${nonce}`
    this.forget(now)
    if (this.seen.has(id)) {
      return { ok: false, reason: 'replayed' }
    }
    if (this.seen.size >= this.maxRemembered) {
      return { ok: false, reason: 'busy' }
    }
    this.seen.set(id, at + this.skewMs)
    return { ok: true, admin }
  }

  /** Drop nonces whose time has left the window (a replay of them is refused as stale). */
  private forget (now: number): void {
    if (this.seen.size < this.maxRemembered) {
      // cheap path: entries arrive roughly in time order
      for (const [id, until] of this.seen) {
        if (until >= now) {
          break
        }
        this.seen.delete(id)
      }
      return
    }
    for (const [id, until] of this.seen) {
      if (until < now) {
        this.seen.delete(id)
      }
    }
  }
}

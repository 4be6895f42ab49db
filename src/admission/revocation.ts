/**
 * Revocation lists: signed by the issuer's root key, numbered monotonically.
 * A node keeps the highest-numbered valid list it has seen and ignores older
 * ones, whether they arrive over HTTP or gossip.
 */
import { SignJWT } from 'jose'
import { AdmissionError } from './errors.ts'
import { verifyJws } from './jws.ts'
import type { KeyObject } from 'node:crypto'

export const JWT_TYPE_CRL = 'tempus-crl+jwt'
export const MAX_CRL_BYTES = 1024 * 1024
export const MAX_CRL_ENTRIES = 20_000

export interface RevokedEntry {
  /** PeerId */
  sub: string
  reason: string
  /** seconds since the epoch */
  at: number
}

export interface RevocationList {
  aud: string
  /** strictly increasing */
  n: number
  iat: number
  revoked: RevokedEntry[]
  jws: string
}

export async function signRevocationList (root: KeyObject, overlay: string, n: number, revoked: RevokedEntry[], nowMs: number): Promise<string> {
  return new SignJWT({ aud: overlay, n, iat: Math.floor(nowMs / 1000), revoked })
    .setProtectedHeader({ alg: 'EdDSA', typ: JWT_TYPE_CRL })
    .sign(root)
}

export async function verifyRevocationList (jws: string, root: KeyObject, overlay: string): Promise<RevocationList> {
  const { payload } = await verifyJws(jws, root, JWT_TYPE_CRL, MAX_CRL_BYTES, 'revocation list')
  if (payload?.aud !== overlay || !Number.isSafeInteger(payload.n) || payload.n < 0 || !Number.isSafeInteger(payload.iat) ||
    !Array.isArray(payload.revoked) || payload.revoked.length > MAX_CRL_ENTRIES ||
    !payload.revoked.every((e: any) => typeof e?.sub === 'string' && e.sub.length <= 128 && typeof e.reason === 'string' && e.reason.length <= 256 && Number.isSafeInteger(e.at))) {
    throw new AdmissionError('malformed', 'revocation list claims are incomplete')
  }
  return { aud: overlay, n: payload.n, iat: payload.iat, revoked: payload.revoked, jws }
}

/** The node's view: the newest list wins, older and equal numbers are ignored. */
export class RevocationState {
  private list?: RevocationList
  private set = new Set<string>()

  get number (): number {
    return this.list?.n ?? -1
  }

  get current (): RevocationList | undefined {
    return this.list
  }

  isRevoked (peerId: string): boolean {
    return this.set.has(peerId)
  }

  /** Returns the PeerIds newly revoked, or undefined when the list is not newer. */
  apply (list: RevocationList): string[] | undefined {
    if (list.n <= this.number) {
      return undefined
    }
    const next = new Set(list.revoked.map(e => e.sub))
    const added = [...next].filter(p => !this.set.has(p))
    this.list = list
    this.set = next
    return added
  }
}

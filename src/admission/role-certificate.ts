/**
 * Role certificates: the root certifies an online key for one use, so the
 * root itself can stay offline. `revocation`: the key signs revocation
 * lists (they must be signable within minutes of k approvals, long before
 * anyone can walk to the offline root); `audit`: the key signs the audit
 * log's checkpoints; `admin`: the key may approve revocations.
 *
 * A certificate names the overlay, the use, the key, a serial and a
 * validity window. Verifiers keep the highest serial they have seen per
 * use: a new certificate (a new key, or the same key renewed) retires every
 * older one, so a stolen revocation key is retired by certifying another.
 */
import { AdmissionError } from './errors.ts'
import { verifyJws } from './jws.ts'
import { signCompactJws } from './jws-sign.ts'
import { publicKeyFromRawBytes } from '../core/keys.ts'
import type { SignerKey } from '../core/keys.ts'
import type { KeyObject } from 'node:crypto'

export const JWT_TYPE_ROLE_CERT = 'tempus-rolecert+jwt'
export const MAX_ROLE_CERT_BYTES = 2048
export const ROLES = ['revocation', 'audit', 'admin'] as const
export type Role = typeof ROLES[number]
/** how far a verifier's clock may be from the root's on a validity window */
export const ROLE_CERT_SKEW_S = 300

export interface RoleCertificateClaims {
  /** the overlay */
  aud: string
  use: Role
  /** base64url raw Ed25519 public key */
  x: string
  /** serial, per use: the highest one seen wins */
  sn: number
  /** validity, seconds since the epoch */
  nbf: number
  exp: number
  iat: number
  /** an admin's name (admin certificates) */
  name?: string
}

export interface RoleCertificate extends RoleCertificateClaims {
  publicKey: KeyObject
  jws: string
}

export function signRoleCertificate (root: SignerKey, claims: RoleCertificateClaims): string {
  return signCompactJws(root, { typ: JWT_TYPE_ROLE_CERT }, { ...claims })
}

/**
 * Check a role certificate against the root: the overlay, the use and the
 * signature, and (given `nowMs`) that it is valid now. Throws an
 * `AdmissionError`: `bad-signature` (not the root's), `malformed`, or
 * `expired` (outside its window).
 */
export async function verifyRoleCertificate (jws: string, root: KeyObject, overlay: string, use: Role, nowMs?: number): Promise<RoleCertificate> {
  const { payload } = await verifyJws(jws, root, JWT_TYPE_ROLE_CERT, MAX_ROLE_CERT_BYTES, 'role certificate')
  const int = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0
  if (payload?.aud !== overlay || payload.use !== use || typeof payload.x !== 'string' || !int(payload.sn) || payload.sn < 1 ||
    !int(payload.nbf) || !int(payload.exp) || payload.exp <= payload.nbf || !int(payload.iat) ||
    (payload.name != null && (typeof payload.name !== 'string' || payload.name.length > 64))) {
    throw new AdmissionError('malformed', `not a ${use} certificate of overlay ${overlay.slice(0, 64)}`)
  }
  let publicKey: KeyObject
  try {
    publicKey = publicKeyFromRawBytes(new Uint8Array(Buffer.from(payload.x, 'base64url')))
  } catch {
    throw new AdmissionError('malformed', 'role certificate holds no Ed25519 key')
  }
  if (nowMs != null) {
    const now = Math.floor(nowMs / 1000)
    if (now + ROLE_CERT_SKEW_S < payload.nbf || now - ROLE_CERT_SKEW_S > payload.exp) {
      throw new AdmissionError('expired', `the ${use} key's certificate (serial ${payload.sn as number}) is outside its validity; the issuer needs a new one from the root`)
    }
  }
  return { ...(payload as RoleCertificateClaims), publicKey, jws }
}

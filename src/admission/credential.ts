/**
 * What a node reads from its own membership credential: whose it is, and
 * when it was issued and expires. The node cannot verify the credential (the
 * issuer's credential key is the issuer's alone); it only needs the times to
 * renew at half its life, and the issuer checks everything else.
 */
import type { PeerType } from '../core/peer-type.ts'

export interface CredentialLifetime {
  sub: string
  typ: PeerType
  /** ms since the epoch */
  issuedAt: number
  /** ms since the epoch */
  expiresAt: number
  /** half-way between issue and expiry: when a node renews it */
  renewAt: number
}

/** The lifetime claims of a credential (a JWT), or undefined when they are not there. */
export function credentialLifetime (credential: string): CredentialLifetime | undefined {
  const parts = credential.split('.')
  if (parts.length !== 3) {
    return undefined
  }
  let claims: any
  try {
    claims = JSON.parse(Buffer.from(parts[1] ?? '', 'base64url').toString('utf8'))
  } catch {
    return undefined
  }
  if (typeof claims?.sub !== 'string' || typeof claims.typ !== 'string' || !Number.isSafeInteger(claims.iat) || !Number.isSafeInteger(claims.exp) || claims.exp <= claims.iat) {
    return undefined
  }
  const issuedAt = claims.iat * 1000
  const expiresAt = claims.exp * 1000
  return { sub: claims.sub, typ: claims.typ, issuedAt, expiresAt, renewAt: issuedAt + Math.floor((expiresAt - issuedAt) / 2) }
}

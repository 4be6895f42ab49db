/**
 * Tokens and credentials: JWTs signed with EdDSA (`jws-sign.ts`, through
 * whatever holds the key: memory or a PKCS#11 token), verified in `jws.ts`.
 *
 * A token says: the issuer `iss` authorised PeerId `sub` as a node of type
 * `typ` in overlay `aud` from `nbf` to `exp` (2–5 minutes), signed with the
 * signing key `kid` of epoch `ep`.
 */
import { decodeJwt, decodeProtectedHeader } from 'jose'
import { isPeerType } from '../core/peer-type.ts'
import { JWT_TYPE_TOKEN, MAX_TOKEN_BYTES } from './constants.ts'
import { AdmissionError } from './errors.ts'
import { verifyJws } from './jws.ts'
import { signCompactJws } from './jws-sign.ts'
import type { SignerKey } from '../core/keys.ts'
import type { PeerType } from '../core/peer-type.ts'
import type { KeyObject } from 'node:crypto'

export interface TokenClaims {
  iss: string
  aud: string
  sub: string
  typ: PeerType
  /** seconds since the epoch */
  nbf: number
  exp: number
  iat: number
  jti: string
  /** signing key epoch */
  ep: number
}

export interface SigningKey {
  kid: string
  epoch: number
  /** what signs: an in-memory key, or a signer whose key stays in its token */
  privateKey: SignerKey
  publicKey: KeyObject
}

export async function signToken (key: SigningKey, claims: Omit<TokenClaims, 'ep'>, type = JWT_TYPE_TOKEN): Promise<string> {
  return signCompactJws(key.privateKey, { kid: key.kid, typ: type }, { ...claims, ep: key.epoch })
}

export interface DecodedToken {
  kid: string
  claims: TokenClaims
}

/** Read the header's kid without trusting anything (to pick the key). */
export function tokenKid (token: string): string {
  if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_BYTES) {
    throw new AdmissionError('malformed', 'token missing or too large')
  }
  let header: ReturnType<typeof decodeProtectedHeader>
  try {
    header = decodeProtectedHeader(token)
  } catch {
    throw new AdmissionError('malformed', 'token is not a JWS')
  }
  if (header.alg !== 'EdDSA' || typeof header.kid !== 'string' || header.kid.length === 0 || header.kid.length > 64) {
    throw new AdmissionError('malformed', 'token header must be EdDSA with a kid')
  }
  return header.kid
}

/**
 * The overlay a token claims (its `aud`), unverified: only to tell a node of
 * another overlay (whose key we cannot know) from a forger. Undefined when
 * there is none to read.
 */
export function claimedOverlay (token: string): string | undefined {
  try {
    const aud = decodeJwt(token).aud
    return typeof aud === 'string' ? aud.slice(0, 64) : undefined
  } catch {
    return undefined
  }
}

/** Verify the signature with `key` and return the claims, checked for shape only. */
export async function verifyTokenSignature (token: string, key: KeyObject, type = JWT_TYPE_TOKEN): Promise<DecodedToken> {
  const { kid, payload: claims } = await verifyJws(token, key, type, MAX_TOKEN_BYTES, 'token')
  const str = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 256
  const int = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0
  if (claims == null || !str(claims.iss) || !str(claims.aud) || !str(claims.sub) || !isPeerType(claims.typ) ||
    !int(claims.nbf) || !int(claims.exp) || !int(claims.iat) || !str(claims.jti) || !int(claims.ep)) {
    throw new AdmissionError('malformed', 'token claims are incomplete')
  }
  return { kid: kid ?? '', claims: claims as TokenClaims }
}

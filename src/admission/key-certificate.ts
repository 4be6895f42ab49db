/**
 * Key certificates: the root key certifies each signing key (kid, epoch,
 * public key). A verifier that knows the root public key learns signing keys
 * from certificates alone, so a new key can be announced before it signs.
 */
import { JWT_TYPE_KEY_CERT, MAX_KEY_CERT_BYTES } from './constants.ts'
import { AdmissionError } from './errors.ts'
import { verifyJws } from './jws.ts'
import { signCompactJws } from './jws-sign.ts'
import { publicKeyFromRawBytes, rawPublicKey } from '../core/keys.ts'
import type { SignerKey } from '../core/keys.ts'
import type { KeyObject } from 'node:crypto'

export interface KeyCertificate {
  /** the overlay the key signs for */
  aud: string
  kid: string
  epoch: number
  publicKey: KeyObject
  /** seconds since the epoch */
  iat: number
  /** the compact JWS itself, to pass on */
  jws: string
}

export async function signKeyCertificate (root: SignerKey, overlay: string, kid: string, epoch: number, publicKey: KeyObject | Uint8Array, nowMs: number): Promise<string> {
  const raw = publicKey instanceof Uint8Array ? publicKey : rawPublicKey(publicKey)
  return signCompactJws(root, { typ: JWT_TYPE_KEY_CERT }, { aud: overlay, kid, ep: epoch, x: Buffer.from(raw).toString('base64url'), iat: Math.floor(nowMs / 1000) })
}

export async function verifyKeyCertificate (jws: string, root: KeyObject, overlay: string): Promise<KeyCertificate> {
  const { payload } = await verifyJws(jws, root, JWT_TYPE_KEY_CERT, MAX_KEY_CERT_BYTES, 'key certificate')
  if (payload?.aud !== overlay || typeof payload.kid !== 'string' || payload.kid.length > 64 ||
    !Number.isSafeInteger(payload.ep) || payload.ep < 0 || typeof payload.x !== 'string' || !Number.isSafeInteger(payload.iat)) {
    throw new AdmissionError('malformed', 'key certificate claims are incomplete')
  }
  let publicKey: KeyObject
  try {
    publicKey = publicKeyFromRawBytes(new Uint8Array(Buffer.from(payload.x, 'base64url')))
  } catch {
    throw new AdmissionError('malformed', 'key certificate holds no Ed25519 key')
  }
  return { aud: overlay, kid: payload.kid, epoch: payload.ep, publicKey, iat: payload.iat, jws }
}

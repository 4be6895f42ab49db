/**
 * Verifying an EdDSA JWS (token, credential, key certificate, revocation
 * list): bounded size, strict compact form, jose's header parser, the
 * signature, expected `typ`, JSON payload.
 *
 * Why the signature is not checked by jose's `compactVerify`: jose 6 checks
 * through WebCrypto, whose `verify` resolves on a later turn of the event
 * loop (the work goes to libuv's thread pool and comes back). On a busy
 * node that turn is what a first sight of a token costs: the gossip probe
 * (`scripts/probe-gossip.ts`) measured 12–26 ms p50 for a fresh token
 * against 0.01 ms for one seen before, paid at every hop of an anomaly whose
 * origin's token the hop had not met yet. node:crypto's one-shot `verify`
 * is the same OpenSSL Ed25519 check, done on the spot (about 60 µs).
 * The rules are RFC 7515's for the one form this project signs
 * (`jws-sign.ts`): three base64url parts without padding, an `alg` of
 * `EdDSA`, no `crit` (no extension is understood, so any is refused) and
 * no `b64`.
 */
import { verify as edVerify } from 'node:crypto'
import { decodeProtectedHeader } from 'jose'
import { AdmissionError } from './errors.ts'
import type { KeyObject } from 'node:crypto'

export interface VerifiedJws {
  kid: string | undefined
  payload: any
}

/** one base64url part without padding */
const PART = /^[A-Za-z0-9_-]+$/
/** an Ed25519 signature: 64 bytes, 86 base64url characters */
const SIGNATURE_CHARS = 86

/**
 * Synchronous: no turn of the event loop between a frame's arrival and its
 * verdict. Callers may still `await` it.
 */
export function verifyJws (jws: string, key: KeyObject, typ: string, maxBytes: number, what: string): VerifiedJws {
  if (typeof jws !== 'string' || jws.length === 0 || jws.length > maxBytes) {
    throw new AdmissionError('malformed', `${what} missing or too large`)
  }
  if (key.type !== 'public' || key.asymmetricKeyType !== 'ed25519') {
    // a caller's mistake, not the sender's: never reported as the sender's fault
    throw new TypeError(`${what}: the verifying key must be an Ed25519 public key`)
  }
  const parts = jws.split('.')
  if (parts.length !== 3 || !parts.every(p => PART.test(p))) {
    throw new AdmissionError('malformed', `${what} is not a compact JWS`)
  }
  const [encodedHeader, encodedPayload, encodedSignature] = parts as [string, string, string]
  if (encodedSignature.length !== SIGNATURE_CHARS) {
    throw new AdmissionError('malformed', `${what} is not a compact JWS`)
  }
  let header: ReturnType<typeof decodeProtectedHeader>
  try {
    header = decodeProtectedHeader(jws)
  } catch {
    throw new AdmissionError('malformed', `${what} header is not a JSON object`)
  }
  if (header.alg !== 'EdDSA' || 'crit' in header || 'b64' in header) {
    throw new AdmissionError('malformed', `${what} does not verify`)
  }
  const signature = Buffer.from(encodedSignature, 'base64url')
  // 86 characters hold 516 bits for 512: the last character's spare bits
  // must be zero, or two spellings would carry one signature
  if (signature.toString('base64url') !== encodedSignature) {
    throw new AdmissionError('malformed', `${what} signature is not canonical base64url`)
  }
  const input = Buffer.from(`${encodedHeader}.${encodedPayload}`, 'ascii')
  if (!edVerify(null, input, key, signature)) {
    throw new AdmissionError('bad-signature', `${what} does not verify`)
  }
  if (header.typ !== typ) {
    throw new AdmissionError('malformed', `expected a ${typ}`)
  }
  try {
    return { kid: header.kid, payload: JSON.parse(Buffer.from(encodedPayload, 'base64url').toString('utf8')) }
  } catch {
    throw new AdmissionError('malformed', `${what} payload is not JSON`)
  }
}

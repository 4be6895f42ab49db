/**
 * What an iOS node sends: JSON text `{"keyId": base64url, "attestation":
 * base64url}`, the key id `DCAppAttestService.generateKey` returned and the
 * attestation object `attestKey` returned. The attestation object is CBOR:
 *
 *   { "fmt": "apple-appattest",
 *     "attStmt": { "x5c": [credCert DER, intermediate DER, …], "receipt": bytes },
 *     "authData": bytes }
 *
 * Parsed with bounds before and during decoding; any other shape is
 * `malformed-evidence`.
 */
import { evidenceObject } from '../attestation.ts'
import { X509Certificate } from 'node:crypto'
import { CborError, decodeCbor } from './cbor.ts'
import { AUTH_DATA_MIN_BYTES, MAX_CERTIFICATE_BYTES, MAX_EVIDENCE_CHARS, MAX_X5C } from './constants.ts'
import { AppAttestRefusal } from './errors.ts'
import type { CborValue } from './cbor.ts'

export interface AppAttestEvidence {
  keyId: Uint8Array
  /** x5c, credential certificate first */
  chain: X509Certificate[]
  authData: Uint8Array
  receipt?: Uint8Array
}

const B64URL = /^[A-Za-z0-9_-]+$/

function malformed (message: string): AppAttestRefusal {
  return new AppAttestRefusal('malformed-evidence', message)
}

function base64url (value: unknown, field: string): Uint8Array {
  if (typeof value !== 'string' || !B64URL.test(value)) {
    throw malformed(`${field} is not base64url`)
  }
  const bytes = Buffer.from(value, 'base64url')
  if (bytes.toString('base64url') !== value) {
    throw malformed(`${field} is not canonical base64url (no padding, no stray bits)`)
  }
  return new Uint8Array(bytes)
}

function field (map: CborValue, key: string): CborValue | undefined {
  return map instanceof Map ? map.get(key) : undefined
}

export function parseAppAttestEvidence (evidence: unknown): AppAttestEvidence {
  const body = evidenceObject(evidence, MAX_EVIDENCE_CHARS, ['keyId', 'attestation'], '{"keyId": base64url, "attestation": base64url}', malformed)
  const { keyId: rawKeyId, attestation } = body as { keyId: unknown, attestation: unknown }
  const keyId = base64url(rawKeyId, 'keyId')
  if (keyId.length !== 32) {
    throw malformed('keyId must be 32 bytes (a SHA-256)')
  }
  let object: CborValue
  try {
    object = decodeCbor(base64url(attestation, 'attestation'), { maxDepth: 4, maxItems: 32 })
  } catch (err) {
    if (err instanceof CborError) {
      throw malformed(`the attestation object: ${err.message}`)
    }
    throw err
  }
  if (!(object instanceof Map) || object.size !== 3 || field(object, 'fmt') !== 'apple-appattest') {
    throw malformed('the attestation object is not {fmt: "apple-appattest", attStmt, authData}')
  }
  const attStmt = field(object, 'attStmt')
  const authData = field(object, 'authData')
  const x5c = field(attStmt ?? null, 'x5c')
  const receipt = field(attStmt ?? null, 'receipt')
  if (!(attStmt instanceof Map) || [...attStmt.keys()].some(k => k !== 'x5c' && k !== 'receipt')) {
    throw malformed('attStmt must hold x5c and receipt only')
  }
  if (!(authData instanceof Uint8Array) || authData.length < AUTH_DATA_MIN_BYTES) {
    throw malformed(`authData must be a byte string of at least ${AUTH_DATA_MIN_BYTES} bytes`)
  }
  if (receipt != null && !(receipt instanceof Uint8Array)) {
    throw malformed('receipt must be a byte string')
  }
  if (!Array.isArray(x5c) || x5c.length < 1 || x5c.length > MAX_X5C) {
    throw malformed(`x5c must be an array of 1 to ${MAX_X5C} certificates`)
  }
  const chain = x5c.map((der, i) => {
    if (!(der instanceof Uint8Array) || der.length > MAX_CERTIFICATE_BYTES) {
      throw malformed(`x5c[${i}] must be a DER certificate of at most ${MAX_CERTIFICATE_BYTES} bytes`)
    }
    let cert: X509Certificate
    try {
      cert = new X509Certificate(der)
    } catch {
      throw malformed(`x5c[${i}] is not a DER X.509 certificate`)
    }
    if (cert.raw.length !== der.length) {
      throw malformed(`x5c[${i}] has bytes after its certificate`)
    }
    return cert
  })
  return { keyId, chain, authData, ...(receipt instanceof Uint8Array ? { receipt } : {}) }
}

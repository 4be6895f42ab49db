/**
 * The evidence an Android node sends: JSON text `{"chain": [DER, …]}`, each
 * certificate base64url (no padding), the leaf first. Bounded before it is
 * parsed (length of the text, number and size of certificates), strict
 * (canonical base64url, one certificate per entry, no other field).
 */
import { evidenceObject } from '../attestation.ts'
import { X509Certificate } from 'node:crypto'
import { MAX_CERTIFICATE_BYTES, MAX_CHAIN_CERTIFICATES, MAX_EVIDENCE_CHARS } from './constants.ts'
import { AndroidAttestationRefusal } from './errors.ts'

export interface AndroidEvidence {
  /** the chain, leaf first, parsed */
  chain: X509Certificate[]
  /** the leaf's DER, for its extensions */
  leafDer: Uint8Array
}

const B64URL = /^[A-Za-z0-9_-]+$/

function malformed (message: string): AndroidAttestationRefusal {
  return new AndroidAttestationRefusal('malformed-evidence', message)
}

export function parseAndroidEvidence (evidence: unknown): AndroidEvidence {
  const body = evidenceObject(evidence, MAX_EVIDENCE_CHARS, ['chain'], '{"chain": [base64url DER, …]} with the leaf first', malformed)
  if (!Array.isArray(body.chain)) {
    throw malformed('evidence must be {"chain": [base64url DER, …]} with the leaf first')
  }
  const entries: unknown[] = body.chain
  if (entries.length < 1 || entries.length > MAX_CHAIN_CERTIFICATES) {
    throw malformed(`a chain of ${entries.length} certificates; 1 to ${MAX_CHAIN_CERTIFICATES}`)
  }
  const ders = entries.map((entry, i) => {
    if (typeof entry !== 'string' || !B64URL.test(entry)) {
      throw malformed(`chain[${i}] is not base64url`)
    }
    const der = Buffer.from(entry, 'base64url')
    // Buffer's decoder skips what it does not understand: insist on the one canonical spelling
    if (der.toString('base64url') !== entry) {
      throw malformed(`chain[${i}] is not canonical base64url (no padding, no stray bits)`)
    }
    if (der.length > MAX_CERTIFICATE_BYTES) {
      throw malformed(`chain[${i}] is ${der.length} bytes; at most ${MAX_CERTIFICATE_BYTES}`)
    }
    return der
  })
  const chain = ders.map((der, i) => {
    let cert: X509Certificate
    try {
      cert = new X509Certificate(der)
    } catch {
      throw malformed(`chain[${i}] is not a DER X.509 certificate`)
    }
    // OpenSSL reads one certificate and ignores what follows it
    if (cert.raw.length !== der.length) {
      throw malformed(`chain[${i}] has bytes after its certificate`)
    }
    return cert
  })
  return { chain, leafDer: new Uint8Array(ders[0] as Buffer) }
}

/** What a node sends, from its chain (leaf first, DER). */
export function androidEvidence (chain: Uint8Array[]): string {
  return JSON.stringify({ chain: chain.map(der => Buffer.from(der).toString('base64url')) })
}

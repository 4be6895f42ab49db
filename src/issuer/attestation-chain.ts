/**
 * A platform's attestation certificate chain up to a configured root, the
 * part every certificate-based verifier (Android key attestation, Apple
 * App Attest) shares: each certificate is issued by the next (names, key
 * identifiers, key usage, signature), each signer is a CA, the topmost is a
 * root or is signed by one, and every certificate and the root are valid at
 * the issuer's clock. The verifier turns a failure into its own refusal.
 */
import { AsnConvert } from '@peculiar/asn1-schema'
import { Certificate } from '@peculiar/asn1-x509'
import type { X509Certificate } from 'node:crypto'

export type ChainFailure = 'bad-signature' | 'not-a-ca' | 'unknown-root' | 'outside-validity'

export type ChainVerdict =
  | { ok: true, root: X509Certificate }
  | { ok: false, failure: ChainFailure, message: string }

function validAt (cert: X509Certificate, now: number): boolean {
  return cert.validFromDate.getTime() <= now && now <= cert.validToDate.getTime()
}

function signedBy (cert: X509Certificate, issuer: X509Certificate): boolean {
  try {
    // checkIssued: issuer name, key identifiers, the issuer's key usage; verify: the signature
    return cert.checkIssued(issuer) && cert.verify(issuer.publicKey)
  } catch {
    // a key or signature algorithm OpenSSL cannot use
    return false
  }
}

/** `chain` leaf first, at least one certificate */
export function checkChain (chain: readonly X509Certificate[], roots: readonly X509Certificate[], now: number): ChainVerdict {
  for (let i = 0; i + 1 < chain.length; i++) {
    const cert = chain[i] as X509Certificate
    const issuer = chain[i + 1] as X509Certificate
    if (!signedBy(cert, issuer)) {
      return { ok: false, failure: 'bad-signature', message: `chain[${i}] is not signed by chain[${i + 1}]` }
    }
    if (!issuer.ca) {
      return { ok: false, failure: 'not-a-ca', message: `chain[${i + 1}] signs chain[${i}] but is not a CA` }
    }
  }
  const top = chain[chain.length - 1] as X509Certificate
  // the top is the root itself (a self-signed root verifies under its own key) or is signed by one
  const root = roots.find(r => signedBy(top, r))
  if (root == null) {
    return { ok: false, failure: 'unknown-root', message: 'the chain does not end at a configured root' }
  }
  if (!root.ca) {
    return { ok: false, failure: 'not-a-ca', message: 'the configured root that signs the chain is not a CA' }
  }
  for (const [i, cert] of [...chain, root].entries()) {
    if (!validAt(cert, now)) {
      return { ok: false, failure: 'outside-validity', message: `${i < chain.length ? `chain[${i}]` : 'the root'} is not valid now (${cert.validFrom} to ${cert.validTo})` }
    }
  }
  return { ok: true, root }
}

/**
 * The values of one extension of a DER certificate (node:crypto's
 * X509Certificate does not list extensions); undefined when the DER does
 * not parse as X.509 here (OpenSSL parsed it: a second parser that
 * disagrees means a malformed certificate).
 */
export function extensionValues (der: Uint8Array, oid: string): Uint8Array[] | undefined {
  let cert: Certificate
  try {
    cert = AsnConvert.parse(der, Certificate)
  } catch {
    return undefined
  }
  return (cert.tbsCertificate.extensions ?? [])
    .filter(e => e.extnID === oid)
    .map(e => new Uint8Array(e.extnValue.buffer))
}

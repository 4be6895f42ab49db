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
import { X509Certificate } from 'node:crypto'
import { ConfigError } from '../core/config-error.ts'

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

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g

/** the roots in a PEM file (1 to 32 CA certificates), or a ConfigError naming `source` */
export function parseRootCertificates (pem: string, source: string): X509Certificate[] {
  const blocks = pem.match(PEM_BLOCK) ?? []
  if (blocks.length === 0 || blocks.length > 32) {
    throw new ConfigError(`${source}: expected 1 to 32 PEM certificates (-----BEGIN CERTIFICATE-----), found ${blocks.length}`)
  }
  return blocks.map((block, i) => {
    let cert: X509Certificate
    try {
      cert = new X509Certificate(block)
    } catch (err: any) {
      throw new ConfigError(`${source}: certificate ${i + 1} does not parse (${String(err.message)})`)
    }
    if (!cert.ca) {
      throw new ConfigError(`${source}: certificate ${i + 1} (${cert.subject.replace(/\n/g, ', ')}) is not a CA certificate`)
    }
    return cert
  })
}

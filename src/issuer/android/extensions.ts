/**
 * The values of one extension of a DER certificate (node:crypto's
 * X509Certificate does not list extensions). The certificate already
 * parsed with OpenSSL; a second parser that disagrees is a malformed chain.
 */
import { AsnConvert } from '@peculiar/asn1-schema'
import { Certificate } from '@peculiar/asn1-x509'
import { AndroidAttestationRefusal } from './errors.ts'

export function extensionValues (der: Uint8Array, oid: string): Uint8Array[] {
  let cert: Certificate
  try {
    cert = AsnConvert.parse(der, Certificate)
  } catch {
    throw new AndroidAttestationRefusal('malformed-evidence', 'a certificate of the chain does not parse as X.509')
  }
  return (cert.tbsCertificate.extensions ?? [])
    .filter(e => e.extnID === oid)
    .map(e => new Uint8Array(e.extnValue.buffer))
}

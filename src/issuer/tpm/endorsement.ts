/**
 * The endorsement key's certificate: issued by the TPM's maker (or, for
 * swtpm, a local CA) and stored in the TPM's NV index 0x01c00002 (RSA EK).
 * It must be issued by one of the endorsement CAs the issuer was given
 * (`--tpm-ek-ca FILE`, PEM, one or more): every certificate in that file is
 * trusted as an issuer of EK certificates, roots and intermediates alike, so
 * an operator lists exactly the CAs of the TPM makers (or the fleet's own
 * CA) it accepts. Checked: the signature, the issuer's name, that the
 * issuer is a CA, both validity periods at the injected time.
 */
import { X509Certificate } from 'node:crypto'
import { ConfigError } from '../../core/config-error.ts'

/** every certificate of a PEM bundle; a ConfigError when there is none or one does not parse */
export function parseEndorsementCAs (pem: string, source = 'the endorsement CA file'): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? []
  if (blocks.length === 0) {
    throw new ConfigError(`${source} holds no PEM certificate; give the TPM makers' (or your own) EK CA certificates`)
  }
  if (blocks.length > 64) {
    throw new ConfigError(`${source} holds ${blocks.length} certificates; at most 64`)
  }
  return blocks.map((block, i) => {
    let cert: X509Certificate
    try {
      cert = new X509Certificate(block)
    } catch {
      throw new ConfigError(`${source}: certificate ${i + 1} does not parse`)
    }
    if (!cert.ca) {
      throw new ConfigError(`${source}: certificate ${i + 1} (${cert.subject}) is not a CA certificate`)
    }
    return cert
  })
}

/** true when `ek` was issued by one of `cas` and both are valid at `now` */
export function endorsedBy (ek: X509Certificate, cas: readonly X509Certificate[], now: number): boolean {
  if (!validAt(ek, now)) {
    return false
  }
  return cas.some(ca => {
    try {
      return ca.ca && validAt(ca, now) && ek.checkIssued(ca) && ek.verify(ca.publicKey)
    } catch {
      return false
    }
  })
}

function validAt (cert: X509Certificate, now: number): boolean {
  return cert.validFromDate.getTime() <= now && now <= cert.validToDate.getTime()
}

/**
 * The attestation chain up to a configured root (Google's hardware
 * attestation roots in production): every certificate is signed by the
 * next one, every signer is a CA, every certificate (and the root) is valid
 * at the issuer's clock, and no serial is in the revocation status list.
 *
 * The CA check matters more than it looks: a genuine attested key on a
 * genuine device (a leaf, not a CA) could otherwise sign a leaf of the
 * attacker's choosing, key description and all.
 */
import { X509Certificate } from 'node:crypto'
import { KEY_DESCRIPTION_OID } from './constants.ts'
import { AndroidAttestationRefusal } from './errors.ts'
import { extensionValues } from './extensions.ts'
import { serialKey } from './revocation-list.ts'
import type { RevocationStatusList } from './revocation-list.ts'

export interface ChainTrust {
  roots: readonly X509Certificate[]
  revoked: RevocationStatusList
  now: number
}

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

/** the root that anchors the chain, or a refusal */
export function verifyAndroidChain (chain: readonly X509Certificate[], trust: ChainTrust): X509Certificate {
  for (let i = 0; i + 1 < chain.length; i++) {
    const cert = chain[i] as X509Certificate
    const issuer = chain[i + 1] as X509Certificate
    if (!signedBy(cert, issuer)) {
      throw new AndroidAttestationRefusal('bad-signature', `chain[${i}] is not signed by chain[${i + 1}]`)
    }
    if (!issuer.ca) {
      throw new AndroidAttestationRefusal('not-a-ca', `chain[${i + 1}] signs chain[${i}] but is not a CA`)
    }
  }
  const top = chain[chain.length - 1] as X509Certificate
  // the top is the root itself (a self-signed root verifies under its own key) or is signed by one
  const root = trust.roots.find(r => signedBy(top, r))
  if (root == null) {
    throw new AndroidAttestationRefusal('unknown-root', 'the chain does not end at a configured root (--android-roots)')
  }
  if (!root.ca) {
    throw new AndroidAttestationRefusal('not-a-ca', 'the configured root that signs the chain is not a CA')
  }
  for (const [i, cert] of [...chain, root].entries()) {
    if (!validAt(cert, trust.now)) {
      throw new AndroidAttestationRefusal('outside-validity', `${i < chain.length ? `chain[${i}]` : 'the root'} is not valid now (${cert.validFrom} to ${cert.validTo})`)
    }
  }
  // only the leaf speaks for a key: a key description above it is a leaf posing as a CA
  for (let i = 1; i < chain.length; i++) {
    if (hasKeyDescription(chain[i] as X509Certificate)) {
      throw new AndroidAttestationRefusal('not-a-ca', `chain[${i}] carries a key description: an attested key, not an authority`)
    }
  }
  for (const [i, cert] of chain.entries()) {
    const status = trust.revoked.get(serialKey(cert.serialNumber))
    if (status != null) {
      throw new AndroidAttestationRefusal('revoked-certificate', `chain[${i}]'s serial is ${status} in the revocation status list`)
    }
  }
  return root
}

function hasKeyDescription (cert: X509Certificate): boolean {
  return extensionValues(cert.raw, KEY_DESCRIPTION_OID).length > 0
}

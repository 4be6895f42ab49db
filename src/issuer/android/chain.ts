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
import { checkChain } from '../attestation-chain.ts'
import { KEY_DESCRIPTION_OID } from './constants.ts'
import { AndroidAttestationRefusal } from './errors.ts'
import { extensionValues } from './extensions.ts'
import { serialKey } from './revocation-list.ts'
import type { RevocationStatusList } from './revocation-list.ts'
import type { X509Certificate } from 'node:crypto'

export interface ChainTrust {
  roots: readonly X509Certificate[]
  revoked: RevocationStatusList
  now: number
}

/** the root that anchors the chain, or a refusal */
export function verifyAndroidChain (chain: readonly X509Certificate[], trust: ChainTrust): X509Certificate {
  const verdict = checkChain(chain, trust.roots, trust.now)
  if (!verdict.ok) {
    throw new AndroidAttestationRefusal(verdict.failure, verdict.failure === 'unknown-root' ? `${verdict.message} (--android-roots)` : verdict.message)
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
  return verdict.root
}

function hasKeyDescription (cert: X509Certificate): boolean {
  return extensionValues(cert.raw, KEY_DESCRIPTION_OID).length > 0
}

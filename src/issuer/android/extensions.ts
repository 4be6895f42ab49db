/** The values of one extension of a certificate of the chain, or a refusal (`malformed-evidence`). */
import { extensionValues as values } from '../attestation-chain.ts'
import { AndroidAttestationRefusal } from './errors.ts'

export function extensionValues (der: Uint8Array, oid: string): Uint8Array[] {
  const found = values(der, oid)
  if (found == null) {
    throw new AndroidAttestationRefusal('malformed-evidence', 'a certificate of the chain does not parse as X.509')
  }
  return found
}

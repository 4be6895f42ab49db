/**
 * Apple App Attest at enrolment (`--attestation apple-app-attest`), as
 * Apple's "Validating apps that connect to your server" lays it out:
 *
 * 1. the credential certificate chains to Apple's App Attestation Root CA;
 * 2. nonce = SHA-256(authData ‖ clientDataHash), with clientDataHash
 *    derived from this enrolment's challenge and the node's key
 *    (client-data.ts), equals the credential certificate's extension
 *    1.2.840.113635.100.8.2;
 * 3. SHA-256 of the credential certificate's public key (an uncompressed
 *    P-256 point) is the key id;
 * 4. the RP ID hash is SHA-256 of an allowed App ID (TEAMID.bundle.id);
 * 5. the counter is 0;
 * 6. the AAGUID is production's (development's only when allowed);
 * 7. the credential id is the key id.
 *
 * The receipt is not checked (Apple's fraud-metric service is a network
 * call); the key is not kept (enrolment needs no later assertions).
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { checkChain, extensionValues } from '../attestation-chain.ts'
import { parseAuthData } from './auth-data.ts'
import { appAttestClientDataHash } from './client-data.ts'
import { AAGUID_DEVELOPMENT, AAGUID_PRODUCTION, NONCE_OID } from './constants.ts'
import { AppAttestRefusal } from './errors.ts'
import { parseAppAttestEvidence } from './evidence.ts'
import type { AttestationContext, AttestationVerifier } from '../attestation.ts'
import type { X509Certificate } from 'node:crypto'

export interface AppAttestInit {
  /** Apple's App Attestation Root CA (a test root in tests) */
  roots: readonly X509Certificate[]
  /** allowed App IDs, `TEAMID.bundle.id` */
  appIds: readonly string[]
  /** also accept keys of development builds (`appattestdevelop`) @default false */
  allowDevelopment?: boolean
  /** the issuer's clock, ms since the epoch */
  now: () => number
}

const sha256 = (...parts: Uint8Array[]): Buffer => {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return h.digest()
}

const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && timingSafeEqual(a, b)

// DER of SEQUENCE { [1] EXPLICIT OCTET STRING (32 bytes) }: the one encoding of a 32-byte nonce
const NONCE_PREFIX = Uint8Array.from([0x30, 0x24, 0xa1, 0x22, 0x04, 0x20])

function nonceOf (credCert: X509Certificate): Uint8Array {
  const values = extensionValues(credCert.raw, NONCE_OID)
  if (values == null || values.length !== 1) {
    throw new AppAttestRefusal('wrong-nonce', 'the credential certificate has no single nonce extension')
  }
  const value = values[0] as Uint8Array
  if (value.length !== NONCE_PREFIX.length + 32 || !same(value.subarray(0, NONCE_PREFIX.length), NONCE_PREFIX)) {
    throw new AppAttestRefusal('wrong-nonce', 'the nonce extension is not SEQUENCE { [1] OCTET STRING (32 bytes) }')
  }
  return value.subarray(NONCE_PREFIX.length)
}

/** 0x04 ‖ x ‖ y of a P-256 key */
function uncompressedPoint (cert: X509Certificate): Uint8Array | undefined {
  try {
    const key = cert.publicKey
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      return undefined
    }
    const jwk = key.export({ format: 'jwk' })
    return new Uint8Array(Buffer.concat([Buffer.of(4), Buffer.from(jwk.x ?? '', 'base64url'), Buffer.from(jwk.y ?? '', 'base64url')]))
  } catch {
    // a key OpenSSL cannot load: not an App Attest key
    return undefined
  }
}

export function appAttestation (init: AppAttestInit): AttestationVerifier {
  const rpIdHashes = init.appIds.map(id => sha256(Buffer.from(id, 'utf8')))
  return {
    kind: 'apple-app-attest',
    async verify (evidence: string | undefined, context: AttestationContext): Promise<boolean> {
      const { keyId, chain, authData } = parseAppAttestEvidence(evidence)
      const data = parseAuthData(authData)
      const verdict = checkChain(chain, init.roots, init.now())
      if (!verdict.ok) {
        throw new AppAttestRefusal(verdict.failure, verdict.message)
      }
      const credCert = chain[0] as X509Certificate
      const clientDataHash = appAttestClientDataHash(context.challenge, context.publicKey)
      if (!same(nonceOf(credCert), sha256(authData, clientDataHash))) {
        throw new AppAttestRefusal('wrong-nonce', 'the nonce is not SHA-256(authData ‖ clientDataHash) for this enrolment and key')
      }
      const point = uncompressedPoint(credCert)
      if (point == null || !same(sha256(point), keyId)) {
        throw new AppAttestRefusal('wrong-key-id', 'the key id is not the SHA-256 of the credential certificate\'s P-256 key')
      }
      if (!rpIdHashes.some(h => same(h, data.rpIdHash))) {
        throw new AppAttestRefusal('wrong-app-id', 'the RP ID hash is not that of an allowed App ID')
      }
      if (data.counter !== 0) {
        throw new AppAttestRefusal('wrong-counter', 'a fresh attestation\'s counter must be 0')
      }
      const production = same(data.aaguid, AAGUID_PRODUCTION)
      if (!production && !(init.allowDevelopment === true && same(data.aaguid, AAGUID_DEVELOPMENT))) {
        throw new AppAttestRefusal('wrong-environment', same(data.aaguid, AAGUID_DEVELOPMENT) ? 'a development key; the issuer accepts production only' : 'an unknown AAGUID')
      }
      if (!same(data.credentialId, keyId)) {
        throw new AppAttestRefusal('wrong-key-id', 'the credential id is not the key id')
      }
      return true
    }
  }
}

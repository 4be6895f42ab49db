/**
 * Android key attestation at enrolment (`--attestation android`): the node
 * sends its keystore key's attestation chain (evidence.ts); the issuer
 * checks the chain up to its configured roots (chain.ts), then what the
 * secure hardware says about the key (key-description.ts): TEE or
 * StrongBox, generated inside, verified boot on a locked device, this
 * enrolment's challenge, the node's own key, and the policy's apps and
 * patch level. Every refusal is an `AndroidAttestationRefusal` whose reason
 * the enrolment writes to the audit log.
 *
 * Example (what `tempus issuer start --attestation android` builds):
 *
 *   const attestation = androidAttestation({ roots: parseAndroidRoots(pem, file), now: Date.now })
 *   await Issuer.init({ …, attestation })
 */
import { X509Certificate } from 'node:crypto'
import { SecurityLevel } from '@peculiar/asn1-android'
import { verifyAndroidChain } from './chain.ts'
import { androidAttestationChallenge } from './challenge.ts'
import { AndroidAttestationRefusal } from './errors.ts'
import { parseAndroidEvidence } from './evidence.ts'
import { checkChallenge, checkDevice, checkPolicy, parseKeyDescription } from './key-description.ts'
import type { AttestationContext, AttestationVerifier } from '../attestation.ts'
import type { AndroidKeyBinding } from './challenge.ts'
import type { AndroidPolicy } from './policy.ts'
import type { RevocationStatusList } from './revocation-list.ts'

export interface AndroidAttestationInit {
  /** the roots a chain must end at (Google's hardware attestation roots in production) */
  roots: readonly X509Certificate[]
  /** @default no allow-list, no minimum patch level, key binding only */
  policy?: AndroidPolicy
  /** the revocation status list now (files.ts reads its file again when it changes) @default empty */
  revoked?: () => RevocationStatusList | Promise<RevocationStatusList>
  /** the issuer's clock, ms since the epoch */
  now: () => number
  /** told what each accepted attestation showed (for the issuer's log) */
  onAccepted?: (verdict: AndroidVerdict) => void
}

/** what an accepted attestation showed */
export interface AndroidVerdict {
  binding: AndroidKeyBinding
  securityLevel: 'TrustedEnvironment' | 'StrongBox'
  osPatchLevel?: number
}

const EMPTY: RevocationStatusList = new Map()

function rawEd25519 (cert: X509Certificate): Uint8Array | undefined {
  try {
    const key = cert.publicKey
    if (key.asymmetricKeyType !== 'ed25519') {
      return undefined
    }
    return new Uint8Array(Buffer.from(key.export({ format: 'jwk' }).x ?? '', 'base64url'))
  } catch {
    // a key OpenSSL cannot load: not the node's key
    return undefined
  }
}

export function androidAttestation (init: AndroidAttestationInit): AttestationVerifier {
  const policy: AndroidPolicy = init.policy ?? { challengeBinding: false }
  return {
    kind: 'android',
    async verify (evidence: string | undefined, context: AttestationContext): Promise<boolean> {
      const { chain, leafDer } = parseAndroidEvidence(evidence)
      verifyAndroidChain(chain, { roots: init.roots, revoked: await init.revoked?.() ?? EMPTY, now: init.now() })
      const kd = parseKeyDescription(leafDer)
      checkDevice(kd)
      const leafKey = rawEd25519(chain[0] as X509Certificate)
      const keyBound = leafKey != null && Buffer.from(leafKey).equals(Buffer.from(context.publicKey))
      if (!keyBound && !policy.challengeBinding) {
        throw new AndroidAttestationRefusal('wrong-key', 'the attested key is not the node\'s Ed25519 key (and the policy does not accept the challenge binding)')
      }
      const binding: AndroidKeyBinding = keyBound ? 'key' : 'challenge'
      checkChallenge(kd, androidAttestationChallenge(context.challenge, binding, context.publicKey))
      checkPolicy(kd, policy)
      init.onAccepted?.({
        binding,
        securityLevel: kd.keymasterSecurityLevel === SecurityLevel.strongBox ? 'StrongBox' : 'TrustedEnvironment',
        ...(kd.teeEnforced.osPatchLevel != null ? { osPatchLevel: kd.teeEnforced.osPatchLevel } : {})
      })
      return true
    }
  }
}

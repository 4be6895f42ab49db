/**
 * The leaf's key description (the key attestation extension, parsed with
 * @peculiar/asn1-android) against the issuer's policy: what the secure
 * hardware says about the key, checked field by field.
 *
 * Parsed with the strict `KeyDescription` schema; a description whose
 * authorization lists are out of tag order (some devices write them so) is
 * read with `NonStandardKeyDescription` instead, refusing a tag given twice.
 * A tag neither schema knows is refused (`no-key-description`).
 *
 * Only the hardware-enforced list is trusted for properties of the device
 * (root of trust, origin, patch level): the software-enforced list is what
 * Android's keystore daemon told the TEE, which a compromised OS chooses.
 * The attesting app's identity exists only in the software-enforced list;
 * it is as good as the verified, locked boot that the hardware vouches for.
 */
import { timingSafeEqual } from 'node:crypto'
import { AttestationApplicationId, AuthorizationList, KeyDescription, NonStandardKeyDescription, SecurityLevel, VerifiedBootState } from '@peculiar/asn1-android'
import type { NonStandardAuthorizationList } from '@peculiar/asn1-android'
import { AsnConvert, OctetString } from '@peculiar/asn1-schema'
import { KEY_DESCRIPTION_OID, KEY_ORIGIN_GENERATED } from './constants.ts'
import { AndroidAttestationRefusal } from './errors.ts'
import { extensionValues } from './extensions.ts'
import type { AndroidPolicy } from './policy.ts'

export function parseKeyDescription (leafDer: Uint8Array): KeyDescription {
  const values = extensionValues(leafDer, KEY_DESCRIPTION_OID)
  if (values.length !== 1) {
    throw new AndroidAttestationRefusal('no-key-description', values.length === 0 ? 'the leaf has no key attestation extension' : 'the leaf has more than one key attestation extension')
  }
  const der = values[0] as Uint8Array
  try {
    return AsnConvert.parse(der, KeyDescription)
  } catch {
    // some devices write the authorization lists' tags out of order: the strict schema refuses them
  }
  try {
    const loose = AsnConvert.parse(der, NonStandardKeyDescription)
    return new KeyDescription({
      attestationVersion: loose.attestationVersion,
      attestationSecurityLevel: loose.attestationSecurityLevel,
      keymasterVersion: loose.keymasterVersion,
      keymasterSecurityLevel: loose.keymasterSecurityLevel,
      attestationChallenge: loose.attestationChallenge,
      uniqueId: loose.uniqueId,
      softwareEnforced: merged(loose.softwareEnforced),
      teeEnforced: merged(loose.teeEnforced)
    })
  } catch (err) {
    if (err instanceof AndroidAttestationRefusal) throw err
    throw new AndroidAttestationRefusal('no-key-description', 'the leaf\'s key attestation extension does not parse as a KeyDescription')
  }
}

/** one authorization list from its items in any order; a tag given twice is ambiguous, and refused */
function merged (list: NonStandardAuthorizationList): AuthorizationList {
  const out = new AuthorizationList() as unknown as Record<string, unknown>
  for (const item of list) {
    const fields = Object.entries(item).filter(([, v]) => v !== undefined)
    const [field] = fields
    if (fields.length !== 1 || field == null) {
      throw new AndroidAttestationRefusal('no-key-description', 'an authorization of the key description holds no single tag')
    }
    if (out[field[0]] !== undefined) {
      throw new AndroidAttestationRefusal('no-key-description', `the key description gives ${field[0]} twice`)
    }
    out[field[0]] = field[1]
  }
  return out as unknown as AuthorizationList
}

/** the bytes of a parsed OCTET STRING: the schema types it OctetString, but SET OF members come back as ArrayBuffers */
function bytesOf (value: OctetString | ArrayBuffer | ArrayBufferView): Buffer {
  if (value instanceof ArrayBuffer) {
    return Buffer.from(value)
  }
  if (value instanceof OctetString) {
    return Buffer.from(value.buffer)
  }
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength)
}

const HARDWARE = new Set<number>([SecurityLevel.trustedEnvironment, SecurityLevel.strongBox])

/** the device and the key: TEE or StrongBox, generated inside, verified boot, locked bootloader */
export function checkDevice (kd: KeyDescription): void {
  if (!HARDWARE.has(kd.attestationSecurityLevel) || !HARDWARE.has(kd.keymasterSecurityLevel)) {
    throw new AndroidAttestationRefusal('software-security-level', 'the attestation or the key is Software, not TrustedEnvironment or StrongBox')
  }
  const hw = kd.teeEnforced
  if (hw.origin !== KEY_ORIGIN_GENERATED) {
    throw new AndroidAttestationRefusal('imported-key', 'the key was not generated in the secure hardware (origin is not GENERATED)')
  }
  const rot = hw.rootOfTrust
  if (rot == null) {
    throw new AndroidAttestationRefusal('no-root-of-trust', 'the attestation has no hardware-enforced root of trust')
  }
  if (rot.verifiedBootState !== VerifiedBootState.verified) {
    throw new AndroidAttestationRefusal('boot-not-verified', `verified boot state is ${VerifiedBootState[rot.verifiedBootState] ?? 'unknown'}, not verified`)
  }
  if (rot.deviceLocked !== true) {
    throw new AndroidAttestationRefusal('device-unlocked', 'the device\'s bootloader is unlocked')
  }
}

export function checkChallenge (kd: KeyDescription, expected: Uint8Array): void {
  const got = bytesOf(kd.attestationChallenge)
  if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
    throw new AndroidAttestationRefusal('wrong-challenge', 'the attestation challenge is not this enrolment\'s')
  }
}

/** the policy's allow-list of apps and its minimum patch level */
export function checkPolicy (kd: KeyDescription, policy: AndroidPolicy): void {
  const apps = policy.applications
  if (apps != null) {
    const raw = kd.softwareEnforced.attestationApplicationId
    if (raw == null) {
      throw new AndroidAttestationRefusal('package-not-allowed', 'the attestation names no application; the policy allows only some')
    }
    let id: AttestationApplicationId
    try {
      id = AsnConvert.parse(bytesOf(raw), AttestationApplicationId)
    } catch {
      throw new AndroidAttestationRefusal('package-not-allowed', 'the attestation application id does not parse')
    }
    const names = id.packageInfos.map(p => bytesOf(p.packageName).toString('utf8'))
    if (names.length === 0 || !names.every(n => apps.packageNames.has(n))) {
      throw new AndroidAttestationRefusal('package-not-allowed', 'a package of the attesting app is not in the policy\'s packageNames')
    }
    const digests = id.signatureDigests.map(d => bytesOf(d).toString('hex'))
    if (apps.signatureDigests != null && (digests.length === 0 || !digests.every(d => apps.signatureDigests?.has(d) === true))) {
      throw new AndroidAttestationRefusal('package-not-allowed', 'the attesting app is signed by a certificate not in the policy\'s signatureDigests')
    }
  }
  if (policy.minOsPatchLevel != null) {
    const level = kd.teeEnforced.osPatchLevel
    if (level == null || level < policy.minOsPatchLevel) {
      throw new AndroidAttestationRefusal('patch-level-too-old', `the OS patch level is ${level ?? 'not attested'}; the policy asks for ${policy.minOsPatchLevel} or newer`)
    }
  }
}

/**
 * The issuer's Android policy (`--android-policy FILE`, JSON), every field
 * optional:
 *
 *   {
 *     "applications": {
 *       "packageNames": ["org.example.tempus"],
 *       "signatureDigests": ["<SHA-256 of the app's signing certificate, hex>"]
 *     },
 *     "minOsPatchLevel": 202503,
 *     "challengeBinding": false
 *   }
 *
 * - applications: the app that generated the key must be one of these
 *   (every package of its UID: any of them could have asked for the key),
 *   signed only by these certificates. Absent: any app.
 * - minOsPatchLevel: YYYYMM; the hardware-enforced OS patch level must be
 *   this or newer (a device that does not report one is refused).
 * - challengeBinding: also accept devices that cannot hold the node's
 *   Ed25519 key (before KeyMint 2): the attested key is another one and the
 *   challenge alone binds the node's key (src/issuer/android/challenge.ts).
 *   Such a node's key is a software key: the attestation proves a genuine,
 *   locked device asked for the enrolment, not that the key cannot be
 *   copied. Off by default; the audit log records each member's binding.
 */
import { ConfigError } from '../../core/config-error.ts'

export interface AndroidPolicy {
  applications?: {
    packageNames: ReadonlySet<string>
    /** lowercase hex; absent: any signer */
    signatureDigests?: ReadonlySet<string>
  }
  minOsPatchLevel?: number
  challengeBinding: boolean
}

const FIELDS = new Set(['applications', 'minOsPatchLevel', 'challengeBinding'])
const APP_FIELDS = new Set(['packageNames', 'signatureDigests'])
// Java package names: dot-separated identifiers
const PACKAGE = /^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$/
const DIGEST = /^[0-9a-fA-F]{64}$/

function isObject (v: unknown): v is Record<string, unknown> {
  return v != null && typeof v === 'object' && !Array.isArray(v)
}

function unknownField (obj: Record<string, unknown>, allowed: Set<string>, at: string, source: string): void {
  const extra = Object.keys(obj).find(k => !allowed.has(k))
  if (extra != null) {
    throw new ConfigError(`${source}: unknown field ${at}${extra.slice(0, 40)}; allowed: ${[...allowed].join(', ')}`, `${at}${extra.slice(0, 40)}`)
  }
}

function stringSet (value: unknown, pattern: RegExp, field: string, what: string, source: string): Set<string> {
  if (!Array.isArray(value) || value.length === 0 || value.length > 1000) {
    throw new ConfigError(`${source}: ${field} must be a list of 1 to 1000 ${what}`, field)
  }
  return new Set(value.map((v, i) => {
    if (typeof v !== 'string' || v.length > 255 || !pattern.test(v)) {
      throw new ConfigError(`${source}: ${field}[${i}] is not ${what.replace(/s$/, '')}`, `${field}[${i}]`)
    }
    return v
  }))
}

export function parseAndroidPolicy (text: string, source: string): AndroidPolicy {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch (err: any) {
    throw new ConfigError(`${source}: not JSON (${String(err.message)})`)
  }
  if (!isObject(body)) {
    throw new ConfigError(`${source}: the policy must be a JSON object with applications, minOsPatchLevel, challengeBinding (each optional)`)
  }
  unknownField(body, FIELDS, '', source)
  const policy: AndroidPolicy = { challengeBinding: false }
  if (body.applications != null) {
    const apps = body.applications
    if (!isObject(apps)) {
      throw new ConfigError(`${source}: applications must be an object with packageNames (and signatureDigests)`, 'applications')
    }
    unknownField(apps, APP_FIELDS, 'applications.', source)
    policy.applications = { packageNames: stringSet(apps.packageNames, PACKAGE, 'applications.packageNames', 'package names such as org.example.app', source) }
    if (apps.signatureDigests != null) {
      policy.applications.signatureDigests = new Set([...stringSet(apps.signatureDigests, DIGEST, 'applications.signatureDigests', 'SHA-256 digests in hex (64 characters)', source)].map(d => d.toLowerCase()))
    }
  }
  if (body.minOsPatchLevel != null) {
    const level = body.minOsPatchLevel
    if (typeof level !== 'number' || !Number.isInteger(level) || level < 201_001 || level > 999_912 || level % 100 < 1 || level % 100 > 12) {
      throw new ConfigError(`${source}: minOsPatchLevel must be a year and month as YYYYMM, e.g. 202503`, 'minOsPatchLevel')
    }
    policy.minOsPatchLevel = level
  }
  if (body.challengeBinding != null) {
    if (typeof body.challengeBinding !== 'boolean') {
      throw new ConfigError(`${source}: challengeBinding must be true or false`, 'challengeBinding')
    }
    policy.challengeBinding = body.challengeBinding
  }
  return policy
}

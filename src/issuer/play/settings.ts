/**
 * The issuer's Play Integrity settings (`--play-integrity FILE`, JSON; it
 * holds the app's token decryption key: keep it 0600):
 *
 *   {
 *     "packageName": "org.example.tempus",
 *     "decryptionKey": "<base64 AES-256 key, Play Console → App integrity → Response encryption>",
 *     "verificationKey": "<base64 DER EC P-256 public key, the same page>",
 *     "certificateDigests": ["<SHA-256 of the app's signing certificate, 64 hex>"],
 *     "deviceIntegrity": "MEETS_DEVICE_INTEGRITY",
 *     "requireLicensed": false,
 *     "maxAgeSeconds": 120
 *   }
 *
 * `certificateDigests` (absent: any signer Play recognises), `deviceIntegrity`
 * (MEETS_DEVICE_INTEGRITY by default, or MEETS_STRONG_INTEGRITY),
 * `requireLicensed` and `maxAgeSeconds` (how old a verdict may be; 120 by
 * default, at most 600) are optional. Errors name the field, never a key.
 */
import { createPublicKey, createSecretKey } from 'node:crypto'
import { ConfigError } from '../../core/config-error.ts'
import type { KeyObject } from 'node:crypto'

export type DeviceIntegrityLevel = 'MEETS_DEVICE_INTEGRITY' | 'MEETS_STRONG_INTEGRITY'

export interface PlayIntegritySettings {
  packageName: string
  decryptionKey: KeyObject
  verificationKey: KeyObject
  /** lowercase hex; absent: any */
  certificateDigests?: ReadonlySet<string>
  deviceIntegrity: DeviceIntegrityLevel
  requireLicensed: boolean
  maxAgeMs: number
}

const FIELDS = new Set(['packageName', 'decryptionKey', 'verificationKey', 'certificateDigests', 'deviceIntegrity', 'requireLicensed', 'maxAgeSeconds'])
const PACKAGE = /^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$/
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/

function keyBytes (value: unknown, field: string, source: string): Buffer {
  if (typeof value !== 'string' || value.length > 4096 || !BASE64.test(value)) {
    throw new ConfigError(`${source}: ${field} must be the base64 text the Play Console shows`, field)
  }
  return Buffer.from(value, value.includes('-') || value.includes('_') ? 'base64url' : 'base64')
}

export function parsePlayIntegritySettings (text: string, source: string): PlayIntegritySettings {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch (err: any) {
    throw new ConfigError(`${source}: not JSON (${String(err.message)})`)
  }
  if (body == null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ConfigError(`${source}: expected an object with packageName, decryptionKey and verificationKey`)
  }
  const o = body as Record<string, unknown>
  const extra = Object.keys(o).find(k => !FIELDS.has(k))
  if (extra != null) {
    throw new ConfigError(`${source}: unknown field ${extra.slice(0, 40)}; allowed: ${[...FIELDS].join(', ')}`, extra.slice(0, 40))
  }
  if (typeof o.packageName !== 'string' || o.packageName.length > 255 || !PACKAGE.test(o.packageName)) {
    throw new ConfigError(`${source}: packageName must be the app's package name, e.g. org.example.tempus`, 'packageName')
  }
  const aes = keyBytes(o.decryptionKey, 'decryptionKey', source)
  if (aes.length !== 32) {
    throw new ConfigError(`${source}: decryptionKey must be a 256-bit AES key (32 bytes once decoded)`, 'decryptionKey')
  }
  let verificationKey: KeyObject
  try {
    verificationKey = createPublicKey({ key: keyBytes(o.verificationKey, 'verificationKey', source), format: 'der', type: 'spki' })
  } catch (err) {
    if (err instanceof ConfigError) throw err
    throw new ConfigError(`${source}: verificationKey is not a DER public key`, 'verificationKey')
  }
  if (verificationKey.asymmetricKeyType !== 'ec' || verificationKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new ConfigError(`${source}: verificationKey must be an EC P-256 key`, 'verificationKey')
  }
  const settings: PlayIntegritySettings = {
    packageName: o.packageName,
    decryptionKey: createSecretKey(aes),
    verificationKey,
    deviceIntegrity: 'MEETS_DEVICE_INTEGRITY',
    requireLicensed: false,
    maxAgeMs: 120_000
  }
  if (o.certificateDigests != null) {
    const list = o.certificateDigests
    if (!Array.isArray(list) || list.length === 0 || list.length > 100 || !list.every(d => typeof d === 'string' && /^[0-9a-fA-F]{64}$/.test(d))) {
      throw new ConfigError(`${source}: certificateDigests must be a list of 1 to 100 SHA-256 digests in hex (64 characters)`, 'certificateDigests')
    }
    settings.certificateDigests = new Set((list as string[]).map(d => d.toLowerCase()))
  }
  if (o.deviceIntegrity != null) {
    if (o.deviceIntegrity !== 'MEETS_DEVICE_INTEGRITY' && o.deviceIntegrity !== 'MEETS_STRONG_INTEGRITY') {
      throw new ConfigError(`${source}: deviceIntegrity must be MEETS_DEVICE_INTEGRITY or MEETS_STRONG_INTEGRITY`, 'deviceIntegrity')
    }
    settings.deviceIntegrity = o.deviceIntegrity
  }
  if (o.requireLicensed != null) {
    if (typeof o.requireLicensed !== 'boolean') {
      throw new ConfigError(`${source}: requireLicensed must be true or false`, 'requireLicensed')
    }
    settings.requireLicensed = o.requireLicensed
  }
  if (o.maxAgeSeconds != null) {
    if (typeof o.maxAgeSeconds !== 'number' || !Number.isInteger(o.maxAgeSeconds) || o.maxAgeSeconds < 10 || o.maxAgeSeconds > 600) {
      throw new ConfigError(`${source}: maxAgeSeconds must be a whole number from 10 to 600`, 'maxAgeSeconds')
    }
    settings.maxAgeMs = o.maxAgeSeconds * 1000
  }
  return settings
}

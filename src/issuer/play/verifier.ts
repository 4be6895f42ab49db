/**
 * Google Play Integrity at enrolment (`--attestation play-integrity`),
 * verified locally with the app's keys from the Play Console (no call to
 * Google at enrolment): the token is a JWE (A256KW, A256GCM) around a JWS
 * (ES256) whose payload is the verdict. The verdict must be for this
 * package and this enrolment's nonce (challenge and node key, nonce.ts),
 * recent, for an app Play recognises and signed by an allowed certificate,
 * on a device that meets the integrity asked, and licensed if asked.
 *
 * Google's server API (`decodeIntegrityToken`) is the other way to read a
 * token; it needs a service account and network at every enrolment, and is
 * not done here.
 */
import { evidenceObject } from '../attestation.ts'
import { timingSafeEqual } from 'node:crypto'
import { compactDecrypt, compactVerify } from 'jose'
import { PlayIntegrityRefusal } from './errors.ts'
import { playIntegrityNonce } from './nonce.ts'
import type { AttestationContext, AttestationVerifier } from '../attestation.ts'
import type { PlayIntegritySettings } from './settings.ts'

/** a token is about 1.5 KiB; JSON around it */
const MAX_EVIDENCE_CHARS = 8 * 1024
/** a verdict stamped this far after the issuer's clock is still taken (clocks differ) */
const FUTURE_SKEW_MS = 30_000

export interface PlayIntegrityInit {
  settings: PlayIntegritySettings
  /** the issuer's clock, ms since the epoch */
  now: () => number
}

function malformed (message: string): PlayIntegrityRefusal {
  return new PlayIntegrityRefusal('malformed-evidence', message)
}

const isObject = (v: unknown): v is Record<string, unknown> => v != null && typeof v === 'object' && !Array.isArray(v)

function sameText (a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

export function playIntegrity (init: PlayIntegrityInit): AttestationVerifier {
  const s = init.settings
  return {
    kind: 'play-integrity',
    async verify (evidence: string | undefined, context: AttestationContext): Promise<boolean> {
      const token = evidenceObject(evidence, MAX_EVIDENCE_CHARS, ['token'], '{"token": a compact JWE}', malformed).token
      if (typeof token !== 'string' || !/^[A-Za-z0-9_-]*(\.[A-Za-z0-9_-]*){4}$/.test(token)) {
        throw malformed('evidence must be {"token": a compact JWE}')
      }
      let payload: Uint8Array
      try {
        const jws = await compactDecrypt(token, s.decryptionKey, { keyManagementAlgorithms: ['A256KW'], contentEncryptionAlgorithms: ['A256GCM'] })
        payload = (await compactVerify(new TextDecoder().decode(jws.plaintext), s.verificationKey, { algorithms: ['ES256'] })).payload
      } catch {
        throw new PlayIntegrityRefusal('bad-token', 'the token does not decrypt with the decryption key, or its signature does not verify')
      }
      let verdict: unknown
      try {
        verdict = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload))
      } catch {
        throw malformed('the verdict is not JSON')
      }
      const request = isObject(verdict) ? verdict.requestDetails : undefined
      const app = isObject(verdict) ? verdict.appIntegrity : undefined
      const device = isObject(verdict) ? verdict.deviceIntegrity : undefined
      if (!isObject(request) || !isObject(app) || !isObject(device)) {
        throw malformed('the verdict lacks requestDetails, appIntegrity or deviceIntegrity')
      }
      if (request.requestPackageName !== s.packageName) {
        throw new PlayIntegrityRefusal('wrong-package', 'the verdict was requested by another package')
      }
      // a classic request carries the nonce, a standard one the request hash: the app sends ours as either
      const sent = typeof request.nonce === 'string' ? request.nonce : request.requestHash
      if (typeof sent !== 'string' || !sameText(sent.replace(/=+$/, ''), playIntegrityNonce(context.challenge, context.publicKey))) {
        throw new PlayIntegrityRefusal('wrong-nonce', 'the verdict\'s nonce is not this enrolment\'s')
      }
      const at = Number(request.timestampMillis)
      const now = init.now()
      if (!Number.isSafeInteger(at) || now - at > s.maxAgeMs || at - now > FUTURE_SKEW_MS) {
        throw new PlayIntegrityRefusal('stale-verdict', `the verdict is not from the last ${s.maxAgeMs / 1000} s`)
      }
      if (app.appRecognitionVerdict !== 'PLAY_RECOGNIZED') {
        throw new PlayIntegrityRefusal('app-not-recognized', 'Play does not recognise this app (appRecognitionVerdict is not PLAY_RECOGNIZED)')
      }
      if (app.packageName !== s.packageName) {
        throw new PlayIntegrityRefusal('wrong-package', 'the verdict is for another package')
      }
      if (s.certificateDigests != null) {
        const digests = Array.isArray(app.certificateSha256Digest) ? app.certificateSha256Digest : []
        const hex = digests.map(d => typeof d === 'string' ? Buffer.from(d, 'base64url').toString('hex') : '')
        if (hex.length === 0 || !hex.every(d => s.certificateDigests?.has(d) === true)) {
          throw new PlayIntegrityRefusal('wrong-signer', 'the app is signed by a certificate not in certificateDigests')
        }
      }
      const labels = Array.isArray(device.deviceRecognitionVerdict) ? device.deviceRecognitionVerdict : []
      const meets = s.deviceIntegrity === 'MEETS_STRONG_INTEGRITY'
        ? labels.includes('MEETS_STRONG_INTEGRITY')
        : labels.includes('MEETS_DEVICE_INTEGRITY') || labels.includes('MEETS_STRONG_INTEGRITY')
      if (!meets) {
        throw new PlayIntegrityRefusal('device-integrity', `the device does not meet ${s.deviceIntegrity}`)
      }
      if (s.requireLicensed) {
        const account = isObject(verdict) ? verdict.accountDetails : undefined
        if (!isObject(account) || account.appLicensingVerdict !== 'LICENSED') {
          throw new PlayIntegrityRefusal('unlicensed', 'the user\'s copy of the app is not licensed')
        }
      }
      return true
    }
  }
}

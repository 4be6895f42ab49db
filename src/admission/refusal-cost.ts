/**
 * What an admission refusal costs the refused peer in suspicion: the line
 * between misbehaviour (charged) and an honest fault (free). Pure.
 */
import { AdmissionError } from './errors.ts'
import type { RefusalReason } from './errors.ts'
import type { Offence } from './suspicion.ts'

/**
 * What each refusal costs the peer. Total, so a new reason cannot fall into a
 * default charge unseen. `null`: an honest fault, charged nothing: a token
 * the issuer really signed, shown by its holder (the subject and revocation
 * are checked before these), that is stale after a rotation, not valid yet
 * on a skewed clock, or expired while no issuer could be reached (within
 * EXPIRED_TOKEN_GRACE_MS); an exchange cut short. An outage or a rotation
 * must never turn honest peers into suspects (issue #13, #14).
 */
const REASON_OFFENCE: Record<RefusalReason, Offence | null> = {
  malformed: 'malformed-frame',
  'unknown-key': 'admission-failed',
  'rotated-key': null,
  'bad-signature': 'forged-token',
  'not-yet-valid': null,
  expired: null,
  // signed by a key we know, yet for another issuer or overlay, or of a
  // lifetime no issuer of ours gives: a misconfigured node of another mesh
  // as likely as an attacker, so the common refusal price
  lifetime: 'admission-failed',
  'wrong-issuer': 'admission-failed',
  // a token that names another overlay, by a key we cannot know: what a
  // node of another mesh shows (forgery would gain nothing over a refusal
  // either way, so it is priced as the misconfiguration it most likely is)
  'foreign-overlay': 'admission-failed',
  'wrong-audience': 'admission-failed',
  'wrong-subject': 'admission-failed',
  'wrong-type': 'admission-failed',
  revoked: 'revoked-token',
  'bad-proof': 'bad-proof',
  refused: null,
  timeout: 'timeout',
  closed: null
}

/**
 * How long past its expiry a token's holder is still an honest peer stuck in
 * an outage (charged nothing), ms: an issuer outage of up to a day. Beyond
 * it the holder is broken or replaying a fossil; it pays `admission-failed`.
 */
export const EXPIRED_TOKEN_GRACE_MS = 24 * 60 * 60_000

/** The offence a refusal is charged as, or null for an honest fault. */
export function offenceOf (reason: RefusalReason, expiredForMs?: number): Offence | null {
  if (reason === 'expired' && (expiredForMs == null || expiredForMs > EXPIRED_TOKEN_GRACE_MS)) {
    return 'admission-failed'
  }
  return REASON_OFFENCE[reason]
}

/**
 * Is `err` a token that lapsed no longer ago than an honest holder stuck in
 * an issuer outage could show (EXPIRED_TOKEN_GRACE_MS)? The evidence a
 * bundle or an anomaly carries is judged as a token shown at admission is:
 * refused, and nobody pays. (An honest node cut off from every issuer keeps
 * publishing and sending under its lapsed token; its carriers and relays
 * passed on what it signed.)
 */
export function lapsedInOutage (err: unknown): boolean {
  return err instanceof AdmissionError && err.reason === 'expired' && offenceOf('expired', err.expiredForMs) === null
}

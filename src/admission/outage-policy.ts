/**
 * What an established connection does when its peer's token lapses while
 * this node cannot reach any issuer. Pure: no libp2p, the clock is passed in.
 *
 * An issuer outage is nobody's offence, and while every issuer is down no
 * revocation can be issued either. Two policies:
 *
 * - `keep-established`: a connection admitted before the outage began, to a
 *   peer that is not revoked (per this node's current list), stays up when
 *   the peer's token lapses, for at most `graceMs` after the outage began.
 *   New connections still need valid tokens on both sides.
 * - `fail-closed`: the connection closes once the peer's token lapses, as
 *   any lapsed admission does.
 *
 * When this node gets a token again the outage is over; a kept connection
 * whose peer has not shown a fresh token within `healMs` of that (the peer
 * needs its own token first: its refresh backoff is at most 15 s) is closed
 * as any lapsed admission is.
 */
import { EXPIRED_TOKEN_GRACE_MS } from './refusal-cost.ts'

export const ISSUER_OUTAGE_POLICIES = ['keep-established', 'fail-closed'] as const
export type IssuerOutagePolicy = typeof ISSUER_OUTAGE_POLICIES[number]

/** a grace shorter than this would not outlast a token's life (2–5 min) */
export const MIN_OUTAGE_GRACE_MS = 60_000
/**
 * A kept peer's expired token is free of suspicion for EXPIRED_TOKEN_GRACE_MS
 * (refusal-cost.ts); keeping it longer than that would keep a peer that its
 * own refusals already charge.
 */
export const MAX_OUTAGE_GRACE_MS = EXPIRED_TOKEN_GRACE_MS
/**
 * After this node got a token again, how long a kept peer has to show a
 * fresh one: its token manager retries at most 15 s apart (plus jitter and
 * one request), and it re-presents at once.
 */
export const OUTAGE_HEAL_MS = 30_000
/**
 * Unavailable answers in a row (network error, timeout, 5xx) that make an
 * outage even while this node's own token is still valid: one failed
 * request is a blip, three (about 4 s of backoff) are an outage.
 */
export const OUTAGE_AFTER_FAILURES = 3

export interface OutagePolicy {
  mode: IssuerOutagePolicy
  /** ms after the outage began that lapsed connections are kept at most */
  graceMs: number
  /** ms after the outage ended that a kept peer has to show a fresh token */
  healMs: number
}

/** An outage of this node, as its token manager saw it: ms since the epoch. */
export interface OutageWindow {
  /** when the first unavailable answer came since the last token */
  since: number
  /** when this node got a token again (the outage is over) */
  endedAt?: number
}

export interface LapsedConnection {
  /** when the connection was opened (and admitted), ms since the epoch */
  openedAt: number
  /** the peer is on this node's current revocation list */
  revoked: boolean
}

/**
 * Is this node in an issuer outage? No issuer answered since its last
 * token (`unreachableSince` is set), and either its own token has lapsed or
 * the last OUTAGE_AFTER_FAILURES requests all went unanswered.
 */
export function inOutage (unreachableSince: number | undefined, unavailableInARow: number, ownTokenValid: boolean): boolean {
  return unreachableSince != null && (!ownTokenValid || unavailableInARow >= OUTAGE_AFTER_FAILURES)
}

/** Does a connection whose peer's admission lapsed stay up? */
export function keepsLapsed (policy: OutagePolicy, window: OutageWindow | undefined, connection: LapsedConnection, now: number): boolean {
  if (policy.mode !== 'keep-established' || window == null || connection.revoked) {
    return false
  }
  if (connection.openedAt >= window.since) {
    return false // admitted during the outage: it never was an established link to keep
  }
  if (now - window.since > policy.graceMs) {
    return false
  }
  return window.endedAt == null || now - window.endedAt <= policy.healMs
}

/**
 * The outage window after one observation: `outageSince` is the token
 * manager's `issuerUnreachableSince` when the node is in an outage (see
 * `inOutage`), undefined otherwise. A window outlives its outage by the
 * heal bound, then it is gone.
 */
export function nextWindow (window: OutageWindow | undefined, outageSince: number | undefined, healMs: number, now: number): OutageWindow | undefined {
  if (outageSince != null) {
    return window != null && window.endedAt == null && window.since <= outageSince ? window : { since: outageSince }
  }
  if (window == null) {
    return undefined
  }
  if (window.endedAt == null) {
    return { since: window.since, endedAt: now }
  }
  return now - window.endedAt > healMs ? undefined : window
}

/**
 * Peer types. A peer's type is known only from its verified token's `typ`
 * (admission); the user agent below is informative, never trusted.
 */
import { PEER_TYPES, USER_AGENT_PREFIX, TEMPUS_VERSION } from './constants.ts'
import type { PeerType } from './config.ts'

export function userAgentFor (type: PeerType): string {
  return `${USER_AGENT_PREFIX}/${TEMPUS_VERSION} (${type})`
}

export function isPeerType (value: unknown): value is PeerType {
  return typeof value === 'string' && (PEER_TYPES as readonly string[]).includes(value)
}

/**
 * Peer types. A peer's type is known only from its verified token's `typ`
 * (admission); the user agent below is informative, never trusted.
 */
import { USER_AGENT_PREFIX, TEMPUS_VERSION } from './constants.ts'
import type { PeerType } from '../core/peer-type.ts'

export function userAgentFor (type: PeerType): string {
  return `${USER_AGENT_PREFIX}/${TEMPUS_VERSION} (${type})`
}

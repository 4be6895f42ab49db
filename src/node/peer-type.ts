/**
 * How a peer's type is learned before admission lands: from identify's agent
 * version, `tempus-mesh/<version> (<type>)`. It is a claim, not a proof; the
 * admission issue replaces it with the token's `typ`.
 */
import { PEER_TYPES, USER_AGENT_PREFIX, TEMPUS_VERSION } from './constants.ts'
import type { PeerType } from './config.ts'

export function userAgentFor (type: PeerType): string {
  return `${USER_AGENT_PREFIX}/${TEMPUS_VERSION} (${type})`
}

const AGENT = new RegExp(`^${USER_AGENT_PREFIX}/[^ ]+ \\((${PEER_TYPES.join('|')})\\)`)

export function peerTypeFromAgent (agent: string | undefined): PeerType | undefined {
  if (agent == null || agent.length > 256) {
    return undefined
  }
  return AGENT.exec(agent)?.[1] as PeerType | undefined
}

export function isPeerType (value: unknown): value is PeerType {
  return typeof value === 'string' && (PEER_TYPES as readonly string[]).includes(value)
}

/**
 * Peer types. A peer's type is known only from its verified token's `typ`
 * (admission); anything a peer merely claims is informative, never trusted.
 */
export const PEER_TYPES = ['edge', 'bridge', 'sentinel'] as const

export type PeerType = typeof PEER_TYPES[number]

export function isPeerType (value: unknown): value is PeerType {
  return typeof value === 'string' && (PEER_TYPES as readonly string[]).includes(value)
}

/**
 * What the peer keeper needs to know of a peer it might redial: its type
 * (from its verified token, never from what it claims) and when it was last
 * seen. The node keeps both in its persisted peer store
 * (`src/node/peer-directory.ts`), and how its last connection ended.
 */
import type { PeerType } from '../core/peer-type.ts'
import type { Peer } from '@libp2p/interface'

/** The capability a peer directory service declares, and the peer keeper depends on (libp2p checks it at start). */
export const PEER_DIRECTORY_CAPABILITY = '@tempus/peer-directory'

export interface PeerDirectory {
  typeOf(peer: Peer): PeerType | undefined
  lastSeenOf(peer: Peer): number | undefined
  /** how the last connection to `peer` ended, if one did: `network`, a network fault ended it (lost-peers.ts `endedByNetwork`) */
  lastEndOf(peer: string): { network: boolean } | undefined
}

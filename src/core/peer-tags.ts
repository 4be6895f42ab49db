/**
 * Peer store tags that more than one part of the node reads.
 */

/** on each peer of the node's bootstrap list (the name `@libp2p/bootstrap` used, so stores written before read alike) */
export const BOOTSTRAP_TAG = 'bootstrap'

/**
 * on each peer the peer keeper keeps (its chosen sentinels, peers the
 * application keeps): a connection to one is not closed for being idle
 * (src/sampling/shuffle-wire.ts, src/node/dht-components.ts), since the
 * keeper would only redial it
 */
export const KEPT_TAG = 'tempus-kept'

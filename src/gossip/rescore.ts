/**
 * Stop listening to a flooder at once: after a message of a peer is
 * refused, gossipsub judges that peer's next RPC on its score as it is now.
 *
 * gossipsub (v17) decides whether to read a peer's RPC at all by its score
 * (`acceptFrom`: under the graylist threshold, dropped unread), but reads
 * the score through two caches: the score itself, recomputed at most once
 * per heartbeat (1 s), and a whitelist that waves a peer whose score was
 * ≥ 0 through for the next 1 s or 128 RPCs unread. A peer that was in good
 * standing and then sends a burst of invalid frames is therefore heard, and
 * every frame of its burst checked, for up to a second after its score fell
 * under the threshold: one neighbour checked 40 invalid frames of a flooder
 * before it stopped listening (issue #19). Honest peers never send an
 * invalid frame (they validate before forwarding), so dropping the cached
 * verdict on the peer that sent one costs them nothing; for the flooder,
 * the next RPC is weighed with every refusal counted so far (P4 and P5),
 * and it is graylisted after the few that take it under the threshold
 * (scoring.ts) plus those already in flight.
 *
 * Both caches are gossipsub's private fields, reached through the narrow
 * shape below; if a version renames them this does nothing, and the flood
 * test (graylisted within a bounded number of frames) fails.
 */

/** the little of gossipsub's internals this touches */
interface ScoreCaches {
  score?: { scoreCache?: Map<string, unknown> }
  acceptFromWhitelist?: Map<string, unknown>
}

/** Forget gossipsub's cached view of `peer`'s score: its next RPC is weighed on its score now. */
export function rescoreNow (pubsub: unknown, peer: string): void {
  const internals = pubsub as ScoreCaches
  internals.score?.scoreCache?.delete(peer)
  internals.acceptFromWhitelist?.delete(peer)
}

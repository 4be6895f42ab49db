/**
 * Gossipsub peer scoring for the tempus topics. Every peer here was
 * admitted by the issuer, so the score's job is not Sybil resistance but to
 * cut off, fast, an admitted peer that misbehaves:
 *
 * - P4, invalid messages: weight −4 on every topic, squared by gossipsub, so
 *   n invalid messages cost 4·n²; the counter decays by 0.95 a second
 *   (half-life ≈ 14 s), so a rare honest mistake (an origin revoked a moment
 *   ago) fades while a flood accumulates: 5 invalid messages put a peer under
 *   the graylist threshold (−80), after which gossipsub ignores it entirely.
 * - P2, first deliveries: a small reward (cap +10 per topic) for useful peers.
 * - P1, time in mesh: at most +1.
 * - P3/P3b (mesh delivery deficits) are off: these topics are quiet (an
 *   anomaly every few seconds at most), and a quiet mesh is not a fault.
 * - P5, application score: minus this node's suspicion of the peer, so a peer
 *   that misbehaves elsewhere (admission, RPC, sampling) is trusted less here,
 *   but never by more than `MAX_SUSPICION_PENALTY` (9), less than the gossip
 *   threshold: suspicion alone takes a peer out of the mesh (score < 0),
 *   never out of gossip. Suspicion also counts honest faults (an admission
 *   that timed out on a loaded machine costs 2, and decays with a 10-minute
 *   half-life): measured in `bench:gossip` meshes, honest peers at −1 to −9
 *   from P5 alone. Uncapped, a slow honest peer with suspicion 10 would be
 *   sent neither messages nor IHAVEs by that neighbour for minutes; capped,
 *   it still hears of every message by IHAVE. Cutting a peer off is the
 *   suspicion policy's decision (quarantine at 25 closes its connections);
 *   gossip misbehaviour itself is P4, uncapped.
 * - P6, IP colocation: off. Admission already bounds who is here, and fleets
 *   behind one NAT (or every test on 127.0.0.1) must not be punished.
 */
import type { GossipTopic } from './constants.ts'
import type { PeerScoreParams, PeerScoreThresholds, TopicScoreParams } from '@libp2p/gossipsub/score'

export const SCORE_THRESHOLDS: PeerScoreThresholds = {
  gossipThreshold: -10,
  publishThreshold: -40,
  graylistThreshold: -80,
  acceptPXThreshold: 20,
  opportunisticGraftThreshold: 2
}

export const INVALID_MESSAGE_WEIGHT = -4
/** the most P5 takes off for suspicion: less than the gossip threshold's 10 */
export const MAX_SUSPICION_PENALTY = 9
export const INVALID_MESSAGE_DECAY = 0.95

function topicParams (): TopicScoreParams {
  return {
    topicWeight: 1,
    timeInMeshWeight: 0.01,
    timeInMeshQuantum: 1_000,
    timeInMeshCap: 100,
    firstMessageDeliveriesWeight: 1,
    firstMessageDeliveriesDecay: 0.9,
    firstMessageDeliveriesCap: 10,
    meshMessageDeliveriesWeight: 0,
    meshMessageDeliveriesDecay: 0.5,
    meshMessageDeliveriesCap: 10,
    meshMessageDeliveriesThreshold: 1,
    meshMessageDeliveriesWindow: 10,
    meshMessageDeliveriesActivation: 60_000,
    meshFailurePenaltyWeight: 0,
    meshFailurePenaltyDecay: 0.5,
    invalidMessageDeliveriesWeight: INVALID_MESSAGE_WEIGHT,
    invalidMessageDeliveriesDecay: INVALID_MESSAGE_DECAY
  }
}

export function scoreParams (topics: readonly GossipTopic[], suspicion: (peer: string) => number): Partial<PeerScoreParams> {
  return {
    topics: Object.fromEntries(topics.map(t => [t, topicParams()])),
    topicScoreCap: 30,
    appSpecificScore: peer => -Math.min(suspicion(peer), MAX_SUSPICION_PENALTY),
    appSpecificWeight: 1,
    IPColocationFactorWeight: 0,
    IPColocationFactorThreshold: 10,
    behaviourPenaltyWeight: -10,
    behaviourPenaltyThreshold: 0,
    behaviourPenaltyDecay: 0.2,
    decayInterval: 1_000,
    decayToZero: 0.1,
    retainScore: 3600_000
  }
}

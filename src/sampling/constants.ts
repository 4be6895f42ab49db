/** Sampling: protocol ids, view sizes per population, limits. */
import type { PeerType } from '../core/peer-type.ts'

/**
 * A view's shuffle protocol. 1.1.0 runs at a quarter of 1.0.0's pace, with
 * its descriptor spacing to match, and takes lapsed evidence within
 * EVIDENCE_MAX_AGE_MS (1.0.0 took only unexpired tokens of the current
 * epoch). The two paces cannot share a view: a 1.1.0 node would charge a
 * 1.0.0 member's mints as over-minted, and a 1.0.0 node would charge the
 * lapsed evidence a 1.1.0 node passes on. So 1.0.0 is not spoken: during a
 * rolling upgrade the nodes of each release shuffle among themselves (their
 * views are two overlays until it ends), while admission, gossip, DTN, RPC
 * and the sample exchange work across both.
 */
export function cyclonProtocol (type: PeerType): string {
  return `/tempus/cyclon/${type}/1.1.0`
}

/** the sample exchange beside a view's shuffle (protocols/cyclon.md) */
export function sampleProtocol (type: PeerType): string {
  return `/tempus/sample/${type}/1.0.0`
}

/**
 * Defaults per population: edges are many and churn, so their view is the
 * paper's c = 20, l = 8; bridges and sentinels are few and long-lived, so a
 * smaller view covers them.
 *
 * The period is what an idle mesh pays for: each tick is a shuffle and a
 * sample exchange, each with a partner that is usually not connected (a
 * connection set up, an admission, evidence checked: one Ed25519 check per
 * descriptor hop). At 4 s for edges and 8 s for the rest (cyclon 1.0.0)
 * sampling was about two thirds of a settled 50-node mesh's CPU
 * (`bench:idle`: 47 % of a core, 17 % with sampling all but off). The
 * period is bounded by what an entry must still prove when it arrives: an
 * entry lives about c periods (each tick creates one entry, the node's own,
 * and removes one, the partner), 320 s at these periods, within its
 * descriptor's 10 min and the evidence bound (EVIDENCE_MAX_AGE_MS), so views
 * stay full although a token lives 3 min. The simulator counts in periods,
 * so what it shows of mixing and of the attacks holds at any period; in
 * time, a view mixes four times slower than at 1.0.0's pace.
 */
export const VIEW_DEFAULTS: Record<PeerType, { capacity: number, shuffleLength: number, periodMs: number }> = {
  edge: { capacity: 20, shuffleLength: 8, periodMs: 16_000 },
  bridge: { capacity: 10, shuffleLength: 4, periodMs: 32_000 },
  sentinel: { capacity: 10, shuffleLength: 4, periodMs: 32_000 }
}

/**
 * An observer pulls a view of another type this many times less often than
 * the view's members shuffle it. Members keep the paper's rate (it is what
 * mixes the view); an observer only wants a fresh sample, and pulls from a
 * population that may be small: 10,000 edges pulling the sentinel view of
 * 10 sentinels every 8 s would send each sentinel 125 pulls a second. Each
 * pull still brings back l entries and the partner with fresh evidence, so
 * at 4 × the period (128 s for the sentinel and bridge views) an observer's
 * view stays full within the evidence bound.
 */
export const OBSERVER_PERIOD_FACTOR = 4

export const SHUFFLE_TIMEOUT_MS = 5_000
/** floor of the incoming shuffles accepted per peer per minute, per view (the limit is twice the rate one period allows) */
export const SHUFFLES_PER_PEER_PER_MINUTE = 30
export const MAX_SHUFFLE_BYTES = 64 * 1024
export const MAX_ENTRIES = 64
export const MAX_ADDRS = 8
export const MAX_ADDR_BYTES = 256
/**
 * An entry's signed peer record (envelope bytes): a public key, a signature
 * and up to MAX_ADDRS addresses; eight IPv6 TCP addresses take about 400
 * bytes, so 2 KiB leaves room while l entries of record, token and key
 * certificate stay well inside MAX_SHUFFLE_BYTES.
 */
export const MAX_RECORD_BYTES = 2048
/**
 * Peers whose newest verified record a node remembers (entry-evidence.ts),
 * so the same bytes passed on again are not verified again: at most
 * MAX_RECORD_BYTES each, 2 MiB at the very worst, a few hundred KiB as
 * records are.
 */
export const MAX_REMEMBERED_RECORDS = 1024
export const MAX_TOKEN_CHARS = 2048
/**
 * An entry whose evidence leaves the bound (EVIDENCE_MAX_AGE_MS past its
 * token's expiry) within this margin is dropped before a shuffle, so an
 * honest node never sends evidence that lapses in flight.
 */
export const STALE_MARGIN_MS = 10_000
/**
 * An entry received with evidence past the bound by more than this is
 * counted against its sender: an honest node drops entries before they
 * leave it, so only a clock off by more than the allowed skew, or a forger,
 * sends one (past it by less, it is dropped quietly).
 */
export const LAPSED_GRACE_MS = 60_000
/**
 * Connected peers an empty view asks for entries: each introducer knows the
 * members that came through it, so one introducer per node would split a
 * population into one overlay per introducer.
 */
export const INTRODUCERS = 3
/** partners tried per tick when the oldest does not answer */
export const PARTNER_ATTEMPTS = 3

/**
 * The slot sampler beside each view (src/sampling/slot-sampler.ts) and the
 * sample exchange that feeds it (protocols/cyclon.md). Chosen with the
 * simulator (`npm run sim:cyclon -- --scenario hub|flood|eclipse`):
 * honest nodes must keep learning honest ids faster than an attacker's ids
 * can crowd them out, and what they learn from is what honest samplers
 * send, so the exchange carries a good part of the sample each time.
 *
 * - 8 groups of 15 slots: 120 slots; two keyed mixes per id seen;
 * - 120 ids each way per sample exchange (ids only: evidence is asked for
 *   the few that win a slot);
 * - one group re-seeded every 1,000 rounds (about an hour for edges): a
 *   reset costs what the group had learnt, so it is rare;
 * - the partner rule (src/sampling/bootstrap-partners.ts): a sampler's
 *   first 10 sample exchanges (`bootstrapRounds`), and one round in 10
 *   after them (`anchorEvery`; 0: never), go to a bootstrap peer, not the
 *   least-hit slot. The simulator's values: with them the hub and flood
 *   attacks at N = 10,000 left no honest node isolated (without them, 2 and
 *   137). Ten rounds are 160 s for edges; one in ten keeps 90 % of the
 *   exchanges with the sampler's own choice.
 */
export const SAMPLER_DEFAULTS: SamplerSettings = {
  groups: 8,
  slotsPerGroup: 15,
  sampleLength: 120,
  resetEvery: 1000,
  bootstrapRounds: 10,
  anchorEvery: 10
}

/** The slot sampler's settings (`SAMPLER_DEFAULTS` gives each, with its reason). */
export interface SamplerSettings {
  /** groups of slots, each with its own seed */
  groups: number
  /** slots per group */
  slotsPerGroup: number
  /** ids offered each way per sample exchange (at most SAMPLE_MAX_IDS) */
  sampleLength: number
  /** rounds between two re-seeds (one group each time) */
  resetEvery: number
  /** a sampler's first rounds, whose sample exchange goes to a bootstrap peer */
  bootstrapRounds: number
  /** after those, one round in this many goes to a bootstrap peer (0: never) */
  anchorEvery: number
}

/** the most ids one sample-exchange frame offers (SAMPLER_DEFAULTS.sampleLength fits) */
export const SAMPLE_MAX_IDS = 128
/**
 * The most ids one side asks evidence for in one exchange: evidence is a
 * token and a signed record (about 1 KiB), so 16 keep a frame near 16 KiB;
 * a sampler that is filling learns 16 ids per exchange.
 */
export const SAMPLE_MAX_WANTS = 16
/** the longest PeerId (text) an offer may name */
export const SAMPLE_MAX_ID_CHARS = 128
/**
 * How long past its token's expiry an entry is still evidence, in a view
 * or a sampler. A token lives minutes; a sampler slot lives as long as its
 * id keeps winning, and a view entry about c periods (its descriptor, 10 min
 * at most). So both take evidence that proves admission within this bound:
 * an admitted peer stays sampleable for 30 min after its last token lapsed,
 * unless revoked (the revocation list evicts it at once) or found dead (a
 * failed exchange forgets it). Rotated epochs count too: a token of an
 * earlier key proves admission when it was issued. A dial still needs the
 * peer's own fresh token (admission), so a lapsed entry can cost a failed
 * dial, never a connection to a peer the issuer stopped admitting. And an
 * issuer outage or a key rotation no longer drains every view at once.
 */
export const EVIDENCE_MAX_AGE_MS = 30 * 60_000
/**
 * An id is offered only while its evidence has this long left within the
 * bound, so it does not lapse between the offer and the evidence.
 */
export const SAMPLE_OFFER_MARGIN_MS = 60_000

/**
 * Signed descriptors (descriptor.ts, protocols/cyclon.md). A descriptor
 * lives 10 min: an entry lives about c periods (320 s at the default
 * periods), so an honest node replaces most entries well before.
 */
export const DESCRIPTOR_MAX_AGE_MS = 10 * 60_000
export { MAX_DESCRIPTOR_HOPS } from '../core/descriptor.ts'
/**
 * The least time between two descriptors one peer mints of itself for a
 * view (ms): an overlay-wide constant, the same on every node, so that no
 * node's own configuration decides whether another is over-minting (a
 * receiver that took its own period charged honest members configured
 * faster). It is each view's default period: a member ticks once a period
 * and mints one per shuffle, so a liar, however many shuffles it pushes,
 * injects fresh entries no faster than an honest member at the default
 * pace. A node refuses a configured period shorter than its view's
 * spacing (it would tick faster than it may mint). Two descriptors closer
 * together are over-minting. (At half the period, the hub attack on 30
 * real nodes took honest views to 0.72 malicious; each push swaps the
 * attacker's fresh entries for honest ones, which it drops.) An overlay
 * run faster than production, a test's or `tempus dev`'s, gives every node
 * the same shorter spacing (SamplerInit.descriptorSpacingMs).
 */
export const DESCRIPTOR_SPACING_MS: Readonly<Record<PeerType, number>> = {
  edge: VIEW_DEFAULTS.edge.periodMs,
  bridge: VIEW_DEFAULTS.bridge.periodMs,
  sentinel: VIEW_DEFAULTS.sentinel.periodMs
}
/**
 * Hand-overs this node remembers (for a descriptor's whole life, 11 min):
 * a node hands on about l entries a shuffle, two shuffles a period, so an
 * edge at the default pace hands on about 660 in that time (2,600 at
 * 1.0.0's pace). At the bound it hands on nothing more until some lapse.
 */
export const MAX_HANDED_DESCRIPTORS = 50_000
/** descriptors remembered per view, with the last chain seen of each: two copies that meet within this many are caught */
export const DESCRIPTOR_LEDGER_SIZE = 2048

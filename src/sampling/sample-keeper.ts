/**
 * The slot samplers beside the three views (slot-sampler.ts) and what the
 * sampling service asks of them: they observe every entry whose evidence
 * checked (shuffle requests and replies, connected peers, introductions,
 * the sample exchange), `sample()` draws from them, they choose the sample
 * exchange's partner (the least-hit slot), and they speak for this node in
 * a sample exchange (`side`): offer the ids held with evidence still
 * showable, ask evidence for the ids that would win a slot, learn what
 * checked. No libp2p and no streams; the service drives it.
 */
import { createHash } from 'node:crypto'
import { PEER_TYPES } from '../core/peer-type.ts'
import { SAMPLER_DEFAULTS, SAMPLE_MAX_IDS, SAMPLE_MAX_WANTS } from './constants.ts'
import { SlotSampler } from './slot-sampler.ts'
import { BootstrapPartners } from './bootstrap-partners.ts'
import type { PartnerChoice } from './bootstrap-partners.ts'
import type { PeerType } from '../core/peer-type.ts'
import type { PeerEntry } from './peer-entry.ts'
import type { SampleSide } from './sample-wire.ts'

/** What the keeper needs of the evidence checks (entry-evidence.ts). */
export interface SampleEvidence {
  /** the entries whose evidence a sampler may hold; the others are dropped, their sender charged as it deserves */
  sampleable: (type: PeerType, entries: PeerEntry[], sender: string) => Promise<PeerEntry[]>
  /** may a held entry still be offered (its evidence within the bound, with a margin)? */
  offerable: (entry: PeerEntry) => boolean
  /** is a held entry's evidence still within the bound? */
  withinEvidenceBound: (entry: PeerEntry) => boolean
}

export interface SampleKeeperInit {
  /** this node's PeerId: never sampled */
  self: string
  evidence: SampleEvidence
  random: () => number
  /** is this PeerId revoked? (no evidence is asked of a revoked peer) */
  isRevoked: (peer: string) => boolean
  /** the entry of a connected, admitted peer of `type` (the partner of an exchange), if it has one to show */
  connectedEntry: (type: PeerType, peer: string) => Promise<PeerEntry | undefined>
  /**
   * this node's own entry for the `type` sampler (its token and signed
   * record), offered first in each exchange: how a node gets into other
   * samplers. None while it holds no token or is not of that type.
   */
  ownEntry: (type: PeerType) => PeerEntry | undefined
  /** @default SAMPLER_DEFAULTS */
  settings?: Partial<typeof SAMPLER_DEFAULTS>
}

/** A PeerId's stable 32-bit digest: the first 4 bytes of its SHA-256. */
export function peerDigest (id: string): number {
  return createHash('sha256').update(id).digest().readUInt32BE(0)
}

export class SampleKeeper {
  private readonly init: SampleKeeperInit
  private readonly samplers: Record<PeerType, SlotSampler<PeerEntry, string>>
  private readonly sides: Record<PeerType, SampleSide>
  private readonly bootstraps: Record<PeerType, BootstrapPartners<PeerEntry>>
  private readonly sampleLength: number

  constructor (init: SampleKeeperInit) {
    this.init = init
    const settings = { ...SAMPLER_DEFAULTS, ...init.settings }
    this.sampleLength = Math.min(settings.sampleLength, SAMPLE_MAX_IDS)
    const make = (): SlotSampler<PeerEntry, string> => new SlotSampler<PeerEntry, string>({
      self: init.self,
      groups: settings.groups,
      slotsPerGroup: settings.slotsPerGroup,
      resetEvery: settings.resetEvery,
      random: init.random,
      digest: peerDigest
    })
    this.samplers = { edge: make(), bridge: make(), sentinel: make() }
    const rule = (): BootstrapPartners<PeerEntry> => new BootstrapPartners<PeerEntry>({ bootstrapRounds: settings.bootstrapRounds, anchorEvery: settings.anchorEvery, random: init.random })
    this.bootstraps = { edge: rule(), bridge: rule(), sentinel: rule() }
    this.sides = { edge: this.makeSide('edge'), bridge: this.makeSide('bridge'), sentinel: this.makeSide('sentinel') }
  }

  /** Entries whose evidence already checked (a view's merge, a connected peer). */
  observe (type: PeerType, entries: readonly PeerEntry[]): void {
    this.samplers[type].observeAll(entries)
  }

  /** Up to n entries of `type` drawn uniformly among the ids the sampler holds within the evidence bound. */
  sample (type: PeerType, n: number): PeerEntry[] {
    const held = this.samplers[type].sample(this.samplers[type].size).filter(e => this.init.evidence.withinEvidenceBound(e))
    return held.slice(0, Math.max(0, n))
  }

  /** ids the `type` sampler holds */
  held (type: PeerType): number {
    return this.samplers[type].filled
  }

  /** The sample exchange's partner: the least-hit slot among those with an address and evidence within the bound. */
  partner (type: PeerType): PeerEntry | undefined {
    return this.samplers[type].partner(e => e.addrs.length > 0 && this.init.evidence.withinEvidenceBound(e))
  }

  /**
   * This round's sample-exchange partner (bootstrap-partners.ts): in the
   * sampler's first `bootstrapRounds` rounds and one in `anchorEvery`
   * after, a bootstrap peer (one of `configured()`, the node's configured
   * bootstrap peers of `type` it is connected to, or one of the first
   * admitted peers the view held), else `partner(type)`. Each call is one
   * round.
   */
  choosePartner (type: PeerType, configured: () => readonly PeerEntry[]): PartnerChoice<PeerEntry> | undefined {
    return this.bootstraps[type].choose(configured, () => this.partner(type))
  }

  /** The `type` view holds `entries`: the first admitted peers it held are its bootstrap peers. */
  viewHolds (type: PeerType, entries: readonly PeerEntry[]): void {
    this.bootstraps[type].viewHolds(entries)
  }

  /** the `type` view's recorded bootstrap peers (the first it held) */
  bootstrapPeers (type: PeerType): readonly PeerEntry[] {
    return this.bootstraps[type].peers
  }

  /** A partner that did not answer: its slot goes to the next id of its group, and it is no bootstrap peer. */
  forget (type: PeerType, id: string): void {
    this.samplers[type].forget(id)
    this.bootstraps[type].forget(id)
  }

  /** Revoked peers leave every sampler and bootstrap set at once. */
  forgetEverywhere (ids: readonly string[]): number {
    const gone = new Set(ids)
    let n = 0
    for (const type of PEER_TYPES) {
      n += this.samplers[type].forgetWhere(e => gone.has(e.id))
      for (const id of ids) this.bootstraps[type].forget(id)
    }
    return n
  }

  /** The end of one tick of the `type` view: ids past the evidence bound go, and the sampler's round runs (its re-seeds). */
  endRound (type: PeerType): void {
    const sampler = this.samplers[type]
    sampler.forgetWhere(e => !this.init.evidence.withinEvidenceBound(e))
    sampler.round()
  }

  /** This node's side of a sample exchange on the `type` protocol. */
  side (type: PeerType): SampleSide {
    return this.sides[type]
  }

  private makeSide (type: PeerType): SampleSide {
    const sampler = this.samplers[type]
    return {
      offer: () => {
        const own = this.init.ownEntry(type)
        const held = sampler.sample(sampler.size).filter(e => this.init.evidence.offerable(e))
        return (own == null ? held : [own, ...held]).slice(0, this.sampleLength)
      },
      wants: ids => {
        const candidates: number[] = []
        ids.forEach((id, i) => {
          // a held id named again gains a hit (it is chosen as partner later);
          // an id that would win a slot is worth its evidence
          if (!sampler.touch(id) && !this.init.isRevoked(id) && sampler.wouldKeep(id)) {
            candidates.push(i)
          }
        })
        return this.pick(candidates, SAMPLE_MAX_WANTS)
      },
      learn: async (evidence, sender) => {
        const partner = await this.init.connectedEntry(type, sender)
        if (partner != null) {
          sampler.observe(partner)
        }
        sampler.observeAll(await this.init.evidence.sampleable(type, evidence, sender))
      }
    }
  }

  /** Up to k of `candidates`, uniformly, in increasing order (an offer's order is its sender's choice, not ours). */
  private pick (candidates: number[], k: number): number[] {
    for (let i = 0; i < Math.min(k, candidates.length); i++) {
      const j = i + Math.floor(this.init.random() * (candidates.length - i))
      const t = candidates[j] as number
      candidates[j] = candidates[i] as number
      candidates[i] = t
    }
    return candidates.slice(0, k).sort((a, b) => a - b)
  }
}

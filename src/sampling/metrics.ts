/**
 * Sampling as Prometheus figures (`tempus_sampling_*`) on the node's one
 * registry: each Cyclon view's size and capacity (read at scrape time),
 * shuffles by role and outcome, and entries refused on merge. Every label
 * is a closed set: view (edge, bridge, sentinel), role, outcome.
 */
import { Counter, Gauge } from 'prom-client'
import { PEER_TYPES } from '../core/peer-type.ts'
import type { PeerType } from '../core/peer-type.ts'
import type { Registry } from 'prom-client'
import type { DescriptorRefusal } from './errors.ts'

/** what the sampler shows of its views and slot samplers */
export interface ViewSizes {
  view(type: PeerType): unknown[]
  capacity(type: PeerType): number
  /** ids the view's slot sampler holds */
  sampled(type: PeerType): number
}

export type ShuffleOutcome = 'ok' | 'failed' | 'refused'

export class SamplingMetrics {
  private readonly shuffles: Counter<'view' | 'role' | 'outcome'>
  private readonly refused: Counter<'view'>
  private readonly exchanges: Counter<'view' | 'role' | 'outcome'>
  private readonly descriptors: Counter<'view' | 'reason'>

  constructor (registry: Registry, views: ViewSizes) {
    const registers = [registry]
    new Gauge({
      name: 'tempus_sampling_view_peers',
      help: 'entries in each Cyclon view now (this node\'s own type: a member; the others: an observer)',
      labelNames: ['view'],
      registers,
      collect () {
        for (const type of PEER_TYPES) this.set({ view: type }, views.view(type).length)
      }
    })
    new Gauge({
      name: 'tempus_sampling_view_capacity_peers',
      help: 'the most entries each Cyclon view holds',
      labelNames: ['view'],
      registers,
      collect () {
        for (const type of PEER_TYPES) this.set({ view: type }, views.capacity(type))
      }
    })
    this.shuffles = new Counter({
      name: 'tempus_sampling_shuffles_total',
      help: 'Cyclon shuffles by view, role (initiator, responder) and outcome (ok; failed: no answer or a broken stream; refused: over the rate limit or malformed, the sender is charged)',
      labelNames: ['view', 'role', 'outcome'],
      registers
    })
    new Gauge({
      name: 'tempus_sampling_sampler_peers',
      help: 'ids each view\'s slot sampler holds now: what sample() draws from',
      labelNames: ['view'],
      registers,
      collect () {
        for (const type of PEER_TYPES) this.set({ view: type }, views.sampled(type))
      }
    })
    this.exchanges = new Counter({
      name: 'tempus_sampling_sample_exchanges_total',
      help: 'sample exchanges (ids each way, evidence for slot winners) by view, role (initiator, responder) and outcome (ok; failed: no answer or a broken stream; refused: over the rate limit or out of step, the sender is charged)',
      labelNames: ['view', 'role', 'outcome'],
      registers
    })
    this.refused = new Counter({
      name: 'tempus_sampling_entries_refused_total',
      help: 'view entries refused on merge by view: no valid proof of admission, the wrong type, or a bad peer record',
      labelNames: ['view'],
      registers
    })
    this.descriptors = new Counter({
      name: 'tempus_sampling_descriptors_refused_total',
      help: 'view entries refused for their descriptor, by view and reason (missing, forged, from-the-future, stale, too-many-hops, bad-hop, not-ours, replayed, over-minted, cloned: protocols/cyclon.md, "Signed descriptors")',
      labelNames: ['view', 'reason'],
      registers
    })
  }

  descriptorRefused (view: PeerType, reason: DescriptorRefusal): void {
    this.descriptors.inc({ view, reason })
  }

  shuffle (view: PeerType, role: 'initiator' | 'responder', outcome: ShuffleOutcome): void {
    this.shuffles.inc({ view, role, outcome })
  }

  sampleExchange (view: PeerType, role: 'initiator' | 'responder', outcome: ShuffleOutcome): void {
    this.exchanges.inc({ view, role, outcome })
  }

  entryRefused (view: PeerType): void {
    this.refused.inc({ view })
  }
}

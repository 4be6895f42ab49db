/**
 * Gossip as Prometheus figures (`tempus_gossip_*`) on the node's one
 * registry: messages by topic and validation result, the delivery latency
 * of anomalies from their origin's timestamp, catch-up pages fetched and
 * served, and what the store holds. Counts kept by the service (`status()`)
 * are read at scrape time; the rest are counted where they happen. Topics are the
 * three of `GOSSIP_TOPICS`, results the closed set of refusal reasons.
 */
import { Counter, Gauge, Histogram } from 'prom-client'
import type { Registry } from 'prom-client'

/** what the metrics read of the service's `status()` (declared here: the service imports this file) */
export interface GossipCounts { published: number, delivered: number, held: number, starved: number }

export class GossipMetrics {
  private readonly messages: Counter<'topic' | 'result'>
  private readonly pages: Counter<'role'>
  private readonly latency: Histogram<'via'>

  constructor (registry: Registry, service: { status(): GossipCounts }) {
    const registers = [registry]
    this.messages = new Counter({
      name: 'tempus_gossip_messages_total',
      help: 'gossipsub messages on the tempus topics by validation result: accepted, or the reason they were refused (the sender is charged, except for the reasons that charge nobody: stale, lapsed-evidence, late)',
      labelNames: ['topic', 'result'],
      registers
    })
    this.latency = new Histogram({
      name: 'tempus_gossip_delivery_latency_seconds',
      help: 'time from an anomaly\'s origin timestamp to its delivery here, by how it came (gossip, catch-up); clocks may be skewed by up to the allowed skew',
      labelNames: ['via'],
      // gossip arrives within a second; catch-up brings what was missed while offline (hours)
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600, 21600],
      registers
    })
    this.pages = new Counter({
      name: 'tempus_gossip_catch_up_pages_total',
      help: 'catch-up pages: fetched from a peer after being offline, or served to one',
      labelNames: ['role'],
      registers
    })
    new Counter({
      name: 'tempus_gossip_published_total',
      help: 'anomalies published by this node',
      registers,
      collect () { this.reset(); this.inc(service.status().published) }
    })
    new Counter({
      name: 'tempus_gossip_delivered_total',
      help: 'anomalies delivered here for the first time (each once, however many copies came)',
      registers,
      collect () { this.reset(); this.inc(service.status().delivered) }
    })
    new Counter({
      name: 'tempus_gossip_mesh_starved_total',
      help: 'heartbeats at which a gossipsub mesh was stuck below D_lo with no connected peer left to graft, and one more neighbour was dialled (src/gossip/mesh-starvation.ts)',
      registers,
      collect () { this.reset(); this.inc(service.status().starved) }
    })
    new Gauge({
      name: 'tempus_gossip_anomalies_held',
      help: 'anomalies held in the store now (not expired)',
      registers,
      collect () { this.set(service.status().held) }
    })
  }

  /** a message on `topic` was refused for `reason` (a closed set: `GossipRefusal`) */
  refused (topic: string, reason: string): void {
    this.messages.inc({ topic, result: reason })
  }

  /** an anomaly was delivered here for the first time: how long since its origin stamped it */
  delivered (anomaly: { via: string, timestamp: number, receivedAt: number }): void {
    if (anomaly.via === 'gossip' || anomaly.via === 'catch-up') {
      this.latency.observe({ via: anomaly.via }, Math.max(0, anomaly.receivedAt - anomaly.timestamp) / 1000)
    }
  }

  /** a message on `topic` passed validation (gossipsub then delivers and forwards it) */
  accepted (topic: string): void {
    this.messages.inc({ topic, result: 'accepted' })
  }

  page (role: 'fetched' | 'served'): void {
    this.pages.inc({ role })
  }
}

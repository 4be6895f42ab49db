/**
 * Federation as Prometheus figures (`tempus_federation_*`) on the node's
 * one registry, read at scrape time: remote bridges pinned by freshness,
 * and what crossed between overlays (anomalies, bundle fragments, receipts)
 * from the relays' `stats`. Labels: freshness (fresh, stale), direction
 * (out, in), and the relays' closed sets of reasons for a drop. Never an
 * overlay id or a PeerId: a fleet may federate with any number of them.
 */
import { Counter, Gauge } from 'prom-client'
import type { Pins } from './pins.ts'
import type { Registry } from 'prom-client'

/** what the metrics read of the relays' stats (declared here: the relays import this file) */
interface AnomalyRelayCounts { sent: number, republished: number, dropped: Record<string, number> }
interface BundleRelayCounts { sent: number, received: number, receiptsSent: number, receiptsReceived: number, dropped: Record<string, number> }

export function registerPinMetrics (registry: Registry, pins: Pick<Pins, 'snapshot'>): void {
  new Gauge({
    name: 'tempus_federation_pins',
    help: 'remote bridges whose key is pinned, by freshness (fresh: a handshake within the rotation window; stale: counts for nothing until the next handshake)',
    labelNames: ['freshness'],
    registers: [registry],
    collect () {
      const counts = { fresh: 0, stale: 0 }
      for (const pin of pins.snapshot()) counts[pin.state === 'fresh' ? 'fresh' : 'stale']++
      this.set({ freshness: 'fresh' }, counts.fresh)
      this.set({ freshness: 'stale' }, counts.stale)
    }
  })
}

/** `{ reason: n }` into a labelled counter, at scrape time */
function droppedCounter (registry: Registry, name: string, help: string, read: () => Record<string, number>): void {
  new Counter({
    name,
    help,
    labelNames: ['reason'],
    registers: [registry],
    collect () {
      this.reset()
      for (const [reason, n] of Object.entries(read())) this.inc({ reason }, n)
    }
  })
}

export function registerAnomalyRelayMetrics (registry: Registry, relay: { stats: AnomalyRelayCounts }): void {
  new Counter({
    name: 'tempus_federation_anomaly_crossings_total',
    help: 'anomalies that crossed between overlays: out (handed to remote bridges, once per anomaly), in (re-published here)',
    labelNames: ['direction'],
    registers: [registry],
    collect () {
      this.reset()
      this.inc({ direction: 'out' }, relay.stats.sent)
      this.inc({ direction: 'in' }, relay.stats.republished)
    }
  })
  droppedCounter(registry, 'tempus_federation_anomalies_dropped_total', 'anomalies from remote bridges not taken, by reason', () => relay.stats.dropped)
}

export function registerBundleRelayMetrics (registry: Registry, relay: { stats: BundleRelayCounts }): void {
  new Counter({
    name: 'tempus_federation_bundle_crossings_total',
    help: 'bundle fragments and receipts that crossed between overlays, by kind (fragment, receipt) and direction (out, in)',
    labelNames: ['kind', 'direction'],
    registers: [registry],
    collect () {
      this.reset()
      this.inc({ kind: 'fragment', direction: 'out' }, relay.stats.sent)
      this.inc({ kind: 'fragment', direction: 'in' }, relay.stats.received)
      this.inc({ kind: 'receipt', direction: 'out' }, relay.stats.receiptsSent)
      this.inc({ kind: 'receipt', direction: 'in' }, relay.stats.receiptsReceived)
    }
  })
  droppedCounter(registry, 'tempus_federation_bundles_dropped_total', 'bundle fragments and receipts from remote bridges not taken, by reason', () => relay.stats.dropped)
}

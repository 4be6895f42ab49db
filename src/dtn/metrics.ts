/**
 * DTN as Prometheus figures (`tempus_dtn_*`) on the node's one registry,
 * all read at scrape time from the service's `status()` and the store's
 * usage and quota: nothing is counted twice. Refusal reasons are the
 * closed set `DtnRefusal`.
 */
import { Counter, Gauge } from 'prom-client'
import type { DtnStats } from './events.ts'
import type { Registry } from 'prom-client'

/** what the metrics read of the service's `status()`: its counts and the store's usage */
type Status = DtnStats & {
  bytes: number
  fragments: number
  inbox: number
  outbox: number
  quota: { totalBytes: number }
}

/** how long one status read serves the collectors of a scrape (the store's usage runs a few COUNT queries) */
const SNAPSHOT_MS = 250

export function registerDtnMetrics (registry: Registry, service: { status(): Status }): void {
  const registers = [registry]
  let snapshot: { at: number, status: Status } | undefined
  const status = (): Status => {
    const now = performance.now()
    if (snapshot == null || now - snapshot.at > SNAPSHOT_MS) {
      snapshot = { at: now, status: service.status() }
    }
    return snapshot.status
  }
  const counter = (name: string, help: string, read: (s: Status) => number): void => {
    new Counter({ name, help, registers, collect () { this.reset(); this.inc(read(status())) } })
  }
  counter('tempus_dtn_bundles_sent_total', 'bundles sent from this node (dtn.send)', s => s.sent)
  counter('tempus_dtn_bundles_delivered_total', 'bundles addressed to this node and delivered here (once each)', s => s.delivered)
  counter('tempus_dtn_sessions_total', 'sessions this node opened to offer a peer fragments or receipts (none while it has nothing the peer has not declined lately)', s => s.sessions)
  counter('tempus_dtn_fragments_transmitted_total', 'fragments handed to peers (as a source or a carrier)', s => s.transmissions)
  counter('tempus_dtn_fragments_received_total', 'fragments taken from peers and stored', s => s.received)
  counter('tempus_dtn_fragments_duplicate_total', 'fragments handed to this node that it held or had delivered already', s => s.duplicates)
  counter('tempus_dtn_receipts_total', 'delivery receipts for bundles sent from here', s => s.receipts)
  new Counter({
    name: 'tempus_dtn_refused_total',
    help: 'bundles, fragments or sessions refused from peers, by reason (the peer is charged)',
    labelNames: ['reason'],
    registers,
    collect () {
      this.reset()
      for (const [reason, n] of Object.entries(status().refused)) {
        this.inc({ reason }, n ?? 0)
      }
    }
  })
  new Gauge({
    name: 'tempus_dtn_store_bytes',
    help: 'payload bytes held in the bundle store now',
    registers,
    collect () { this.set(status().bytes) }
  })
  new Gauge({
    name: 'tempus_dtn_store_quota_bytes',
    help: 'the bundle store\'s total quota (a bundle that does not fit is refused)',
    registers,
    collect () { this.set(status().quota.totalBytes) }
  })
  new Gauge({
    name: 'tempus_dtn_store_fragments',
    help: 'fragments held in the bundle store now (not expired)',
    registers,
    collect () { this.set(status().fragments) }
  })
  new Gauge({
    name: 'tempus_dtn_store_bundles',
    help: 'bundles in the store now by box: inbox (delivered here), outbox (sent from here)',
    labelNames: ['box'],
    registers,
    collect () {
      this.set({ box: 'inbox' }, status().inbox)
      this.set({ box: 'outbox' }, status().outbox)
    }
  })
}

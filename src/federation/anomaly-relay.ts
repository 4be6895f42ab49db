/**
 * Anomalies across overlays. A bridge hands its pinned remote bridges the
 * anomalies of its own overlay whose kind the policy names, in the frame
 * their origin signed. It re-publishes, in its own overlay, those a remote
 * bridge hands it: same id, kind, digest and times, signed by the bridge,
 * with the origin's signature kept as provenance (anyone can check it with
 * the origin's PeerId). An anomaly crosses once (the id is kept, and a
 * bridge that holds it already does nothing), and a re-published one is
 * never handed on (no echo, no loops). The id must be the one its origin's
 * overlay derives (gossip/anomaly-id.ts): it stays bound to that overlay
 * and origin on this side too, so nobody can squat it here.
 */
import { decodeAnomalyBody, encodeAnomalyBody } from '../gossip/anomaly.ts'
import { bindAnomaly } from '../gossip/anomaly-id.ts'
import { ANOMALY_TOPIC } from '../gossip/constants.ts'
import { openFrame } from '../gossip/frame.ts'
import { registerAnomalyRelayMetrics } from './metrics.ts'
import type { FederationService } from './service.ts'
import type { TrustAnchors } from './anchors.ts'
import type { Pin } from './pins.ts'
import type { DeliveredAnomaly, GossipService } from '../gossip/index.ts'
import type { Registry } from 'prom-client'

export interface AnomalyRelayInit {
  gossip: GossipService
  federation: FederationService
  anchors: TrustAnchors
  /** the anomaly kinds that cross (both ways); none by default */
  kinds: readonly string[]
  now?: () => number
  log: (message: string, detail?: Record<string, unknown>) => void
  /** the node's Prometheus registry: crossings and drops go there (see `metrics.ts`); none without it */
  registry?: Registry
}

export interface AnomalyRelayStats {
  /** anomalies of this overlay handed to remote bridges (one count per anomaly) */
  sent: number
  /** anomalies of other overlays re-published here */
  republished: number
  /** relayed anomalies not taken, by why */
  dropped: Record<string, number>
}

export class AnomalyRelay {
  readonly stats: AnomalyRelayStats = { sent: 0, republished: 0, dropped: {} }
  private readonly init: AnomalyRelayInit
  private readonly kinds: Set<string>
  private readonly now: () => number

  constructor (init: AnomalyRelayInit) {
    this.init = init
    this.kinds = new Set(init.kinds)
    this.now = init.now ?? Date.now
    if (init.registry != null) {
      registerAnomalyRelayMetrics(init.registry, this)
    }
    this.onLocal = this.onLocal.bind(this)
    // what pinned remote bridges relay comes here
    init.federation.receiveAnomalies(async (frame, from) => { await this.receive(frame, from) })
  }

  start (): void {
    this.init.gossip.addEventListener('anomaly', this.onLocal)
  }

  stop (): void {
    this.init.gossip.removeEventListener('anomaly', this.onLocal)
  }

  /** A frame a pinned remote bridge handed over: checked, then re-published here once. */
  async receive (frame: Uint8Array, from: Pin): Promise<void> {
    try {
      const f = openFrame(ANOMALY_TOPIC, frame)
      const a = decodeAnomalyBody(f.body, f.origin)
      if (a.provenance != null) {
        return this.drop('second-hand', from)
      }
      if (!this.kinds.has(a.kind)) {
        return this.drop('kind-not-relayed', from)
      }
      if (a.expires <= this.now()) {
        return this.drop('expired', from)
      }
      // the bytes the origin signed must be what this node re-encodes
      if (!Buffer.from(encodeAnomalyBody(a)).equals(f.body)) {
        return this.drop('not-canonical', from)
      }
      // the id is its origin's in its own overlay (throws `bad-id`)
      bindAnomaly(a, from.overlay)
      // its origin was admitted in its overlay when it published
      try {
        await this.init.anchors.verifyMember(from.overlay, f.token, { sub: f.origin, keyCertificate: f.keyCertificate === '' ? undefined : f.keyCertificate, at: a.timestamp })
      } catch {
        return this.drop('no-admission', from)
      }
      const { origin, ...rest } = a
      const delivered = await this.init.gossip.republish({ ...rest, provenance: { overlay: from.overlay, origin, signature: Buffer.from(f.signature).toString('base64url') } })
      if (delivered == null) {
        return this.drop('duplicate', from)
      }
      this.stats.republished++
    } catch (err: any) {
      this.drop(err?.reason ?? 'malformed', from)
    }
  }

  private onLocal (evt: CustomEvent<DeliveredAnomaly>): void {
    const a = evt.detail
    if (a.via === 'federation' || a.provenance != null || !this.kinds.has(a.kind)) {
      return
    }
    let frame: Uint8Array | undefined
    try {
      frame = this.init.gossip.store.frame(a.id)
    } catch (err: any) {
      // an event listener must not throw (it would be an uncaught exception)
      this.init.log('reading an anomaly to relay failed', { err: err?.message })
      return
    }
    if (frame == null) {
      return
    }
    this.init.federation.relayAnomaly(frame).then(n => {
      if (n > 0) {
        this.stats.sent++
      }
    }, err => { this.init.log('relaying an anomaly failed', { err: err?.message }) })
  }

  private drop (why: string, from: Pin): void {
    this.stats.dropped[why] = (this.stats.dropped[why] ?? 0) + 1
    this.init.log('relayed anomaly not taken', { why, from: from.remoteId, overlay: from.overlay })
  }
}

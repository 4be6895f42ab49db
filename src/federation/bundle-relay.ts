/**
 * Bundles across overlays. A bundle whose destination is in another overlay
 * (`<dest>@<overlay>`) travels in its source's overlay to a bridge; a
 * federated bridge hands each fragment, exactly as its source signed it, to
 * a bridge of that overlay it holds a fresh pin of. The receiving bridge
 * checks the source's signature and its admission in its own overlay under
 * that overlay's trust anchor, then **endorses** the fragment (its own
 * signature over it, with its own token) and stores it: the nodes of its
 * overlay cannot check a token of another issuer, but they can check that
 * one of their own bridges did. The fragment keeps its id, so duplicates
 * (two bridges, two paths) meet in every store; the destination checks the
 * source's signature end to end and decrypts.
 *
 * The destination's receipt travels back the same way: the bridge that
 * brought a bundle in hands the receipt, once it confirmed it, to the
 * bridges of the source's overlay, where the holders (and the source)
 * confirm it against the destination the source signed.
 */
import { repeatingTask } from '@libp2p/utils'
import { AdmissionError } from '../admission/errors.ts'
import { lapsedInOutage } from '../admission/refusal-cost.ts'
import { verifyThenOrNow } from '../admission/verifier.ts'
import { endorse, openFragment } from '../dtn/bundle.ts'
import { DEFAULT_MAX_PAYLOAD } from '../dtn/constants.ts'
import { DtnError } from '../dtn/errors.ts'
import { Bundle as PbBundle, Receipt as PbReceipt } from '../dtn/pb/dtn.ts'
import { CROSSING_INTERVAL_MS, MAX_CROSSING_RECEIPTS } from './constants.ts'
import type { RepeatingTask } from '@libp2p/utils'
import { registerBundleRelayMetrics } from './metrics.ts'
import type { TrustAnchors } from './anchors.ts'
import type { Crossing } from './pb/federation.ts'
import type { Pin } from './pins.ts'
import type { FederationService } from './service.ts'
import type { Fragment, Signer } from '../dtn/bundle.ts'
import type { Receipt } from '../dtn/receipt.ts'
import type { DtnService } from '../dtn/service.ts'
import type { Registry } from 'prom-client'

export interface BundleRelayInit {
  dtn: DtnService
  federation: FederationService
  anchors: TrustAnchors
  /** this bridge's overlay */
  overlay: string
  /** this bridge's key and current token, to endorse with */
  signer: () => Signer | undefined
  maxPayload?: number
  intervalMs?: number
  now?: () => number
  log: (message: string, detail?: Record<string, unknown>) => void
  /** the node's Prometheus registry: crossings and drops go there (see `metrics.ts`); none without it */
  registry?: Registry
}

export interface BundleRelayStats {
  /** fragments handed to remote bridges */
  sent: number
  /** fragments of other overlays taken in here */
  received: number
  receiptsSent: number
  receiptsReceived: number
  /** fragments not taken, by why */
  dropped: Record<string, number>
}

/** fragments handed across, and bundles that came in, remembered at most this many (each until its bundle expires) */
const MAX_REMEMBERED = 100_000

export class BundleRelay {
  readonly stats: BundleRelayStats = { sent: 0, received: 0, receiptsSent: 0, receiptsReceived: 0, dropped: {} }
  private readonly init: BundleRelayInit
  private readonly now: () => number
  /** `id/offset>overlay` handed across → when its bundle expires */
  private readonly crossedOut = new Map<string, number>()
  /** bundles that came in here → the overlay of their source, until they expire */
  private readonly crossedIn = new Map<string, { overlay: string, expiresAt: number }>()
  private pumpTask?: RepeatingTask
  private soon?: ReturnType<typeof setTimeout>
  private pumping?: Promise<void>
  private again = false
  private running = false

  constructor (init: BundleRelayInit) {
    this.init = init
    this.now = init.now ?? Date.now
    if (init.registry != null) {
      registerBundleRelayMetrics(init.registry, this)
    }
    this.onStored = this.onStored.bind(this)
    this.onConfirmed = this.onConfirmed.bind(this)
    this.onRevoked = this.onRevoked.bind(this)
    // what pinned remote bridges hand across comes here
    init.federation.receiveCrossings(async (crossing, from) => await this.receive(crossing, from))
  }

  start (): void {
    this.running = true
    this.init.dtn.addEventListener('stored', this.onStored)
    this.init.dtn.addEventListener('confirmed', this.onConfirmed)
    this.init.federation.addEventListener('pinned', this.onStored)
    this.init.federation.addEventListener('revoked', this.onRevoked)
    // one pump at a time: the next is scheduled when this one ended
    this.pumpTask = repeatingTask(async () => { await this.pump() }, this.init.intervalMs ?? CROSSING_INTERVAL_MS)
    this.pumpTask.start()
  }

  async stop (): Promise<void> {
    this.running = false
    this.pumpTask?.stop()
    clearTimeout(this.soon)
    this.init.dtn.removeEventListener('stored', this.onStored)
    this.init.dtn.removeEventListener('confirmed', this.onConfirmed)
    this.init.federation.removeEventListener('pinned', this.onStored)
    this.init.federation.removeEventListener('revoked', this.onRevoked)
    await this.pumping
  }

  /**
   * Hand every held fragment for another overlay, not handed across yet,
   * to one connected bridge of that overlay with a fresh pin. One pass at a
   * time; news during a pass asks for another.
   */
  async pump (): Promise<void> {
    if (this.pumping != null) {
      this.again = true
      return await this.pumping
    }
    this.pumping = (async () => {
      do {
        this.again = false
        await this.pass()
      } while (this.again && this.running)
    })().finally(() => { this.pumping = undefined })
    return await this.pumping
  }

  private async pass (): Promise<void> {
    const now = this.now()
    this.forget(now)
    for (const h of this.init.dtn.heldForOtherOverlays()) {
      if (!this.running) {
        return
      }
      const overlay = h.destination.overlay as string
      const key = `${h.id}/${h.offset}>${overlay}`
      if (this.crossedOut.has(key)) {
        continue
      }
      const remotes = this.init.federation.freshRemotes(overlay)
      const bundle = remotes.length === 0 ? undefined : this.init.dtn.exportFragment(h.id, h.offset)
      if (bundle == null) {
        continue
      }
      for (const remote of remotes) {
        try {
          // not stored there (held already, or its store is full): offered again in a minute
          const stored = await this.init.federation.cross(remote, { bundle: PbBundle.encode(bundle), receipts: [] })
          this.crossedOut.set(key, stored ? h.expiresAt : Math.min(h.expiresAt, now + 60_000))
          this.stats.sent++
          break
        } catch (err: any) {
          this.init.log('handing a fragment across failed', { to: remote.toString(), err: err?.reason ?? err?.name })
        }
      }
    }
  }

  /** A crossing a pinned remote bridge handed over; whether its fragment is stored here. */
  async receive (crossing: Crossing, from: Pin): Promise<boolean> {
    if (crossing.receipts.length > 0) {
      this.takeReceipts(crossing.receipts, from)
    }
    if (crossing.bundle == null) {
      return false
    }
    let f: Fragment
    try {
      f = await this.check(crossing.bundle, from)
    } catch (err: any) {
      this.drop(err instanceof DtnError ? err.reason : 'malformed', from)
      return false
    }
    const signer = this.init.signer()
    if (signer == null) {
      this.drop('no-token', from)
      return false
    }
    try {
      const stored = await this.init.dtn.importFragment(endorse(f, signer, from.overlay, this.now()), from.remoteId)
      if (this.crossedIn.size < MAX_REMEMBERED) {
        this.crossedIn.set(f.id, { overlay: from.overlay, expiresAt: f.expiresAt })
      }
      if (stored) {
        this.stats.received++
      }
      return stored
    } catch (err: any) {
      this.drop(err instanceof DtnError ? err.reason : 'store-failed', from)
      return false
    }
  }

  /**
   * What a fragment from another overlay must be to come in: it decodes
   * within bounds; its source's signature verifies; it is fresh, within its
   * hop limit, addressed to this overlay, not endorsed already (no second
   * crossing); and its source was admitted in the sender's overlay, under
   * that overlay's trust anchor, when it created it (or is now).
   */
  private async check (bytes: Uint8Array, from: Pin): Promise<Fragment> {
    let pb: PbBundle
    try {
      pb = PbBundle.decode(bytes)
    } catch {
      throw new DtnError('malformed', 'the fragment does not decode')
    }
    if (pb.endorsement != null) {
      throw new DtnError('bad-endorsement', 'a bundle crosses once')
    }
    const f = openFragment(pb, { now: this.now(), maxPayload: this.init.maxPayload ?? DEFAULT_MAX_PAYLOAD })
    if (f.destination.overlay !== this.init.overlay) {
      throw new DtnError('bad-destination', 'not addressed to this overlay')
    }
    const verify = async (at?: number): Promise<void> => {
      await this.init.anchors.verifyMember(from.overlay, f.token, { sub: f.source, keyCertificate: f.keyCertificate === '' ? undefined : f.keyCertificate, at })
    }
    try {
      await verifyThenOrNow(verify, f.createdAt)
    } catch (err) {
      if (lapsedInOutage(err)) {
        throw new DtnError('lapsed-evidence', 'the source\'s token had lapsed, as in an issuer outage')
      }
      throw new DtnError('no-admission', err instanceof AdmissionError ? err.reason : 'the token does not verify')
    }
    // it travelled at least to the other bridge and across
    f.hops = Math.max(f.hops, 2)
    if (f.hops > f.hopLimit) {
      throw new DtnError('hop-limit')
    }
    return f
  }

  private takeReceipts (wires: Uint8Array[], from: Pin): void {
    const receipts: PbReceipt[] = []
    for (const w of wires.slice(0, MAX_CROSSING_RECEIPTS)) {
      try {
        receipts.push(PbReceipt.decode(w))
      } catch {
        this.drop('bad-receipt', from)
      }
    }
    try {
      // each is confirmed (or dropped) against the bundle held here
      this.init.dtn.takeReceipts(receipts)
      this.stats.receiptsReceived += receipts.length
    } catch (err: any) {
      this.drop(err instanceof DtnError ? err.reason : 'bad-receipt', from)
    }
  }

  private onStored (): void {
    if (this.soon != null || !this.running) {
      return
    }
    this.soon = setTimeout(() => {
      this.soon = undefined
      void this.pump()
    }, 20)
    this.soon.unref?.()
  }

  /** A receipt confirmed here for a bundle that came in across: it goes back to the source's overlay. */
  private onConfirmed (evt: CustomEvent<Receipt>): void {
    const r = evt.detail
    const came = this.crossedIn.get(r.id)
    if (came == null || !this.running) {
      return
    }
    const body = PbReceipt.encode(r.wire)
    void (async () => {
      for (const remote of this.init.federation.freshRemotes(came.overlay)) {
        try {
          await this.init.federation.cross(remote, { receipts: [body] })
          this.stats.receiptsSent++
          return
        } catch (err: any) {
          this.init.log('handing a receipt across failed', { to: remote.toString(), err: err?.reason ?? err?.name })
        }
      }
    })()
  }

  /** Members of another overlay were revoked there: what they sent is carried no further here. */
  private onRevoked (evt: CustomEvent<{ overlay: string, peers: string[] }>): void {
    try {
      const n = this.init.dtn.store.removeSources(evt.detail.peers)
      this.init.log('bundles of revoked members of another overlay dropped', { overlay: evt.detail.overlay, fragments: n })
    } catch (err: any) {
      this.init.log('dropping the bundles of revoked members failed', { err: err?.message })
    }
  }

  private forget (now: number): void {
    for (const [k, expires] of this.crossedOut) {
      if (expires <= now) {
        this.crossedOut.delete(k)
      }
    }
    for (const [k, v] of this.crossedIn) {
      if (v.expiresAt <= now) {
        this.crossedIn.delete(k)
      }
    }
    // beyond the bound, the oldest go (at worst a fragment crosses twice and is a duplicate there)
    for (const k of this.crossedOut.keys()) {
      if (this.crossedOut.size <= MAX_REMEMBERED) {
        break
      }
      this.crossedOut.delete(k)
    }
  }

  private drop (why: string, from: Pin): void {
    this.stats.dropped[why] = (this.stats.dropped[why] ?? 0) + 1
    this.init.log('fragment from another overlay not taken', { why, from: from.remoteId, overlay: from.overlay })
  }
}

/**
 * Bundles across overlays, for a federated bridge: the fragments held here
 * for another overlay go out in their source's wire form, and fragments a
 * remote bridge handed across come in once the bundle relay has checked
 * their source under that overlay's trust anchor and endorsed them. The
 * relay (src/federation/bundle-relay.ts) does the talking; this is the
 * store's side of it.
 */
import { toWire } from './bundle.ts'
import { forOtherOverlay } from './destination.ts'
import { MAX_HELD_SCANNED } from './constants.ts'
import { DtnError } from './errors.ts'
import type { Fragment } from './bundle.ts'
import type { DtnContext } from './context.ts'
import type { Delivery } from './delivery.ts'
import type { Bundle as PbBundle, Receipt as PbReceipt } from './pb/dtn.ts'
import type { HeldFragment } from './store.ts'

export interface CrossOverlayInit {
  ctx: Pick<DtnContext, 'store' | 'writer' | 'overlay' | 'now' | 'stats' | 'offerSoon'>
  delivery: Pick<Delivery, 'applyReceipts' | 'stored'>
}

export class CrossOverlay {
  private readonly init: CrossOverlayInit

  constructor (init: CrossOverlayInit) {
    this.init = init
  }

  /** Held fragments addressed to another overlay (a bridge hands them across). */
  heldForOtherOverlays (limit = MAX_HELD_SCANNED): HeldFragment[] {
    const { ctx } = this.init
    return ctx.store.held(ctx.now(), limit).filter(h => forOtherOverlay(h.destination, ctx.overlay) && h.hops < h.hopLimit)
  }

  /** A held fragment as it crosses to another overlay: its source's wire form, one more hop, no endorsement. */
  exportFragment (id: string, offset: number): PbBundle | undefined {
    const { ctx } = this.init
    const f = ctx.store.fragment(id, offset, ctx.now())
    if (f == null || f.endorsement != null || !forOtherOverlay(f.destination, ctx.overlay)) {
      return undefined
    }
    return toWire(f, { hops: f.hops + 1, copies: f.copies })
  }

  /**
   * Store a fragment a remote bridge handed across, once the caller (the
   * bundle relay) checked its source under the trust anchor of its overlay
   * and endorsed it. False if it was held or delivered already.
   */
  async importFragment (f: Fragment, from: string): Promise<boolean> {
    const { ctx, delivery } = this.init
    if (f.endorsement == null || f.destination.overlay !== ctx.overlay) {
      throw new DtnError('bad-endorsement', 'only an endorsed fragment addressed to this overlay comes in across')
    }
    if (ctx.store.delivered(f.id) || ctx.store.receipt(f.id, ctx.now()) != null) {
      ctx.stats.duplicates++
      return false
    }
    const stored = (await ctx.writer.submit({ fragments: [f], receivedFrom: from }))[0] === true
    if (!stored) {
      ctx.stats.duplicates++
      return false
    }
    delivery.stored(f, from)
    return true
  }

  /**
   * Receipts a remote bridge handed back across, for bundles that crossed
   * from here: each counts only if this node confirms it (it holds the
   * bundle, with the destination its source signed).
   */
  takeReceipts (wires: PbReceipt[]): void {
    this.init.delivery.applyReceipts(wires)
    this.init.ctx.offerSoon()
  }
}

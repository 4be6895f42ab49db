/**
 * Delivery to the destination, and receipts. A fragment on disk may make
 * its bundle whole: then it is reassembled, checked against its source's
 * digest, decrypted if it was encrypted to this node, and delivered once. A
 * bundle for one peer is answered with a receipt signed by that peer; the
 * receipt travels back through the carriers, each of which drops its copy
 * once it can confirm the receipt against the bundle it holds.
 */
import { VerifiedReceipts, openReceipt, signReceipt } from './receipt.ts'
import { countRefusal, refuse } from './context.ts'
import { destinedTo, formatDestination, parseDestination } from './destination.ts'
import { DtnError, HARMLESS } from './errors.ts'
import { decryptPayload } from './payload-crypto.ts'
import { isComplete, reassemble } from './reassembly.ts'
import type { Fragment } from './bundle.ts'
import type { Receipt } from './receipt.ts'
import type { DtnContext } from './context.ts'
import type { Receipt as PbReceipt } from './pb/dtn.ts'

export type DeliveryContext = Pick<DtnContext, 'store' | 'state' | 'self' | 'type' | 'overlay' | 'privateKey' | 'now' | 'log' | 'stats' | 'events' | 'offerSoon'>

export class Delivery {
  private readonly ctx: DeliveryContext
  /** receipts told again (by each peer in turn) are not checked again */
  readonly verifiedReceipts = new VerifiedReceipts()

  constructor (ctx: DeliveryContext) {
    this.ctx = ctx
  }

  /** A fragment is on disk, handed over by `from`: tell, deliver its bundle if this node is its destination, pass it on. */
  stored (f: Fragment, from: string): void {
    const ctx = this.ctx
    ctx.stats.received++
    ctx.events.safeDispatchEvent('stored', { detail: { id: f.id, offset: f.offset, from } })
    if (destinedTo(f.destination, ctx.self, ctx.type, ctx.overlay)) {
      this.tryDeliver(f.id)
    }
    ctx.offerSoon()
  }

  /** If every fragment of `id` is here, reassemble, check, decrypt and deliver it. */
  tryDeliver (id: string): void {
    const ctx = this.ctx
    const now = ctx.now()
    if (ctx.store.delivered(id)) {
      return
    }
    // offsets and lengths first: the bytes are read once, when the bundle is whole
    const pieces = ctx.store.pieces(id, now)
    if (pieces.length === 0 || !isComplete(pieces, (pieces[0] as { total: number }).total)) {
      return
    }
    const first = ctx.store.fragmentsOf(id, now)
    const head = first[0]
    if (head == null) {
      return
    }
    let payload: Uint8Array
    try {
      payload = reassemble(first.map(f => ({ offset: f.offset, length: f.payload.length, bytes: f.payload })), head.totalLength, head.payloadDigest)
      if (head.ephemeralKey.length > 0) {
        payload = decryptPayload(ctx.privateKey, Buffer.from(id, 'hex'), head.ephemeralKey, payload)
      }
    } catch (err: any) {
      // signed by the source, so the source is to blame
      ctx.log('bundle %s from %s cannot be reassembled - %s', id, head.source, err?.message)
      ctx.store.removeBundle(id)
      if (err instanceof DtnError && HARMLESS.has(err.reason)) {
        // this node's own limit (its key in a token), not the source's fault
        countRefusal(ctx, err.reason)
        return
      }
      refuse(ctx, head.source, err instanceof DtnError ? err.reason : 'bad-digest')
      return
    }
    const single = head.destination.kind === 'peer'
    const entry = {
      id,
      source: head.source,
      ...(head.endorsement != null ? { sourceOverlay: head.endorsement.sourceOverlay } : {}),
      destination: formatDestination(head.destination),
      createdAt: head.createdAt,
      expiresAt: head.expiresAt,
      receivedAt: now,
      payload
    }
    // a group bundle stays carried, so its inbox copy is new bytes: within the quotas
    if (!single && ctx.store.refusal(head.source, payload.length) != null) {
      countRefusal(ctx, 'quota-full')
      return
    }
    if (!ctx.store.deliver(entry, single)) {
      return
    }
    ctx.stats.delivered++
    ctx.log('bundle %s from %s delivered (%d bytes)', id, head.source, payload.length)
    ctx.events.safeDispatchEvent('bundle', { detail: entry })
    if (single) {
      const receipt = signReceipt(ctx.privateKey, ctx.self, head, now)
      this.acceptReceipt(receipt)
      ctx.offerSoon()
    }
  }

  /** Receipts a peer told: each whose signature checks and that this node can confirm is kept. */
  applyReceipts (wires: PbReceipt[]): void {
    for (const wire of wires) {
      let receipt: Receipt
      try {
        receipt = openReceipt(wire, this.ctx.now(), this.verifiedReceipts)
      } catch (err) {
        if (err instanceof DtnError && err.reason === 'expired') {
          continue
        }
        throw err
      }
      this.acceptReceipt(receipt)
    }
  }

  /**
   * A receipt whose signature checked. It counts only if this node can
   * confirm it: the signer is the destination the bundle's source signed,
   * as held here (a carried copy, or the outbox of the source), or this
   * node itself. Anyone can sign a receipt for an id seen in an offer;
   * such a receipt is dropped, never kept, passed on or acted upon.
   */
  private acceptReceipt (r: Receipt): void {
    const ctx = this.ctx
    const now = ctx.now()
    const known = ctx.store.receipt(r.id, now) != null
    const held = ctx.store.anyFragment(r.id, now)
    const heldMatches = held != null && held.source === r.source && held.destination.kind === 'peer' && held.destination.peer === r.destination
    const own = r.source === ctx.self && this.outboxPeer(r.id) === r.destination
    if (!heldMatches && !own && r.destination !== ctx.self) {
      return
    }
    if (heldMatches && r.destination !== ctx.self) {
      ctx.store.removeBundle(r.id)
    }
    if (known || !ctx.store.addReceipt(r)) {
      return
    }
    ctx.stats.receipts++
    ctx.events.safeDispatchEvent('confirmed', { detail: r })
    if (own) {
      ctx.log('bundle %s delivered to %s', r.id, r.destination)
      ctx.events.safeDispatchEvent('receipt', { detail: { id: r.id, destination: r.destination, deliveredAt: r.deliveredAt } })
    }
  }

  /** The single peer a bundle sent from here is for (in this overlay or another). */
  private outboxPeer (id: string): string | undefined {
    const text = this.ctx.store.outboxDestination(id)
    if (text == null) {
      return undefined
    }
    try {
      const d = parseDestination(text)
      return d.kind === 'peer' ? d.peer : undefined
    } catch {
      return undefined
    }
  }
}

/**
 * The offering side of a session: this node tells a peer what it would hand
 * it (fragment keys, chosen by `routing.ts`, and the receipts the peer has
 * not had from us), the peer answers with the keys it takes and the
 * receipts it knows, and this node sends each fragment and waits for its
 * acknowledgement (sent once the fragment is on the peer's disk).
 */
import { lengthPrefixed } from '../core/length-prefix.ts'
import { pbStream } from '@libp2p/utils'
import { refuse } from './context.ts'
import { DTN_PROTOCOL, FRAME_TIMEOUT_MS, MAX_FRAME_BYTES, MAX_HELD_SCANNED, MAX_OFFER_KEYS, MAX_OFFER_RECEIPTS } from './constants.ts'
import { DtnError, HARMLESS } from './errors.ts'
import { wireFor } from './evidence.ts'
import { DtnFrame } from './pb/dtn.ts'
import { handover } from './routing.ts'
import { fragmentKey } from './wire-values.ts'
import type { DtnContext } from './context.ts'
import type { DeclinedOffers } from './declined.ts'
import type { KnownEvidence } from './evidence.ts'
import type { FragmentKey, Receipt as PbReceipt } from './pb/dtn.ts'
import type { PeerType } from '../core/peer-type.ts'
import type { PeerId, Stream } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'

export interface OfferingSideInit {
  ctx: Pick<DtnContext, 'store' | 'state' | 'overlay' | 'now' | 'log' | 'stats' | 'events'>
  connectionManager: ConnectionManager
  /** the types that carry bundles for others, most preferred first (routing.ts) */
  preferredCarriers: readonly PeerType[]
  /** the newest token known of a peer, to refresh a fragment's evidence with */
  known: KnownEvidence
  /** receipts the peer told (delivery.ts) */
  applyReceipts: (wires: PbReceipt[]) => void
  /** what each peer declined: left out of its offers for a while (declined.ts) */
  declined: DeclinedOffers
}

/** receipt ids remembered per peer, for this many peers */
const MAX_PEERS_TOLD = 1024

export class OfferingSide {
  private readonly init: OfferingSideInit
  /** receipt ids each peer has had from us (bounded) */
  private readonly receiptsTold = new Map<string, Set<string>>()

  constructor (init: OfferingSideInit) {
    this.init = init
  }

  /** One session to `peer`: what it ends with is logged, and a peer's bad frame is counted against it. */
  async offer (peer: string): Promise<void> {
    const { ctx, preferredCarriers: preferred } = this.init
    const meeting = { peer, type: ctx.state.admitted.get(peer)?.claims.typ as PeerType | undefined }
    if (meeting.type == null || ctx.store.nothingToOffer) {
      return
    }
    let stream: Stream | undefined
    try {
      const now = ctx.now()
      const keys: FragmentKey[] = []
      // the oldest held first; a peer that takes none of them sees the rest next period,
      // and what it declined lately is not offered again (declined.ts)
      for (const h of ctx.store.held(now, MAX_HELD_SCANNED)) {
        if (!this.init.declined.declined(peer, fragmentKey(h.id, h.offset), now) && handover(h, meeting, preferred, ctx.overlay) != null) {
          keys.push({ id: Buffer.from(h.id, 'hex'), offset: BigInt(h.offset), length: h.length })
          if (keys.length >= MAX_OFFER_KEYS) {
            break
          }
        }
      }
      // receipts this peer has not had from us yet
      const told = this.receiptsTold.get(peer) ?? new Set<string>()
      const fresh = ctx.store.newestReceipts(now, MAX_OFFER_RECEIPTS).filter(r => !told.has(r.id))
      if (keys.length === 0 && fresh.length === 0) {
        return
      }
      // any order will do for the peer; a random one spreads the fragments of
      // one bundle over the carriers it meets
      for (let i = keys.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [keys[i], keys[j]] = [keys[j] as FragmentKey, keys[i] as FragmentKey]
      }
      const offered = new Set(keys.map(k => fragmentKey(k.id, k.offset)))
      stream = await this.init.connectionManager.openStream(this.peerIdOf(peer), DTN_PROTOCOL, { signal: AbortSignal.timeout(FRAME_TIMEOUT_MS) })
      ctx.stats.sessions++
      const pb = pbStream(stream, lengthPrefixed({ maxDataLength: MAX_FRAME_BYTES }))
      await pb.write({ offer: { keys, receipts: fresh.map(r => r.wire) } }, DtnFrame, { signal: AbortSignal.timeout(FRAME_TIMEOUT_MS) })
      fresh.forEach(r => { told.add(r.id) })
      this.receiptsTold.set(peer, told)
      if (this.receiptsTold.size > MAX_PEERS_TOLD) {
        this.receiptsTold.delete(this.receiptsTold.keys().next().value as string)
      }
      const want = (await pb.read(DtnFrame, { signal: AbortSignal.timeout(FRAME_TIMEOUT_MS), limits: { want: { keys: MAX_OFFER_KEYS, receipts: MAX_OFFER_RECEIPTS } } })).want
      if (want == null) {
        throw new DtnError('malformed', 'expected the keys wanted')
      }
      this.init.applyReceipts(want.receipts)
      this.init.declined.record(peer, offered, new Set(want.keys.map(k => fragmentKey(k.id, k.offset))), ctx.now())
      const served = new Set<string>()
      for (const key of want.keys) {
        const id = Buffer.from(key.id).toString('hex')
        const offset = Number(key.offset)
        const k = fragmentKey(id, key.offset)
        if (!offered.has(k)) {
          throw new DtnError('malformed', 'a key that was not offered')
        }
        if (served.has(k)) {
          continue
        }
        served.add(k)
        const f = ctx.store.fragment(id, offset, ctx.now())
        const plan = f == null ? undefined : handover(f, meeting, preferred, ctx.overlay)
        if (f == null || plan == null) {
          continue
        }
        // spray copies leave the store before the fragment leaves the node:
        // two sessions at once cannot both hand out the same copies
        const spray = !plan.direct && f.copies > 0
        if (spray && !ctx.store.takeCopies(id, offset, plan.give)) {
          continue
        }
        let stored = false
        try {
          await pb.write({ bundle: wireFor(f, { hops: f.hops + 1, copies: plan.give }, this.init.known) }, DtnFrame, { signal: AbortSignal.timeout(FRAME_TIMEOUT_MS) })
          const ack = (await pb.read(DtnFrame, { signal: AbortSignal.timeout(FRAME_TIMEOUT_MS), limits: { offer: { keys: 0, receipts: 0 }, want: { keys: 0, receipts: 0 } } })).ack
          if (ack == null) {
            throw new DtnError('malformed', 'expected an acknowledgement')
          }
          ctx.stats.transmissions++
          stored = ack.stored
        } finally {
          if (spray && !stored) {
            ctx.store.returnCopies(id, offset, plan.give)
          }
        }
        // a copy handed to its destination stays until the destination's
        // receipt releases it: the receipt is then confirmed against it, and
        // the destination answers the next offer of it with that receipt
      }
      await pb.write({ done: true }, DtnFrame, { signal: AbortSignal.timeout(FRAME_TIMEOUT_MS) })
      await stream.close({ signal: AbortSignal.timeout(FRAME_TIMEOUT_MS) })
    } catch (err: any) {
      stream?.abort(err)
      ctx.log('session with %s ended - %s', peer, err?.reason ?? err?.message ?? err?.name)
      if (err instanceof DtnError && !HARMLESS.has(err.reason)) {
        refuse(ctx, peer, err.reason)
      }
    }
  }

  private peerIdOf (peer: string): PeerId {
    const c = this.init.connectionManager.getConnections().find(c => c.remotePeer.toString() === peer)
    if (c == null) {
      throw new DtnError('unwanted', 'not connected')
    }
    return c.remotePeer
  }
}

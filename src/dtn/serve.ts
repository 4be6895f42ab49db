/**
 * The serving side of a session: a peer offers, this node answers with the
 * keys it takes (and tells the receipts it holds for offered bundles
 * instead of taking them), then checks and stores each fragment before it
 * acknowledges it.
 *
 * Every fragment is checked before it is stored: bounds, the source's
 * signature, the source's evidence of admission when it created the bundle
 * (evidence.ts), freshness and hops. A bad one ends the session and is
 * counted against the peer that sent it; duplicates and quota refusals are
 * nobody's fault.
 */
import { lengthPrefixed } from '../core/length-prefix.ts'
import { RateLimiter, pbStream } from '@libp2p/utils'
import { openFragment } from './bundle.ts'
import { countRefusal, refuse } from './context.ts'
import { FRAME_TIMEOUT_MS, MAX_FRAME_BYTES, MAX_OFFER_KEYS, MAX_OFFER_RECEIPTS, SESSIONS_PER_PEER_PER_MINUTE } from './constants.ts'
import { DtnError, HARMLESS } from './errors.ts'
import { checkEvidence } from './evidence.ts'
import { loopLag, starvedWithin } from '../core/loop-lag.ts'
import type { LagWindow } from '../core/loop-lag.ts'
import { DtnFrame } from './pb/dtn.ts'
import { fragmentKey } from './wire-values.ts'
import { decodeFailsWith } from '../core/pb-codec.ts'
import type { DtnContext } from './context.ts'
import type { Delivery } from './delivery.ts'
import type { DtnRefusal } from './errors.ts'
import type { Receipt as PbReceipt } from './pb/dtn.ts'
import type { Connection, Stream } from '@libp2p/interface'

/** a frame that does not decode (or holds more than its limits) is the offerer's doing */
const FRAME = decodeFailsWith(DtnFrame, () => new DtnError('malformed', 'the frame does not decode'))

export interface ServingSideInit {
  ctx: Pick<DtnContext, 'store' | 'writer' | 'state' | 'overlay' | 'maxPayload' | 'now' | 'log' | 'stats' | 'events'>
  delivery: Pick<Delivery, 'applyReceipts' | 'stored'>
}

export class ServingSide {
  private readonly init: ServingSideInit
  private readonly limiter = new RateLimiter({ points: SESSIONS_PER_PEER_PER_MINUTE, duration: 60 })
  /** fragments another session is bringing: not asked for twice at once */
  private readonly expecting = new Set<string>()

  constructor (init: ServingSideInit) {
    this.init = init
  }

  /** A session a peer opened on `/tempus/dtn/1.0.0`. */
  async serve (stream: Stream, connection: Connection): Promise<void> {
    const { ctx, delivery } = this.init
    const peer = connection.remotePeer.toString()
    const wanted = new Map<string, number>()
    // how late our own loop runs while each frame is awaited: a frame deadline missed while it ran late may be ours
    let wait: LagWindow | undefined
    try {
      try {
        this.limiter.consume(peer, 1)
      } catch {
        // one episode per burst (src/admission/suspicion.ts): a peer's sessions queued behind a slow link are one offence
        ctx.state.raise(peer, 'timeout', 'dtn:rate')
        throw new DtnError('unwanted', 'sessions over the rate limit')
      }
      if (!ctx.state.admitted.has(peer)) {
        throw new DtnError('unwanted', 'not admitted')
      }
      const pb = pbStream(stream, lengthPrefixed({ maxDataLength: MAX_FRAME_BYTES }))
      const read = async (): Promise<DtnFrame> => {
        wait?.close()
        wait = loopLag.watch()
        return await pb.read(FRAME, { signal: AbortSignal.timeout(FRAME_TIMEOUT_MS), limits: { offer: { keys: MAX_OFFER_KEYS, receipts: MAX_OFFER_RECEIPTS }, want: { keys: 0, receipts: 0 } } })
      }
      const offer = (await read()).offer
      if (offer == null) {
        throw new DtnError('malformed', 'expected an offer')
      }
      delivery.applyReceipts(offer.receipts)
      const now = ctx.now()
      const receipts: PbReceipt[] = []
      let room = 0
      for (const key of offer.keys) {
        const id = Buffer.from(key.id).toString('hex')
        const k = fragmentKey(id, key.offset)
        if (key.id.length !== 16 || wanted.has(k) || this.expecting.has(k)) {
          continue
        }
        // a confirmed receipt (its signer is the bundle's destination) ends
        // the bundle's journey: tell the offerer instead of taking it
        const receipt = ctx.store.receipt(id, now)
        if (receipt != null) {
          if (receipts.length < MAX_OFFER_RECEIPTS) {
            receipts.push(receipt.wire)
          }
          continue
        }
        if (ctx.store.delivered(id) || ctx.store.isOwn(id) || ctx.store.has(id, Number(key.offset))) {
          continue
        }
        // a rough check: the exact one (per source) is made when it arrives
        room += key.length
        if (ctx.store.refusal('', room) != null) {
          continue
        }
        wanted.set(k, key.length)
        this.expecting.add(k)
      }
      await pb.write({ want: { keys: offer.keys.filter(k => wanted.has(fragmentKey(k.id, k.offset))), receipts } }, DtnFrame, { signal: AbortSignal.timeout(FRAME_TIMEOUT_MS) })
      // the wanted fragments the offerer still holds, then `done`
      const expected = wanted.size
      for (let i = 0; ; i++) {
        const frame = await read()
        if (frame.done === true) {
          break
        }
        if (frame.bundle == null || i >= expected) {
          throw new DtnError('malformed', 'expected a wanted bundle or the end')
        }
        const stored = await this.take(frame.bundle, peer, wanted)
        await pb.write({ ack: { stored } }, DtnFrame, { signal: AbortSignal.timeout(FRAME_TIMEOUT_MS) })
      }
      await stream.close({ signal: AbortSignal.timeout(FRAME_TIMEOUT_MS) })
    } catch (err: any) {
      stream.abort(err)
      ctx.log('session from %s ended - %s', peer, err?.message ?? err?.name)
      // a bad frame is the peer's doing; a reset or a timeout may be the network's
      const reason: DtnRefusal | undefined = err instanceof DtnError
        ? err.reason
        : (err?.name === 'InvalidDataLengthError' || err?.name === 'InvalidDataLengthLengthError' || err?.name === 'LengthPrefixError') ? 'oversize' : undefined
      if (reason != null && !HARMLESS.has(reason)) {
        refuse(ctx, peer, reason)
      } else if (wanted.size > 0 && err?.name === 'TimeoutError' && !(wait != null && starvedWithin(wait, FRAME_TIMEOUT_MS))) {
        // it offered fragments, we asked, and it stalled past our frame deadline: they were kept
        // from other carriers meanwhile (an AbortError is a cut, ours or the network's: nobody's
        // offence; a deadline missed while our own loop ran late may be ours)
        ctx.state.raise(peer, 'timeout', 'dtn:stall')
      }
    } finally {
      wait?.close()
      for (const k of wanted.keys()) {
        this.expecting.delete(k)
      }
    }
  }

  /** Check and store one fragment handed over by `peer`; false if it was not stored (harmlessly). */
  private async take (pb: NonNullable<DtnFrame['bundle']>, peer: string, wanted: Map<string, number>): Promise<boolean> {
    const { ctx, delivery } = this.init
    const f = openFragment(pb, { now: ctx.now(), maxPayload: ctx.maxPayload })
    const k = fragmentKey(f.id, f.offset)
    if (wanted.get(k) !== f.payload.length) {
      throw new DtnError('malformed', 'a fragment that was not asked for')
    }
    wanted.delete(k)
    this.expecting.delete(k)
    if (ctx.store.delivered(f.id) || ctx.store.receipt(f.id, ctx.now()) != null) {
      // delivered while this copy was on its way
      ctx.stats.duplicates++
      return false
    }
    await checkEvidence(f, ctx.state.verifier, ctx.overlay)
    // hops are not signed: a copy that travelled has taken at least one
    // transfer, two if it did not come from its source
    f.hops = Math.max(f.hops, peer === f.source ? 1 : 2)
    if (f.hops > f.hopLimit) {
      return false
    }
    let stored: boolean
    try {
      stored = (await ctx.writer.submit({ fragments: [f], receivedFrom: peer }))[0] === true
    } catch (err) {
      if (err instanceof DtnError && err.reason === 'quota-full') {
        countRefusal(ctx, 'quota-full')
        return false
      }
      throw err
    }
    if (!stored) {
      ctx.stats.duplicates++
    } else {
      delivery.stored(f, peer)
    }
    return stored
  }
}

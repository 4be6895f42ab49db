/**
 * One Cyclon exchange on the wire. The initiator dials the partner at the
 * addresses it signed, within the node's dial budget, sends its entries and
 * reads the reply through the shape check; the responder, within its rate
 * limit per sender, reads the request through the same check and answers.
 * A frame out of shape is its sender's offence; a reset or a timeout only
 * means the other side is gone.
 */
import { lengthPrefixed } from '../core/length-prefix.ts'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { pbStream } from '@libp2p/utils'
import { isFramingFault } from '../admission/cut-read.ts'
import { KEPT_TAG } from '../core/peer-tags.ts'
import { MAX_SHUFFLE_BYTES, cyclonProtocol } from './constants.ts'
import { MalformedShuffleError } from './errors.ts'
import { decodeShuffle, toWire } from './peer-entry.ts'
import { CyclonShuffle } from './pb/cyclon.ts'
import type { PeerEntry } from './peer-entry.ts'
import type { AdmissionState } from '../admission/state.ts'
import type { PeerType } from '../core/peer-type.ts'
import type { Connection, Logger, PeerId, PeerStore, Stream } from '@libp2p/interface'
import type { RateLimiter } from '@libp2p/utils'
import type { SamplingMetrics } from './metrics.ts'
import type { IdleCloser } from './idle-connection.ts'
import type { ConnectionManager } from '@libp2p/interface-internal'
import type { ProtobufStream } from '@libp2p/utils'
import type { Multiaddr } from '@multiformats/multiaddr'

/** What sampling needs of the node's dial budget (src/liveness/dial-limiter.ts). */
export interface DialBudget {
  /** what to dial for `peer` among `addrs` (budget spent); throws `DialBudgetError` when none is within it */
  dialTargets(peer: string, addrs: Multiaddr[]): Multiaddr[]
}

/**
 * Dial a partner at the addresses it signed (the peer store holds its
 * newest record, consumed when its entry was admitted), those within the
 * node's dial budget only.
 */
export async function dialPartner (ctx: { peerStore: PeerStore, connectionManager: ConnectionManager, dialBudget: DialBudget }, peer: PeerId, partner: PeerEntry, signal: AbortSignal): Promise<void> {
  const certified = await ctx.peerStore.get(peer).then(p => p.addresses.filter(a => a.isCertified).map(a => a.multiaddr), () => [])
  const known = certified.length > 0 ? certified : partner.addrs.map(a => multiaddr(a))
  if (known.length === 0) {
    throw new Error(`no signed address for ${partner.id}`)
  }
  await ctx.connectionManager.openConnection(ctx.dialBudget.dialTargets(partner.id, known), { signal })
}

/**
 * Run `fn` with `partner` within the deadline, dialled at its signed
 * addresses if not connected. A connection made only for this is closed
 * afterwards by `closer` while the node holds more than it keeps, once no
 * stream of another protocol uses it (`IdleCloser`, idle-connection.ts:
 * an RPC call may have picked it meanwhile): Cyclon meets a new random
 * partner every period, and keeping every one would connect each node to
 * most of the overlay. A peer the peer keeper keeps (tagged `KEPT_TAG`:
 * its chosen sentinels, peers in use) is left open: closing would only
 * make it redial. The check and the close are one
 * synchronous step, so a stream opened after it finds the connection
 * closing, and the RPC client then dials another (src/rpc/rpc.ts).
 */
export async function withPartner<T> (ctx: { peerStore: PeerStore, connectionManager: ConnectionManager, dialBudget: DialBudget }, partner: PeerEntry, limits: { timeoutMs: number, closer?: IdleCloser }, fn: (peer: PeerId, signal: AbortSignal) => Promise<T>): Promise<T> {
  const signal = AbortSignal.timeout(limits.timeoutMs)
  const peer = peerIdFromString(partner.id)
  const wasConnected = ctx.connectionManager.getConnections(peer).length > 0
  if (!wasConnected) {
    await dialPartner(ctx, peer, partner, signal)
  }
  try {
    return await fn(peer, signal)
  } finally {
    if (!wasConnected && limits.closer != null && !(await isKeptPeer(ctx.peerStore, peer))) {
      const closer = limits.closer
      // a sentinel the keeper does not keep is closed even below the node's count: the keeper
      // would never dial it to fill that count, and every observer's pull would leave one open
      const always = partner.type === 'sentinel'
      await Promise.all(ctx.connectionManager.getConnections(peer).map(async c => { await closer.release(c, { always }) }))
    }
  }
}

/** Does the peer keeper keep this peer (src/liveness/peer-keeper.ts tags it)? */
async function isKeptPeer (peerStore: PeerStore, peer: PeerId): Promise<boolean> {
  return await peerStore.get(peer).then(p => p.tags.has(KEPT_TAG), () => false)
}

/** Send `sent` to `peer` on the `type` view's protocol and read its reply (at most `maxEntries`). */
export async function initiateShuffle (ctx: { connectionManager: ConnectionManager, state: AdmissionState, log: Logger }, peer: PeerId, type: PeerType, maxEntries: number, sent: PeerEntry[], signal: AbortSignal): Promise<PeerEntry[]> {
  const partnerId = peer.toString()
  const stream = await ctx.connectionManager.openStream(peer, cyclonProtocol(type), { signal })
  try {
    const pb = pbStream(stream, lengthPrefixed({ maxDataLength: MAX_SHUFFLE_BYTES }))
    await pb.write({ entries: sent.map(e => toWire(e)) }, CyclonShuffle, { signal })
    let reply: PeerEntry[]
    try {
      // the same checks as a request gets (src/sampling/peer-entry.ts)
      reply = await readShuffle(pb, maxEntries, signal)
    } catch (err: any) {
      if (!(err instanceof MalformedShuffleError)) {
        throw err // a reset or a timeout: the partner is gone, not guilty
      }
      ctx.log('%s reply from %s refused: %s', type, partnerId, err?.message)
      ctx.state.raise(partnerId, 'malformed-frame', `cyclon:${type}:${(err as MalformedShuffleError).reason}`)
      throw err
    }
    await stream.close({ signal })
    return reply
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}

/** Read one shuffle through its shape check (`decodeShuffle`); a length over the bound is the sender's fault too (`MalformedShuffleError`), a reset or timeout is not. */
export async function readShuffle (pb: ProtobufStream, maxEntries: number, signal: AbortSignal): Promise<PeerEntry[]> {
  try {
    return await pb.read({ decode: frame => decodeShuffle(frame, maxEntries) }, { signal })
  } catch (err: any) {
    if (isFramingFault(err)) {
      throw new MalformedShuffleError('oversize-frame', `the frame is longer than ${MAX_SHUFFLE_BYTES} bytes`)
    }
    throw err
  }
}

export interface AnswerContext {
  state: AdmissionState
  log: Logger
  metrics?: SamplingMetrics
  /** incoming shuffles per sender (a token bucket) */
  limiter: RateLimiter
  maxEntries: number
  timeoutMs: number
  /** the view's answer to what was received (it merges what passed its checks) */
  answer: (received: PeerEntry[], sender: string) => Promise<PeerEntry[]>
  /** the view changed */
  answered: () => void
}

/** The responder's side of one shuffle on `stream`. */
export async function answerShuffle (ctx: AnswerContext, type: PeerType, stream: Stream, connection: Connection): Promise<void> {
  const sender = connection.remotePeer.toString()
  const signal = AbortSignal.timeout(ctx.timeoutMs)
  try {
    try {
      ctx.limiter.consume(sender, 1)
    } catch {
      ctx.log('%s shuffles from %s over the rate limit', type, sender)
      ctx.state.raise(sender, 'timeout', `cyclon:rate:${type}`)
      ctx.metrics?.shuffle(type, 'responder', 'refused')
      stream.abort(new Error('rate limited'))
      return
    }
    const pb = pbStream(stream, lengthPrefixed({ maxDataLength: MAX_SHUFFLE_BYTES }))
    let received: PeerEntry[]
    try {
      received = await readShuffle(pb, ctx.maxEntries, signal)
    } catch (err: any) {
      if (!(err instanceof MalformedShuffleError)) {
        throw err // a reset or a timeout: not an offence
      }
      ctx.log('%s shuffle from %s refused: %s', type, sender, err?.message)
      ctx.state.raise(sender, 'malformed-frame', `cyclon:${type}:${(err as MalformedShuffleError).reason}`)
      ctx.metrics?.shuffle(type, 'responder', 'refused')
      stream.abort(err instanceof MalformedShuffleError ? err : new Error('malformed shuffle'))
      return
    }
    const reply = await ctx.answer(received, sender)
    await pb.write({ entries: reply.map(e => toWire(e)) }, CyclonShuffle, { signal })
    await stream.close({ signal })
    ctx.metrics?.shuffle(type, 'responder', 'ok')
    ctx.answered()
  } catch (err: any) {
    ctx.log('%s shuffle from %s failed - %s', type, sender, err?.name)
    ctx.metrics?.shuffle(type, 'responder', 'failed')
    stream.abort(err)
  }
}

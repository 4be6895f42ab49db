/**
 * One sample exchange on the wire (protocols/cyclon.md, "The sample
 * exchange"): each side offers the ids its sampler holds, asks evidence for
 * the few of the other's that would win one of its slots, and shows the
 * evidence asked of it. The sampler's logic stays in the service (`side`);
 * here are the four frames, their checks (sample-frame.ts), the deadline
 * and who is charged: a frame out of step is its sender's offence, a reset
 * or a timeout only means the other side is gone.
 */
import { lengthPrefixed } from '../core/length-prefix.ts'
import { pbStream } from '@libp2p/utils'
import { isFramingFault } from '../admission/cut-read.ts'
import { MAX_SHUFFLE_BYTES, sampleProtocol } from './constants.ts'
import { MalformedSampleError } from './errors.ts'
import { toWire } from './peer-entry.ts'
import { checkSampleStep, decodeSampleFrame } from './sample-frame.ts'
import { SampleFrame } from './pb/cyclon.ts'
import type { SampleStep } from './sample-frame.ts'
import type { PeerEntry } from './peer-entry.ts'
import type { AdmissionState } from '../admission/state.ts'
import type { PeerType } from '../core/peer-type.ts'
import type { Connection, Logger, PeerId, Stream } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import type { ProtobufStream, RateLimiter } from '@libp2p/utils'
import type { SamplingMetrics } from './metrics.ts'

/** What one side of an exchange brings: its sampler, seen through these four calls. */
export interface SampleSide {
  /** ids this side offers: held, with evidence it can still show */
  offer: () => PeerEntry[]
  /** indices of the other side's ids to ask evidence for (those that would win a slot) */
  wants: (ids: readonly string[]) => number[]
  /** the evidence the other side showed for our asks: checked and observed by the service */
  learn: (evidence: PeerEntry[], sender: string) => Promise<void>
}

const EMPTY: Pick<SampleFrame, 'ids' | 'wants' | 'evidence'> = { ids: [], wants: [], evidence: [] }

async function readStep (pb: ProtobufStream, step: 1 | 2 | 3 | 4, offered: readonly string[], asked: readonly string[], signal: AbortSignal): Promise<SampleStep> {
  let frame: SampleFrame
  try {
    frame = await pb.read({ decode: decodeSampleFrame }, { signal })
  } catch (err: any) {
    if (isFramingFault(err)) {
      throw new MalformedSampleError('oversize-frame', `the frame is longer than ${MAX_SHUFFLE_BYTES} bytes`)
    }
    throw err
  }
  return checkSampleStep(frame, step, offered, asked)
}

function evidenceFor (wants: readonly number[], offered: readonly PeerEntry[]): SampleFrame['evidence'] {
  return wants.map(i => toWire(offered[i] as PeerEntry, false))
}

/** Run the initiator's side with `peer` on the `type` sampler's protocol. */
export async function initiateSampleExchange (ctx: { connectionManager: ConnectionManager, state: AdmissionState, log: Logger }, peer: PeerId, type: PeerType, side: SampleSide, signal: AbortSignal): Promise<void> {
  const partner = peer.toString()
  const stream = await ctx.connectionManager.openStream(peer, sampleProtocol(type), { signal })
  try {
    const pb = pbStream(stream, lengthPrefixed({ maxDataLength: MAX_SHUFFLE_BYTES }))
    const mine = side.offer()
    const mineIds = mine.map(e => e.id)
    await pb.write({ ...EMPTY, ids: mineIds }, SampleFrame, { signal })
    let theirs: SampleStep
    let myWants: number[]
    let shown: SampleStep
    try {
      theirs = await readStep(pb, 2, mineIds, [], signal)
      myWants = side.wants(theirs.ids)
      await pb.write({ ids: [], wants: myWants, evidence: evidenceFor(theirs.wants, mine) }, SampleFrame, { signal })
      shown = await readStep(pb, 4, mineIds, myWants.map(i => theirs.ids[i] as string), signal)
    } catch (err: any) {
      if (err instanceof MalformedSampleError) {
        ctx.log('%s sample exchange with %s refused: %s', type, partner, err.message)
        ctx.state.raise(partner, 'malformed-frame', `sample:${type}`)
      }
      throw err
    }
    await stream.close({ signal })
    await side.learn(shown.evidence, partner)
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}

export interface SampleAnswerContext {
  state: AdmissionState
  log: Logger
  metrics?: SamplingMetrics
  /** incoming exchanges per sender (a token bucket) */
  limiter: RateLimiter
  timeoutMs: number
  side: SampleSide
}

/** The responder's side of one sample exchange on `stream`. */
export async function answerSampleExchange (ctx: SampleAnswerContext, type: PeerType, stream: Stream, connection: Connection): Promise<void> {
  const sender = connection.remotePeer.toString()
  const signal = AbortSignal.timeout(ctx.timeoutMs)
  try {
    ctx.limiter.consume(sender, 1)
  } catch {
    ctx.log('%s sample exchanges from %s over the rate limit', type, sender)
    ctx.state.raise(sender, 'timeout', `sample:rate:${type}`)
    ctx.metrics?.sampleExchange(type, 'responder', 'refused')
    stream.abort(new Error('rate limited'))
    return
  }
  try {
    const pb = pbStream(stream, lengthPrefixed({ maxDataLength: MAX_SHUFFLE_BYTES }))
    let theirs: SampleStep
    let shown: SampleStep
    try {
      theirs = await readStep(pb, 1, [], [], signal)
      const mine = ctx.side.offer()
      const mineIds = mine.map(e => e.id)
      const myWants = ctx.side.wants(theirs.ids)
      await pb.write({ ids: mineIds, wants: myWants, evidence: [] }, SampleFrame, { signal })
      shown = await readStep(pb, 3, mineIds, myWants.map(i => theirs.ids[i] as string), signal)
      await pb.write({ ...EMPTY, evidence: evidenceFor(shown.wants, mine) }, SampleFrame, { signal })
    } catch (err: any) {
      if (err instanceof MalformedSampleError) {
        ctx.log('%s sample exchange from %s refused: %s', type, sender, err.message)
        ctx.state.raise(sender, 'malformed-frame', `sample:${type}`)
        ctx.metrics?.sampleExchange(type, 'responder', 'refused')
        stream.abort(err)
        return
      }
      throw err
    }
    await stream.close({ signal })
    await ctx.side.learn(shown.evidence, sender)
    ctx.metrics?.sampleExchange(type, 'responder', 'ok')
  } catch (err: any) {
    ctx.log('%s sample exchange from %s failed - %s', type, sender, err?.name)
    ctx.metrics?.sampleExchange(type, 'responder', 'failed')
    stream.abort(err)
  }
}

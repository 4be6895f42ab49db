/**
 * What two bridges exchange, on the wire: the handshake's envelopes; then,
 * once pinned, a crossing (a bundle fragment, receipts, a revocation list)
 * answered by an ack, and a relayed anomaly frame. The service decides
 * (the envelope checks, a fresh pin, the rate limits); these only frame
 * it, within its bounds.
 */
import { lengthPrefixed } from '../core/length-prefix.ts'
import { lpStream, pbStream } from '@libp2p/utils'
import { CROSSING_PROTOCOL, HANDSHAKE_TIMEOUT_MS, MAX_CROSSING_BYTES, MAX_CROSSING_RECEIPTS, MAX_ENVELOPE_BYTES, MAX_RELAY_FRAME_BYTES, RELAY_PROTOCOL } from './constants.ts'
import { FederationError } from './errors.ts'
import { Crossing, CrossingAck, Envelope, Reply } from './pb/federation.ts'
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'

/** Hand `crossing` to `peer`; whether it stored the fragment. */
export async function sendCrossing (connectionManager: ConnectionManager, peer: PeerId, crossing: Partial<Crossing>): Promise<boolean> {
  const signal = AbortSignal.timeout(HANDSHAKE_TIMEOUT_MS)
  const stream = await connectionManager.openStream(peer, CROSSING_PROTOCOL, { signal })
  try {
    const pb = pbStream(stream, lengthPrefixed({ maxDataLength: MAX_CROSSING_BYTES }))
    await pb.write({ receipts: [], revocationList: '', ...crossing }, Crossing, { signal })
    const ack = await pb.read(CrossingAck, { signal })
    await stream.close({ signal })
    return ack.stored
  } catch (err: any) {
    stream.abort(err)
    throw err
  }
}

/** Read one crossing (`unreadable` says why one did not come), take it, ack whether it was stored. */
export async function answerCrossing (stream: Stream, signal: AbortSignal, take: (crossing: Crossing) => Promise<boolean>): Promise<void> {
  const pb = pbStream(stream, lengthPrefixed({ maxDataLength: MAX_CROSSING_BYTES }))
  const crossing = await pb.read(Crossing, { signal, limits: { receipts: MAX_CROSSING_RECEIPTS } }).catch((err: any) => {
    throw unreadable(err, 'the crossing')
  })
  const stored = await take(crossing)
  await pb.write({ stored }, CrossingAck, { signal })
  await stream.close({ signal })
}

/** A gossip frame, relayed as the opaque bytes it is (the taker checks it), not a protons message. */
export async function sendRelayFrame (connection: Connection, frame: Uint8Array): Promise<void> {
  const signal = AbortSignal.timeout(HANDSHAKE_TIMEOUT_MS)
  const stream = await connection.newStream(RELAY_PROTOCOL, { signal })
  await lpStream(stream, lengthPrefixed({ maxDataLength: MAX_RELAY_FRAME_BYTES })).write(frame, { signal })
  await stream.close({ signal })
}

/** Read one relayed frame (opaque bytes: no protons codec to read them with). */
export async function readRelayFrame (stream: Stream): Promise<Uint8Array> {
  const frame = (await lpStream(stream, lengthPrefixed({ maxDataLength: MAX_RELAY_FRAME_BYTES })).read({ signal: AbortSignal.timeout(HANDSHAKE_TIMEOUT_MS) })).subarray()
  await stream.close().catch(() => {})
  return frame
}

/**
 * The initiator's handshake on `stream` (opened by the caller): send our
 * envelope, hand the reply to `take` (which throws to refuse).
 */
export async function exchangeEnvelopes (stream: Stream, envelope: Envelope, take: (reply: Reply) => Promise<void>, signal: AbortSignal): Promise<void> {
  try {
    const pb = pbStream(stream, lengthPrefixed({ maxDataLength: MAX_ENVELOPE_BYTES }))
    await pb.write(envelope, Envelope, { signal })
    const reply = await pb.read(Reply, { signal }).catch((err: any) => {
      throw unreadable(err, 'the reply')
    })
    await take(reply)
    await stream.close({ signal })
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}

/** How a read ended without a frame: the deadline fell or the stream ended first (`no-answer`), or the bytes do not decode (`malformed`). */
export function unreadable (err: any, what: string): FederationError {
  return NO_ANSWER.has(err?.name)
    ? new FederationError('no-answer', `no answer: ${what} did not come (${String(err?.name)})`)
    : new FederationError('malformed', `${what} does not decode`)
}

/** errors of a read that ended before a whole frame came: a remote that is slow or gone, not one that sent garbage */
const NO_ANSWER = new Set(['TimeoutError', 'AbortError', 'UnexpectedEOFError', 'StreamResetError', 'StreamAbortedError', 'StreamStateError', 'StreamClosedError', 'ConnectionClosedError', 'ConnectionClosingError', 'MuxerClosedError'])

/**
 * The responder's handshake: read the remote's envelope; `accept` checks it
 * and returns ours, or throws. Fail closed: the remote learns the reason
 * (it is its own input), nothing is pinned.
 */
export async function answerEnvelope (stream: Stream, accept: (envelope: Envelope) => Promise<Envelope>): Promise<void> {
  const signal = AbortSignal.timeout(HANDSHAKE_TIMEOUT_MS)
  const pb = pbStream(stream, lengthPrefixed({ maxDataLength: MAX_ENVELOPE_BYTES }))
  const envelope = await pb.read(Envelope, { signal }).catch((err: any) => {
    throw unreadable(err, 'the envelope')
  })
  let ours: Envelope
  try {
    ours = await accept(envelope)
  } catch (err) {
    await pb.write({ refused: err instanceof FederationError ? err.reason : 'malformed' }, Reply, { signal }).catch(() => {})
    await stream.close({ signal }).catch(() => {})
    return
  }
  await pb.write({ envelope: ours, refused: '' }, Reply, { signal })
  await stream.close({ signal })
}

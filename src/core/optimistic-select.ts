/**
 * A stream for one protocol whose first bytes go out with its protocol
 * selection, without waiting for multistream-select's answer.
 *
 * libp2p's `newStream` writes the multistream header and the protocol,
 * then waits for the remote's acknowledgement before it hands the stream
 * out, so a stream's first message always costs a round trip more than
 * its answer needs. libp2p v3 documents `negotiateFully: false` for
 * exactly this but does not implement it (its `select` always waits).
 *
 * Here the dialler sends the header and the protocol at once and may
 * write its first message in the same turn; the listener's side is
 * libp2p's own `handle`, unchanged: it acknowledges, hands the stream to
 * the protocol's handler, and the bytes that came with the selection are
 * the handler's first. The acknowledgement is read in the background
 * (`selected`) and must be awaited before the stream's data is read,
 * since the answer's first bytes are the acknowledgement's.
 *
 * What the caller must know: until `selected` has resolved, nothing it
 * wrote is known to have reached the protocol. If the remote does not
 * speak it, it answers `na`, `selected` rejects with
 * `UnsupportedProtocolError` (on `na` only) and the remote ran nothing:
 * its `handle` reads what follows as further protocol names. That holds
 * only for bytes that cannot read as one, so write nothing before
 * `selected` but varint-framed protobuf: the first byte of such a unit is
 * a field's tag, never `/` (0x2f would be wire type 7, which does not
 * exist), and every protocol name begins with one. Any other failure (a
 * timeout, an answer off multistream-select's script, a reset) rejects
 * with another error and says nothing about what ran. Either way the stream
 * is the caller's to abort, once it has settled its own state: an abort
 * here would close the stream before the caller heard why.
 */
import { lengthPrefixed } from './length-prefix.ts'
import { InvalidMessageError, UnsupportedProtocolError } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import type { Connection, Stream } from '@libp2p/interface'

const MULTISTREAM = '/multistream/1.0.0'
/** multistream-select's refusal */
const NOT_AVAILABLE = 'na'
/** the longest protocol answer read (multistream-select's own limit) */
const MAX_ANSWER_BYTES = 1024

export interface OptimisticStream {
  stream: Stream
  /** resolves once the remote acknowledged the protocol; read nothing before */
  selected: Promise<void>
}

export interface OptimisticOptions {
  /** how long the acknowledgement may take (ms) */
  timeoutMs: number
  /** open no stream when this many of ours for the protocol are open on the connection */
  maxOutboundStreams: number
}

/** the connection's muxer: libp2p's Connection keeps it in a field of its own */
interface MuxerLike {
  status?: string
  createStream?: (options?: Record<string, unknown>) => Promise<Stream>
}

/**
 * A stream for `protocol` with its selection under way, or undefined where
 * this cannot be done safely (no muxer reachable, a limited connection, too
 * many such streams already, a name too long for one length byte): the
 * caller then uses `connection.newStream`, which also reports why.
 */
export async function openOptimistically (connection: Connection, protocol: string, options: OptimisticOptions): Promise<OptimisticStream | undefined> {
  const muxer = (connection as unknown as { muxer?: MuxerLike }).muxer
  if (muxer?.createStream == null || muxer.status !== 'open' || connection.status !== 'open' || connection.limits != null) {
    return undefined
  }
  const hello = selection(protocol)
  if (hello == null) {
    return undefined
  }
  const ours = connection.streams.filter(s => s.direction === 'outbound' && s.protocol === protocol).length
  if (ours >= options.maxOutboundStreams) {
    return undefined
  }
  const stream = await muxer.createStream.call(muxer)
  // libp2p counts and lists a connection's streams by this field
  stream.protocol = protocol
  try {
    stream.send(hello)
  } catch (err: any) {
    stream.abort(err)
    throw err
  }
  return { stream, selected: acknowledged(stream, protocol, options.timeoutMs) }
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()
/** the selection's bytes per protocol: the same few protocols are opened again and again */
const selections = new Map<string, Uint8Array | undefined>()

/** the header and the protocol, each length-prefixed and newline-ended; undefined past 127 bytes */
function selection (protocol: string): Uint8Array | undefined {
  if (selections.has(protocol)) {
    return selections.get(protocol)
  }
  const lines = [`${MULTISTREAM}\n`, `${protocol}\n`].map(line => encoder.encode(line))
  let out: Uint8Array | undefined
  if (lines.every(line => line.byteLength <= 127)) {
    out = new Uint8Array(lines.reduce((n, line) => n + 1 + line.byteLength, 0))
    let at = 0
    for (const line of lines) {
      out[at++] = line.byteLength
      out.set(line, at)
      at += line.byteLength
    }
  }
  if (selections.size < 64) selections.set(protocol, out)
  return out
}

async function acknowledged (stream: Stream, protocol: string, timeoutMs: number): Promise<void> {
  const lp = lpStream(stream, lengthPrefixed({ maxDataLength: MAX_ANSWER_BYTES }))
  // a timer cleared on the answer (AbortSignal.timeout's would fire later all the same, building its error)
  const deadline = new AbortController()
  // a timeout says nothing about what ran: not the refusal's error
  const timer = setTimeout(() => { deadline.abort(Object.assign(new Error(`no answer to selecting ${protocol} within ${timeoutMs} ms`), { name: 'TimeoutError' })) }, timeoutMs)
  timer.unref?.()
  try {
    await readAcknowledgement(lp, protocol, deadline.signal)
  } finally {
    clearTimeout(timer)
  }
  // what came after the acknowledgement goes back to the stream for its reader
  lp.unwrap()
}

async function readAcknowledgement (lp: ReturnType<typeof lpStream>, protocol: string, signal: AbortSignal): Promise<void> {
  const readLine = async (): Promise<string> => {
    const bytes = (await lp.read({ signal })).subarray()
    if (bytes.at(-1) !== 0x0a) {
      throw new InvalidMessageError(`the answer to selecting ${protocol} is not a line`)
    }
    return decoder.decode(bytes.subarray(0, -1))
  }
  // only `na` says the protocol never ran: anything else off the protocol's script says nothing about what did
  const header = await readLine()
  if (header !== MULTISTREAM) {
    throw new InvalidMessageError(`the remote answered ${JSON.stringify(header.slice(0, 40))} to multistream-select`)
  }
  const answer = await readLine()
  if (answer === NOT_AVAILABLE) {
    throw new UnsupportedProtocolError(`the remote does not speak ${protocol}`)
  }
  if (answer !== protocol) {
    throw new InvalidMessageError(`the remote answered ${JSON.stringify(answer.slice(0, 40))} to selecting ${protocol}`)
  }
}

/**
 * Length-prefixed frames (unsigned varint length, then the bytes) cut out
 * of a byte stream as it arrives, for the RPC session: one long-lived
 * stream carries many frames, and reading them from its `message` events
 * costs no promise, no async iterator and no copy per frame, which is what
 * `pbStream`'s per-read machinery costs a stream-per-call protocol. The
 * cap is checked on the prefix, before any byte of an oversize frame is
 * buffered. Pure: no libp2p, no I/O.
 */
import { EncodingError } from './errors.ts'
import { VarintReader, withLengthPrefix } from '../core/length-prefix.ts'

/** the part of a `Uint8ArrayList` (libp2p's message data) or `Uint8Array` this reads */
export type Chunk = Uint8Array | { subarray: () => Uint8Array }

/** a varint prefix is at most 5 bytes for any length below 2^32 */
const MAX_PREFIX_BYTES = 5

/** Prefix `payload` with its varint length. */
export const frame = withLengthPrefix

export class FrameDecoder {
  private readonly maxBytes: number
  private buffer: Uint8Array = new Uint8Array(0)
  private readonly length = new VarintReader(MAX_PREFIX_BYTES)

  /** `maxBytes`: the largest frame accepted (its payload, without the prefix) */
  constructor (maxBytes: number) {
    this.maxBytes = maxBytes
  }

  /**
   * Add what arrived; returns the whole frames it completes, in order.
   * Throws `EncodingError` for a prefix above the cap or a broken prefix:
   * the stream cannot be resynchronised after that, its reader ends it.
   */
  push (chunk: Chunk): Uint8Array[] {
    const bytes = chunk instanceof Uint8Array ? chunk : chunk.subarray()
    let buf: Uint8Array
    if (this.buffer.byteLength === 0) {
      buf = bytes
    } else {
      buf = new Uint8Array(this.buffer.byteLength + bytes.byteLength)
      buf.set(this.buffer, 0)
      buf.set(bytes, this.buffer.byteLength)
    }
    const frames: Uint8Array[] = []
    let at = 0
    while (at < buf.byteLength) {
      // the prefix is read again from its start when it arrived split: it is one to five bytes
      this.length.reset()
      let i = at
      let step: 'more' | 'done' | 'long-length' = 'more'
      while (i < buf.byteLength && step === 'more') {
        step = this.length.push(buf[i++] as number)
      }
      if (step === 'long-length') {
        throw new EncodingError('a frame length prefix longer than 5 bytes')
      }
      if (step === 'more') {
        break // the prefix is still arriving
      }
      const length = this.length.value
      if (length > this.maxBytes) {
        throw new EncodingError(`a frame of ${length} bytes, above the cap of ${this.maxBytes}`)
      }
      if (buf.byteLength - i < length) {
        break // the frame is still arriving
      }
      frames.push(buf.subarray(i, i + length))
      at = i + length
    }
    // keep the unfinished tail as its own copy: the chunk's memory is not ours to hold
    this.buffer = at === buf.byteLength ? new Uint8Array(0) : buf.slice(at)
    return frames
  }

  /** bytes of an unfinished frame held */
  get pending (): number {
    return this.buffer.byteLength
  }
}

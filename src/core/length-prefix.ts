/**
 * The varint length in front of every frame of this project's protocols,
 * read with a bound and without an Error per byte.
 *
 * @libp2p/utils' `lpStream` (and `pbStream` on it) reads a frame's length
 * one byte at a time, asking its length decoder after each byte and taking
 * a RangeError as "not yet". Its decoder makes a new RangeError, stack and
 * all, for every byte short of the end; and a RangeError also skips the
 * check of how long a length may be (`maxLengthLength`), which runs only
 * once a length decoded. So a peer that sends bytes with the high bit set
 * (0x80 0x80 …) is never refused: each byte costs the reader a fresh Error
 * and a turn of the loop, about 4.5 µs here, for as long as the peer keeps
 * sending (1 MB: ~4.5 s of CPU) — on every stream of ours, the admission
 * exchange before any token included.
 *
 * `lengthPrefixed(opts)` gives `lpStream`/`pbStream` this module's decoder:
 * "not yet" is one RangeError made once; more bytes than the longest length
 * `maxDataLength` allows, with no end, is a `LengthPrefixError` (not a
 * RangeError, so the read ends at once). Every `lpStream`/`pbStream` in
 * `src/` goes through it (`test/core/length-prefix.test.ts` checks).
 */
import { TempusError } from './tempus-error.ts'
import type { Uint8ArrayList } from 'uint8arraylist'

/** A frame's length that runs on past the longest the protocol allows: the peer sent no length. */
export class LengthPrefixError extends TempusError {
  readonly code = 'length-prefix'
  override readonly name = 'LengthPrefixError'
  constructor (maxBytes: number) {
    super(`a frame's length prefix ran past ${maxBytes} bytes without ending: not a length this protocol sends`)
  }
}

/**
 * Thrown while the length's last byte has not arrived: made once, so no
 * stack is captured per byte (the reader only asks `instanceof RangeError`).
 */
export const LENGTH_NOT_YET = new RangeError('the length prefix has not ended yet')

/** how many bytes the varint of `n` takes (unsigned LEB128) */
export function varintBytes (n: number): number {
  let bytes = 1
  for (let v = n; v >= 0x80; v = Math.floor(v / 0x80)) {
    bytes++
  }
  return bytes
}

/**
 * An unsigned varint read a byte at a time, held to `maxBytes` bytes. One
 * for a whole stream (or a frame decoder): `reset()` after each length.
 */
export class VarintReader {
  /** the value so far, and how many bytes it took */
  value = 0
  bytes = 0

  constructor (private readonly maxBytes: number) {}

  /** the next byte: `done` when it ends the varint, `long-length` when it would need more than `maxBytes` */
  push (b: number): 'more' | 'done' | 'long-length' {
    this.value += (b & 0x7f) * 0x80 ** this.bytes
    this.bytes++
    if (b < 0x80) {
      return 'done'
    }
    return this.bytes >= this.maxBytes ? 'long-length' : 'more'
  }

  reset (): void {
    this.value = 0
    this.bytes = 0
  }
}

/** `data` with its unsigned varint length in front: a frame as `lpStream` writes it */
export function withLengthPrefix (data: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(varintBytes(data.byteLength) + data.byteLength)
  let n = data.byteLength
  let i = 0
  for (; n >= 0x80; n = Math.floor(n / 0x80)) {
    out[i++] = (n & 0x7f) | 0x80
  }
  out[i++] = n
  out.set(data, i)
  return out
}

/**
 * A length decoder for `lpStream`: the unsigned varint at the start of
 * `data`, of at most `maxBytes` bytes.
 */
export function varintLengthDecoder (maxBytes: number): (data: Uint8Array | Uint8ArrayList) => number {
  // one reader per decoder: a call reads its length to the end before it returns
  const reader = new VarintReader(maxBytes)
  return (data) => {
    reader.reset()
    const n = Math.min(data.byteLength, maxBytes)
    for (let i = 0; i < n; i++) {
      const step = reader.push(data instanceof Uint8Array ? (data[i] as number) : data.get(i))
      if (step === 'done') {
        return reader.value
      }
      if (step === 'long-length') {
        throw new LengthPrefixError(maxBytes)
      }
    }
    throw LENGTH_NOT_YET
  }
}

/** one decoder per bound: every stream of a protocol shares its protocol's (a stream is opened per call) */
const decoders = new Map<number, (data: Uint8Array | Uint8ArrayList) => number>()

/** `opts` for `lpStream`/`pbStream`, with the length read by `varintLengthDecoder` bounded by `maxDataLength`. */
export function lengthPrefixed<T extends { maxDataLength: number }> (opts: T): T & { lengthDecoder: (data: Uint8Array | Uint8ArrayList) => number } {
  const maxBytes = varintBytes(opts.maxDataLength)
  let lengthDecoder = decoders.get(maxBytes)
  if (lengthDecoder == null) {
    lengthDecoder = varintLengthDecoder(maxBytes)
    decoders.set(maxBytes, lengthDecoder)
  }
  return { ...opts, lengthDecoder }
}

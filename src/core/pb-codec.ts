/**
 * A message that does not decode is its sender's doing. `pbStream`
 * (`@libp2p/utils`) reads a frame and decodes it in one call, so one catch
 * sees a cut stream (nobody's offence: `admission/cut-read.ts`) and bytes
 * that do not decode alike, and protons reports the latter as a bare
 * `RangeError` or `Error` that names no one. A codec passed through
 * `decodeFailsWith` throws the capability's own typed error for them, so
 * the catch charges exactly what it charged when reading and decoding were
 * two steps. Pure: it only wraps a function.
 */
import type { DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

/** what `pbStream` reads and writes with: a protons codec (`src/<capability>/pb/`) */
export interface PbCodec<T> {
  encode: (message: T) => Uint8Array
  decode: (data: Uint8Array | Uint8ArrayList, options?: DecodeOptions<T>) => T
}

/** `codec`, whose decode failures throw `fault(cause)` instead (the same bytes either way). */
export function decodeFailsWith<T> (codec: PbCodec<T>, fault: (cause: unknown) => Error): PbCodec<T> {
  return {
    encode: codec.encode,
    decode: (data, options) => {
      try {
        return codec.decode(data, options)
      } catch (err) {
        throw fault(err)
      }
    }
  }
}

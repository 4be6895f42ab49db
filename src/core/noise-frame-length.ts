/**
 * Noise's transport frames, read without an Error per TCP chunk.
 *
 * Noise reads its frames (a 2-byte length, then the ciphertext) with
 * @libp2p/utils' LengthPrefixedDecoder, which loops until the length
 * decoder throws a RangeError for want of bytes. Noise's length decoder
 * makes a new RangeError each time, so every chunk a connection receives
 * ends in one Error built with its stack trace. In CPU profiles that
 * construction was the self time of Noise's `uint16BEDecode`: 4.3 % of an
 * idle 50-node mesh's busy samples (`bench:idle --profile`), 2.2 % of a
 * sentinel's and an edge's in the 100-process chaos run (issue #20) — more
 * than Noise's own decryption of the same chunks.
 *
 * Wrapped around Noise, this sets the secured connection's length decoder
 * to `frameLength`: the same big-endian 16-bit read, ending the loop with
 * one RangeError made once. The decoder object, its buffer and its limits
 * are Noise's own. A connection without that decoder (another encrypter,
 * or a Noise that changed it) is left as it is;
 * `test/core/noise-frame-length.test.ts` fails if that happens.
 */
import type { ConnectionEncrypter, SecuredConnection } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'

type EncrypterFactory = (components: any) => ConnectionEncrypter

/**
 * Thrown by `frameLength` when fewer than 2 bytes are buffered: made once,
 * so no stack is captured per chunk. The decoder's loop only asks whether
 * it is a RangeError; nothing reads its stack.
 */
export const NOT_ENOUGH_BYTES = new RangeError('fewer than 2 bytes: no Noise frame length yet')

/** The length of the next Noise frame: the first two bytes, big-endian (Noise's `uint16BEDecode`, without a new Error when they are missing). */
export function frameLength (data: Uint8Array | Uint8ArrayList): number {
  if (data.length < 2) {
    throw NOT_ENOUGH_BYTES
  }
  if (data instanceof Uint8Array) {
    return ((data[0] ?? 0) << 8) | (data[1] ?? 0)
  }
  return data.getUint16(0)
}

/** `inner` (Noise), with each secured connection's frame lengths read by `frameLength`. */
export function noiseFrameLength (inner: EncrypterFactory): EncrypterFactory {
  return (components) => {
    const encrypter = inner(components)
    return {
      protocol: encrypter.protocol,
      async secureOutbound (connection, options) {
        return withFrameLength(await encrypter.secureOutbound(connection, options))
      },
      async secureInbound (connection, options) {
        return withFrameLength(await encrypter.secureInbound(connection, options))
      }
    }
  }
}

function withFrameLength<S extends SecuredConnection> (secured: S): S {
  const decoder = (secured.connection as { decoder?: { lengthDecoder?: unknown } }).decoder
  if (decoder != null && typeof decoder.lengthDecoder === 'function') {
    decoder.lengthDecoder = frameLength
  }
  return secured
}

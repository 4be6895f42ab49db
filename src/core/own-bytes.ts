/**
 * Bytes kept for long in memory of their own.
 *
 * What a decoder hands back is a view: protons' `bytes` fields, Noise's
 * plaintext (decrypted in place, into the chunk the socket read) and
 * anything cut from Node's Buffer pool all share an ArrayBuffer with
 * whatever else came in or was allocated beside them, and that whole
 * ArrayBuffer stays allocated while any view of it lives. A 64-byte
 * signature or a 300-byte peer record kept for minutes in a view, a
 * sampler or a ticket desk so holds a whole frame (a few kB) or a whole
 * pool slab (64 KiB in Node 24). `Buffer#slice` is no way out: unlike
 * `Uint8Array#slice` it returns a view too, and a decoded field often is a
 * Buffer (a subarray of a Buffer is one).
 *
 * So whatever this project keeps past the message it came in is copied
 * here first, into an ArrayBuffer exactly its size. Pure.
 */

/** `bytes` in an ArrayBuffer of their own, exactly their size (the same array when it already is). */
export function ownBytes (bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) {
    return bytes as Uint8Array<ArrayBuffer>
  }
  // the TypedArray constructor copies element by element into a new ArrayBuffer
  return new Uint8Array(bytes)
}

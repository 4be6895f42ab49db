/**
 * Reassembly, pure: fragments arrive in any order, from any carrier; the
 * payload is whole when they tile [0, totalLength), and it is accepted only
 * if its SHA-256 is the digest every fragment's signed header carries.
 */
import { createHash } from 'node:crypto'
import { DtnError } from './errors.ts'

export interface Piece {
  offset: number
  length: number
}

/** Bytes of [0, total) covered by the pieces. */
export function covered (pieces: Piece[], total: number): number {
  const sorted = [...pieces].sort((a, b) => a.offset - b.offset)
  let end = 0
  let sum = 0
  for (const p of sorted) {
    const from = Math.max(p.offset, end)
    const to = Math.min(total, p.offset + p.length)
    if (to > from) {
      sum += to - from
      end = to
    }
  }
  return sum
}

export function isComplete (pieces: Piece[], total: number): boolean {
  return covered(pieces, total) === total && (total > 0 || pieces.length > 0)
}

/** Concatenate the pieces of a complete payload and check its digest. */
export function reassemble (pieces: Array<Piece & { bytes: Uint8Array }>, total: number, digest: Uint8Array): Uint8Array {
  const out = new Uint8Array(total)
  let end = 0
  for (const p of [...pieces].sort((a, b) => a.offset - b.offset)) {
    if (p.offset > end) {
      throw new DtnError('bad-fragment', `a gap at ${end}`)
    }
    const skip = end - p.offset
    if (skip < p.bytes.length) {
      out.set(p.bytes.subarray(skip, Math.min(p.bytes.length, total - p.offset)), end)
      end = Math.min(total, p.offset + p.bytes.length)
    }
  }
  if (end !== total) {
    throw new DtnError('bad-fragment', `a gap at ${end}`)
  }
  if (!createHash('sha256').update(out).digest().equals(digest)) {
    throw new DtnError('bad-digest', 'the reassembled payload does not match its digest')
  }
  return out
}

/**
 * A view entry of a real node: the peer, its signed peer record (the only
 * source of its addresses), its type and its evidence of admission (its
 * token), which every receiver checks.
 */
import { isPeerType } from '../core/peer-type.ts'
import { MAX_DESCRIPTOR_HOPS, MAX_RECORD_BYTES, MAX_TOKEN_CHARS, SAMPLE_MAX_ID_CHARS } from './constants.ts'
import { CyclonShuffle } from './pb/cyclon.ts'
import { MalformedShuffleError } from './errors.ts'
import { ownBytes } from '../core/own-bytes.ts'
import type { PeerType } from '../core/peer-type.ts'
import type { CyclonEntry as WireEntry } from './pb/cyclon.ts'
import type { CyclonEntry } from './view.ts'
import type { Descriptor } from '../core/descriptor.ts'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface PeerEntry extends CyclonEntry<string> {
  type: PeerType
  token: string
  keyCertificate: string
  /** the peer's signed peer record (envelope bytes), passed on as received */
  record: Uint8Array
  /**
   * The addresses in `record`; set locally once the record verified, never
   * sent on their own (empty until then).
   */
  addrs: string[]
  /** the record's sequence number; set locally once it verified */
  seq?: bigint
  /**
   * When the evidence (the token) expires, in ms; set locally once the token
   * verified, never sent: a node drops an entry before its evidence leaves
   * the bound (EVIDENCE_MAX_AGE_MS past it).
   */
  expiresAt?: number
  /**
   * Its descriptor (descriptor.ts): minted by the peer, handed to this node
   * by a signed hop. None for an entry this node made from a connection (it
   * serves as a partner, and is never handed on).
   */
  descriptor?: Descriptor
  /** set locally once this node handed the descriptor on: it is never handed on again */
  spent?: boolean
}

/** The entry on the wire; with its descriptor in a shuffle, without in a sample exchange's evidence. */
export function toWire (entry: PeerEntry, withDescriptor = true): WireEntry {
  const d = withDescriptor ? entry.descriptor : undefined
  return {
    peerId: entry.id,
    type: entry.type,
    token: entry.token,
    keyCertificate: entry.keyCertificate,
    record: entry.record as Uint8Array<ArrayBuffer>,
    mintedAt: BigInt(d?.mintedAt ?? 0),
    descriptor: (d?.signature ?? new Uint8Array(0)) as Uint8Array<ArrayBuffer>,
    hops: (d?.hops ?? []).map(h => ({ to: h.to, signature: h.signature as Uint8Array<ArrayBuffer> }))
  }
}

/**
 * Decode one shuffle frame, a request or a reply alike, and check its shape:
 * at most `maxEntries` entries (the view's shuffle length), no peer twice,
 * bounded fields. Both directions go through here, so any check a push gets,
 * a reply gets too. Evidence and records are checked by the sampler.
 * Throws `MalformedShuffleError`.
 */
export function decodeShuffle (frame: Uint8Array | Uint8ArrayList, maxEntries: number): PeerEntry[] {
  let wire: WireEntry[]
  try {
    wire = CyclonShuffle.decode(frame, { limits: { entries: maxEntries } }).entries
  } catch (err: any) {
    if (err?.name === 'MaxLengthError') {
      throw new MalformedShuffleError('too-many-entries', `the frame holds more than ${maxEntries} entries`)
    }
    throw new MalformedShuffleError('undecodable', 'the frame does not decode as a CyclonShuffle')
  }
  return fromWire(wire, maxEntries)
}

/** Shape checks only (bounded sizes, no peer twice); see `decodeShuffle`. */
export function fromWire (wire: WireEntry[], maxEntries: number): PeerEntry[] {
  if (wire.length > maxEntries) {
    throw new MalformedShuffleError('too-many-entries', `the frame holds ${wire.length} entries, more than ${maxEntries}`)
  }
  const seen = new Set<string>()
  const out: PeerEntry[] = []
  for (const w of wire) {
    if (!isPeerType(w.type) || w.peerId.length === 0 || w.peerId.length > 128 || w.token.length > MAX_TOKEN_CHARS || w.keyCertificate.length > MAX_TOKEN_CHARS) {
      throw new MalformedShuffleError('bad-entry-shape', 'an entry has no peer id, an unknown type, or an oversize field')
    }
    if (w.record.byteLength > MAX_RECORD_BYTES) {
      throw new MalformedShuffleError('oversize-record', `an entry's signed record is ${w.record.byteLength} bytes, more than ${MAX_RECORD_BYTES}`)
    }
    if (seen.has(w.peerId)) {
      throw new MalformedShuffleError('duplicate-entry', 'the frame names one peer twice')
    }
    if (w.hops.length > MAX_DESCRIPTOR_HOPS || (w.descriptor.byteLength !== 0 && w.descriptor.byteLength !== 64) || w.mintedAt > BigInt(Number.MAX_SAFE_INTEGER) ||
      w.hops.some(h => h.signature.byteLength !== 64 || h.to.length === 0 || h.to.length > SAMPLE_MAX_ID_CHARS)) {
      throw new MalformedShuffleError('bad-descriptor-shape', `an entry's descriptor has more than ${MAX_DESCRIPTOR_HOPS} hops, a signature not of 64 bytes or a bad hop`)
    }
    seen.add(w.peerId)
    // copies (own-bytes.ts): a decoded field is a view of the whole frame, which a
    // held signature would otherwise keep alive (a frame's kB for 64 bytes)
    const descriptor = w.descriptor.byteLength === 0 ? undefined : { mintedAt: Number(w.mintedAt), signature: ownBytes(w.descriptor), hops: w.hops.map(h => ({ to: h.to, signature: ownBytes(h.signature) })) }
    // the age is the descriptor's (now − mintedAt), set once it checked
    out.push({ id: w.peerId, type: w.type, token: w.token, keyCertificate: w.keyCertificate, age: 0, record: ownBytes(w.record), addrs: [], descriptor })
  }
  return out
}

/**
 * An anomaly's id is bound to its origin and its content: the first 16
 * bytes of SHA-256 over a domain, the overlay, the origin's PeerId and the
 * canonical content (everything but the id and the provenance). Every
 * receiver recomputes it; a frame whose id is not its derivation is refused
 * (`bad-id`) and charged.
 *
 * Why: ids used to be 16 random bytes chosen by the publisher, and the
 * store kept the first copy by id. Any admitted node could then re-sign an
 * honest anomaly under the same id with its own key and, where its copy
 * arrived first (a catch-up from it, a live race), the honest one became a
 * "duplicate" (issue #13, item 4). With a derived id, a copy under another
 * origin or with other content has another id, so it can take nobody's place.
 *
 * - The overlay is in the derivation so that a member cannot wrap a local
 *   anomaly in a provenance (the origin's frame signature is all it needs)
 *   and land on the honest id: a relayed anomaly's id is bound to the
 *   overlay it came from, which must not be this one.
 * - A relayed anomaly (provenance set) keeps the id its original origin's
 *   overlay derived: the binding is to the ORIGINAL overlay and origin, and
 *   the provenance signature (checked when the body is decoded) proves
 *   that origin signed this content under this id.
 * - The encoding is canonical (length-prefixed fields, metadata sorted by
 *   UTF-8 bytes) rather than the protobuf bytes, which a publisher could
 *   vary (field order, map order, unknown fields) without changing meaning.
 * - The full 32-byte hash is kept as the `binding`: two frames under one id
 *   with different bindings (a 128-bit prefix collision, which only someone
 *   signing both can grind for) are equivocation, refused and charged to
 *   the signer of the second.
 *
 * Pure: no libp2p services, no I/O.
 */
import { createHash } from 'node:crypto'
import { peerIdFromString } from '@libp2p/peer-id'
import { ANOMALY_ID_BYTES, ANOMALY_ID_DOMAIN } from './constants.ts'
import { GossipError } from './errors.ts'
import type { Anomaly } from './anomaly.ts'

/** The fields the id covers (all of an anomaly's content). */
export type AnomalyContent = Pick<Anomaly, 'kind' | 'digest' | 'severity' | 'metadata' | 'timestamp' | 'expires'>

declare const bound: unique symbol

/**
 * An anomaly whose id was checked against its derivation; only
 * `bindAnomaly` makes one, and the store takes nothing else.
 */
export type BoundAnomaly = Anomaly & {
  /** hex SHA-256 of the derivation; the id is its first 16 bytes */
  readonly binding: string
  readonly [bound]: true
}

const encoder = new TextEncoder()

/** The full derivation hash (hex) of `content` published by `origin` in `overlay`. */
export function anomalyBinding (overlay: string, origin: string, content: AnomalyContent): string {
  const h = createHash('sha256')
  const field = (b: Uint8Array): void => {
    const len = Buffer.alloc(4)
    len.writeUInt32BE(b.length)
    h.update(len).update(b)
  }
  const u64 = (n: number): void => {
    const b = Buffer.alloc(8)
    b.writeBigUInt64BE(BigInt(n))
    h.update(b)
  }
  h.update(encoder.encode(ANOMALY_ID_DOMAIN)).update(Uint8Array.of(0))
  field(encoder.encode(overlay))
  field(peerIdFromString(origin).toMultihash().bytes)
  field(encoder.encode(content.kind))
  field(Buffer.from(content.digest, 'hex'))
  u64(content.severity)
  const metadata = Object.entries(content.metadata)
    .map(([k, v]) => [encoder.encode(k), encoder.encode(v)] as const)
    .sort((a, b) => Buffer.compare(a[0], b[0]))
  u64(metadata.length)
  for (const [k, v] of metadata) {
    field(k)
    field(v)
  }
  u64(content.timestamp)
  u64(content.expires)
  return h.digest('hex')
}

/** The id (32 hex characters) of `content` published by `origin` in `overlay`. */
export function deriveAnomalyId (overlay: string, origin: string, content: AnomalyContent): string {
  return anomalyBinding(overlay, origin, content).slice(0, ANOMALY_ID_BYTES * 2)
}

/**
 * Check that `a`'s id is its derivation, as seen in `overlay` (this node's):
 * under this overlay and `a.origin`, or for a relayed anomaly under its
 * provenance's overlay (never this one) and original origin. Throws
 * `GossipError('bad-id')`; the decoder has already checked the provenance's
 * signature.
 */
export function bindAnomaly (a: Anomaly, overlay: string): BoundAnomaly {
  let binding: string
  if (a.provenance != null) {
    if (a.provenance.overlay === overlay) {
      throw new GossipError('bad-id', 'a relayed anomaly cannot come from this overlay')
    }
    binding = anomalyBinding(a.provenance.overlay, a.provenance.origin, a)
  } else {
    binding = anomalyBinding(overlay, a.origin, a)
  }
  if (binding.slice(0, ANOMALY_ID_BYTES * 2) !== a.id) {
    throw new GossipError('bad-id', 'the id is not the hash of its origin and content')
  }
  return { ...a, binding } as BoundAnomaly
}

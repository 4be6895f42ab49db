/**
 * An anomaly signature: a hash of a risk event with a kind, a severity and a
 * little metadata, never raw logs. Pure: bounds, schema and expiry checks,
 * and the conversion to and from the wire body.
 */
import { peerIdFromMultihash, peerIdFromString } from '@libp2p/peer-id'
import * as Digest from 'multiformats/hashes/digest'
import { DOMAINS } from '../core/domains.ts'
import { publicKeyFromRawBytes, verifyDomain } from '../core/keys.ts'
import { Anomaly as AnomalyPb } from './pb/gossip.ts'
import { ANOMALY_ID_BYTES, MAX_ANOMALY_LIFETIME_MS, MAX_DIGEST_BYTES, MAX_FRAME_BYTES, ANOMALY_TOPIC, MAX_KIND_LENGTH, MAX_METADATA_ENTRIES, MAX_METADATA_KEY, MAX_METADATA_VALUE, MAX_SEVERITY } from './constants.ts'
import { z } from 'zod'
import { parseDuration } from '../core/duration.ts'
import { GossipError } from './errors.ts'

export interface Anomaly {
  /** 32 hex characters */
  id: string
  /** the origin's PeerId */
  origin: string
  kind: string
  /** hex */
  digest: string
  severity: number
  metadata: Record<string, string>
  /** ms since the epoch */
  timestamp: number
  expires: number
  /**
   * Set on an anomaly a bridge re-published from another overlay: where it
   * came from, and its origin's signature over the original frame's topic
   * and body (checkable by anyone with the origin's PeerId).
   */
  provenance?: Provenance
}

export interface Provenance {
  overlay: string
  origin: string
  /** base64url */
  signature: string
}

/** What a publisher gives; the node fills id, origin and times. */
export interface AnomalyInput {
  kind: string
  digest: string
  severity: number
  metadata?: Record<string, string>
  /** ms; default one hour */
  lifetimeMs?: number
}

const KIND = /^[a-z0-9][a-z0-9._:/-]*$/
const HEX = /^(?:[0-9a-f]{2})+$/

/** Throws `GossipError('bad-body')` naming the first thing wrong. */
export function checkAnomalyShape (a: Omit<Anomaly, 'origin'>): void {
  const bad = (why: string): never => { throw new GossipError('bad-body', why) }
  if (!/^[0-9a-f]{32}$/.test(a.id)) bad('id must be 16 bytes')
  if (a.kind.length === 0 || a.kind.length > MAX_KIND_LENGTH || !KIND.test(a.kind)) bad(`kind must be 1–${MAX_KIND_LENGTH} of [a-z0-9._:/-]`)
  if (!HEX.test(a.digest) || a.digest.length > MAX_DIGEST_BYTES * 2) bad(`digest must be 1–${MAX_DIGEST_BYTES} bytes of hex`)
  if (!Number.isInteger(a.severity) || a.severity < 0 || a.severity > MAX_SEVERITY) bad(`severity must be 0–${MAX_SEVERITY}`)
  const entries = Object.entries(a.metadata)
  if (entries.length > MAX_METADATA_ENTRIES) bad(`at most ${MAX_METADATA_ENTRIES} metadata entries`)
  for (const [k, v] of entries) {
    if (k.length === 0 || k.length > MAX_METADATA_KEY || typeof v !== 'string' || v.length > MAX_METADATA_VALUE) bad(`metadata keys 1–${MAX_METADATA_KEY}, values ≤ ${MAX_METADATA_VALUE} characters`)
  }
  if (!Number.isSafeInteger(a.timestamp) || !Number.isSafeInteger(a.expires) || a.expires <= a.timestamp) bad('expires must follow timestamp')
  if (a.expires - a.timestamp > MAX_ANOMALY_LIFETIME_MS) bad('lifetime over seven days')
}

export function encodeAnomalyBody (a: Omit<Anomaly, 'origin'>): Uint8Array {
  checkAnomalyShape(a)
  const p = a.provenance
  return AnomalyPb.encode({
    id: Uint8Array.from(Buffer.from(a.id, 'hex')),
    kind: a.kind,
    digest: Uint8Array.from(Buffer.from(a.digest, 'hex')),
    severity: a.severity,
    metadata: new Map(Object.entries(a.metadata)),
    timestamp: BigInt(a.timestamp),
    expires: BigInt(a.expires),
    provenanceOverlay: p?.overlay ?? '',
    provenanceOrigin: p == null ? new Uint8Array(0) : peerIdFromString(p.origin).toMultihash().bytes as Uint8Array<ArrayBuffer>,
    provenanceSignature: p == null ? new Uint8Array(0) : Uint8Array.from(Buffer.from(p.signature, 'base64url'))
  })
}

/** Decode (bounded) and check the shape, and the provenance's signature if any; the origin comes from the frame. */
export function decodeAnomalyBody (body: Uint8Array, origin: string): Anomaly {
  if (body.length > MAX_FRAME_BYTES[ANOMALY_TOPIC]) {
    throw new GossipError('oversize')
  }
  let pb: AnomalyPb
  try {
    pb = AnomalyPb.decode(body, { limits: { metadata: MAX_METADATA_ENTRIES } })
  } catch {
    throw new GossipError('malformed', 'the anomaly does not decode')
  }
  if (pb.id.length !== ANOMALY_ID_BYTES || pb.timestamp > BigInt(Number.MAX_SAFE_INTEGER) || pb.expires > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new GossipError('bad-body', 'id or times out of range')
  }
  const a: Anomaly = {
    id: Buffer.from(pb.id).toString('hex'),
    origin,
    kind: pb.kind,
    digest: Buffer.from(pb.digest).toString('hex'),
    severity: pb.severity,
    metadata: Object.fromEntries(pb.metadata),
    timestamp: Number(pb.timestamp),
    expires: Number(pb.expires)
  }
  checkAnomalyShape(a)
  if (pb.provenanceOverlay !== '' || pb.provenanceOrigin.length > 0 || pb.provenanceSignature.length > 0) {
    a.provenance = checkProvenance(a, pb)
  }
  return a
}

/** The provenance names a real origin whose signature covers the original body. */
function checkProvenance (a: Anomaly, pb: AnomalyPb): Provenance {
  let original: string
  try {
    const id = peerIdFromMultihash(Digest.decode(pb.provenanceOrigin))
    if (id.type !== 'Ed25519' || id.publicKey == null) {
      throw new Error('not Ed25519')
    }
    original = id.toString()
  } catch {
    throw new GossipError('bad-body', 'provenance: the origin is not an Ed25519 PeerId')
  }
  if (pb.provenanceOverlay.length === 0 || pb.provenanceOverlay.length > 128 || pb.provenanceSignature.length !== 64) {
    throw new GossipError('bad-body', 'provenance: overlay or signature out of bounds')
  }
  const body = encodeAnomalyBody({ ...a, provenance: undefined })
  const key = peerIdFromString(original).publicKey?.raw as Uint8Array
  if (!verifyDomain(publicKeyFromRawBytes(key), pb.provenanceSignature, DOMAINS.gossip, encoder.encode(ANOMALY_TOPIC), body)) {
    throw new GossipError('bad-body', 'provenance: the origin\'s signature does not verify')
  }
  return { overlay: pb.provenanceOverlay, origin: original, signature: Buffer.from(pb.provenanceSignature).toString('base64url') }
}

const encoder = new TextEncoder()

/**
 * What `POST /v1/mesh/gossip` and `tempus anomaly publish` accept; bounds
 * are checked again when the anomaly is encoded.
 */
const inputSchema = z.object({
  kind: z.string().max(MAX_KIND_LENGTH),
  digest: z.string().max(MAX_DIGEST_BYTES * 2),
  severity: z.number().int().min(0).max(MAX_SEVERITY),
  metadata: z.record(z.string().max(MAX_METADATA_KEY), z.string().max(MAX_METADATA_VALUE)).optional(),
  /** a duration ("10m", "1h") or ms */
  lifetime: z.union([z.string().max(16), z.number()]).optional()
}).strict()

/** Validate an external anomaly request; throws `GossipError('bad-body')` naming the field. */
export function parseAnomalyInput (value: unknown): AnomalyInput {
  const r = inputSchema.safeParse(value)
  if (!r.success) {
    const issue = r.error.issues[0]
    throw new GossipError('bad-body', `${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`)
  }
  let lifetimeMs: number | undefined
  if (r.data.lifetime != null) {
    try {
      lifetimeMs = parseDuration(r.data.lifetime, 'lifetime')
    } catch (err: any) {
      throw new GossipError('bad-body', err.message)
    }
    if (lifetimeMs <= 0 || lifetimeMs > MAX_ANOMALY_LIFETIME_MS) {
      throw new GossipError('bad-body', 'lifetime: from 1 ms to 7 days')
    }
  }
  return { kind: r.data.kind, digest: r.data.digest.toLowerCase(), severity: r.data.severity, metadata: r.data.metadata, lifetimeMs }
}

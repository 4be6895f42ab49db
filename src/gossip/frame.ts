/**
 * The frame every gossip topic shares: origin, the origin's evidence of
 * admission, a body, and the origin's signature binding topic and body. The
 * signature is the only one a frame carries, live (gossipsub runs
 * `StrictNoSign`) or caught up, and the evidence lets any receiver refuse an
 * origin that was never admitted.
 *
 * A frame is taken only in its one canonical encoding (the one `sealFrame`
 * writes): gossipsub's message id is a hash of the frame's bytes
 * (message-id.ts), so a relay that re-encoded a genuine frame (an unknown
 * field, fields out of order, a default value written out) would make a
 * "new" message of it that every neighbour verifies again; such a copy is
 * `malformed`, charged to whoever handed it on.
 */
import { peerIdFromMultihash, peerIdFromString } from '@libp2p/peer-id'
import * as Digest from 'multiformats/hashes/digest'
import { MAX_KEY_CERT_BYTES, MAX_TOKEN_BYTES } from '../admission/constants.ts'
import { DOMAINS } from '../core/domains.ts'
import { keyObjectOf, publicKeyFromRawBytes, signDomain, verifyDomain } from '../core/keys.ts'
import { GossipFrame } from './pb/gossip.ts'
import { MAX_FRAME_BYTES } from './constants.ts'
import { GossipError } from './errors.ts'
import type { GossipTopic } from './constants.ts'
import type { PrivateKey } from '@libp2p/interface'

export interface Frame {
  origin: string
  /** the origin's raw Ed25519 public key (from its PeerId) */
  originKey: Uint8Array
  token: string
  keyCertificate: string
  body: Uint8Array
  /** the origin's signature over the topic and the body */
  signature: Uint8Array
}

const encoder = new TextEncoder()

export function sealFrame (topic: GossipTopic, privateKey: PrivateKey, origin: string, evidence: { token: string, keyCertificate: string }, body: Uint8Array): Uint8Array {
  const signature = signDomain(keyObjectOf(privateKey), DOMAINS.gossip, encoder.encode(topic), body)
  return GossipFrame.encode({
    origin: peerIdFromString(origin).toMultihash().bytes,
    token: evidence.token,
    keyCertificate: evidence.keyCertificate,
    body: body as Uint8Array<ArrayBuffer>,
    signature
  })
}

/** Decode with bounds and check the origin's signature; evidence is checked by the validator. */
export function openFrame (topic: GossipTopic, data: Uint8Array): Frame {
  const frame = decodeFrame(topic, data)
  verifyFrame(topic, frame)
  return frame
}

/**
 * A frame's bounds, shape and canonical encoding, without its signature:
 * what may be read of it before paying for that check (is it a duplicate?).
 * Nothing read from it may be acted on before `verifyFrame`.
 */
export function decodeFrame (topic: GossipTopic, data: Uint8Array): Frame {
  if (data.length > MAX_FRAME_BYTES[topic]) {
    throw new GossipError('oversize', `over ${MAX_FRAME_BYTES[topic]} bytes`)
  }
  let pb: GossipFrame
  try {
    pb = GossipFrame.decode(data)
  } catch {
    throw new GossipError('malformed', 'the frame does not decode')
  }
  if (pb.token.length > MAX_TOKEN_BYTES || pb.keyCertificate.length > MAX_KEY_CERT_BYTES || pb.origin.length > 64 || pb.signature.length !== 64) {
    throw new GossipError('malformed', 'a field is out of bounds')
  }
  let origin
  try {
    origin = peerIdFromMultihash(Digest.decode(pb.origin))
  } catch {
    throw new GossipError('malformed', 'the origin is not a PeerId')
  }
  if (origin.type !== 'Ed25519' || origin.publicKey == null) {
    throw new GossipError('malformed', 'the origin is not an Ed25519 PeerId')
  }
  if (!isCanonical(pb, data)) {
    throw new GossipError('malformed', 'the frame is not in its canonical encoding')
  }
  return { origin: origin.toString(), originKey: origin.publicKey.raw, token: pb.token, keyCertificate: pb.keyCertificate, body: pb.body, signature: pb.signature }
}

/** The origin's signature over the topic and body (the one signature a frame carries). */
export function verifyFrame (topic: GossipTopic, frame: Frame): void {
  if (!verifyDomain(publicKeyFromRawBytes(frame.originKey), frame.signature, DOMAINS.gossip, encoder.encode(topic), frame.body)) {
    throw new GossipError('bad-signature')
  }
}

/** Are these bytes the encoding `sealFrame` would write for this frame? (protobuf decoders accept many) */
function isCanonical (pb: GossipFrame, data: Uint8Array): boolean {
  const canonical = GossipFrame.encode(pb)
  return canonical.length === data.length && Buffer.compare(canonical, data) === 0
}

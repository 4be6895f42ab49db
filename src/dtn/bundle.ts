/**
 * Bundles, pure: create and sign a bundle's fragments, open and check one
 * that arrived, sign and check delivery receipts (destinations are
 * destination.ts's). No libp2p service, no I/O: the store, the service and
 * the simulator share it.
 *
 * A fragment is self-contained: its header (signed by the source) names the
 * bundle, the destination, the lifetime and where the fragment sits in the
 * whole payload, whose SHA-256 it carries so the destination checks the
 * reassembled bytes end to end. Carriers check each fragment on its own.
 */
import { createHash, randomBytes } from 'node:crypto'
import { peerIdFromString } from '@libp2p/peer-id'
import { MAX_KEY_CERT_BYTES, MAX_TOKEN_BYTES } from '../admission/constants.ts'
import { DOMAINS } from '../core/domains.ts'
import { keyObjectOf, publicKeyFromRawBytes, signDomain, verifyDomain } from '../core/keys.ts'
import { PEER_TYPES } from '../core/peer-type.ts'
import {
  DEFAULT_FRAGMENT_SIZE, DESTINATION_KIND, DTN_SKEW_MS, MAX_COPIES, MAX_FRAGMENT_BYTES, MAX_HEADER_BYTES, MAX_HOP_LIMIT, MAX_LIFETIME_MS
} from './constants.ts'
import { validOverlayId } from './destination.ts'
import { DtnError } from './errors.ts'
import { encryptPayload } from './payload-crypto.ts'
import { Bundle as PbBundle, BundleHeader, Endorsement as PbEndorsement } from './pb/dtn.ts'
import { peerOf, safeNumber } from './wire-values.ts'
import type { Destination } from './destination.ts'
import type { PeerType } from '../core/peer-type.ts'
import type { PrivateKey } from '@libp2p/interface'

/**
 * A bridge's word that the source of a bundle from another overlay was
 * admitted there (checked under that overlay's trust anchor).
 */
export interface Endorsement {
  bridge: string
  sourceOverlay: string
  endorsedAt: number
  signature: Uint8Array
  /** the bridge's evidence of admission in the overlay the bundle is carried in */
  token: string
  keyCertificate: string
}

/** A checked fragment: what the store holds and the session hands over. */
export interface Fragment {
  /** the bundle id, hex */
  id: string
  source: string
  destination: Destination
  createdAt: number
  lifetime: number
  expiresAt: number
  hopLimit: number
  totalLength: number
  offset: number
  payloadDigest: Uint8Array
  /** non-empty when the payload is encrypted to the destination */
  ephemeralKey: Uint8Array
  /** the signed header as it travelled */
  header: Uint8Array
  payload: Uint8Array
  signature: Uint8Array
  token: string
  keyCertificate: string
  /** transfers this copy has taken */
  hops: number
  /** spray-and-wait copies this holder may still hand out (0 = epidemic) */
  copies: number
  /** set when the bundle came from another overlay */
  endorsement?: Endorsement
}

export interface Signer {
  privateKey: PrivateKey
  peerId: string
  evidence: { token: string, keyCertificate: string }
}

export interface BundleOptions {
  lifetimeMs: number
  hopLimit: number
  copies: number
  fragmentSize?: number
  /** encrypt to a PeerId destination's key (ignored for types and everyone) */
  encrypt?: boolean
}

type Bytes = Uint8Array<ArrayBuffer>

function idOf (source: Uint8Array, nonce: Uint8Array): Bytes {
  return new Uint8Array(createHash('sha256').update(source).update(nonce).digest().subarray(0, 16))
}

const sha256 = (b: Uint8Array): Bytes => new Uint8Array(createHash('sha256').update(b).digest())

/** Make, encrypt if asked and sign the fragments of a new bundle. */
export function createBundle (signer: Signer, destination: Destination, payload: Uint8Array, options: BundleOptions, now: number): Fragment[] {
  const fragmentSize = options.fragmentSize ?? DEFAULT_FRAGMENT_SIZE
  if (fragmentSize < 1 || fragmentSize > MAX_FRAGMENT_BYTES) {
    throw new RangeError(`fragment size must be 1 to ${MAX_FRAGMENT_BYTES}`)
  }
  const source = peerIdFromString(signer.peerId).toMultihash().bytes
  const nonce = randomBytes(16)
  const id = idOf(source, nonce)
  let body = payload
  let ephemeralKey: Bytes = new Uint8Array(0)
  if (options.encrypt === true && destination.kind === 'peer') {
    const key = peerIdFromString(destination.peer).publicKey
    if (key == null || key.type !== 'Ed25519') {
      throw new DtnError('bad-destination', 'encryption needs an Ed25519 PeerId')
    }
    const sealed = encryptPayload(key.raw, id, payload)
    body = sealed.ciphertext
    ephemeralKey = new Uint8Array(sealed.ephemeralKey)
  }
  const payloadDigest = sha256(body)
  const fragments: Fragment[] = []
  const signingKey = keyObjectOf(signer.privateKey)
  for (let offset = 0; offset < body.length || (offset === 0 && body.length === 0); offset += fragmentSize) {
    const piece = body.subarray(offset, Math.min(body.length, offset + fragmentSize))
    const header = BundleHeader.encode({
      id,
      source,
      destinationKind: DESTINATION_KIND[destination.kind],
      destinationPeer: destination.kind === 'peer' ? peerIdFromString(destination.peer).toMultihash().bytes : new Uint8Array(0),
      destinationType: destination.kind === 'type' ? destination.type : '',
      createdAt: BigInt(now),
      lifetime: BigInt(options.lifetimeMs),
      hopLimit: options.hopLimit,
      totalLength: BigInt(body.length),
      fragmentOffset: BigInt(offset),
      payloadDigest,
      ephemeralKey,
      nonce,
      copies: options.copies,
      destinationOverlay: destination.overlay ?? ''
    })
    fragments.push({
      id: Buffer.from(id).toString('hex'),
      source: signer.peerId,
      destination,
      createdAt: now,
      lifetime: options.lifetimeMs,
      expiresAt: now + options.lifetimeMs,
      hopLimit: options.hopLimit,
      totalLength: body.length,
      offset,
      payloadDigest,
      ephemeralKey,
      header,
      payload: piece,
      signature: signDomain(signingKey, DOMAINS.dtnBundle, header, sha256(piece)),
      token: signer.evidence.token,
      keyCertificate: signer.evidence.keyCertificate,
      hops: 0,
      copies: options.copies
    })
    if (body.length === 0) {
      break
    }
  }
  return fragments
}

/** The wire form of a fragment with the routing state it travels with. */
export function toWire (f: Fragment, routing: { hops: number, copies: number }): PbBundle {
  return {
    header: f.header as Uint8Array<ArrayBuffer>,
    payload: f.payload as Uint8Array<ArrayBuffer>,
    signature: f.signature as Uint8Array<ArrayBuffer>,
    token: f.token,
    keyCertificate: f.keyCertificate,
    hops: routing.hops,
    copies: routing.copies,
    ...(f.endorsement != null ? { endorsement: endorsementToWire(f.endorsement) } : {})
  }
}

export function endorsementToWire (e: Endorsement): PbEndorsement {
  return {
    bridge: peerIdFromString(e.bridge).toMultihash().bytes,
    sourceOverlay: e.sourceOverlay,
    endorsedAt: BigInt(e.endorsedAt),
    signature: e.signature as Bytes,
    token: e.token,
    keyCertificate: e.keyCertificate
  }
}

/** An endorsement as the store keeps it (checked when it arrived). */
export function encodeEndorsement (e: Endorsement): Uint8Array {
  return PbEndorsement.encode(endorsementToWire(e))
}

export function decodeStoredEndorsement (bytes: Uint8Array): Endorsement {
  const pb = PbEndorsement.decode(bytes)
  return { bridge: peerOf(pb.bridge, 'endorsing bridge'), sourceOverlay: pb.sourceOverlay, endorsedAt: Number(pb.endorsedAt), signature: pb.signature, token: pb.token, keyCertificate: pb.keyCertificate }
}

/** What an endorsement signs: the fragment as its source signed it, the source's overlay and the time. */
function endorsementParts (f: Pick<Fragment, 'header' | 'payload'>, sourceOverlay: string, endorsedAt: number): Uint8Array[] {
  const at = new Uint8Array(8)
  new DataView(at.buffer).setBigUint64(0, BigInt(endorsedAt))
  return [f.header, sha256(f.payload), new TextEncoder().encode(sourceOverlay), at]
}

/**
 * A bridge endorses a fragment from another overlay, once it checked the
 * source's admission there under that overlay's trust anchor.
 */
export function endorse (f: Fragment, bridge: Signer, sourceOverlay: string, now: number): Fragment {
  const signature = signDomain(keyObjectOf(bridge.privateKey), DOMAINS.dtnEndorsement, ...endorsementParts(f, sourceOverlay, now))
  return { ...f, endorsement: { bridge: bridge.peerId, sourceOverlay, endorsedAt: now, signature, token: bridge.evidence.token, keyCertificate: bridge.evidence.keyCertificate } }
}

/** Check an endorsement's bounds and the bridge's signature (its admission is the caller's to check). */
function openEndorsement (pb: PbEndorsement, f: Pick<Fragment, 'header' | 'payload' | 'destination'>, limits: OpenLimits): Endorsement {
  if (pb.signature.length !== 64 || pb.token.length > MAX_TOKEN_BYTES || pb.keyCertificate.length > MAX_KEY_CERT_BYTES || !validOverlayId(pb.sourceOverlay)) {
    throw new DtnError('malformed', 'an endorsement field is out of bounds')
  }
  // only a bundle addressed to another overlay than its source's is endorsed
  if (f.destination.overlay == null || f.destination.overlay === pb.sourceOverlay) {
    throw new DtnError('bad-endorsement', 'the bundle was not addressed across overlays')
  }
  const bridge = peerOf(pb.bridge, 'endorsing bridge')
  const endorsedAt = safeNumber(pb.endorsedAt, 'endorsedAt')
  if (endorsedAt > limits.now + (limits.skewMs ?? DTN_SKEW_MS)) {
    throw new DtnError('skew', 'endorsed in the future')
  }
  const key = peerIdFromString(bridge).publicKey?.raw as Uint8Array
  if (!verifyDomain(publicKeyFromRawBytes(key), pb.signature, DOMAINS.dtnEndorsement, ...endorsementParts(f, pb.sourceOverlay, endorsedAt))) {
    throw new DtnError('bad-endorsement', 'the signature does not verify')
  }
  return { bridge, sourceOverlay: pb.sourceOverlay, endorsedAt, signature: pb.signature, token: pb.token, keyCertificate: pb.keyCertificate }
}

export function encodeFragment (f: Fragment, routing: { hops: number, copies: number } = f): Uint8Array {
  return PbBundle.encode(toWire(f, routing))
}



export interface OpenLimits {
  now: number
  /** the largest whole payload accepted */
  maxPayload: number
  skewMs?: number
}

/**
 * Check a fragment that arrived: bounds and shape, the id's derivation, the
 * source's signature, freshness and hops. The source's evidence of
 * admission is checked by the caller (it needs the token verifier).
 */
export function openFragment (pb: PbBundle, limits: OpenLimits): Fragment {
  if (pb.header.length > MAX_HEADER_BYTES || pb.token.length > MAX_TOKEN_BYTES || pb.keyCertificate.length > MAX_KEY_CERT_BYTES || pb.signature.length !== 64) {
    throw new DtnError('malformed', 'a field is out of bounds')
  }
  if (pb.payload.length > MAX_FRAGMENT_BYTES) {
    throw new DtnError('oversize', `a fragment holds at most ${MAX_FRAGMENT_BYTES} bytes`)
  }
  let h: BundleHeader
  try {
    h = BundleHeader.decode(pb.header)
  } catch {
    throw new DtnError('malformed', 'the header does not decode')
  }
  if (h.id.length !== 16 || h.nonce.length !== 16 || h.payloadDigest.length !== 32 || (h.ephemeralKey.length !== 0 && h.ephemeralKey.length !== 32)) {
    throw new DtnError('malformed', 'a header field has the wrong length')
  }
  const source = peerOf(h.source, 'source')
  if (!Buffer.from(idOf(h.source, h.nonce)).equals(h.id)) {
    throw new DtnError('malformed', 'the id is not derived from the source')
  }
  let destination: Destination
  if (h.destinationKind === DESTINATION_KIND.peer) {
    destination = { kind: 'peer', peer: peerOf(h.destinationPeer, 'destination') }
  } else if (h.destinationKind === DESTINATION_KIND.type && (PEER_TYPES as readonly string[]).includes(h.destinationType)) {
    destination = { kind: 'type', type: h.destinationType as PeerType }
  } else if (h.destinationKind === DESTINATION_KIND.everyone) {
    destination = { kind: 'everyone' }
  } else {
    throw new DtnError('malformed', 'unknown destination')
  }
  if (h.destinationOverlay !== '') {
    if (!validOverlayId(h.destinationOverlay)) {
      throw new DtnError('malformed', 'the destination overlay is out of bounds')
    }
    destination = { ...destination, overlay: h.destinationOverlay }
  }
  if (h.ephemeralKey.length !== 0 && destination.kind !== 'peer') {
    throw new DtnError('malformed', 'only a PeerId destination has a key to encrypt to')
  }
  const createdAt = safeNumber(h.createdAt, 'createdAt')
  const lifetime = safeNumber(h.lifetime, 'lifetime')
  const totalLength = safeNumber(h.totalLength, 'totalLength')
  const offset = safeNumber(h.fragmentOffset, 'fragmentOffset')
  if (lifetime < 1 || lifetime > MAX_LIFETIME_MS || h.hopLimit < 1 || h.hopLimit > MAX_HOP_LIMIT) {
    throw new DtnError('malformed', 'lifetime or hop limit out of range')
  }
  if (totalLength > limits.maxPayload) {
    throw new DtnError('oversize', `payloads are limited to ${limits.maxPayload} bytes`)
  }
  if (offset + pb.payload.length > totalLength || (pb.payload.length === 0 && totalLength !== 0)) {
    throw new DtnError('bad-fragment', 'the fragment does not fit the payload')
  }
  const source32 = peerIdFromString(source).publicKey?.raw as Uint8Array
  if (!verifyDomain(publicKeyFromRawBytes(source32), pb.signature, DOMAINS.dtnBundle, pb.header, sha256(pb.payload))) {
    throw new DtnError('bad-signature')
  }
  if (createdAt > limits.now + (limits.skewMs ?? DTN_SKEW_MS)) {
    throw new DtnError('skew', 'created in the future')
  }
  if (createdAt + lifetime <= limits.now) {
    throw new DtnError('expired')
  }
  if (pb.hops > h.hopLimit) {
    throw new DtnError('hop-limit')
  }
  if (h.copies > MAX_COPIES) {
    throw new DtnError('malformed', 'too many copies')
  }
  const endorsement = pb.endorsement == null ? undefined : openEndorsement(pb.endorsement, { header: pb.header, payload: pb.payload, destination }, limits)
  return {
    id: Buffer.from(h.id).toString('hex'),
    source,
    destination,
    createdAt,
    lifetime,
    expiresAt: createdAt + lifetime,
    hopLimit: h.hopLimit,
    totalLength,
    offset,
    payloadDigest: h.payloadDigest,
    ephemeralKey: h.ephemeralKey,
    header: pb.header,
    payload: pb.payload,
    signature: pb.signature,
    token: pb.token,
    keyCertificate: pb.keyCertificate,
    hops: pb.hops,
    // routing state is not signed: a carrier can hand on at most the copies
    // the source started with, and cannot make a spray bundle epidemic
    copies: h.copies === 0 ? 0 : Math.min(Math.max(pb.copies, 1), h.copies),
    ...(endorsement != null ? { endorsement } : {})
  }
}


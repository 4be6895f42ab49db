/**
 * Signed descriptors: a Cyclon entry's age and its one-owner-at-a-time
 * history, signed by the peers themselves (after SecureCyclon, Antonov and
 * Voulgaris, ICDCS 2023; protocols/cyclon.md, "Signed descriptors").
 *
 * A peer mints a descriptor of itself, for one view, with the time: its
 * signature covers the view's type, its PeerId and the time, so an age
 * (now − minted) can no longer be forged, and a receiver refuses one from
 * the future. It mints at most one per spacing; two closer together are
 * over-minting, provable from the two signatures.
 *
 * Whoever holds a descriptor hands it on with a hop it signs: "this
 * descriptor, after that previous hop, now goes to X". A hop covers the
 * hop before it, so the chain of owners is fixed from the subject to the
 * holder. An honest holder hands a descriptor on once and keeps no copy to
 * hand on again; two chains that agree up to an owner and then go to two
 * receivers prove that owner cloned it (clone-proof.ts), and a chain a node
 * already saw, coming back unchanged, is a replay.
 *
 * Pure: signatures with node:crypto, no I/O, the time given. In core, not
 * sampling: the issuer checks a clone proof with it.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { setBounded } from './bounded-map.ts'
import { DescriptorError } from './descriptor-error.ts'
import { DOMAINS } from './domains.ts'
import { publicKeyFromRawBytes, signDomain, verifyDomain } from './keys.ts'
import type { PeerType } from './peer-type.ts'
import type { KeyObject } from 'node:crypto'
import type { SignerKey } from './keys.ts'

/** One hand-over: to whom, signed by the owner before it. */
export interface Hop {
  to: string
  signature: Uint8Array
}

export interface Descriptor {
  /** when its subject minted it (ms since the epoch) */
  mintedAt: number
  /** the subject's signature over type, PeerId and mintedAt: also the descriptor's identity */
  signature: Uint8Array
  /** the owners after the subject, in order; the last one holds it */
  hops: Hop[]
}

/**
 * The longest chain of owners a descriptor may carry. An entry is handed on
 * in about 0.8 shuffles a period and lives about c periods, so an honest
 * chain rarely passes 20; a holder stops handing on one at the bound (it
 * still serves as a partner). 24 hops of about 110 bytes keep l = 8
 * entries well inside a shuffle frame, and cost a receiver at most 25
 * signature checks an entry.
 */
export const MAX_DESCRIPTOR_HOPS = 24
/** the longest PeerId (text) a hop may name */
export const MAX_HOP_ID_CHARS = 128

const encoder = new TextEncoder()

function mintedBytes (type: PeerType, subject: string, mintedAt: number): Uint8Array[] {
  const time = new Uint8Array(8)
  new DataView(time.buffer).setBigUint64(0, BigInt(mintedAt))
  return [encoder.encode(type), Uint8Array.of(0), encoder.encode(subject), Uint8Array.of(0), time]
}

function hopBytes (descriptor: Uint8Array, previous: Uint8Array | undefined, to: string): Uint8Array[] {
  return [descriptor, previous ?? new Uint8Array(0), encoder.encode(to)]
}

/** A new descriptor of `subject` (whose key `key` is) for the `type` view. */
export function mintDescriptor (key: SignerKey, type: PeerType, subject: string, mintedAt: number): Descriptor {
  if (!Number.isSafeInteger(mintedAt) || mintedAt < 0) {
    throw new RangeError('mintedAt must be a time in ms')
  }
  return { mintedAt, signature: signDomain(key, DOMAINS.cyclonDescriptor, ...mintedBytes(type, subject, mintedAt)), hops: [] }
}

/** A copy of `descriptor` handed on to `to` by its holder, whose key `key` is. */
export function handOn (descriptor: Descriptor, key: SignerKey, to: string): Descriptor {
  const previous = descriptor.hops.at(-1)?.signature
  const signature = signDomain(key, DOMAINS.cyclonHop, ...hopBytes(descriptor.signature, previous, to))
  return { mintedAt: descriptor.mintedAt, signature: descriptor.signature, hops: [...descriptor.hops, { to, signature }] }
}

/** Who signs hop `i` of a chain: the subject for the first, else the receiver of the hop before. */
export function signerOf (subject: string, hops: readonly Hop[], i: number): string {
  return i === 0 ? subject : (hops[i - 1] as Hop).to
}

/** Who holds a descriptor: the receiver of its last hop, or its subject. */
export function holderOf (subject: string, descriptor: Descriptor): string {
  return descriptor.hops.at(-1)?.to ?? subject
}

/**
 * The Ed25519 key of a PeerId in its canonical spelling (base58btc, as
 * libp2p prints it) that inlines it (every tempus identity does);
 * undefined for any other. Another spelling of the same key (a CID, base36
 * or base32) would let a cloner sign under an alias that no connection,
 * charge or revocation ever matches.
 */
function keyOf (peerId: string): KeyObject | undefined {
  const known = keysOfPeerIds.get(peerId)
  if (known !== undefined) {
    return known ?? undefined
  }
  let key: KeyObject | null = null
  try {
    const id = peerIdFromString(peerId)
    const inlined = id.publicKey
    key = inlined?.type === 'Ed25519' && id.toString() === peerId ? publicKeyFromRawBytes(inlined.raw) : null
  } catch {}
  setBounded(keysOfPeerIds, peerId, key, KEYS_OF_PEER_IDS)
  return key ?? undefined
}

/**
 * keyOf's answers by spelling (null: not a canonical Ed25519 PeerId). Every
 * hop of every entry names two PeerIds, and the same few hundred recur: a
 * base58 decode and re-encode each time was a visible share of an idle
 * mesh's CPU. Bounded, oldest first out.
 */
const keysOfPeerIds = new Map<string, KeyObject | null>()
const KEYS_OF_PEER_IDS = 4096

/** Is `peerId` a PeerId in its canonical spelling, with an inlined Ed25519 key? */
export function isCanonicalPeerId (peerId: string): boolean {
  return keyOf(peerId) != null
}

/** Does the subject's signature on the descriptor verify? */
export function mintedBy (type: PeerType, subject: string, descriptor: Pick<Descriptor, 'mintedAt' | 'signature'>): boolean {
  const key = keyOf(subject)
  return key != null && Number.isSafeInteger(descriptor.mintedAt) && verifyDomain(key, descriptor.signature, DOMAINS.cyclonDescriptor, ...mintedBytes(type, subject, descriptor.mintedAt))
}

/** Does every hop of `hops` (a chain of `descriptor`) verify, each signed by the owner before it? */
export function hopsVerify (subject: string, descriptor: Uint8Array, hops: readonly Hop[]): boolean {
  for (let i = 0; i < hops.length; i++) {
    const hop = hops[i] as Hop
    const signer = signerOf(subject, hops, i)
    const key = keyOf(signer)
    if (key == null || hop.to === signer || !isCanonicalPeerId(hop.to) || !verifyDomain(key, hop.signature, DOMAINS.cyclonHop, ...hopBytes(descriptor, hops[i - 1]?.signature, hop.to))) {
      return false
    }
  }
  return true
}

export interface ReceivedDescriptorCheck {
  type: PeerType
  /** the entry's peer */
  subject: string
  /** this node */
  self: string
  /** the peer it came from, on this connection */
  sender: string
  now: number
  /** how long a descriptor lives */
  maxAgeMs: number
  /** how far ahead of this clock a mint time may be */
  skewMs: number
  maxHops: number
}

/**
 * Check a descriptor handed to this node: minted by the entry's peer, not
 * from the future, not older than it may live, every hop signed by the
 * owner before it, and its last hop from the sender to this node. Throws
 * `DescriptorError`; returns its age (ms).
 */
export function checkReceived (descriptor: Descriptor | undefined, c: ReceivedDescriptorCheck): number {
  if (descriptor == null) {
    throw new DescriptorError('missing', `the entry for ${c.subject} carries no descriptor`)
  }
  const { hops } = descriptor
  if (hops.length > c.maxHops) {
    throw new DescriptorError('too-many-hops', `the descriptor of ${c.subject} went through ${hops.length} owners, more than ${c.maxHops}`)
  }
  // the cheap checks first: whose hand it is in, and its time
  const last = hops.at(-1)
  if (last == null || last.to !== c.self || signerOf(c.subject, hops, hops.length - 1) !== c.sender) {
    throw new DescriptorError('not-ours', `the descriptor of ${c.subject} was not handed to this node by its sender`)
  }
  if (descriptor.mintedAt > c.now + c.skewMs) {
    throw new DescriptorError('from-the-future', `the descriptor of ${c.subject} was minted ${descriptor.mintedAt - c.now} ms from now`)
  }
  const age = Math.max(0, c.now - descriptor.mintedAt)
  if (age > c.maxAgeMs) {
    throw new DescriptorError('stale', `the descriptor of ${c.subject} is ${age} ms old, more than ${c.maxAgeMs}`)
  }
  if (!mintedBy(c.type, c.subject, descriptor)) {
    throw new DescriptorError('forged', `the descriptor of ${c.subject} is not signed by it for this view`)
  }
  if (!hopsVerify(c.subject, descriptor.signature, hops)) {
    throw new DescriptorError('bad-hop', `a hop of the descriptor of ${c.subject} is not signed by the owner before it`)
  }
  return age
}

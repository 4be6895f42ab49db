/**
 * A proof that a peer cloned a descriptor (descriptor.ts): two chains of one
 * descriptor that agree up to an owner and then hand it to two different
 * peers. Every hop is signed by the owner before it, so the two hops after
 * the common part are that owner's own signatures on two hand-overs of one
 * thing: no one else could have made them, and an honest owner makes one.
 * Anyone can check it with nothing but the PeerIds in it, the issuer too:
 * it is offered there as grounds for revoking the cloner.
 *
 * Pure. The JSON form is bounded: at most MAX_DESCRIPTOR_HOPS hops a side.
 */
import { DescriptorError } from './descriptor-error.ts'
import { MAX_DESCRIPTOR_HOPS, MAX_HOP_ID_CHARS, hopsVerify, mintedBy, signerOf } from './descriptor.ts'
import { PEER_TYPES, isPeerType } from './peer-type.ts'
import type { Descriptor, Hop } from './descriptor.ts'
import type { PeerType } from './peer-type.ts'

export interface CloneProof {
  type: PeerType
  /** the peer the descriptor describes (it minted it) */
  subject: string
  mintedAt: number
  /** the subject's signature: the descriptor */
  signature: Uint8Array
  /** the two chains, each up to and including the hop where they part */
  a: Hop[]
  b: Hop[]
}

/** The index of the first hop where two chains differ (their common length if one is a prefix of the other). */
export function partingHop (a: readonly Hop[], b: readonly Hop[]): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a[i] as Hop
    const y = b[i] as Hop
    if (x.to !== y.to || !sameBytes(x.signature, y.signature)) {
      return i
    }
  }
  return n
}

/**
 * The proof two chains of one descriptor make, if they make one: they part
 * at a hop that goes to two different peers. Undefined when one is a prefix
 * of the other, or they part on a hop to the same peer (a replay, not a
 * copy in two places).
 */
export function cloneProofOf (type: PeerType, subject: string, descriptor: Pick<Descriptor, 'mintedAt' | 'signature'>, a: readonly Hop[], b: readonly Hop[]): CloneProof | undefined {
  const k = partingHop(a, b)
  if (k >= a.length || k >= b.length || (a[k] as Hop).to === (b[k] as Hop).to) {
    return undefined
  }
  return { type, subject, mintedAt: descriptor.mintedAt, signature: descriptor.signature, a: a.slice(0, k + 1), b: b.slice(0, k + 1) }
}

/** Check a proof on its own; returns the cloner's PeerId, or throws `DescriptorError` (`forged`, `bad-hop`, `cloned` when the chains do not part as a proof must). */
export function verifyCloneProof (proof: CloneProof): string {
  const { a, b } = proof
  const k = a.length - 1
  if (k < 0 || b.length !== a.length || a.length > MAX_DESCRIPTOR_HOPS || partingHop(a, b) !== k || (a[k] as Hop).to === (b[k] as Hop).to) {
    throw new DescriptorError('cloned', 'the two chains must share every hop but their last, which must go to two different peers')
  }
  if (!mintedBy(proof.type, proof.subject, proof)) {
    throw new DescriptorError('forged', 'the descriptor in the proof is not signed by its subject')
  }
  if (!hopsVerify(proof.subject, proof.signature, a) || !hopsVerify(proof.subject, proof.signature, b)) {
    throw new DescriptorError('bad-hop', 'a hop in the proof is not signed by the owner before it')
  }
  return signerOf(proof.subject, a, k)
}

/** The proof as JSON (base64url bytes), for the issuer. */
export interface CloneProofJson {
  type: string
  subject: string
  mintedAt: number
  signature: string
  a: Array<{ to: string, signature: string }>
  b: Array<{ to: string, signature: string }>
}

export function cloneProofToJson (proof: CloneProof): CloneProofJson {
  const hops = (list: Hop[]): CloneProofJson['a'] => list.map(h => ({ to: h.to, signature: Buffer.from(h.signature).toString('base64url') }))
  return { type: proof.type, subject: proof.subject, mintedAt: proof.mintedAt, signature: Buffer.from(proof.signature).toString('base64url'), a: hops(proof.a), b: hops(proof.b) }
}

const SIGNATURE_CHARS = 86 // 64 bytes in base64url, unpadded

/** Read a proof from untrusted JSON, every field bounded; throws `DescriptorError` (`cloned`) naming what is wrong. It still has to verify. */
export function cloneProofFromJson (json: unknown): CloneProof {
  const bad = (what: string): never => { throw new DescriptorError('cloned', `not a clone proof: ${what}`) }
  if (typeof json !== 'object' || json == null) {
    return bad('not an object')
  }
  const j = json as Record<string, unknown>
  const id = (v: unknown, what: string): string => typeof v === 'string' && v.length > 0 && v.length <= MAX_HOP_ID_CHARS ? v : bad(`${what} is not a PeerId`)
  const sig = (v: unknown, what: string): Uint8Array => {
    if (typeof v !== 'string' || v.length !== SIGNATURE_CHARS || !/^[A-Za-z0-9_-]+$/.test(v)) {
      return bad(`${what} is not a 64-byte base64url signature`)
    }
    return new Uint8Array(Buffer.from(v, 'base64url'))
  }
  const hops = (v: unknown, what: string): Hop[] => {
    if (!Array.isArray(v) || v.length === 0 || v.length > MAX_DESCRIPTOR_HOPS) {
      return bad(`${what} must be 1 to ${MAX_DESCRIPTOR_HOPS} hops`)
    }
    return v.map((h: any, i) => ({ to: id(h?.to, `${what}[${i}].to`), signature: sig(h?.signature, `${what}[${i}].signature`) }))
  }
  if (!isPeerType(j.type)) {
    return bad(`type must be one of ${PEER_TYPES.join(', ')}`)
  }
  if (typeof j.mintedAt !== 'number' || !Number.isSafeInteger(j.mintedAt) || j.mintedAt < 0) {
    return bad('mintedAt is not a time in ms')
  }
  return { type: j.type, subject: id(j.subject, 'subject'), mintedAt: j.mintedAt, signature: sig(j.signature, 'signature'), a: hops(j.a, 'a'), b: hops(j.b, 'b') }
}

function sameBytes (x: Uint8Array, y: Uint8Array): boolean {
  if (x.length !== y.length) {
    return false
  }
  for (let i = 0; i < x.length; i++) {
    if (x[i] !== y[i]) {
      return false
    }
  }
  return true
}

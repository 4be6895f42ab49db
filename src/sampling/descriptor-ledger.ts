/**
 * What a node remembers of the descriptors it saw (descriptor.ts), to tell
 * a descriptor handed on as it should be from a replay, a clone or an
 * over-minted one. Per view, for the last DESCRIPTOR_LEDGER_SIZE
 * descriptors: the longest chain seen of each; per subject, the mint times
 * of its last few descriptors. Pure and bounded; the oldest are forgotten
 * first (which only lets a copy that meets its twin later pass unseen).
 *
 * A chain that extends the one remembered is the descriptor's normal life
 * (it went on and came back). One equal to it or part of it was handed on
 * again by an owner that had let it go: a replay, its sender's fault. One
 * that parts from it at a hop to another peer is a clone: the owner before
 * that hop signed two hand-overs, and the two chains prove it
 * (clone-proof.ts).
 */
import { DESCRIPTOR_LEDGER_SIZE, DESCRIPTOR_MAX_AGE_MS, LAPSED_GRACE_MS } from './constants.ts'
import { cloneProofOf, partingHop } from '../core/clone-proof.ts'
import { signerOf } from '../core/descriptor.ts'
import type { CloneProof } from '../core/clone-proof.ts'
import type { Descriptor, Hop } from '../core/descriptor.ts'
import type { PeerType } from '../core/peer-type.ts'

/** how long a mint time matters: a descriptor lives 10 min, and may be dated a clock's skew ahead (or behind) */
export const MINT_MEMORY_MS = DESCRIPTOR_MAX_AGE_MS + 2 * LAPSED_GRACE_MS
const MINT_WINDOW_MS = MINT_MEMORY_MS

export type LedgerVerdict =
  | { kind: 'new' }
  | { kind: 'replayed' }
  | { kind: 'cloned', cloner: string, proof: CloneProof }
  | { kind: 'over-minted', other: { mintedAt: number, signature: Uint8Array } }

export interface DescriptorLedgerInit {
  /** the least time between two descriptors of one subject for a view (ms) */
  spacingMs: (type: PeerType) => number
  now: () => number
  /** @default DESCRIPTOR_LEDGER_SIZE */
  size?: number
}

interface Seen {
  mintedAt: number
  signature: Uint8Array
  hops: Hop[]
}

export class DescriptorLedger {
  private readonly init: DescriptorLedgerInit
  private readonly size: number
  /** per view: descriptor (its signature, base64) → the longest chain seen, oldest first */
  private readonly chains = new Map<PeerType, Map<string, Seen>>()
  /** per view: subject → the mint times (and signatures, base64) of its descriptors that still matter */
  private readonly mints = new Map<PeerType, Map<string, Array<{ mintedAt: number, key: string }>>>()

  constructor (init: DescriptorLedgerInit) {
    this.init = init
    this.size = init.size ?? DESCRIPTOR_LEDGER_SIZE
  }

  /**
   * Judge a descriptor (its signatures already checked) against what this
   * node saw, and remember it unless it is refused. This node's own
   * hand-overs go through here too, so a copy of what it handed on is known.
   */
  see (type: PeerType, subject: string, descriptor: Descriptor): LedgerVerdict {
    const key = Buffer.from(descriptor.signature).toString('base64')
    const chains = this.of(this.chains, type)
    const seen = chains.get(key)
    if (seen != null) {
      const k = partingHop(seen.hops, descriptor.hops)
      if (k === descriptor.hops.length) {
        return { kind: 'replayed' } // the same chain, or part of one seen
      }
      if (k < seen.hops.length) {
        const proof = cloneProofOf(type, subject, descriptor, seen.hops, descriptor.hops)
        if (proof == null) {
          return { kind: 'replayed' } // parted on a hop to the same peer: handed to it twice
        }
        return { kind: 'cloned', cloner: signerOf(subject, proof.a, proof.a.length - 1), proof }
      }
      // it went on, and came back longer: its normal life
      chains.delete(key)
      chains.set(key, { ...seen, hops: descriptor.hops })
      return { kind: 'new' }
    }
    const other = this.closeMint(type, subject, key, descriptor.mintedAt)
    if (other != null) {
      return { kind: 'over-minted', other }
    }
    this.remember(chains, key, { mintedAt: descriptor.mintedAt, signature: descriptor.signature, hops: descriptor.hops })
    return { kind: 'new' }
  }

  /** ledgers of every view, for the metrics */
  get remembered (): number {
    let n = 0
    for (const m of this.chains.values()) {
      n += m.size
    }
    return n
  }

  /**
   * Another descriptor of `subject` minted within the spacing of this one,
   * if any; this one's mint is remembered. Every mint that still matters is
   * kept (those of the last MINT_WINDOW_MS, however they arrive): with only
   * the newest few, descriptors sent newest first, each a little older,
   * would each pass against what is left. Honest mints in the window are at
   * most window / spacing; one more is over-minting by itself.
   */
  private closeMint (type: PeerType, subject: string, key: string, mintedAt: number): { mintedAt: number, signature: Uint8Array } | undefined {
    const spacing = Math.max(1, this.init.spacingMs(type))
    const horizon = this.init.now() - MINT_WINDOW_MS
    const mints = this.of(this.mints, type)
    const list = (mints.get(subject) ?? []).filter(m => m.mintedAt >= horizon)
    const close = list.find(m => m.key !== key && Math.abs(m.mintedAt - mintedAt) < spacing)
    if (close != null || list.length > Math.ceil(MINT_WINDOW_MS / spacing) + 1) {
      mints.set(subject, list)
      const other = close ?? list[0] as { mintedAt: number, key: string }
      return { mintedAt: other.mintedAt, signature: Buffer.from(other.key, 'base64') }
    }
    mints.delete(subject)
    list.push({ mintedAt, key })
    mints.set(subject, list)
    if (mints.size > this.size) {
      mints.delete(mints.keys().next().value as string)
    }
    return undefined
  }

  private remember (chains: Map<string, Seen>, key: string, seen: Seen): void {
    chains.set(key, seen)
    if (chains.size > this.size) {
      chains.delete(chains.keys().next().value as string)
    }
  }

  private of<V> (maps: Map<PeerType, Map<string, V>>, type: PeerType): Map<string, V> {
    let m = maps.get(type)
    if (m == null) {
      m = new Map()
      maps.set(type, m)
    }
    return m
  }
}

/**
 * This node's side of signed descriptors (descriptor.ts): it mints its own,
 * at most one per spacing and view, and hands entries on, each once, with
 * a hop it signs. Pure but for the signatures: the time is given, the
 * views are reached through a lookup.
 *
 * An entry is marked spent when it is handed on, before the frame is
 * written: a partner that read the frame and then failed still holds it,
 * and handing it to another partner would be a clone. A spent entry stays
 * in the view (a partner to contact) but is never sent again.
 *
 * What this node handed on is remembered for the descriptor's whole life,
 * by the hop that gave it here (or, for its own, the descriptor): the same
 * chain sent back later, once the view and the ledger have let it go, is
 * a replay, never handed on a second time (that would be a clone, proved
 * against this node). Nothing is forgotten early: when the memory is full,
 * nothing more is handed on until some of it lapses. After a start this
 * node remembers nothing of its last run's hand-overs, so it hands on only
 * descriptors minted after it started (by more than a clock may be off),
 * and its own first descriptor waits one spacing after both its start and
 * its last run's last mint (kept in the data directory): a clock stepped
 * back across the restart does not let it mint twice within a spacing.
 */
import { MINT_MEMORY_MS } from './descriptor-ledger.ts'
import { DESCRIPTOR_MAX_AGE_MS, LAPSED_GRACE_MS, MAX_DESCRIPTOR_HOPS, MAX_HANDED_DESCRIPTORS, MAX_SHUFFLE_BYTES, STALE_MARGIN_MS } from './constants.ts'
import { handOn, mintDescriptor } from '../core/descriptor.ts'
import { toWire } from './peer-entry.ts'
import { CyclonEntry } from './pb/cyclon.ts'
import type { Descriptor } from '../core/descriptor.ts'
import type { DescriptorLedger } from './descriptor-ledger.ts'
import type { PeerEntry } from './peer-entry.ts'
import type { PeerType } from '../core/peer-type.ts'
import type { SignerKey } from '../core/keys.ts'

export interface DescriptorDeskInit {
  /** this node's PeerId */
  self: string
  /** this node's identity key */
  key: SignerKey
  now: () => number
  ledger: DescriptorLedger
  /** the least time between two of this node's descriptors for a view (ms) */
  spacingMs: (type: PeerType) => number
  /** when this node started: its first descriptor waits one spacing after it */
  startedAt: number
  /**
   * the last mint time per view of this identity's earlier runs (a data
   * directory keeps it, SamplerInit.mintLog); the first descriptor waits one
   * spacing after it too. A time further ahead than the receivers remember
   * mints (MINT_MEMORY_MS) counts as that far ahead, so a clock far ahead in
   * the last run does not silence this one for longer.
   */
  lastMinted?: Partial<Record<PeerType, number>>
  /** told of each mint, before the descriptor is handed on (the sampler records it durably) */
  minted?: (type: PeerType, mintedAt: number) => void
  /** this identity may have run before: relay only what was minted after the start (SamplerInit.persistentIdentity) @default true */
  persistentIdentity?: boolean
}

/** a hop on the wire: its PeerId, a 64-byte signature and the field tags */
const HOP_OVERHEAD = 64 + 8
/** a frame's bytes beyond its entries (length prefix, tags) */
const FRAME_SLACK = 64

export class DescriptorDesk {
  private readonly init: DescriptorDeskInit
  private readonly own = new Map<PeerType, { descriptor: Descriptor, spent: boolean }>()
  /**
   * The hops (signatures, base64) by which what this node handed on came to
   * it, and until when each matters. Keyed by the chain, not the object: a
   * tick and an answer may each hold a copy picked before the other handed
   * it on, and the same chain may arrive again as a new object.
   */
  private readonly handedHops = new Map<string, number>()

  constructor (init: DescriptorDeskInit) {
    this.init = init
  }

  /** This node's own descriptor for `type` not yet handed on, minted now if the spacing allows; none before. */
  ownDescriptor (type: PeerType): { descriptor: Descriptor, spent: boolean } | undefined {
    const now = this.init.now()
    const current = this.own.get(type)
    if (current != null && !current.spent && this.handable(current.descriptor, now)) {
      return current
    }
    if (now < this.nextMint(type, now)) {
      return undefined
    }
    const minted = { descriptor: mintDescriptor(this.init.key, type, this.init.self, now), spent: false }
    this.own.set(type, minted)
    this.init.minted?.(type, now)
    return minted
  }

  /** The earliest time this node may mint its next descriptor for `type`: one spacing after its last, its start and its last run's last. */
  nextMint (type: PeerType, now = this.init.now()): number {
    const before = Math.min(this.init.lastMinted?.[type] ?? -Infinity, now + MINT_MEMORY_MS)
    const last = Math.max(this.own.get(type)?.descriptor.mintedAt ?? -Infinity, this.init.startedAt, before)
    return last + this.init.spacingMs(type)
  }

  /**
   * Hand `sent` (copies for the wire) to `to`: each entry whose descriptor
   * may still be handed on gets a hop to `to`, its held entry is marked
   * spent, and the ledger learns the new chain. The others are taken out of
   * `sent` (in place, so the view merges against what went), and so are
   * entries past what one frame holds, and past `max`. `held` finds the
   * view's own entry.
   */
  handOver (type: PeerType, sent: PeerEntry[], held: (id: string) => PeerEntry | undefined, to: string, max = Infinity): void {
    const now = this.init.now()
    let bytes = FRAME_SLACK
    let w = 0
    for (const e of sent) {
      if (w >= max) {
        break
      }
      if (e.id === to) {
        continue // its own entry: the receiver drops it, and it would be spent here for nothing
      }
      const own = e.id === this.init.self ? this.ownDescriptor(type) : undefined
      const original = own == null ? held(e.id) : undefined
      const descriptor = own?.descriptor ?? (e.spent === true || original?.spent === true ? undefined : e.descriptor)
      if (descriptor == null || !this.handable(descriptor, now) || (own == null && !this.fromThisRun(descriptor)) || this.handedBefore(descriptor) || !this.room(now)) {
        continue
      }
      const size = CyclonEntry.encode(toWire({ ...e, descriptor })).byteLength + HOP_OVERHEAD + to.length
      if (bytes + size > MAX_SHUFFLE_BYTES) {
        continue
      }
      bytes += size
      if (own != null) {
        own.spent = true
      }
      if (original != null && original.descriptor === descriptor) {
        original.spent = true
      }
      this.handedHops.set(hopKey(descriptor), descriptor.mintedAt + DESCRIPTOR_MAX_AGE_MS + LAPSED_GRACE_MS)
      e.descriptor = handOn(descriptor, this.init.key, to)
      e.spent = true
      this.init.ledger.see(type, e.id, e.descriptor)
      sent[w++] = e
    }
    sent.length = w
  }

  /** Did this node hand on the descriptor as it came here (the same last hop)? Then receiving it again is a replay. */
  handedBefore (descriptor: Descriptor): boolean {
    return this.handedHops.has(hopKey(descriptor))
  }

  /**
   * May a held descriptor be handed on: a hop left under the bound, young
   * enough that it will not be stale on arrival, and not from the future
   * here (a receiver whose clock is behind would refuse it; it waits).
   */
  private handable (descriptor: Descriptor, now: number): boolean {
    return descriptor.hops.length < MAX_DESCRIPTOR_HOPS && descriptor.mintedAt <= now && now - descriptor.mintedAt < DESCRIPTOR_MAX_AGE_MS - STALE_MARGIN_MS
  }

  /** Minted after this run began, by more than a clock may be off: the last run cannot have handed it on. */
  private fromThisRun (descriptor: Descriptor): boolean {
    return this.init.persistentIdentity === false || descriptor.mintedAt >= this.init.startedAt + LAPSED_GRACE_MS
  }

  /** Room to remember one more hand-over, once what lapsed is let go. */
  private room (now: number): boolean {
    if (this.handedHops.size < MAX_HANDED_DESCRIPTORS) {
      return true
    }
    for (const [key, until] of this.handedHops) {
      if (until < now) {
        this.handedHops.delete(key)
      }
    }
    return this.handedHops.size < MAX_HANDED_DESCRIPTORS
  }
}

/** The key of how a descriptor came to its holder: its last hop's signature, or its own for one not yet handed on. */
function hopKey (descriptor: Descriptor): string {
  return Buffer.from(descriptor.hops.at(-1)?.signature ?? descriptor.signature).toString('base64')
}

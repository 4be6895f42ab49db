/**
 * What a Cyclon entry must show before it enters a view, and what an
 * honest node must not pass on: a token that verifies for the entry's peer
 * and this view's type, and a peer record that peer signed about itself
 * (the newest known). Views and samplers take the same evidence: a token
 * that proves the issuer admitted the peer within EVIDENCE_MAX_AGE_MS
 * (valid now, or lapsed less than that ago, of whatever epoch); entries
 * whose evidence leaves that bound soon are dropped before they are sent.
 * A refused entry costs its sender, except where an honest sender could
 * not have known better (its own token lapsed in a long issuer outage, an
 * entry with no record, a peer revoked a moment ago, evidence just past
 * the bound).
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { decodeJwt } from 'jose'
import { equals } from 'uint8arrays/equals'
import { offenceOf } from '../admission/refusal-cost.ts'
import { DESCRIPTOR_MAX_AGE_MS, EVIDENCE_MAX_AGE_MS, LAPSED_GRACE_MS, MAX_DESCRIPTOR_HOPS, MAX_REMEMBERED_RECORDS, SAMPLE_OFFER_MARGIN_MS, STALE_MARGIN_MS } from './constants.ts'
import { setBounded } from '../core/bounded-map.ts'
import { checkReceived } from '../core/descriptor.ts'
import { BadRecordError, DescriptorError } from './errors.ts'
import { openRecord } from './signed-record.ts'
import type { AdmissionState } from '../admission/state.ts'
import type { PeerType } from '../core/peer-type.ts'
import type { SamplingMetrics } from './metrics.ts'
import type { PeerEntry } from './peer-entry.ts'
import type { CertifiedRecord } from './signed-record.ts'
import type { CloneProof } from '../core/clone-proof.ts'
import type { DescriptorLedger } from './descriptor-ledger.ts'
import type { Descriptor } from '../core/descriptor.ts'
import type { CyclonView } from './view.ts'
import type { PeerId, PeerStore } from '@libp2p/interface'

export interface EntryEvidenceInit {
  /** this node's PeerId, as text */
  self: string
  state: AdmissionState
  peerStore: PeerStore
  views: Record<PeerType, CyclonView<PeerEntry, string>>
  /** a view's shuffle period (ages are clamped by it) */
  periodMs: (type: PeerType) => number
  log: (format: string, ...args: unknown[]) => void
  metrics?: SamplingMetrics
  /** a view changed (dropped entries) */
  changed: (type: PeerType) => void
  /** what this node saw of descriptors (descriptor-ledger.ts) */
  ledger: DescriptorLedger
  /** a peer was caught cloning a descriptor: the proof, for the issuer */
  cloned?: (cloner: string, proof: CloneProof) => void
  /** did this node hand the descriptor on as it came here (descriptor-desk.ts)? Then it is a replay */
  handedBefore?: (descriptor: Descriptor) => boolean
}

export class EntryEvidence {
  private readonly init: EntryEvidenceInit
  /**
   * The newest record this node verified (or the peer store gave) per
   * peer, at most MAX_REMEMBERED_RECORDS, the least recently used dropped.
   * A peer's record circulates unchanged in every entry for it until the
   * peer re-signs it, so most entries carry bytes seen before: those are
   * recognised here instead of being verified again and looked up in the
   * peer store (an Ed25519 check and a locked peer-store read per entry
   * were most of what a shuffle cost its receiver). Bytes that differ in
   * any way are verified as before.
   */
  private readonly records = new Map<string, CertifiedRecord>()
  /**
   * Between `watchPeerStore` and `forgetPeerStore`, while the caller tells
   * `peerStoreChanged` of every change the peer store makes (its
   * `peer:update` events): the record the peer store holds per peer as it
   * was last read (null: none an entry may carry), so that it is not read
   * again (a locked read and a decode) every round for every connected
   * peer. At most
   * MAX_REMEMBERED_RECORDS. A change the store reports drops that peer's
   * copy; a read under way when its peer changed, or when the copies were
   * all dropped (`mirrorEpoch`), is not kept.
   */
  private readonly storeMirror = new Map<string, CertifiedRecord | null>()
  /** the peers with a read of the peer store under way: how many, and whether the peer changed meanwhile */
  private readonly storeReads = new Map<string, { n: number, changed: boolean }>()
  private mirrorEpoch = 0
  private mirroring = false

  constructor (init: EntryEvidenceInit) {
    this.init = init
  }

  /**
   * The entries with valid evidence of admission for this view: the token
   * verifies (signature, not revoked, valid now or lapsed less than
   * EVIDENCE_MAX_AGE_MS ago, of whatever epoch: it proves the issuer
   * admitted that peer then), names the entry's peer, and shows this view's
   * type; and the entry's peer record
   * was signed by that peer about itself. Others are dropped, and each
   * raises the sender's suspicion, except an entry with no record at all
   * (it claims no address). A record older than one already known for the
   * peer gives way to the newer one; a newer one goes to the peer store
   * (libp2p's `consumePeerRecord`, which checks the signature again and never
   * lets the sequence number go back). Its descriptor must be the one its
   * peer minted, handed to this node by the sender with every hop signed,
   * and not replayed, cloned or over-minted (descriptor.ts,
   * descriptor-ledger.ts); its age is the descriptor's.
   */
  async admissible (type: PeerType, entries: PeerEntry[], sender: string): Promise<PeerEntry[]> {
    return await this.check(type, entries, sender, 'view')
  }

  /**
   * The entries a slot sampler may hold (the sample exchange's evidence):
   * the same evidence as for a view, without a descriptor (a sampler keeps
   * ids, not ages). Evidence past the bound is dropped; only evidence past
   * it by more than an honest clock could excuse is charged.
   */
  async sampleable (type: PeerType, entries: PeerEntry[], sender: string): Promise<PeerEntry[]> {
    return await this.check(type, entries, sender, 'sampler')
  }

  /** Can an entry held by a sampler still be offered, its evidence within the bound with a margin to spare? */
  offerable (entry: PeerEntry): boolean {
    return this.leftInBound(entry.expiresAt) > SAMPLE_OFFER_MARGIN_MS
  }

  /** Is an entry still within the evidence bound (a sampler's are drawn by `sample()` only then)? */
  withinEvidenceBound (entry: PeerEntry): boolean {
    return this.leftInBound(entry.expiresAt) > 0
  }

  /** How long (ms) evidence expiring at `expiresAt` stays within the bound; -Infinity for none. */
  private leftInBound (expiresAt: number | undefined): number {
    return expiresAt == null ? -Infinity : expiresAt + EVIDENCE_MAX_AGE_MS - this.init.state.now()
  }

  private async check (type: PeerType, entries: PeerEntry[], sender: string, holder: 'view' | 'sampler'): Promise<PeerEntry[]> {
    const ok: PeerEntry[] = []
    const self = this.init.self
    for (const entry of entries) {
      if (entry.id === self) {
        continue // our own entry, passed back: nothing to learn, nothing wrong
      }
      try {
        if (entry.type !== type) {
          throw new Error('wrong view')
        }
        const sampling = holder === 'sampler'
        const claims = await this.init.state.verifier.verify(entry.token, {
          sub: entry.id,
          keyCertificate: entry.keyCertificate === '' ? undefined : entry.keyCertificate,
          acceptRotated: true,
          at: this.evidenceInstant(entry.token)
        })
        if (claims.typ !== type) {
          throw new Error('wrong type')
        }
        const opened = await this.openReceived(entry.record, entry.id)
        const ageMs = sampling ? 0 : this.judgeDescriptor(type, entry, sender)
        const record = await this.newestRecord(type, opened)
        const age = Math.floor(ageMs / Math.max(1, this.init.periodMs(type)))
        ok.push({ ...entry, age, descriptor: sampling ? undefined : entry.descriptor, spent: false, record: record.envelope, addrs: record.addrs, seq: record.seq, expiresAt: claims.exp * 1000 })
      } catch (err: any) {
        this.init.metrics?.entryRefused(type)
        if (err instanceof DescriptorError) {
          this.init.metrics?.descriptorRefused(type, err.reason)
          this.init.log('%s entry for %s from %s refused: descriptor %s', type, entry.id, sender, err.reason)
          this.chargeDescriptor(err, entry, sender)
          continue
        }
        if (err instanceof BadRecordError) {
          this.init.log('%s entry for %s from %s refused: record %s', type, entry.id, sender, err.reason)
          if (err.reason !== 'missing') {
            this.init.state.raise(sender, 'bad-entry')
          }
          continue
        }
        this.init.log('%s entry for %s from %s refused: %s', type, entry.id, sender, err?.reason ?? err?.message)
        // the sender's own entry with its own token lapsed in an issuer
        // outage past the bound (kept connections shuffle on) is dropped, not
        // charged, as admission forgives it
        const ownLapsed = entry.id === sender && offenceOf(err?.reason, err?.expiredForMs) === null
        // and an entry of a peer revoked a moment ago: the sender may not have the list yet
        const newsOfRevocation = err?.reason === 'revoked' && this.init.state.mayNotKnowRevoked(entry.id, sender)
        if (!ownLapsed && !newsOfRevocation && (err?.reason !== 'expired' || this.lapsedLongAgo(entry.token))) {
          this.init.state.raise(sender, 'bad-entry')
        }
      }
    }
    return ok
  }
  /**
   * Check an entry's descriptor as received from `sender` and judge it
   * against the ledger; its age (ms), or a `DescriptorError`. A clone is
   * charged to the cloner here, and its proof handed on.
   */
  private judgeDescriptor (type: PeerType, entry: PeerEntry, sender: string): number {
    const ageMs = checkReceived(entry.descriptor, {
      type,
      subject: entry.id,
      self: this.init.self,
      sender,
      now: this.init.state.now(),
      maxAgeMs: DESCRIPTOR_MAX_AGE_MS,
      skewMs: LAPSED_GRACE_MS,
      maxHops: MAX_DESCRIPTOR_HOPS
    })
    const descriptor = entry.descriptor as Descriptor
    if (this.init.handedBefore?.(descriptor) === true) {
      throw new DescriptorError('replayed', `the descriptor of ${entry.id} came back by the hop this node already handed it on from`)
    }
    const verdict = this.init.ledger.see(type, entry.id, descriptor)
    switch (verdict.kind) {
      case 'new':
        return ageMs
      case 'replayed':
        throw new DescriptorError('replayed', `the descriptor of ${entry.id} came back by a chain this node already saw`)
      case 'over-minted':
        throw new DescriptorError('over-minted', `${entry.id} minted two descriptors ${Math.abs(verdict.other.mintedAt - (entry.descriptor?.mintedAt ?? 0))} ms apart`)
      case 'cloned':
        // only a member pays and is reported: any key can sign a hop, and a
        // clone pinned on a key nobody admitted (an attacker's own throwaway
        // owner) would fill the suspicion table and the issuer with nobodies
        if (this.knownMember(verdict.cloner, entry)) {
          this.init.log('%s descriptor of %s cloned by %s: proof kept', type, entry.id, verdict.cloner)
          this.init.state.raise(verdict.cloner, 'cloned-descriptor')
          this.init.cloned?.(verdict.cloner, verdict.proof)
        } else {
          this.init.log('%s descriptor of %s cloned by %s, a key this node never admitted: refused, nobody charged', type, entry.id, verdict.cloner)
        }
        throw new DescriptorError('cloned', `the descriptor of ${entry.id} was handed on twice by ${verdict.cloner}`)
    }
  }

  /** Is `peer` one this node knows was admitted: a peer it admitted, or the entry's own peer (whose token just verified)? */
  private knownMember (peer: string, entry: PeerEntry): boolean {
    return peer === entry.id || this.init.state.admitted.has(peer)
  }

  /**
   * Who pays for a refused descriptor: its sender, who handed it on (and
   * signed the last hop), except for a stale one an honest clock could
   * excuse, an over-minted one (its subject signed both), and a clone (the
   * cloner was charged when it was caught).
   */
  private chargeDescriptor (err: DescriptorError, entry: PeerEntry, sender: string): void {
    switch (err.reason) {
      case 'cloned':
        return
      case 'over-minted':
        this.init.state.raise(entry.id, 'bad-descriptor', 'cyclon:over-minted')
        return
      case 'stale':
        if ((entry.descriptor?.mintedAt ?? 0) + DESCRIPTOR_MAX_AGE_MS + LAPSED_GRACE_MS >= this.init.state.now()) {
          return
        }
        break
      case 'from-the-future':
        // a relay took it under its own clock: only its minter, handing it
        // over itself, or a time no honest relay's clock could excuse, pays
        if ((entry.descriptor?.hops.length ?? 0) > 1 && (entry.descriptor?.mintedAt ?? 0) <= this.init.state.now() + 2 * LAPSED_GRACE_MS) {
          return
        }
    }
    this.init.state.raise(sender, 'bad-descriptor')
  }

  /**
   * The newest record known for a peer: `received`, handed to the peer store
   * and to the entry this view already holds, or the newer one the peer
   * store holds (an honest sender may pass on an entry older than what this
   * node learned since; that is not held against it).
   */
  private async newestRecord (type: PeerType, received: CertifiedRecord): Promise<CertifiedRecord> {
    const remembered = this.records.get(received.peerId)
    if (remembered != null && remembered.seq >= received.seq) {
      return remembered // the peer store holds this one or a newer one
    }
    const peer = peerIdFromString(received.peerId)
    const stored = await this.storedRecord(peer)
    if (stored != null && stored.seq >= received.seq) {
      this.remember(stored)
      return stored
    }
    await this.init.peerStore.consumePeerRecord(received.envelope, { expectedPeer: peer })
    this.remember(received)
    const held = this.init.views[type].get(received.peerId)
    if (held != null && (held.seq == null || held.seq < received.seq)) {
      held.record = received.envelope
      held.addrs = received.addrs
      held.seq = received.seq
    }
    return received
  }

  /** Open a received record: the very bytes of one already verified for that peer are not verified again. */
  private async openReceived (envelope: Uint8Array, peerId: string): Promise<CertifiedRecord> {
    const remembered = this.records.get(peerId)
    if (remembered != null && equals(remembered.envelope, envelope)) {
      return remembered
    }
    return await openRecord(envelope, peerId)
  }

  private remember (record: CertifiedRecord): void {
    setBounded(this.records, record.peerId, record, MAX_REMEMBERED_RECORDS)
  }

  /**
   * The entry of a connected peer admitted as `type`, from the token it
   * showed and the record it signed (identify stored it); none without a
   * record (no address can be vouched for), or with evidence that leaves
   * the bound within the margin: a receiver would refuse it (a connection
   * kept through a long issuer outage still holds its peer's lapsed token).
   */
  async connectedEntry (type: PeerType, peer: PeerId): Promise<PeerEntry | undefined> {
    const id = peer.toString()
    const admitted = this.init.state.admitted.get(id)
    if (admitted == null || admitted.claims.typ !== type || admitted.token === '' || this.lapsing(admitted.claims.exp * 1000)) {
      return undefined
    }
    const record = await this.storedRecord(peer)
    if (record == null) {
      return undefined
    }
    return { id, age: 0, type, token: admitted.token, keyCertificate: admitted.keyCertificate, record: record.envelope, addrs: record.addrs, seq: record.seq, expiresAt: admitted.claims.exp * 1000 }
  }

  /** The peer record the peer store holds for `peer` (its signature was checked when it was consumed), if it is one an entry may carry. */
  async storedRecord (peer: PeerId): Promise<CertifiedRecord | undefined> {
    const id = peer.toString()
    const mirrored = this.mirroring ? this.storeMirror.get(id) : undefined
    if (mirrored !== undefined) {
      return mirrored ?? undefined
    }
    const epoch = this.mirrorEpoch
    const read = this.storeReads.get(id) ?? { n: 0, changed: false }
    read.n++
    this.storeReads.set(id, read)
    let record: CertifiedRecord | undefined
    try {
      const envelope = (await this.init.peerStore.get(peer)).peerRecordEnvelope
      record = envelope == null ? undefined : await openRecord(envelope, id, { alreadyVerified: true })
    } catch {
      record = undefined
    } finally {
      if (--read.n === 0) {
        this.storeReads.delete(id)
      }
    }
    if (this.mirroring && !read.changed && epoch === this.mirrorEpoch) {
      setBounded(this.storeMirror, id, record ?? null, MAX_REMEMBERED_RECORDS)
    }
    return record
  }

  /** From now on the caller tells `peerStoreChanged` of every change: records read from the peer store are kept. */
  watchPeerStore (): void {
    this.mirroring = true
  }

  /** Changes are no longer told: drop every copy, and read the store each time. */
  forgetPeerStore (): void {
    this.mirroring = false
    this.storeMirror.clear()
    this.mirrorEpoch++
  }

  /** The peer store changed what it holds of `peer` (`peer:update`): its record is read again when next needed, unless it is the same. */
  peerStoreChanged (peer: string, envelope: Uint8Array | undefined): void {
    const read = this.storeReads.get(peer)
    if (read != null) {
      read.changed = true // what that read returns may be from before this change
    }
    const mirrored = this.storeMirror.get(peer)
    if (mirrored === undefined || (mirrored == null ? envelope == null : envelope != null && equals(mirrored.envelope, envelope))) {
      return
    }
    this.storeMirror.delete(peer)
  }
  /**
   * Drop the entries whose evidence leaves the bound (EVIDENCE_MAX_AGE_MS
   * past its token's expiry) within the margin: an entry may circulate
   * longer than a token lives, and an honest node must not pass on
   * evidence its receiver will refuse. An entry of a peer this node is
   * admitted-connected to takes the newer token that peer presented.
   */
  dropLapsing (type: PeerType): void {
    for (const e of this.init.views[type].entries()) {
      const fresher = this.init.state.admitted.get(e.id)
      if (fresher != null && fresher.token !== '' && fresher.claims.typ === type && fresher.claims.exp * 1000 > (e.expiresAt ?? 0)) {
        e.token = fresher.token
        e.keyCertificate = fresher.keyCertificate
        e.expiresAt = fresher.claims.exp * 1000
      }
    }
    if (this.init.views[type].removeWhere(e => this.lapsing(e.expiresAt)) > 0) {
      this.init.changed(type)
    }
  }

  /** Evidence (a token's expiry, ms) that leaves the bound within STALE_MARGIN_MS. */
  lapsing (expiresAt: number | undefined): boolean {
    return expiresAt != null && this.leftInBound(expiresAt) <= STALE_MARGIN_MS
  }

  /** An expired token that lapsed longer ago than the bound and what an honest node's clock could excuse. */
  private lapsedLongAgo (token: string): boolean {
    try {
      const exp = decodeJwt(token).exp
      return typeof exp !== 'number' || exp * 1000 + EVIDENCE_MAX_AGE_MS + LAPSED_GRACE_MS < this.init.state.now()
    } catch {
      return true
    }
  }

  /**
   * The instant a token's time claims are judged at: now while it is
   * valid, the moment before its expiry once it lapsed within the bound
   * (it proved admission then). Past the bound (or undecodable) it is
   * judged now, and refused as expired (or as what it is).
   */
  private evidenceInstant (token: string): number | undefined {
    let exp: unknown
    try {
      exp = decodeJwt(token).exp
    } catch {
      return undefined
    }
    const now = this.init.state.now()
    if (typeof exp !== 'number' || exp * 1000 > now || exp * 1000 + EVIDENCE_MAX_AGE_MS < now) {
      return undefined
    }
    return exp * 1000 - 1
  }
}

/**
 * The DTN service: bundles stored durably and handed over, on
 * `/tempus/dtn/1.0.0`, to the admitted peers that should take them.
 *
 * A session is one-way: the offerer sends a summary of what it would hand
 * the peer (fragment keys and the receipts it knows); the peer answers with
 * the keys it takes and the receipts it knows for the offered bundles; the
 * offerer sends each fragment and waits for its acknowledgement (the peer
 * acknowledges once the fragment is on its disk). Each side offers on its
 * own, when an admitted peer connects, every period, and soon after it learned
 * something new. What to offer is `routing.ts`'s choice.
 *
 * Every fragment is checked before it is stored: bounds, the source's
 * signature, the source's evidence of admission when it created the bundle,
 * freshness and hops. A bad one ends the session and is counted against the
 * peer that sent it; duplicates and quota refusals are nobody's fault.
 */
import { RateLimiter, lpStream } from '@libp2p/utils'
import { TypedEventEmitter } from 'main-event'
import { AdmissionError } from '../admission/errors.ts'
import { verifyThenOrNow } from '../admission/verifier.ts'
import { tokenKid } from '../admission/token.ts'
import { createBundle, destinedTo, endorsementToWire, forOtherOverlay, formatDestination, openFragment, openReceipt, parseDestination, signReceipt, toWire } from './bundle.ts'
import {
  DEFAULT_COPIES, DEFAULT_FRAGMENT_SIZE, DEFAULT_HOP_LIMIT, DEFAULT_LIFETIME_MS, DEFAULT_MAX_PAYLOAD, DEFAULT_SESSION_PERIOD_MS, DTN_PROTOCOL,
  EXPIRY_SWEEP_MS, FRAME_TIMEOUT_MS, MIN_SESSION_INTERVAL_MS, MAX_COPIES, MAX_FRAME_BYTES, MAX_HELD_SCANNED, MAX_HOP_LIMIT, MAX_LIFETIME_MS, MAX_OFFER_KEYS, MAX_OFFER_RECEIPTS,
  SESSIONS_PER_PEER_PER_MINUTE
} from './constants.ts'
import { DtnError, HARMLESS } from './errors.ts'
import { GroupCommit } from './group-commit.ts'
import { DtnFrame } from './pb/dtn.ts'
import { decryptPayload } from './payload-crypto.ts'
import { isComplete, reassemble } from './reassembly.ts'
import { registerDtnMetrics } from './metrics.ts'
import { DEFAULT_PREFERRED_CARRIERS, handover } from './routing.ts'
import type { Destination, Endorsement, Fragment, Receipt } from './bundle.ts'
import type { DtnRefusal } from './errors.ts'
import type { Bundle as PbBundle, FragmentKey, Receipt as PbReceipt } from './pb/dtn.ts'
import type { BundleStore, CarriedEntry, HeldFragment, InboxEntry, OutboxEntry } from './store.ts'
import type { TokenClaims } from '../admission/token.ts'
import type { AdmissionState } from '../admission/state.ts'
import type { PeerType } from '../core/peer-type.ts'
import type { ComponentLogger, Connection, Libp2pEvents, Logger, PeerId, PrivateKey, Startable, Stream } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { TypedEventTarget } from 'main-event'
import type { Registry } from 'prom-client'

export interface DtnServiceInit {
  state: AdmissionState
  store: BundleStore
  /** this node's type (it delivers bundles addressed to its type) */
  type: PeerType
  /** this node's overlay: bundles for another one are handed to bridges */
  overlay?: string
  now?: () => number
  /** 'spray' (spray-and-wait, `copies` copies) or 'epidemic' */
  routing?: 'spray' | 'epidemic'
  copies?: number
  fragmentSize?: number
  maxPayload?: number
  lifetimeMs?: number
  hopLimit?: number
  /** encrypt payloads to a PeerId destination's key unless a send says otherwise */
  encrypt?: boolean
  periodMs?: number
  preferredCarriers?: readonly PeerType[]
  /** the node's Prometheus registry: the store and the counts of `status()` go there (see `metrics.ts`); none without it */
  registry?: Registry
}

export interface DtnServiceComponents {
  peerId: PeerId
  privateKey: PrivateKey
  registrar: Registrar
  connectionManager: ConnectionManager
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
}

export interface SendOptions {
  lifetimeMs?: number
  copies?: number
  hopLimit?: number
  encrypt?: boolean
  routing?: 'spray' | 'epidemic'
}

/** A bundle delivered here: its inbox entry, with the whole payload. */
export type DeliveredBundle = Omit<InboxEntry, 'size' | 'payload'> & { payload: Uint8Array }

/** our sessions to one peer: whether another was asked for meanwhile, and when all are done */
interface Session { again: boolean, done: Promise<void> }

export interface DtnEvents {
  /** a bundle addressed to this node was delivered (once) */
  bundle: CustomEvent<DeliveredBundle>
  /** a bundle sent from here was delivered: its destination's receipt arrived */
  receipt: CustomEvent<{ id: string, destination: string, deliveredAt: number }>
  /** a fragment was stored (handed over by `from`) */
  stored: CustomEvent<{ id: string, offset: number, from: string }>
  /** a receipt was confirmed here and kept (for any bundle this node held, sent or received) */
  confirmed: CustomEvent<Receipt>
  refused: CustomEvent<{ peer: string, reason: DtnRefusal }>
}

export interface DtnStats {
  sent: number
  delivered: number
  /** fragments handed to peers */
  transmissions: number
  /** fragments taken from peers */
  received: number
  /** fragments handed to us that we held or had delivered already */
  duplicates: number
  receipts: number
  refused: Partial<Record<DtnRefusal, number>>
}

type Box = 'inbox' | 'outbox' | 'carried'

export class DtnService extends TypedEventEmitter<DtnEvents> implements Startable {
  readonly store: BundleStore
  private readonly components: DtnServiceComponents
  private readonly init: DtnServiceInit
  private readonly log: Logger
  private readonly now: () => number
  private readonly self: string
  private readonly limiter = new RateLimiter({ points: SESSIONS_PER_PEER_PER_MINUTE, duration: 60 })
  private readonly writer: GroupCommit<{ fragments: Fragment[], outbox?: boolean, receivedFrom?: string }, boolean[]>
  private readonly stats: DtnStats = { sent: 0, delivered: 0, transmissions: 0, received: 0, duplicates: 0, receipts: 0, refused: {} }
  /** peers with a session of ours running: whether another was asked for meanwhile, and when all are done */
  private readonly sessions = new Map<string, Session>()
  /** receipt ids each peer has had from us (bounded) */
  private readonly receiptsTold = new Map<string, Set<string>>()
  /** when our last session to each peer started: at most one a second */
  private readonly lastSession = new Map<string, number>()
  /** fragments another session is bringing: not asked for twice at once */
  private readonly expecting = new Set<string>()
  private sweepTimer?: ReturnType<typeof setInterval>
  private periodTimer?: ReturnType<typeof setInterval>
  private soonTimer?: ReturnType<typeof setTimeout>
  private running = false

  constructor (components: DtnServiceComponents, init: DtnServiceInit) {
    super()
    this.components = components
    this.init = init
    this.store = init.store
    this.now = init.now ?? Date.now
    this.self = components.peerId.toString()
    this.log = components.logger.forComponent('tempus:dtn')
    this.writer = new GroupCommit<{ fragments: Fragment[], outbox?: boolean, receivedFrom?: string }, boolean[]>(items => this.store.add(items, this.now()))
    if (init.registry != null) {
      registerDtnMetrics(init.registry, this)
    }
    this.onConnection = this.onConnection.bind(this)
    this.onRevoked = this.onRevoked.bind(this)
  }

  readonly [Symbol.toStringTag] = 'tempus/dtn'

  async start (): Promise<void> {
    await this.components.registrar.handle(DTN_PROTOCOL, async (stream, connection) => { await this.serve(stream, connection) }, { maxInboundStreams: 4, maxOutboundStreams: 4 })
    this.running = true
  }

  afterStart (): void {
    this.components.events.addEventListener('connection:open', this.onConnection)
    this.init.state.addEventListener('revoked', this.onRevoked)
    this.sweepTimer = setInterval(() => { this.expire() }, EXPIRY_SWEEP_MS)
    this.sweepTimer.unref?.()
    this.periodTimer = setInterval(() => { this.offerToAll() }, this.init.periodMs ?? DEFAULT_SESSION_PERIOD_MS)
    this.periodTimer.unref?.()
    // fragments left from before a restart may be whole by now
    for (const c of this.store.carried(this.now(), 10_000)) {
      if (destinedTo(parseDestination(c.destination), this.self, this.init.type, this.init.overlay)) {
        this.tryDeliver(c.id)
      }
    }
  }

  async stop (): Promise<void> {
    this.running = false
    clearInterval(this.sweepTimer)
    clearInterval(this.periodTimer)
    clearTimeout(this.soonTimer)
    this.components.events.removeEventListener('connection:open', this.onConnection)
    this.init.state.removeEventListener('revoked', this.onRevoked)
    await this.components.registrar.unhandle(DTN_PROTOCOL)
  }

  /**
   * Sign and store a bundle for `destination` (a PeerId, a type or `*`);
   * resolves with its id once it is on disk. It is handed over when a peer
   * that should take it is connected, now or later.
   */
  async send (destination: string | Destination, payload: Uint8Array, options: SendOptions = {}): Promise<string> {
    const own = this.init.state.ownToken
    if (own == null) {
      throw new DtnError('no-token', 'this node holds no token yet')
    }
    let dest = typeof destination === 'string' ? parseDestination(destination) : destination
    if (dest.overlay != null && dest.overlay === this.init.overlay) {
      // this overlay named explicitly: an ordinary bundle
      const { overlay: _, ...home } = dest
      dest = home
    }
    const maxPayload = this.init.maxPayload ?? DEFAULT_MAX_PAYLOAD
    if (payload.length > maxPayload) {
      throw new DtnError('oversize', `payloads are limited to ${maxPayload} bytes`)
    }
    const lifetimeMs = options.lifetimeMs ?? this.init.lifetimeMs ?? DEFAULT_LIFETIME_MS
    const hopLimit = options.hopLimit ?? this.init.hopLimit ?? DEFAULT_HOP_LIMIT
    const routing = options.routing ?? this.init.routing ?? 'spray'
    const copies = routing === 'epidemic' ? 0 : (options.copies ?? this.init.copies ?? DEFAULT_COPIES)
    if (!Number.isInteger(lifetimeMs) || lifetimeMs < 1 || lifetimeMs > MAX_LIFETIME_MS) {
      throw new RangeError(`lifetime must be 1 ms to ${MAX_LIFETIME_MS} ms`)
    }
    if (!Number.isInteger(hopLimit) || hopLimit < 1 || hopLimit > MAX_HOP_LIMIT || !Number.isInteger(copies) || copies < 0 || copies > MAX_COPIES) {
      throw new RangeError('hop limit or copies out of range')
    }
    const fragments = createBundle(
      { privateKey: this.components.privateKey, peerId: this.self, evidence: own },
      dest, payload, { lifetimeMs, hopLimit, copies, fragmentSize: this.init.fragmentSize ?? DEFAULT_FRAGMENT_SIZE, encrypt: options.encrypt ?? this.init.encrypt ?? true }, this.now())
    await this.writer.submit({ fragments, outbox: true })
    const id = (fragments[0] as Fragment).id
    this.stats.sent++
    this.log('bundle %s for %s stored (%d bytes, %d fragments)', id, formatDestination(dest), payload.length, fragments.length)
    if (destinedTo(dest, this.self, this.init.type, this.init.overlay)) {
      this.tryDeliver(id)
    }
    this.offerSoon()
    return id
  }

  list (box: Box = 'inbox', limit = 100): InboxEntry[] | OutboxEntry[] | CarriedEntry[] {
    const now = this.now()
    return box === 'inbox' ? this.store.inbox(now, limit) : box === 'outbox' ? this.store.outbox(now, limit) : this.store.carried(now, limit)
  }

  status (): DtnStats & ReturnType<BundleStore['usage']> & { quota: BundleStore['quota'] } {
    return { ...this.stats, refused: { ...this.stats.refused }, ...this.store.usage(this.now()), quota: this.store.quota }
  }

  /**
   * Offer `peer` what it should take now (also run on admission and every
   * period). While a session to `peer` runs, a call asks for one more after
   * it; either way the promise settles once the sessions that cover this
   * call have ended.
   */
  async sync (peer: PeerId | string): Promise<void> {
    const id = peer.toString()
    const running = this.sessions.get(id)
    if (running != null) {
      running.again = true
      await running.done
      return
    }
    // runSessions gets past its first await (and so to its end) only after `done` is set
    const session: Session = { again: false, done: Promise.resolve() }
    this.sessions.set(id, session)
    session.done = this.runSessions(id, session)
    await session.done
  }

  /** Sessions to `peer`, one after another while more are asked for. */
  private async runSessions (id: string, session: Session): Promise<void> {
    try {
      do {
        session.again = false
        // at most one session a second to a peer: a burst of news waits a little and goes in one
        const wait = (this.lastSession.get(id) ?? -Infinity) + MIN_SESSION_INTERVAL_MS - performance.now()
        if (wait > 0) {
          await new Promise(resolve => setTimeout(resolve, wait).unref?.())
        }
        this.lastSession.set(id, performance.now())
        if (this.lastSession.size > 4096) {
          this.lastSession.delete(this.lastSession.keys().next().value as string)
        }
        await this.offer(id)
      } while (session.again && this.running)
    } finally {
      this.sessions.delete(id)
    }
  }

  // ---- offering ---------------------------------------------------------------

  private typeOf (peer: string): PeerType | undefined {
    return this.init.state.admitted.get(peer)?.claims.typ as PeerType | undefined
  }

  private async offer (peer: string): Promise<void> {
    const meeting = { peer, type: this.typeOf(peer) }
    if (meeting.type == null || !this.running) {
      return
    }
    const preferred = this.init.preferredCarriers ?? DEFAULT_PREFERRED_CARRIERS
    let stream: Stream | undefined
    try {
      const now = this.now()
      const keys: FragmentKey[] = []
      // the oldest held first; a peer that takes none of them sees the rest next period
      for (const h of this.store.held(now, MAX_HELD_SCANNED)) {
        if (handover(h, meeting, preferred, this.init.overlay) != null) {
          keys.push({ id: Buffer.from(h.id, 'hex'), offset: BigInt(h.offset), length: h.length })
          if (keys.length >= MAX_OFFER_KEYS) {
            break
          }
        }
      }
      // receipts this peer has not had from us yet
      const told = this.receiptsTold.get(peer) ?? new Set<string>()
      const fresh = this.store.newestReceipts(now, MAX_OFFER_RECEIPTS).filter(r => !told.has(r.id))
      if (keys.length === 0 && fresh.length === 0) {
        return
      }
      // any order will do for the peer; a random one spreads the fragments of
      // one bundle over the carriers it meets
      for (let i = keys.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [keys[i], keys[j]] = [keys[j] as FragmentKey, keys[i] as FragmentKey]
      }
      const offered = new Set(keys.map(k => `${Buffer.from(k.id).toString('hex')}/${k.offset}`))
      stream = await this.components.connectionManager.openStream(this.peerIdOf(peer), DTN_PROTOCOL, { signal: AbortSignal.timeout(FRAME_TIMEOUT_MS) })
      const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
      await lp.write(DtnFrame.encode({ offer: { keys, receipts: fresh.map(r => r.wire) } }), { signal: AbortSignal.timeout(FRAME_TIMEOUT_MS) })
      fresh.forEach(r => { told.add(r.id) })
      this.receiptsTold.set(peer, told)
      if (this.receiptsTold.size > 1024) {
        this.receiptsTold.delete(this.receiptsTold.keys().next().value as string)
      }
      const want = DtnFrame.decode(await lp.read({ signal: AbortSignal.timeout(FRAME_TIMEOUT_MS) }), { limits: { want: { keys: MAX_OFFER_KEYS, receipts: MAX_OFFER_RECEIPTS } } }).want
      if (want == null) {
        throw new DtnError('malformed', 'expected the keys wanted')
      }
      this.applyReceipts(want.receipts)
      const served = new Set<string>()
      for (const key of want.keys) {
        const id = Buffer.from(key.id).toString('hex')
        const offset = Number(key.offset)
        const k = `${id}/${key.offset}`
        if (!offered.has(k)) {
          throw new DtnError('malformed', 'a key that was not offered')
        }
        if (served.has(k)) {
          continue
        }
        served.add(k)
        const f = this.store.fragment(id, offset, this.now())
        const plan = f == null ? undefined : handover(f, meeting, preferred, this.init.overlay)
        if (f == null || plan == null) {
          continue
        }
        // spray copies leave the store before the fragment leaves the node:
        // two sessions at once cannot both hand out the same copies
        const spray = !plan.direct && f.copies > 0
        if (spray && !this.store.takeCopies(id, offset, plan.give)) {
          continue
        }
        let stored = false
        try {
          await lp.write(DtnFrame.encode({ bundle: this.wireFor(f, { hops: f.hops + 1, copies: plan.give }) }), { signal: AbortSignal.timeout(FRAME_TIMEOUT_MS) })
          const ack = DtnFrame.decode(await lp.read({ signal: AbortSignal.timeout(FRAME_TIMEOUT_MS) }), { limits: { offer: { keys: 0, receipts: 0 }, want: { keys: 0, receipts: 0 } } }).ack
          if (ack == null) {
            throw new DtnError('malformed', 'expected an acknowledgement')
          }
          this.stats.transmissions++
          stored = ack.stored
        } finally {
          if (spray && !stored) {
            this.store.returnCopies(id, offset, plan.give)
          }
        }
        // a copy handed to its destination stays until the destination's
        // receipt releases it: the receipt is then confirmed against it, and
        // the destination answers the next offer of it with that receipt
      }
      await lp.write(DtnFrame.encode({ done: true }), { signal: AbortSignal.timeout(FRAME_TIMEOUT_MS) })
      await stream.close({ signal: AbortSignal.timeout(FRAME_TIMEOUT_MS) })
    } catch (err: any) {
      stream?.abort(err)
      this.log('session with %s ended - %s', peer, err?.reason ?? err?.message ?? err?.name)
      if (err instanceof DtnError && !HARMLESS.has(err.reason)) {
        this.refuse(peer, err.reason)
      }
    }
  }

  private peerIdOf (peer: string): PeerId {
    const c = this.components.connectionManager.getConnections().find(c => c.remotePeer.toString() === peer)
    if (c == null) {
      throw new DtnError('unwanted', 'not connected')
    }
    return c.remotePeer
  }

  private admittedPeers (): string[] {
    const peers = new Set<string>()
    for (const c of this.components.connectionManager.getConnections()) {
      const id = c.remotePeer.toString()
      if (this.init.state.admitted.has(id)) {
        peers.add(id)
      }
    }
    return [...peers]
  }

  private offerToAll (): void {
    if (!this.running) {
      return
    }
    for (const peer of this.admittedPeers()) {
      void this.sync(peer)
    }
  }

  /** Offer to every peer shortly (new bundles, receipts: coalesced). */
  private offerSoon (): void {
    if (this.soonTimer != null || !this.running) {
      return
    }
    this.soonTimer = setTimeout(() => {
      this.soonTimer = undefined
      this.offerToAll()
    }, 20)
    this.soonTimer.unref?.()
  }

  /** A connection is admitted before it opens: offer once it can carry streams. */
  private onConnection (evt: CustomEvent<Connection>): void {
    const peer = evt.detail.remotePeer.toString()
    if (this.running && this.init.state.admitted.has(peer)) {
      void this.sync(peer)
    }
  }

  private onRevoked (evt: CustomEvent<string[]>): void {
    // a revoked source's bundles are not carried further
    try {
      this.store.removeSources(evt.detail)
    } catch (err) {
      this.log.error('dropping the bundles of revoked sources failed - %e', err)
    }
  }

  // ---- serving ----------------------------------------------------------------

  private async serve (stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString()
    const wanted = new Map<string, number>()
    try {
      try {
        this.limiter.consume(peer, 1)
      } catch {
        // one episode per burst (src/admission/suspicion.ts): a peer's sessions queued behind a slow link are one offence
        this.init.state.raise(peer, 'timeout', 'dtn:rate')
        throw new DtnError('unwanted', 'sessions over the rate limit')
      }
      if (!this.init.state.admitted.has(peer)) {
        throw new DtnError('unwanted', 'not admitted')
      }
      const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
      const read = async (): Promise<DtnFrame> => {
        const data = await lp.read({ signal: AbortSignal.timeout(FRAME_TIMEOUT_MS) })
        try {
          return DtnFrame.decode(data, { limits: { offer: { keys: MAX_OFFER_KEYS, receipts: MAX_OFFER_RECEIPTS }, want: { keys: 0, receipts: 0 } } })
        } catch {
          throw new DtnError('malformed', 'the frame does not decode')
        }
      }
      const offer = (await read()).offer
      if (offer == null) {
        throw new DtnError('malformed', 'expected an offer')
      }
      this.applyReceipts(offer.receipts)
      const now = this.now()
      const receipts: PbReceipt[] = []
      let room = 0
      for (const key of offer.keys) {
        const id = Buffer.from(key.id).toString('hex')
        const k = `${id}/${key.offset}`
        if (key.id.length !== 16 || wanted.has(k) || this.expecting.has(k)) {
          continue
        }
        // a confirmed receipt (its signer is the bundle's destination) ends
        // the bundle's journey: tell the offerer instead of taking it
        const receipt = this.store.receipt(id, now)
        if (receipt != null) {
          if (receipts.length < MAX_OFFER_RECEIPTS) {
            receipts.push(receipt.wire)
          }
          continue
        }
        if (this.store.delivered(id) || this.store.isOwn(id) || this.store.has(id, Number(key.offset))) {
          continue
        }
        // a rough check: the exact one (per source) is made when it arrives
        room += key.length
        if (this.store.refusal('', room) != null) {
          continue
        }
        wanted.set(k, key.length)
        this.expecting.add(k)
      }
      await lp.write(DtnFrame.encode({ want: { keys: offer.keys.filter(k => wanted.has(`${Buffer.from(k.id).toString('hex')}/${k.offset}`)), receipts } }), { signal: AbortSignal.timeout(FRAME_TIMEOUT_MS) })
      // the wanted fragments the offerer still holds, then `done`
      const expected = wanted.size
      for (let i = 0; ; i++) {
        const frame = await read()
        if (frame.done === true) {
          break
        }
        if (frame.bundle == null || i >= expected) {
          throw new DtnError('malformed', 'expected a wanted bundle or the end')
        }
        const stored = await this.take(frame.bundle, peer, wanted)
        await lp.write(DtnFrame.encode({ ack: { stored } }), { signal: AbortSignal.timeout(FRAME_TIMEOUT_MS) })
      }
      await stream.close({ signal: AbortSignal.timeout(FRAME_TIMEOUT_MS) })
    } catch (err: any) {
      stream.abort(err)
      this.log('session from %s ended - %s', peer, err?.message ?? err?.name)
      // a bad frame is the peer's doing; a reset or a timeout may be the network's
      const reason: DtnRefusal | undefined = err instanceof DtnError
        ? err.reason
        : (err?.name === 'InvalidDataLengthError' || err?.name === 'InvalidDataLengthLengthError') ? 'oversize' : undefined
      if (reason != null && !HARMLESS.has(reason)) {
        this.refuse(peer, reason)
      } else if (wanted.size > 0 && err?.name === 'TimeoutError') {
        // it offered fragments, we asked, and it stalled past our frame deadline: they were kept
        // from other carriers meanwhile (an AbortError is a cut, ours or the network's: nobody's offence)
        this.init.state.raise(peer, 'timeout', 'dtn:stall')
      }
    } finally {
      for (const k of wanted.keys()) {
        this.expecting.delete(k)
      }
    }
  }

  /** Check and store one fragment handed over by `peer`; false if it was not stored (harmlessly). */
  private async take (pb: NonNullable<DtnFrame['bundle']>, peer: string, wanted: Map<string, number>): Promise<boolean> {
    const f = openFragment(pb, { now: this.now(), maxPayload: this.init.maxPayload ?? DEFAULT_MAX_PAYLOAD })
    const k = `${f.id}/${f.offset}`
    if (wanted.get(k) !== f.payload.length) {
      throw new DtnError('malformed', 'a fragment that was not asked for')
    }
    wanted.delete(k)
    this.expecting.delete(k)
    if (this.store.delivered(f.id) || this.store.receipt(f.id, this.now()) != null) {
      // delivered while this copy was on its way
      this.stats.duplicates++
      return false
    }
    await this.checkEvidence(f)
    // hops are not signed: a copy that travelled has taken at least one
    // transfer, two if it did not come from its source
    f.hops = Math.max(f.hops, peer === f.source ? 1 : 2)
    if (f.hops > f.hopLimit) {
      return false
    }
    let stored: boolean
    try {
      stored = (await this.writer.submit({ fragments: [f], receivedFrom: peer }))[0] === true
    } catch (err) {
      if (err instanceof DtnError && err.reason === 'quota-full') {
        this.count('quota-full')
        return false
      }
      throw err
    }
    if (!stored) {
      this.stats.duplicates++
    } else {
      this.stats.received++
      this.safeDispatchEvent('stored', { detail: { id: f.id, offset: f.offset, from: peer } })
      if (destinedTo(f.destination, this.self, this.init.type, this.init.overlay)) {
        this.tryDeliver(f.id)
      }
      this.offerSoon()
    }
    return stored
  }

  // ---- across overlays (a federated bridge) --------------------------------------

  /** Held fragments addressed to another overlay (a bridge hands them across). */
  heldForOtherOverlays (limit = MAX_HELD_SCANNED): HeldFragment[] {
    return this.store.held(this.now(), limit).filter(h => forOtherOverlay(h.destination, this.init.overlay) && h.hops < h.hopLimit)
  }

  /** A held fragment as it crosses to another overlay: its source's wire form, one more hop, no endorsement. */
  exportFragment (id: string, offset: number): PbBundle | undefined {
    const f = this.store.fragment(id, offset, this.now())
    if (f == null || f.endorsement != null || !forOtherOverlay(f.destination, this.init.overlay)) {
      return undefined
    }
    return toWire(f, { hops: f.hops + 1, copies: f.copies })
  }

  /**
   * Store a fragment a remote bridge handed across, once the caller (the
   * bundle relay) checked its source under the trust anchor of its overlay
   * and endorsed it. False if it was held or delivered already.
   */
  async importFragment (f: Fragment, from: string): Promise<boolean> {
    if (f.endorsement == null || f.destination.overlay !== this.init.overlay) {
      throw new DtnError('bad-endorsement', 'only an endorsed fragment addressed to this overlay comes in across')
    }
    if (this.store.delivered(f.id) || this.store.receipt(f.id, this.now()) != null) {
      this.stats.duplicates++
      return false
    }
    const stored = (await this.writer.submit({ fragments: [f], receivedFrom: from }))[0] === true
    if (!stored) {
      this.stats.duplicates++
      return false
    }
    this.stats.received++
    this.safeDispatchEvent('stored', { detail: { id: f.id, offset: f.offset, from } })
    if (destinedTo(f.destination, this.self, this.init.type, this.init.overlay)) {
      this.tryDeliver(f.id)
    }
    this.offerSoon()
    return true
  }

  /**
   * Receipts a remote bridge handed back across, for bundles that crossed
   * from here: each counts only if this node confirms it (it holds the
   * bundle, with the destination its source signed).
   */
  takeReceipts (wires: PbReceipt[]): void {
    this.applyReceipts(wires)
    this.offerSoon()
  }

  /**
   * The source was admitted: its token was valid when it created the bundle,
   * or is valid now (a holder may have refreshed the evidence, which the
   * source's signature does not cover), and it is not revoked.
   */
  private async checkEvidence (f: Fragment): Promise<void> {
    if (f.endorsement != null) {
      await this.checkEndorsement(f, f.endorsement)
      return
    }
    if (f.token === '') {
      throw new DtnError('no-admission')
    }
    const verify = async (at?: number): Promise<void> => {
      await this.init.state.verifier.verify(f.token, { sub: f.source, keyCertificate: f.keyCertificate === '' ? undefined : f.keyCertificate, at })
    }
    try {
      await verifyThenOrNow(verify, f.createdAt)
    } catch (err) {
      if (err instanceof AdmissionError && err.reason === 'revoked') {
        throw new DtnError('revoked-source')
      }
      if (err instanceof AdmissionError && err.reason === 'rotated-key') {
        // created before a key rotation, and no holder had a newer token of
        // the source to refresh it with: an honest carrier's copy
        throw new DtnError('stale-evidence')
      }
      throw new DtnError('no-admission', err instanceof AdmissionError ? err.reason : 'the token does not verify')
    }
  }

  /**
   * A bundle from another overlay: its source's token is of that overlay's
   * issuer, which this node does not know. A bridge of this overlay checked
   * it under that overlay's trust anchor and endorsed the bundle: the bridge
   * must be admitted here, as a bridge, when it endorsed it (or now), and the
   * bundle must be addressed to this overlay.
   */
  private async checkEndorsement (f: Fragment, e: Endorsement): Promise<void> {
    if (f.destination.overlay !== this.init.overlay) {
      throw new DtnError('bad-endorsement', 'an endorsed bundle for another overlay')
    }
    const verify = async (at?: number): Promise<TokenClaims> =>
      await this.init.state.verifier.verify(e.token, { sub: e.bridge, keyCertificate: e.keyCertificate === '' ? undefined : e.keyCertificate, at })
    try {
      const claims = await verifyThenOrNow(verify, e.endorsedAt)
      if (claims.typ !== 'bridge') {
        throw new DtnError('bad-endorsement', 'endorsed by a node that is not a bridge')
      }
    } catch (err) {
      if (err instanceof DtnError) {
        throw err
      }
      if (err instanceof AdmissionError && err.reason === 'revoked') {
        throw new DtnError('revoked-source')
      }
      if (err instanceof AdmissionError && err.reason === 'rotated-key') {
        throw new DtnError('stale-evidence')
      }
      throw new DtnError('bad-endorsement', err instanceof AdmissionError ? err.reason : 'the bridge\'s token does not verify')
    }
  }

  /** A fragment's wire form, with the freshest evidence known for its source and its endorsing bridge. */
  private wireFor (f: Fragment, routing: { hops: number, copies: number }): PbBundle {
    const wire = toWire(f, routing)
    if (f.endorsement == null) {
      return { ...wire, ...this.evidenceFor(f) }
    }
    // the source's token is of another overlay: only the bridge's can be refreshed here
    const fresher = this.freshestOf(f.endorsement.bridge, f.endorsement.token)
    return fresher == null ? wire : { ...wire, endorsement: endorsementToWire({ ...f.endorsement, ...fresher }) }
  }

  /** A newer token of `peer` (signed with another issuer key) than `token`, if this node knows one. */
  private freshestOf (peer: string, token: string): { token: string, keyCertificate: string } | undefined {
    const fresher = peer === this.self ? this.init.state.ownToken : this.init.state.admitted.get(peer)
    if (fresher != null && fresher.token !== '' && fresher.token !== token) {
      try {
        if (tokenKid(fresher.token) !== tokenKid(token)) {
          return { token: fresher.token, keyCertificate: fresher.keyCertificate }
        }
      } catch {}
    }
    return undefined
  }

  /**
   * The freshest evidence this node knows for a fragment's source: its own
   * token if it is the source, the token an admitted source showed, or the
   * one the fragment carries.
   */
  private evidenceFor (f: Fragment): { token: string, keyCertificate: string } {
    return this.freshestOf(f.source, f.token) ?? { token: f.token, keyCertificate: f.keyCertificate }
  }

  // ---- delivery and receipts ----------------------------------------------------

  /** If every fragment of `id` is here, reassemble, check, decrypt and deliver it. */
  private tryDeliver (id: string): void {
    const now = this.now()
    if (this.store.delivered(id)) {
      return
    }
    // offsets and lengths first: the bytes are read once, when the bundle is whole
    const pieces = this.store.pieces(id, now)
    if (pieces.length === 0 || !isComplete(pieces, (pieces[0] as { total: number }).total)) {
      return
    }
    const first = this.store.fragmentsOf(id, now)
    const head = first[0]
    if (head == null) {
      return
    }
    let payload: Uint8Array
    try {
      payload = reassemble(first.map(f => ({ offset: f.offset, length: f.payload.length, bytes: f.payload })), head.totalLength, head.payloadDigest)
      if (head.ephemeralKey.length > 0) {
        payload = decryptPayload(this.components.privateKey, Buffer.from(id, 'hex'), head.ephemeralKey, payload)
      }
    } catch (err: any) {
      // signed by the source, so the source is to blame
      this.log('bundle %s from %s cannot be reassembled - %s', id, head.source, err?.message)
      this.store.removeBundle(id)
      this.refuse(head.source, err instanceof DtnError ? err.reason : 'bad-digest')
      return
    }
    const single = head.destination.kind === 'peer'
    const entry = {
      id,
      source: head.source,
      ...(head.endorsement != null ? { sourceOverlay: head.endorsement.sourceOverlay } : {}),
      destination: formatDestination(head.destination),
      createdAt: head.createdAt,
      expiresAt: head.expiresAt,
      receivedAt: now,
      payload
    }
    // a group bundle stays carried, so its inbox copy is new bytes: within the quotas
    if (!single && this.store.refusal(head.source, payload.length) != null) {
      this.count('quota-full')
      return
    }
    if (!this.store.deliver(entry, single)) {
      return
    }
    this.stats.delivered++
    this.log('bundle %s from %s delivered (%d bytes)', id, head.source, payload.length)
    this.safeDispatchEvent('bundle', { detail: entry })
    if (single) {
      const receipt = signReceipt(this.components.privateKey, this.self, head, now)
      this.acceptReceipt(receipt)
      this.offerSoon()
    }
  }

  private applyReceipts (wires: PbReceipt[]): void {
    for (const wire of wires) {
      let receipt: Receipt
      try {
        receipt = openReceipt(wire, this.now())
      } catch (err) {
        if (err instanceof DtnError && err.reason === 'expired') {
          continue
        }
        throw err
      }
      this.acceptReceipt(receipt)
    }
  }

  /**
   * A receipt whose signature checked. It counts only if this node can
   * confirm it: the signer is the destination the bundle's source signed,
   * as held here (a carried copy, or the outbox of the source), or this
   * node itself. Anyone can sign a receipt for an id seen in an offer;
   * such a receipt is dropped, never kept, passed on or acted upon.
   */
  private acceptReceipt (r: Receipt): void {
    const now = this.now()
    const known = this.store.receipt(r.id, now) != null
    const held = this.store.anyFragment(r.id, now)
    const heldMatches = held != null && held.source === r.source && held.destination.kind === 'peer' && held.destination.peer === r.destination
    const own = r.source === this.self && this.outboxPeer(r.id) === r.destination
    if (!heldMatches && !own && r.destination !== this.self) {
      return
    }
    if (heldMatches && r.destination !== this.self) {
      this.store.removeBundle(r.id)
    }
    if (known || !this.store.addReceipt(r)) {
      return
    }
    this.stats.receipts++
    this.safeDispatchEvent('confirmed', { detail: r })
    if (own) {
      this.log('bundle %s delivered to %s', r.id, r.destination)
      this.safeDispatchEvent('receipt', { detail: { id: r.id, destination: r.destination, deliveredAt: r.deliveredAt } })
    }
  }

  /** The single peer a bundle sent from here is for (in this overlay or another). */
  private outboxPeer (id: string): string | undefined {
    const text = this.store.outboxDestination(id)
    if (text == null) {
      return undefined
    }
    try {
      const d = parseDestination(text)
      return d.kind === 'peer' ? d.peer : undefined
    } catch {
      return undefined
    }
  }

  private refuse (peer: string, reason: DtnRefusal): void {
    this.count(reason)
    this.init.state.raise(peer, 'bad-bundle')
    this.safeDispatchEvent('refused', { detail: { peer, reason } })
  }

  private count (reason: DtnRefusal): void {
    this.stats.refused[reason] = (this.stats.refused[reason] ?? 0) + 1
  }

  private expire (): void {
    try {
      this.store.expire(this.now())
    } catch (err) {
      this.log.error('expiring bundles failed - %e', err)
    }
  }
}

export function dtnService (init: DtnServiceInit): (components: DtnServiceComponents) => DtnService {
  return (components) => new DtnService(components, init)
}

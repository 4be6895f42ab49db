/**
 * What the admission parts of a node share: the verifier, the revocation
 * list, suspicion scores, the node's own token, and the claims each admitted
 * peer showed. No libp2p here; the encrypter, gater and service read it.
 */
import { TypedEventEmitter } from 'main-event'
import { ADMISSION_DEADLINE_MS, REVOCATION_NEWS_GRACE_MS } from './constants.ts'
import { publicKeyFromRawBytes } from '../core/keys.ts'
import { patientTimeout } from '../core/loop-lag.ts'
import { RevocationState, verifyRevocationList } from './revocation.ts'
import type { PeerType } from '../core/peer-type.ts'
import type { RevocationList } from './revocation.ts'
import { SuspicionScores } from './suspicion.ts'
import { TokenVerifier } from './verifier.ts'
import { TicketDesk } from './ticket-desk.ts'
import { InboundLoad } from './inbound-load.ts'
import { offenceOf } from './refusal-cost.ts'
import type { RefusalDetail } from './errors.ts'
import type { RefusalReason } from './errors.ts'
import type { Offence, SuspicionChange } from './suspicion.ts'
import type { TokenClaims } from './token.ts'
import type { TicketRefusal } from './ticket.ts'
import type { ResumeRefusal } from './resume-handshake.ts'

/** how a resumption attempt ended: taken, or why the full exchange ran instead */
export type ResumptionOutcome = 'resumed' | TicketRefusal | ResumeRefusal | 'declined-by-peer' | 'no-ticket-to-show'

export interface OwnToken {
  token: string
  keyCertificate: string
  claims: TokenClaims
}

export interface AdmittedPeer {
  claims: TokenClaims
  /** the token itself: evidence of admission that can be passed on (sampling) */
  token: string
  keyCertificate: string
  /** ms since the epoch */
  admittedAt: number
}

export interface AdmissionEvents {
  admitted: CustomEvent<{ peer: string, claims: TokenClaims, refreshed: boolean, direction: 'inbound' | 'outbound' }>
  /**
   * a peer failed admission (dispatched after its suspicion was charged, so
   * `suspicion` is what follows for it); `overlay`: the one a
   * `foreign-overlay` token claims
   */
  refused: CustomEvent<{ peer?: string, reason: RefusalReason, direction: 'inbound' | 'outbound', overlay?: string, suspicion?: SuspicionChange, starved?: boolean, why?: string }>
  /** an offence charged to a peer (`charged`: it raised the score; a repeat inside an episode, or while quarantined, costs nothing) */
  offence: CustomEvent<{ peer: string, offence: Offence, cause?: string, charged: boolean, change: SuspicionChange }>
  /** a peer crossed a suspicion threshold */
  suspicion: CustomEvent<SuspicionChange>
  /** peers that the newest revocation list added */
  revoked: CustomEvent<string[]>
  /** a newer revocation list was applied (the gossip service spreads those from the issuer) */
  'revocation-list': CustomEvent<{ jws: string, n: number, from: 'http' | 'gossip' }>
}

export interface AdmissionStateInit {
  verifier: TokenVerifier
  revocations: RevocationState
  suspicion: SuspicionScores
  now?: () => number
  /** the whole exchange must finish within this */
  deadlineMs: number
  /** the type this node enrolled as (its tokens show it) */
  selfType?: PeerType
  /** resumption tickets (admission.md); none: every connection runs the full exchange */
  tickets?: TicketDesk
}

/** peers a token re-presentation is owed to, at most (the oldest forgotten first) */
const MAX_OWED_TOKENS = 4096

export class AdmissionState extends TypedEventEmitter<AdmissionEvents> {
  readonly verifier: TokenVerifier
  readonly revocations: RevocationState
  readonly suspicion: SuspicionScores
  readonly deadlineMs: number
  /** the type this node enrolled as, when known: the services' default for their own type */
  readonly selfType?: PeerType
  readonly admitted = new Map<string, AdmittedPeer>()
  /**
   * Connections admitted but not open yet (libp2p still selects the muxer),
   * per peer: when each was admitted. The peer's last other connection may
   * close meanwhile, and its `peer:disconnect` must not forget an admission
   * made for a connection that is about to open (`forgetUnlessOpening`).
   */
  private readonly opening = new Map<string, number[]>()
  /** resumption tickets granted and held; undefined when resumption is off */
  readonly tickets?: TicketDesk
  /** told how each resumption attempt ended (`resumed`, or why not): the service counts them */
  noteResumption?: (outcome: ResumptionOutcome) => void
  /** the injected clock (ms) */
  readonly now: () => number
  /** peers this node owes its current token to, on the connection a resumption is opening (`oweToken`) */
  private readonly owedTokens = new Set<string>()
  /** inbound handshakes under way, and whether this node is too starved to start more (inbound-load.ts) */
  readonly inbound = new InboundLoad()
  /** connection deadlines moved on because this node's own loop ran late (node/patient-transport.ts) */
  readonly handshakeExtensions = { inbound: 0, outbound: 0 }
  private own?: OwnToken

  constructor (init: AdmissionStateInit) {
    super()
    this.verifier = init.verifier
    this.revocations = init.revocations
    this.suspicion = init.suspicion
    this.deadlineMs = init.deadlineMs
    this.selfType = init.selfType
    this.now = init.now ?? Date.now
    this.tickets = init.tickets
  }

  get ownToken (): OwnToken | undefined {
    return this.own
  }

  setOwnToken (token: OwnToken): void {
    this.own = token
  }

  /** Set by the token manager: bring our token up to the verifier's epoch (at most one fetch per epoch). */
  refreshOwnToken?: () => Promise<unknown>

  /**
   * Make sure our token is of the verifier's current epoch (after a
   * rotation), waiting at most a third of the exchange deadline. An exchange
   * waits for this inside its deadline, and a deadline that passes is
   * charged to the peer (`timeout`): an issuer that does not answer at once
   * (killed, behind a partition) must not make two honest peers charge each
   * other. The third is this node's own time: when it passes while our loop
   * ran late (the issuer's answer may be sitting unread) it is moved on once,
   * within the exchange's `signal`. Past the wait, or if the fetch fails, the
   * exchange shows what we hold; a rotated token is refused as
   * `rotated-key`, which costs nothing, and the token manager goes on
   * fetching.
   */
  async ensureOwnTokenCurrent (signal?: AbortSignal): Promise<void> {
    const current = this.verifier.current?.epoch
    if (current == null || this.own == null || this.own.claims.ep >= current) {
      return
    }
    const fetching = this.refreshOwnToken?.()
    if (fetching == null) {
      return
    }
    const third = patientTimeout(this.deadlineMs / 3, 1)
    const gaveUp = AbortSignal.any([third.signal, ...(signal != null ? [signal] : [])])
    let onAbort: (() => void) | undefined
    try {
      await Promise.race([
        fetching.then(() => {}, () => {}),
        new Promise<void>(resolve => {
          onAbort = resolve
          if (gaveUp.aborted) {
            resolve()
          } else {
            gaveUp.addEventListener('abort', onAbort, { once: true })
          }
        })
      ])
    } finally {
      if (onAbort != null) {
        gaveUp.removeEventListener('abort', onAbort)
      }
      third.close()
    }
  }

  /** A peer passed admission (or re-presented a fresh token: always inbound). */
  recordAdmitted (peer: string, claims: TokenClaims, refreshed = false, token = '', keyCertificate = '', direction: 'inbound' | 'outbound' = 'inbound'): void {
    const held = this.admitted.get(peer)
    if (held != null && held.claims.ep === claims.ep && held.claims.exp > claims.exp) {
      // a resumption carries the token of the exchange its ticket chain began with; a newer
      // one of the same epoch that the peer re-presented since (both verified) stays
      ({ claims, token, keyCertificate } = held)
    }
    this.admitted.set(peer, { claims, token, keyCertificate, admittedAt: this.now() })
    if (!refreshed) {
      this.opening.set(peer, [...this.stillOpening(peer), this.now()])
    }
    this.safeDispatchEvent('admitted', { detail: { peer, claims, refreshed, direction } })
  }

  /**
   * A resumption recorded this node, at `peer`, with an older token than the one it holds:
   * the admission service re-presents it once the connection opens (`takeOwedToken`).
   */
  oweToken (peer: string): void {
    this.owedTokens.delete(peer)
    this.owedTokens.add(peer)
    if (this.owedTokens.size > MAX_OWED_TOKENS) {
      // a connection that never opened: its debt is forgotten, the oldest first
      this.owedTokens.delete(this.owedTokens.values().next().value as string)
    }
  }

  /** Is this node's current token owed to `peer` (and no longer, once asked)? */
  takeOwedToken (peer: string): boolean {
    return this.owedTokens.delete(peer)
  }

  /** One of the peer's admitted connections opened (libp2p's `connection:open`). */
  connectionOpened (peer: string): void {
    const rest = this.stillOpening(peer).slice(1)
    if (rest.length === 0) {
      this.opening.delete(peer)
    } else {
      this.opening.set(peer, rest)
    }
  }

  /**
   * The peer has no connection left (libp2p's `peer:disconnect`): forget
   * its admission, unless a connection admitted since is still opening.
   * A redial that overtakes the old connection's close (a restart, a
   * resumed link) would otherwise open without its admission: RPC would
   * see no type, DTN and sampling no member.
   */
  forgetUnlessOpening (peer: string): void {
    if (this.stillOpening(peer).length === 0) {
      this.admitted.delete(peer)
      this.opening.delete(peer)
    }
  }

  /** Forget the admissions whose upgrade never opened (the sweep's: a peer that never came back leaves none behind). */
  dropStaleOpenings (): void {
    for (const peer of [...this.opening.keys()]) {
      if (this.stillOpening(peer).length === 0) {
        this.opening.delete(peer)
      }
    }
  }

  /** admissions of the peer not yet followed by an open connection, within the deadline (a failed upgrade never opens) */
  private stillOpening (peer: string): number[] {
    const now = this.now()
    return (this.opening.get(peer) ?? []).filter(at => now - at <= this.deadlineMs)
  }

  /**
   * A peer failed admission: log-worthy, raises its suspicion, tells it
   * nothing. `starved`: the deadline passed while this node's own event
   * loop ran late (core/loop-lag.ts), so the stall may be ours: the
   * refusal stands, the charge does not.
   */
  recordRefused (peer: string | undefined, reason: RefusalReason, direction: 'inbound' | 'outbound', detail: RefusalDetail = {}): void {
    const offence = detail.starved === true ? null : offenceOf(reason, detail.expiredForMs)
    // one cause per reason: a peer redialling with the same stale problem is one episode
    const suspicion = peer != null && offence != null ? this.raise(peer, offence, `admission:${reason}`) : undefined
    this.safeDispatchEvent('refused', { detail: { peer, reason, direction, ...(detail.overlay != null ? { overlay: detail.overlay } : {}), ...(suspicion != null ? { suspicion } : {}), ...(detail.starved === true ? { starved: true } : {}), ...(detail.why != null ? { why: detail.why } : {}) } })
  }

  /**
   * Apply a root-signed revocation list from any source; returns it if it
   * was newer than the one held (throws if it does not verify).
   */
  async applyRevocationList (jws: string, from: 'http' | 'gossip'): Promise<RevocationList | undefined> {
    const list = await verifyRevocationList(jws, this.verifier.rootKey, this.verifier.overlay, this.now())
    const added = this.revocations.apply(list, this.now())
    if (added == null) {
      return undefined
    }
    if (added.length > 0) {
      this.safeDispatchEvent('revoked', { detail: added })
    }
    this.safeDispatchEvent('revocation-list', { detail: { jws, n: list.n, from } })
    return list
  }

  /**
   * May an honest `sender` not know yet that `revokedPeer` is revoked? A
   * list reaches every node within seconds (pushed over gossip, polled from
   * the issuer), but not at once, and not a node that was away: so what a
   * sender passes on about a revoked peer (an entry, a relayed anomaly, a
   * page of catch-up) is excused within REVOCATION_NEWS_GRACE_MS of this
   * node hearing of the revocation, and of the sender's admission here
   * (it may just be back from a partition, its list still old). After both,
   * it had the list from us if from nowhere else, and passing on the peer
   * costs it.
   */
  mayNotKnowRevoked (revokedPeer: string, sender: string): boolean {
    const heard = this.revocations.heardOf(revokedPeer)
    if (heard == null) {
      return false
    }
    const since = Math.max(heard, this.admitted.get(sender)?.admittedAt ?? this.now())
    return this.now() < since + REVOCATION_NEWS_GRACE_MS
  }

  /** `cause` (a method, a protocol) makes a burst of one offence one episode: see `SuspicionScores.charge` */
  raise (peer: string, offence: Offence, cause?: string): SuspicionChange {
    const before = this.suspicion.recentOffences(peer).at(-1)
    const change = this.suspicion.charge(peer, offence, cause)
    const charged = this.suspicion.recentOffences(peer).at(-1) !== before
    this.safeDispatchEvent('offence', { detail: { peer, offence, cause, charged, change } })
    if (change.state !== change.previous) {
      this.safeDispatchEvent('suspicion', { detail: change })
    }
    return change
  }

  /**
   * Ban a peer outright (an operator's decision, or an offence that must not
   * wait for three quarantines): persisted and enforced like a ban earned by
   * score.
   */
  ban (peer: string): SuspicionChange {
    const previous = this.suspicion.state(peer)
    this.suspicion.ban(peer)
    const change: SuspicionChange = { peer, score: this.suspicion.score(peer), state: 'banned', previous }
    if (previous !== 'banned') {
      this.safeDispatchEvent('suspicion', { detail: change })
    }
    return change
  }

  /** Should a connection with this peer be refused before any exchange? */
  denies (peer: string): boolean {
    if (this.revocations.isRevoked(peer)) {
      return true
    }
    const state = this.suspicion.state(peer)
    return state === 'banned' || state === 'quarantined'
  }

  /** The admitted peer's token has run out (past exp + skew) without a refresh. */
  isExpired (peer: string, skewMs: number): boolean {
    const entry = this.admitted.get(peer)
    return entry == null || entry.claims.exp * 1000 + skewMs < this.now()
  }
}

export interface AdmissionStateForOptions {
  now?: () => number
  deadlineMs?: number
  /** grant and take resumption tickets; default true */
  resumption?: boolean
}

/**
 * The admission state a member of the overlay starts from: a verifier for
 * the overlay's root, current (and announced) keys from the enrolment, the
 * revocation list, suspicion scores.
 */
export async function admissionStateFor (enrollment: { overlay: string, issuer: string, rootPublicKey: string, keys: { current: string, announced?: string }, typ?: PeerType }, options: AdmissionStateForOptions = {}): Promise<AdmissionState> {
  const revocations = new RevocationState()
  const verifier = new TokenVerifier({
    overlay: enrollment.overlay,
    issuer: enrollment.issuer,
    root: publicKeyFromRawBytes(new Uint8Array(Buffer.from(enrollment.rootPublicKey, 'base64url'))),
    now: options.now,
    isRevoked: peer => revocations.isRevoked(peer)
  })
  await verifier.setCurrent(enrollment.keys.current)
  if (enrollment.keys.announced != null) {
    await verifier.addKeyCertificate(enrollment.keys.announced)
  }
  return new AdmissionState({ verifier, revocations, suspicion: new SuspicionScores({}, options.now), now: options.now, deadlineMs: options.deadlineMs ?? ADMISSION_DEADLINE_MS, selfType: enrollment.typ, tickets: options.resumption === false ? undefined : new TicketDesk({ now: options.now ?? Date.now }) })
}

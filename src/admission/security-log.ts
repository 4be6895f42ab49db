/**
 * Security events in the operator's log at the default level: admission
 * refusals (a node of another overlay included, on both sides), offences
 * charged (RPC refusals, bad gossip, …), quarantines, bans and revocations
 * applied. One line each, at `info` (an honest fault, or nothing charged) or
 * `warn` (misbehaviour, or a peer cut off), naming the peer, the reason and
 * what follows for it.
 *
 * A flood must not flood the log: per peer and reason at most one line per
 * window; what the window then swallowed is told once when it ends
 * (`suppressed`), and the keys held are bounded (beyond them, one count for
 * all others). Nothing here holds a secret: peers, reasons, scores, times.
 */
import type { AdmissionEvents, AdmissionState } from './state.ts'
import type { OffenceRecord, SuspicionChange } from './suspicion.ts'
import type { Logger as PinoLogger } from 'pino'

/**
 * one line per peer and reason per this window, ms: a redialling peer is
 * told once a minute, with the count of what it did meanwhile
 */
export const SECURITY_LOG_WINDOW_MS = 60_000
/**
 * (peer, reason) windows held at once: a flood from more peers than this
 * is summed into one count per window (a line each would be the flood)
 */
export const SECURITY_LOG_MAX_KEYS = 1024

export interface SecurityLogInit {
  log: PinoLogger
  state: AdmissionState
  /** @default SECURITY_LOG_WINDOW_MS (60 s) */
  windowMs?: number
  /** @default SECURITY_LOG_MAX_KEYS (1024) */
  maxKeys?: number
  now?: () => number
}

interface Window {
  start: number
  suppressed: number
  /** what the suppressed lines were about, for their summary */
  kind: string
  reason: string
  peer: string
}

type Level = 'info' | 'warn'

const iso = (ms: number): string => new Date(ms).toISOString()
const round = (n: number): number => Math.round(n * 100) / 100

/** What follows for a peer after a charge: the part of a line an operator acts on. */
export function consequence (change: SuspicionChange | undefined, quarantinedUntil: number | undefined): string {
  if (change == null) {
    return 'not charged'
  }
  switch (change.state) {
    case 'banned': return 'banned: refused until an operator clears it (tempus peers clear)'
    case 'quarantined': return quarantinedUntil == null ? 'quarantined' : `quarantined until ${iso(quarantinedUntil)}`
    case 'throttled': return `throttled (suspicion ${round(change.score)})`
    default: return `suspicion ${round(change.score)}`
  }
}

export class SecurityLog {
  private readonly init: SecurityLogInit
  private readonly log: PinoLogger
  private readonly windowMs: number
  private readonly maxKeys: number
  private readonly now: () => number
  private readonly windows = new Map<string, Window>()
  /** events of keys beyond `maxKeys`, since the last flush */
  private overflow = 0

  constructor (init: SecurityLogInit) {
    this.init = init
    this.log = init.log
    this.windowMs = init.windowMs ?? SECURITY_LOG_WINDOW_MS
    this.maxKeys = init.maxKeys ?? SECURITY_LOG_MAX_KEYS
    this.now = init.now ?? Date.now
    this.onRefused = this.onRefused.bind(this)
    this.onOffence = this.onOffence.bind(this)
    this.onSuspicion = this.onSuspicion.bind(this)
    this.onRevoked = this.onRevoked.bind(this)
    this.onList = this.onList.bind(this)
  }

  start (): void {
    const { state } = this.init
    state.addEventListener('refused', this.onRefused)
    state.addEventListener('offence', this.onOffence)
    state.addEventListener('suspicion', this.onSuspicion)
    state.addEventListener('revoked', this.onRevoked)
    state.addEventListener('revocation-list', this.onList)
  }

  stop (): void {
    const { state } = this.init
    state.removeEventListener('refused', this.onRefused)
    state.removeEventListener('offence', this.onOffence)
    state.removeEventListener('suspicion', this.onSuspicion)
    state.removeEventListener('revoked', this.onRevoked)
    state.removeEventListener('revocation-list', this.onList)
    this.flush(Number.POSITIVE_INFINITY)
  }

  /**
   * Tell what each ended window suppressed, and forget it (the service runs
   * this every window); `now` = Infinity ends every window (at stop).
   */
  flush (now = this.now()): void {
    for (const [key, w] of this.windows) {
      if (now - w.start < this.windowMs) {
        continue
      }
      this.windows.delete(key)
      if (w.suppressed > 0) {
        this.log.info({ security: w.kind, peer: w.peer, reason: w.reason, suppressed: w.suppressed, windowSeconds: this.windowMs / 1000 }, `${w.suppressed} more ${w.kind} (${w.reason}) of ${w.peer} in ${this.windowMs / 1000} s, not logged one by one`)
      }
    }
    if (this.overflow > 0) {
      this.log.warn({ security: 'flood', suppressed: this.overflow }, `${this.overflow} security events of more than ${this.maxKeys} peers at once, not logged one by one (see the tempus_admission_* metrics)`)
      this.overflow = 0
    }
  }

  /** Log one line unless its (peer, reason) window already had one; true when logged. */
  private emit (level: Level, kind: string, peer: string, reason: string, fields: Record<string, unknown>, message: string): boolean {
    const now = this.now()
    const key = `${kind}\0${peer}\0${reason}`
    const open = this.windows.get(key)
    if (open != null && now - open.start < this.windowMs) {
      open.suppressed++
      return false
    }
    if (open == null && this.windows.size >= this.maxKeys) {
      this.overflow++
      return false
    }
    const suppressed = open?.suppressed ?? 0
    this.windows.set(key, { start: now, suppressed: 0, kind, reason, peer })
    this.log[level]({ security: kind, peer, reason, ...fields, ...(suppressed > 0 ? { suppressed } : {}) }, message)
    return true
  }

  private onRefused (evt: AdmissionEvents['refused']): void {
    const { peer, reason, direction, overlay, suspicion } = evt.detail
    if (peer == null || reason === 'closed') {
      // a cut exchange is nobody's doing: libp2p's debug log has it
      return
    }
    const until = this.init.state.suspicion.quarantinedUntil(peer)
    const follows = consequence(suspicion, until)
    if (reason === 'foreign-overlay') {
      this.emit('info', 'admission-refused', peer, reason, { direction, overlay, follows }, direction === 'inbound'
        ? `refused ${peer}: a node of another overlay (${overlay ?? '?'}) dialled this one; ${follows}`
        : `refused ${peer}: it is a node of another overlay (${overlay ?? '?'}); ${follows}`)
      return
    }
    if (reason === 'refused') {
      // our own refusal of a peer cut off, or the remote's close: neither is charged
      const message = this.init.state.denies(peer)
        ? `refused ${peer} before any exchange: it is ${this.cutOffState(peer)}`
        : direction === 'outbound'
          ? `${peer} did not admit this node (it closed the exchange: a node of another overlay, or it revoked, banned or quarantined this one; or this node holds no token yet)`
          : `${peer} closed the exchange before it was admitted (nothing charged)`
      this.emit('info', 'admission-refused', peer, reason, { direction, follows: 'not charged' }, message)
      return
    }
    const charged = suspicion != null
    this.emit(charged ? 'warn' : 'info', 'admission-refused', peer, reason, { direction, follows, ...(suspicion != null ? { score: round(suspicion.score) } : {}) },
      `refused the ${direction} admission of ${peer}: ${reason}; ${follows}`)
  }

  private cutOffState (peer: string): string {
    const { state } = this.init
    if (state.revocations.isRevoked(peer)) {
      return 'revoked'
    }
    const until = state.suspicion.quarantinedUntil(peer)
    return until != null ? `quarantined until ${iso(until)}` : state.suspicion.state(peer)
  }

  private onOffence (evt: AdmissionEvents['offence']): void {
    const { peer, offence, cause, charged, change } = evt.detail
    if (cause?.startsWith('admission:') === true) {
      return // its refusal line says it
    }
    const follows = charged ? consequence(change, this.init.state.suspicion.quarantinedUntil(peer)) : 'not charged again (the same cause within its episode)'
    this.emit(charged ? 'warn' : 'info', 'offence', peer, offence, { cause, follows, score: round(change.score) },
      `${peer}: ${offence}${cause != null ? ` (${cause})` : ''}; ${follows}`)
  }

  private onSuspicion (evt: AdmissionEvents['suspicion']): void {
    const change = evt.detail
    if (change.state === 'quarantined' || change.state === 'banned') {
      const until = this.init.state.suspicion.quarantinedUntil(change.peer)
      const recent: OffenceRecord[] = this.init.state.suspicion.recentOffences(change.peer).slice(-3)
      this.emit('warn', change.state, change.peer, change.state, {
        score: round(change.score),
        previous: change.previous,
        ...(until != null ? { until: iso(until) } : {}),
        offences: recent.map(r => `${r.offence}${r.cause != null ? ` (${r.cause})` : ''}`)
      }, `${change.peer} ${consequence(change, until)}: its connections are closed`)
    } else if (change.state === 'throttled' && change.previous === 'ok') {
      this.emit('info', 'throttled', change.peer, 'throttled', { score: round(change.score) }, `${change.peer} throttled (suspicion ${round(change.score)})`)
    }
  }

  private onRevoked (evt: AdmissionEvents['revoked']): void {
    for (const peer of evt.detail) {
      this.emit('warn', 'revoked', peer, 'revoked', { follows: 'its connections are closed and it is refused' }, `${peer} revoked by the issuer's revocation list: its connections are closed and it is refused`)
    }
  }

  private onList (evt: AdmissionEvents['revocation-list']): void {
    this.log.info({ security: 'revocation-list', n: evt.detail.n, from: evt.detail.from, revoked: this.init.state.revocations.current?.revoked.length ?? 0 }, `revocation list ${evt.detail.n} applied (from ${evt.detail.from === 'http' ? 'the issuer' : 'gossip'})`)
  }
}

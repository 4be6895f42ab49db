/**
 * Keeps the node's own token fresh: fetched at start, refreshed at half its
 * lifetime, at once when the verifier moved to a newer epoch, and with
 * jittered backoff while the issuer is unreachable (the current token keeps
 * working until it expires). It also keeps the verifier's keys in step with
 * the issuer's announcements.
 *
 * What peers say can start at most one fetch per epoch (`catchUp`): however
 * many connections, retries or gossip frames show a newer epoch, the issuer
 * hears about it once, so no peer can spend this node's share of the
 * issuer's per-peer rate limit. If that one fetch fails, or the issuer still
 * answers with an older epoch, the backoff schedule tries again.
 *
 * It also keeps the membership credential alive: renewed at half its life
 * (one renewal at a time, jittered backoff while the issuer cannot renew
 * it), used for every token request from then on and handed to
 * `saveCredential` so a restart starts from it. A credential the issuer
 * refuses (expired, revoked) cannot be renewed: that is reported once, at
 * error level, with the command that enrols the node again.
 */
import { repeatingTask } from '@libp2p/utils'
import { TypedEventEmitter } from 'main-event'
import { ADMISSION_DEFAULTS } from './constants.ts'
import { pollWhileHeld } from '../issuer-client/held-poll-loop.ts'
import { backoffDelay } from '../core/backoff.ts'
import { credentialLifetime } from './credential.ts'
import { inOutage } from './outage-policy.ts'
import { isInterrupted, isNoRoute, onceMoreIfInterrupted } from '../issuer-client/client.ts'
import type { IssuerApi } from '../issuer-client/replicas.ts'
import type { BackoffPolicy } from '../core/backoff.ts'
import type { CredentialLifetime } from './credential.ts'
import type { AdmissionState, OwnToken } from './state.ts'
import type { PrivateKey } from '@libp2p/interface'
import type { RepeatingTask } from '@libp2p/utils'
import type { Logger as PinoLogger } from 'pino'

export interface TokenManagerInit {
  /** the issuer: one client, or every replica (`IssuerReplicas`) */
  client: IssuerApi
  privateKey: PrivateKey
  credential: string
  state: AdmissionState
  log: PinoLogger
  now?: () => number
  random?: () => number
  backoff?: BackoffPolicy
  /** how often to ask the issuer for announced keys when it did not hold the last poll, in ms; @default ADMISSION_DEFAULTS.keysPollIntervalMs (30 s) */
  keysPollIntervalMs?: number
  /**
   * how long the issuer may hold a poll of the keys until they change (a
   * long poll, `Prefer: wait`), in ms; 0: never held
   * @default ADMISSION_DEFAULTS.pollWaitMs (25 s)
   */
  keysWaitMs?: number
  /**
   * keeps a renewed credential (the node writes it into its enrollment
   * file); the new credential is used even if this fails
   */
  saveCredential?: (credential: string) => Promise<void>
  /**
   * the node's data directory, only to name it in the command that enrols
   * the node again when its credential is refused
   */
  dataDir?: string
}

export interface TokenManagerEvents {
  token: CustomEvent<OwnToken>
  /** a renewed credential, in use from now on */
  credential: CustomEvent<string>
  /** a token again after an issuer outage (dispatched before its `token` event); `since`: when the outage began */
  recovered: CustomEvent<{ since: number }>
  /**
   * a token of a newer epoch than the one held before (dispatched before its
   * `token` event): every dial since the rotation showed a token the fleet
   * refuses, so their backoffs measured nothing that is still true
   */
  'new-epoch': CustomEvent<{ epoch: number, previous: number }>
  /** a token request failed (`lastFailure`), and when the next one goes */
  failure: CustomEvent<TokenFailure & { retryInMs: number }>
}

/** Why the last token request failed, as the issuer said (`refused`) or as the network did. */
export interface TokenFailure {
  /** the issuer's error code, `unreachable`, or what rejected its answer */
  code: string
  /** the issuer answered with a refusal */
  refused: boolean
  /** no issuer answered: a network error, a timeout, or a 5xx (an outage, not a refusal) */
  unavailable: boolean
}

/** refusals no retry can cure: only a new enrolment (a new code) brings the node back */
const DEAD_CREDENTIAL = new Set(['invalid-credential', 'revoked'])
/** setTimeout's longest delay; a later renewal is re-checked when it fires */
const MAX_TIMER_MS = 2 ** 31 - 1

const DEFAULT_BACKOFF: BackoffPolicy = { initialDelayMs: 500, maxDelayMs: 15_000, factor: 2, jitter: 0.5 }

/**
 * After a network change a pending retry runs within this long, at a random
 * point: a site whose network comes back does not reach the issuer in one
 * burst.
 */
export const NETWORK_RETRY_SPREAD_MS = 1_000

/**
 * While this host has no route to the issuer (a partition, its link down:
 * `isNoRoute`), a retry waits at most this long (at a random point of its
 * second half), not the backoff's 15 s: nothing reaches the issuer until the
 * route is back, so the retries cost it nothing, and the first after the
 * route returns gets the token. In the 100-process chaos run a healed
 * partition's nodes waited up to 26 s for a token of the epoch rotated while
 * they were cut off, and crossed last. An answer of any kind (a refusal, a
 * 503, a timeout) returns to the backoff, and at its first step: failures
 * for want of a route never reached the issuer, so they do not grow it (in
 * the 100-process run a cut node's four no-route failures put its first
 * timeout after the heal at the backoff's fifth step, 6–12 s, and its token
 * came 48 s after the heal).
 */
export const NO_ROUTE_RETRY_MS = 2_000
/** with no route, one warning per this many failures in a row (about a minute); the rest at debug */
const NO_ROUTE_WARN_EVERY = 40

/**
 * Where a retry schedule stands: failures in a row that may have reached the
 * issuer (an answer, a timeout) step the backoff; failures for want of a
 * route are counted apart and only shorten the wait (`NO_ROUTE_RETRY_MS`).
 */
class RetrySteps {
  /** failures in a row that may have reached the issuer: the backoff's step */
  reached = 0
  /** failures in a row for want of a route, since the last of any other kind */
  noRoute = 0

  /** the wait before the next try after `err` (not a network change's interruption) */
  next (err: unknown, policy: BackoffPolicy, random: () => number): number {
    if (isNoRoute(err)) {
      const delay = backoffDelay(policy, this.noRoute++, random)
      return Math.min(delay, Math.round(NO_ROUTE_RETRY_MS * (0.5 + random() / 2)))
    }
    this.noRoute = 0
    return backoffDelay(policy, this.reached++, random)
  }

  /** a failure since the last success: a retry is pending */
  get failing (): boolean {
    return this.reached > 0 || this.noRoute > 0
  }

  reset (): void {
    this.reached = 0
    this.noRoute = 0
  }
}

export class TokenManager extends TypedEventEmitter<TokenManagerEvents> {
  private readonly init: TokenManagerInit
  private readonly now: () => number
  /** a keys sync retried soon while the host has no route to the issuer (`syncKeys`) */
  private keysRetry?: ReturnType<typeof setTimeout>
  private readonly random: () => number
  private timer?: ReturnType<typeof setTimeout>
  private keysTask?: RepeatingTask
  /** the entity tag of the keys last applied (the issuer answers 304 while they stand) */
  private keysTag?: string
  private readonly tokenRetry = new RetrySteps()
  private running = false
  private inFlight?: Promise<OwnToken | undefined>
  /** fetches started so far, and the number of the one in flight */
  private fetches = 0
  private inFlightNumber = 0
  /** the newest epoch a catch-up fetch was started for */
  private caughtUpTo = -1
  private catchingUp?: Promise<unknown>
  /** number of tokens fetched since start */
  fetched = 0
  /** number of credentials renewed since start */
  renewed = 0
  /** token requests that failed since start: refused by the issuer, no issuer answered, or its answer was not usable */
  readonly fetchFailures = { refused: 0, unavailable: 0, invalid: 0 }
  /** the last token request's failure, until one succeeds */
  lastFailure?: TokenFailure
  /**
   * When the first unavailable answer (network error, timeout, 5xx) came
   * since this node's last token; undefined while the issuer answers. An
   * answer of any kind (a token, a refusal) ends it.
   */
  issuerUnreachableSince?: number
  /** unavailable answers in a row since the last answer */
  unavailableInARow = 0
  /**
   * set when the issuer refused the credential itself (`invalid-credential`,
   * `revoked`) or it expired here: the node needs a new enrolment
   */
  credentialRefused?: string
  private currentCredential: string
  private lifetime?: CredentialLifetime
  private renewing?: Promise<void>
  private renewTimer?: ReturnType<typeof setTimeout>
  private readonly renewRetry = new RetrySteps()

  constructor (init: TokenManagerInit) {
    super()
    this.init = init
    this.now = init.now ?? Date.now
    this.random = init.random ?? Math.random
    this.currentCredential = init.credential
    this.lifetime = credentialLifetime(init.credential)
    this.onEpoch = this.onEpoch.bind(this)
  }

  /** the credential token requests carry: the enrolled one, or its latest renewal */
  get credential (): string {
    return this.currentCredential
  }

  /** when the credential in use expires, ms since the epoch (undefined: it carries no lifetime) */
  get credentialExpiresAt (): number | undefined {
    return this.lifetime?.expiresAt
  }

  /** Fetch a first token (waiting up to `waitMs` for it), then keep it fresh. */
  async start (waitMs = 10_000): Promise<void> {
    this.running = true
    this.init.state.verifier.addEventListener('epoch', this.onEpoch)
    // at once: the first answer gives the keys' tag, and from then on a poll is held at the issuer
    this.keysTask = repeatingTask(async (options) => { await this.watchKeys(options?.signal ?? new AbortController().signal) }, this.init.keysPollIntervalMs ?? ADMISSION_DEFAULTS.keysPollIntervalMs, { runImmediately: true })
    this.keysTask.start()
    this.scheduleRenewal()
    const first = this.refresh()
    await Promise.race([first, new Promise(resolve => setTimeout(resolve, waitMs).unref?.())])
  }

  stop (): void {
    this.running = false
    this.init.state.verifier.removeEventListener('epoch', this.onEpoch)
    clearTimeout(this.timer)
    clearTimeout(this.renewTimer)
    clearTimeout(this.keysRetry)
    this.keysRetry = undefined
    this.keysTask?.stop()
  }

  /** Fetch a token now (coalescing concurrent calls). */
  async refresh (): Promise<OwnToken | undefined> {
    if (this.inFlight == null) {
      this.inFlightNumber = ++this.fetches
      this.inFlight = this.fetch().finally(() => { this.inFlight = undefined })
    }
    return this.inFlight
  }

  /**
   * Bring our token up to the verifier's current epoch: one fetch per epoch,
   * shared by every caller (the exchange waits for it before it says hello).
   * A fetch already under way may have started before the epoch moved, so it
   * lands first and a new one starts only if we are still behind.
   */
  async catchUp (): Promise<void> {
    const epoch = this.init.state.verifier.current?.epoch
    if (epoch == null || !this.behind(epoch)) {
      return
    }
    if (epoch > this.caughtUpTo) {
      this.caughtUpTo = epoch
      const known = this.fetches
      this.catchingUp = (async () => {
        // every fetch that started before the epoch moved may bring the old
        // epoch: let them all land (finitely many), so the one fetch of our
        // own, if we are still behind, is one that started after
        while (this.inFlight != null && this.inFlightNumber <= known) {
          await this.inFlight
        }
        if (this.behind(epoch)) {
          await this.refresh()
        }
      })()
    }
    await this.catchingUp
  }

  /**
   * The host's network changed (an interface came up, or got an address).
   * A backoff grown while the issuer was out of reach measured the old
   * network, so a pending retry (of the token or the credential) is brought
   * forward to within NETWORK_RETRY_SPREAD_MS, and the keys are read again
   * (a rotation may have come and gone meanwhile). The caller ends the
   * issuer requests in flight (`IssuerApi.interrupt`); one ended so is sent
   * again as promptly, not charged to the backoff. A node whose last fetch
   * succeeded keeps its schedule.
   */
  networkChanged (): void {
    if (!this.running) {
      return
    }
    if (this.lastFailure != null) {
      this.schedule(this.spread())
    }
    if (this.renewRetry.failing) {
      this.scheduleRenewal(this.spread())
    }
    void this.syncKeys()
  }

  /** The wait before retrying after `err` on `steps`' schedule (`RetrySteps`). */
  private retryDelay (err: unknown, steps: RetrySteps): number {
    return steps.next(err, this.init.backoff ?? DEFAULT_BACKOFF, this.random)
  }

  private spread (): number {
    return Math.round(this.random() * NETWORK_RETRY_SPREAD_MS)
  }

  /** Is our token (if we hold one) of an epoch before `epoch`? */
  private behind (epoch: number): boolean {
    const own = this.init.state.ownToken
    return own != null && own.claims.ep < epoch
  }

  private async fetch (): Promise<OwnToken | undefined> {
    clearTimeout(this.timer)
    if (this.renewalDue()) {
      // a token request must not carry a credential past its half-life: a
      // node whose renewal timer was late (a suspended host) renews first
      await this.renewCredential()
    }
    try {
      const result = await this.init.client.token(this.init.privateKey, this.currentCredential)
      // our own verifier checks it too: it learns the key and catches a misissued token
      const claims = await this.init.state.verifier.verify(result.token, { sub: undefined, keyCertificate: result.keyCertificate })
      const own: OwnToken = { token: result.token, keyCertificate: result.keyCertificate, claims }
      const previous = this.init.state.ownToken?.claims.ep
      this.init.state.setOwnToken(own)
      this.tokenRetry.reset()
      this.lastFailure = undefined
      this.fetched++
      const outageSince = this.issuerUnreachableSince
      this.issuerUnreachableSince = undefined
      this.unavailableInARow = 0
      if (outageSince != null) {
        this.init.log.info({ unreachableForMs: this.now() - outageSince }, 'the issuer answered again: got a token after an outage')
        this.safeDispatchEvent('recovered', { detail: { since: outageSince } })
      }
      if (previous != null && claims.ep > previous) {
        this.safeDispatchEvent('new-epoch', { detail: { epoch: claims.ep, previous } })
      }
      this.schedule(Math.max(1_000, ((claims.exp - claims.iat) * 1000) / 2 - (this.now() - claims.iat * 1000)))
      this.safeDispatchEvent('token', { detail: own })
      return own
    } catch (err: any) {
      // a request ended by a network change is sent again at once (spread), not after a backoff
      const delay = isInterrupted(err) ? this.spread() : this.retryDelay(err, this.tokenRetry)
      const failure = failureOf(err)
      this.lastFailure = failure
      this.fetchFailures[failure.refused ? 'refused' : failure.unavailable ? 'unavailable' : 'invalid']++
      this.noteAnswer(failure)
      if (failure.refused && DEAD_CREDENTIAL.has(failure.code)) {
        this.reportDeadCredential(failure.code)
      } else if (isNoRoute(err) && this.tokenRetry.noRoute > 1 && this.tokenRetry.noRoute % NO_ROUTE_WARN_EVERY !== 0) {
        // retried every 2 s with no route: one warning a minute, the rest at debug
        this.init.log.debug({ code: failure.code, retryInMs: delay }, `could not refresh the token: ${describe(failure)}; ${this.holding()}`)
      } else {
        this.init.log.warn({ code: failure.code, retryInMs: delay }, `could not refresh the token: ${describe(failure)}; ${this.holding()}`)
      }
      this.schedule(delay)
      this.safeDispatchEvent('failure', { detail: { ...failure, retryInMs: delay } })
      return undefined
    }
  }

  /** An outage begins at the first unavailable answer after the last one; any answer ends it. */
  private noteAnswer (failure: TokenFailure): void {
    if (failure.unavailable) {
      this.issuerUnreachableSince ??= this.now()
      this.unavailableInARow++
    } else {
      this.issuerUnreachableSince = undefined
      this.unavailableInARow = 0
    }
  }

  /** Is this node in an issuer outage now (see `inOutage`)? When it began, or undefined. */
  outageSince (): number | undefined {
    const own = this.init.state.ownToken
    const valid = own != null && own.claims.exp * 1000 > this.now()
    return inOutage(this.issuerUnreachableSince, this.unavailableInARow, valid) ? this.issuerUnreachableSince : undefined
  }

  /** what the node holds while it cannot get a token */
  private holding (): string {
    const own = this.init.state.ownToken
    return own != null && own.claims.exp * 1000 > this.now()
      ? 'the current token stays valid until it expires'
      : 'this node holds no token, so no connection can be admitted until it gets one'
  }

  private renewalDue (): boolean {
    return this.lifetime != null && this.credentialRefused == null && this.now() >= this.lifetime.renewAt
  }

  /** Renew the credential now (coalescing concurrent calls: never two renewals at once). Never throws. */
  async renewCredential (): Promise<void> {
    if (this.renewing == null) {
      this.renewing = this.renew().finally(() => { this.renewing = undefined })
    }
    return this.renewing
  }

  private async renew (): Promise<void> {
    clearTimeout(this.renewTimer)
    const old = this.lifetime
    if (old == null || this.credentialRefused != null) {
      return
    }
    if (this.now() >= old.expiresAt) {
      // the issuer would refuse it: asking only spends its rate limit
      this.reportDeadCredential('expired')
      return
    }
    try {
      const result = await this.init.client.renew(this.init.privateKey, this.currentCredential)
      const renewed = credentialLifetime(result.credential)
      if (renewed == null || renewed.sub !== old.sub || renewed.typ !== old.typ || renewed.expiresAt <= this.now()) {
        throw Object.assign(new Error('the renewed credential is not this node\'s, or already expired'), { code: 'bad-response' })
      }
      this.currentCredential = result.credential
      // its half-life counted on this node's clock from now: the claims are
      // on the issuer's clock, and a node whose clock runs days ahead would
      // otherwise find the fresh credential past half-life at once and renew
      // again and again
      this.lifetime = { ...renewed, renewAt: this.now() + Math.floor((renewed.expiresAt - renewed.issuedAt) / 2) }
      this.renewRetry.reset()
      this.renewed++
      this.init.log.info({ expiresAt: new Date(renewed.expiresAt).toISOString() }, 'renewed the membership credential')
      try {
        await this.init.saveCredential?.(result.credential)
      } catch (err: any) {
        this.init.log.error({ code: err?.code ?? err?.name }, 'could not save the renewed credential; it is in use, but a restart starts from the old one (renewed again while that is valid)')
      }
      this.safeDispatchEvent('credential', { detail: result.credential })
      this.scheduleRenewal()
    } catch (err: any) {
      const failure = failureOf(err)
      if (failure.refused && DEAD_CREDENTIAL.has(failure.code)) {
        this.reportDeadCredential(failure.code)
        return
      }
      const delay = isInterrupted(err) ? this.spread() : this.retryDelay(err, this.renewRetry)
      this.init.log.warn({ code: failure.code, retryInMs: delay, expiresAt: new Date(old.expiresAt).toISOString() }, `could not renew the membership credential: ${describe(failure)}; the current one stays valid until it expires`)
      this.scheduleRenewal(delay)
    }
  }

  /** Renew at the credential's half-life, or after `delayMs` (a retry). */
  private scheduleRenewal (delayMs?: number): void {
    if (!this.running || this.lifetime == null || this.credentialRefused != null) {
      return
    }
    clearTimeout(this.renewTimer)
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, delayMs ?? this.lifetime.renewAt - this.now()))
    this.renewTimer = setTimeout(() => {
      if (delayMs != null || this.renewalDue()) {
        void this.renewCredential()
      } else {
        // a renewal further off than one timer can wait
        this.scheduleRenewal()
      }
    }, delay)
    this.renewTimer.unref?.()
  }

  /** Once per cause: no retry can cure it, only a new enrolment. */
  private reportDeadCredential (code: string): void {
    if (this.credentialRefused === code) {
      return
    }
    this.credentialRefused = code
    clearTimeout(this.renewTimer)
    const what = code === 'expired' ? 'has expired' : `was refused by the issuer: ${code}`
    // the replica that refused, or (expired here) the first one
    const issuer = this.init.client.lastAnswered ?? this.init.client.urls[0] ?? 'URL'
    this.init.log.error({ code, issuer, issuers: this.init.client.urls },
      `this node's membership credential ${what}; it cannot be renewed, so the node gets no token: enrol it again with a new code: tempus enroll --data ${this.init.dataDir ?? 'DIR'} --issuer ${issuer} --code CODE`)
  }

  private schedule (delayMs: number): void {
    if (!this.running) {
      return
    }
    clearTimeout(this.timer)
    this.timer = setTimeout(() => { void this.refresh() }, delayMs)
    this.timer.unref?.()
  }

  /** Learn announced keys so tokens of the next epoch verify the moment it starts. */
  async syncKeys (): Promise<void> {
    await this.syncKeysOnce(0)
  }

  /**
   * Keep a poll of the keys held at the issuer while it holds them (as the
   * admission service does for the revocation list): a key announced or
   * made current reaches this node within the issuer's read of its store;
   * an issuer that does not hold polls is asked every `keysPollIntervalMs`.
   */
  private async watchKeys (signal: AbortSignal): Promise<void> {
    const waitMs = this.init.keysWaitMs ?? ADMISSION_DEFAULTS.pollWaitMs
    await pollWhileHeld(async () => this.running && await this.syncKeysOnce(waitMs, signal), signal)
  }

  /** One poll of the keys; true when the issuer held it or sent new keys (the next may follow at once). */
  private async syncKeysOnce (waitMs: number, signal?: AbortSignal): Promise<boolean> {
    try {
      const answer = await onceMoreIfInterrupted(async () => await this.init.client.awaitKeys(this.keysTag, { waitMs, signal }), signal)
      if (answer.keys != null) {
        await this.init.state.verifier.setCurrent(answer.keys.current)
        if (answer.keys.announced != null) {
          await this.init.state.verifier.addKeyCertificate(answer.keys.announced)
        }
        // remembered once applied: keys that did not apply are fetched whole again
        this.keysTag = answer.tag
      }
      return answer.held || answer.keys != null
    } catch (err: any) {
      if (signal?.aborted === true) {
        return false
      }
      this.init.log.debug({ code: err?.code ?? err?.reason }, 'could not sync issuer keys')
      if (isNoRoute(err) && this.running && this.keysRetry == null) {
        // no route to the issuer (a partition): asked again within NO_ROUTE_RETRY_MS, not at the
        // next poll, so a node whose token is still valid learns of a rotation made meanwhile as
        // soon as the route is back (in the 100-process run one waited 30 s for the poll)
        this.keysRetry = setTimeout(() => {
          this.keysRetry = undefined
          void this.syncKeys()
        }, Math.round(NO_ROUTE_RETRY_MS * (0.5 + this.random() / 2)))
        this.keysRetry.unref?.()
      }
      return false
    }
  }

  private onEpoch (): void {
    // the verifier moved to a newer epoch: ours is refused from now on
    void this.catchUp()
  }
}

/** A failure as the issuer said it (a refusal with its code) or as the network or our checks did. */
function failureOf (err: any): TokenFailure {
  const code = String(err?.code ?? err?.reason ?? err?.name ?? 'error')
  const status = typeof err?.status === 'number' ? err.status as number : 0
  return { code, refused: status >= 400, unavailable: code === 'unreachable' || status >= 500 }
}

function describe (failure: TokenFailure): string {
  if (failure.refused) {
    return `the issuer refused: ${failure.code}`
  }
  return failure.code === 'unreachable' ? 'the issuer is unreachable' : `the issuer's answer was not usable: ${failure.code}`
}

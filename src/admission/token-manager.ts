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
 */
import { TypedEventEmitter } from 'main-event'
import { backoffDelay } from '../liveness/backoff.ts'
import type { IssuerClient } from '../issuer/client.ts'
import type { BackoffPolicy } from '../liveness/backoff.ts'
import type { AdmissionState, OwnToken } from './state.ts'
import type { PrivateKey } from '@libp2p/interface'
import type { Logger as PinoLogger } from 'pino'

export interface TokenManagerInit {
  client: IssuerClient
  privateKey: PrivateKey
  credential: string
  state: AdmissionState
  log: PinoLogger
  now?: () => number
  random?: () => number
  backoff?: BackoffPolicy
  /** how often to ask the issuer for announced keys, in ms */
  keysPollIntervalMs?: number
}

export interface TokenManagerEvents {
  token: CustomEvent<OwnToken>
}

const DEFAULT_BACKOFF: BackoffPolicy = { initialDelayMs: 500, maxDelayMs: 15_000, factor: 2, jitter: 0.5 }

export class TokenManager extends TypedEventEmitter<TokenManagerEvents> {
  private readonly init: TokenManagerInit
  private readonly now: () => number
  private readonly random: () => number
  private timer?: ReturnType<typeof setTimeout>
  private keysTimer?: ReturnType<typeof setInterval>
  private failures = 0
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

  constructor (init: TokenManagerInit) {
    super()
    this.init = init
    this.now = init.now ?? Date.now
    this.random = init.random ?? Math.random
    this.onEpoch = this.onEpoch.bind(this)
  }

  /** Fetch a first token (waiting up to `waitMs` for it), then keep it fresh. */
  async start (waitMs = 10_000): Promise<void> {
    this.running = true
    this.init.state.verifier.addEventListener('epoch', this.onEpoch)
    this.keysTimer = setInterval(() => { void this.syncKeys() }, this.init.keysPollIntervalMs ?? 30_000)
    this.keysTimer.unref?.()
    const first = this.refresh()
    await Promise.race([first, new Promise(resolve => setTimeout(resolve, waitMs).unref?.())])
  }

  stop (): void {
    this.running = false
    this.init.state.verifier.removeEventListener('epoch', this.onEpoch)
    clearTimeout(this.timer)
    clearInterval(this.keysTimer)
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

  /** Is our token (if we hold one) of an epoch before `epoch`? */
  private behind (epoch: number): boolean {
    const own = this.init.state.ownToken
    return own != null && own.claims.ep < epoch
  }

  private async fetch (): Promise<OwnToken | undefined> {
    clearTimeout(this.timer)
    try {
      const result = await this.init.client.token(this.init.privateKey, this.init.credential)
      // our own verifier checks it too: it learns the key and catches a misissued token
      const claims = await this.init.state.verifier.verify(result.token, { sub: undefined, keyCertificate: result.keyCertificate })
      const own: OwnToken = { token: result.token, keyCertificate: result.keyCertificate, claims }
      this.init.state.setOwnToken(own)
      this.failures = 0
      this.fetched++
      this.schedule(Math.max(1_000, ((claims.exp - claims.iat) * 1000) / 2 - (this.now() - claims.iat * 1000)))
      this.safeDispatchEvent('token', { detail: own })
      return own
    } catch (err: any) {
      const delay = backoffDelay(this.init.backoff ?? DEFAULT_BACKOFF, this.failures++, this.random)
      this.init.log.warn({ code: err?.code ?? err?.reason ?? err?.name, retryInMs: delay }, 'could not refresh the token; the current one stays valid until it expires')
      this.schedule(delay)
      return undefined
    }
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
    try {
      const keys = await this.init.client.keys()
      await this.init.state.verifier.setCurrent(keys.current)
      if (keys.announced != null) {
        await this.init.state.verifier.addKeyCertificate(keys.announced)
      }
    } catch (err: any) {
      this.init.log.debug({ code: err?.code ?? err?.reason }, 'could not sync issuer keys')
    }
  }

  private onEpoch (): void {
    // the verifier moved to a newer epoch: ours is refused from now on
    void this.catchUp()
  }
}

/**
 * Keeps the node's own token fresh: fetched at start, refreshed at half its
 * lifetime, at once when a peer shows that the signing key moved to a newer
 * epoch, and with jittered backoff while the issuer is unreachable (the
 * current token keeps working until it expires). It also keeps the
 * verifier's keys in step with the issuer's announcements.
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
    this.inFlight ??= this.fetch().finally(() => { this.inFlight = undefined })
    return this.inFlight
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

  private onEpoch (evt: CustomEvent<{ epoch: number }>): void {
    const own = this.init.state.ownToken
    if (own != null && own.claims.ep < evt.detail.epoch) {
      // a peer showed a newer epoch: ours is refused from now on, re-fetch now
      void this.refresh()
    }
  }
}

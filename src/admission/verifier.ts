/**
 * Token verification with strict rotation: only the current epoch is
 * accepted; older ones are refused as `rotated-key`; a token of a newer,
 * root-certified epoch proves the issuer activated that key and moves the
 * verifier forward. The clock is injected; nbf/exp allow a bounded skew.
 */
import { TypedEventEmitter } from 'main-event'
import { CLOCK_SKEW_MS, TOKEN_TTL_MAX_MS } from './constants.ts'
import { AdmissionError } from './errors.ts'
import { verifyKeyCertificate } from './key-certificate.ts'
import { claimedOverlay, tokenKid, verifyTokenSignature } from './token.ts'
import type { KeyCertificate } from './key-certificate.ts'
import type { TokenClaims } from './token.ts'
import type { KeyObject } from 'node:crypto'

export interface TokenVerifierInit {
  overlay: string
  issuer: string
  root: KeyObject
  now?: () => number
  skewMs?: number
  /** is this PeerId revoked? */
  isRevoked?: (peerId: string) => boolean
}

export interface VerifyExpectations {
  /** the PeerId the token must name (the Noise-authenticated remote) */
  sub?: string
  /** a key certificate sent along with the token (for a newer epoch) */
  keyCertificate?: string
  /**
   * check the time-bound claims at this instant (ms) instead of now: the
   * evidence of a gossip message must have been valid when it was published
   */
  at?: number
  /**
   * check everything but that the epoch is current: the exchange asks this
   * of a token refused as `rotated-key` before it tells the holder to
   * re-fetch, so only the genuine holder of a stale token hears it
   */
  acceptRotated?: boolean
}

export interface TokenVerifierEvents {
  /** the current epoch moved forward */
  epoch: CustomEvent<KeyCertificate>
}

const SIGNATURE_CACHE_SIZE = 2048

export class TokenVerifier extends TypedEventEmitter<TokenVerifierEvents> {
  readonly overlay: string
  readonly issuer: string
  private readonly root: KeyObject
  private readonly now: () => number
  private readonly skewMs: number
  private readonly isRevoked: (peerId: string) => boolean
  private readonly keys = new Map<string, KeyCertificate>()
  private currentKey?: KeyCertificate
  /** when each epoch became current here (this verifier's clock), oldest first */
  private readonly currentSince: Array<{ epoch: number, at: number }> = []
  /** token → claims for tokens whose signature already verified */
  private readonly verified = new Map<string, TokenClaims>()

  constructor (init: TokenVerifierInit) {
    super()
    this.overlay = init.overlay
    this.issuer = init.issuer
    this.root = init.root
    this.now = init.now ?? Date.now
    this.skewMs = init.skewMs ?? CLOCK_SKEW_MS
    this.isRevoked = init.isRevoked ?? (() => false)
  }

  get current (): KeyCertificate | undefined {
    return this.currentKey
  }

  get rootKey (): KeyObject {
    return this.root
  }

  /** Learn a root-signed signing key (announced or current). */
  async addKeyCertificate (jws: string): Promise<KeyCertificate> {
    const cert = await verifyKeyCertificate(jws, this.root, this.overlay)
    const known = this.keys.get(cert.kid)
    if (known != null && known.epoch !== cert.epoch) {
      throw new AdmissionError('malformed', 'two certificates for one kid')
    }
    this.keys.set(cert.kid, known ?? cert)
    return known ?? cert
  }

  /**
   * Make a certified key current. Never moves back. Only for what speaks for
   * the issuer (its `/v1/keys`, the enrolment): a certificate alone proves
   * that the root certified a key, not that the issuer signs with it yet, so
   * a certificate from a peer goes through `addKeyCertificate`, and only a
   * token that key signed moves the verifier (`verify`).
   */
  async setCurrent (jws: string): Promise<void> {
    const cert = await this.addKeyCertificate(jws)
    this.advance(cert)
  }

  certificateFor (kid: string): KeyCertificate | undefined {
    return this.keys.get(kid)
  }

  /** Verify a token; throws an `AdmissionError` naming the reason. */
  async verify (token: string, expect: VerifyExpectations = {}): Promise<TokenClaims> {
    // a token whose signature verified before: only the epoch and the
    // time-dependent claims need checking again
    const seen = this.verified.get(token)
    if (seen != null) {
      this.checkHolder(seen, expect)
      this.checkEpoch(seen.ep, expect)
      this.checkClaims(seen, expect)
      return seen
    }
    const kid = tokenKid(token)
    let cert = this.keys.get(kid)
    if (cert == null) {
      // a key we never learnt, on a token naming another overlay: a node of
      // that overlay, not a forger of ours (its certificate is by another root)
      const overlay = claimedOverlay(token)
      if (overlay != null && overlay !== this.overlay) {
        throw new AdmissionError('foreign-overlay', `a token of overlay ${JSON.stringify(overlay)}, not ${JSON.stringify(this.overlay)}`, { overlay })
      }
    }
    if (cert == null && expect.keyCertificate != null && expect.keyCertificate !== '') {
      cert = await this.addKeyCertificate(expect.keyCertificate)
      if (cert.kid !== kid) {
        throw new AdmissionError('unknown-key', 'the certificate is for another key')
      }
    }
    if (cert == null) {
      throw new AdmissionError('unknown-key')
    }
    let claims = this.verified.get(token)
    if (claims == null) {
      claims = (await verifyTokenSignature(token, cert.publicKey)).claims
      if (claims.ep !== cert.epoch) {
        throw new AdmissionError('malformed', 'epoch claim does not match the key')
      }
      if (this.verified.size >= SIGNATURE_CACHE_SIZE) {
        this.verified.delete(this.verified.keys().next().value as string)
      }
      this.verified.set(token, claims)
    }
    // `rotated-key` comes after the signature: callers treat it as an honest
    // holder's refusal (re-fetch, retry, keep a carrier's copy), so it is
    // said only of a token the issuer signed; a forgery that merely names an
    // old kid is refused as what it is
    // whose token it is and whether it is revoked come first: a stolen or a
    // revoked token costs what it is, even when it is also stale or expired
    // (staleness and expiry are honest faults, charged nothing)
    this.checkHolder(claims, expect)
    this.checkEpoch(cert.epoch, expect)
    this.checkClaims(claims, expect)
    // the issuer signs only with its current key: a valid token of a newer
    // epoch proves that key is current now
    this.advance(cert)
    return claims
  }

  private checkEpoch (epoch: number, expect: VerifyExpectations): void {
    if (expect.acceptRotated !== true && this.currentKey != null && epoch < this.currentKey.epoch) {
      throw new AdmissionError('rotated-key')
    }
  }

  /** Is it the right peer's token, and is that peer not revoked? */
  private checkHolder (claims: TokenClaims, expect: VerifyExpectations): void {
    if (expect.sub != null && claims.sub !== expect.sub) {
      throw new AdmissionError('wrong-subject')
    }
    if (this.isRevoked(claims.sub)) {
      throw new AdmissionError('revoked')
    }
  }

  private checkClaims (claims: TokenClaims, expect: VerifyExpectations): void {
    const now = expect.at ?? this.now()
    if (claims.iss !== this.issuer) {
      throw new AdmissionError('wrong-issuer')
    }
    if (claims.aud !== this.overlay) {
      throw new AdmissionError('wrong-audience')
    }
    if (claims.nbf * 1000 - this.skewMs > now) {
      throw new AdmissionError('not-yet-valid')
    }
    if (claims.exp * 1000 + this.skewMs < now) {
      throw new AdmissionError('expired', undefined, { expiredForMs: now - claims.exp * 1000 })
    }
    if (claims.exp <= claims.nbf || (claims.exp - claims.nbf) * 1000 > TOKEN_TTL_MAX_MS) {
      throw new AdmissionError('lifetime')
    }
  }

  /**
   * When this verifier first held an epoch newer than `epoch` as current:
   * anything honestly made under `epoch` was made before then (the issuer
   * stops signing with a key before any verifier hears of its successor).
   * Undefined while `epoch` is not behind.
   */
  supersededAt (epoch: number): number | undefined {
    return this.currentSince.find(c => c.epoch > epoch)?.at
  }

  private advance (cert: KeyCertificate): void {
    if (this.currentKey == null || cert.epoch > this.currentKey.epoch) {
      this.currentSince.push({ epoch: cert.epoch, at: this.now() })
      this.currentKey = cert
      this.safeDispatchEvent('epoch', { detail: cert })
    }
  }
}

/**
 * Evidence carried with something made at `at` (a bundle, an endorsement):
 * valid then, or valid now — a holder may have swapped in a newer token,
 * which is not valid yet at `at`. Any other refusal stands.
 */
export async function verifyThenOrNow<T> (verify: (at?: number) => Promise<T>, at: number): Promise<T> {
  try {
    return await verify(at)
  } catch (err) {
    if (!(err instanceof AdmissionError) || err.reason !== 'not-yet-valid') {
      throw err
    }
    return await verify()
  }
}

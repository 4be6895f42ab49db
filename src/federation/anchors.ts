/**
 * Trust anchors: the root keys of other overlays this overlay federates
 * with, configured by an operator (`tempus federation anchor add`). An
 * anchor vouches for a remote bridge's key when the bridge's token, checked
 * under that root (strict key rotation included), names that key's PeerId
 * as a bridge of that overlay.
 */
import { generateKeyPairSync } from 'node:crypto'
import { decodeJwt } from 'jose'
import { AdmissionError } from '../admission/errors.ts'
import { publicKeyFromRawBytes } from '../core/keys.ts'
import { RevocationState, verifyRevocationList } from '../admission/revocation.ts'
import { TokenVerifier } from '../admission/verifier.ts'
import type { TokenClaims } from '../admission/token.ts'
import type { VerifyExpectations } from '../admission/verifier.ts'

export interface TrustAnchor {
  overlay: string
  /** the overlay's root public key, Ed25519 raw bytes in base64url */
  root: string
  /** the issuer id its tokens carry (default `issuer.<overlay>`) */
  issuer?: string
}

/** Validate an anchor from outside (API, CLI); throws a `TypeError` naming the field. */
export function parseAnchor (value: Record<string, unknown>): TrustAnchor {
  const { overlay, root, issuer, ...rest } = value
  if (Object.keys(rest).length > 0) {
    throw new TypeError(`unknown field ${Object.keys(rest)[0] ?? ''}`)
  }
  if (typeof overlay !== 'string' || overlay.length === 0 || overlay.length > 128) {
    throw new TypeError('overlay: 1–128 characters')
  }
  if (typeof root !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(root)) {
    throw new TypeError('root: 32 bytes of Ed25519 in base64url (43 characters)')
  }
  if (issuer != null && (typeof issuer !== 'string' || issuer.length === 0 || issuer.length > 256)) {
    throw new TypeError('issuer: 1–256 characters')
  }
  return { overlay, root, ...(issuer != null ? { issuer: issuer as string } : {}) }
}

interface AnchorEntry {
  anchor: TrustAnchor
  verifier: TokenVerifier
  /** the overlay's revocation list, as its bridges hand it across (signed by the overlay's root) */
  revocations: RevocationState
}

export class TrustAnchors {
  private readonly verifiers = new Map<string, AnchorEntry>()
  private readonly now: () => number

  constructor (anchors: TrustAnchor[] = [], now: () => number = Date.now) {
    this.now = now
    anchors.forEach(a => { this.add(a) })
  }

  /** Add or replace an overlay's anchor; throws if the root is not an Ed25519 key. */
  add (anchor: TrustAnchor): void {
    const raw = Buffer.from(anchor.root, 'base64url')
    if (raw.length !== 32) {
      throw new TypeError('a root key is 32 bytes of Ed25519, base64url')
    }
    // the same root again (an operator re-adding it) keeps the list held: no rollback to none
    const held = this.verifiers.get(anchor.overlay)
    const revocations = held != null && held.anchor.root === anchor.root ? held.revocations : new RevocationState()
    const verifier = new TokenVerifier({ overlay: anchor.overlay, issuer: anchor.issuer ?? `issuer.${anchor.overlay}`, root: publicKeyFromRawBytes(raw), now: this.now, isRevoked: peer => revocations.isRevoked(peer) })
    this.verifiers.set(anchor.overlay, { anchor: { ...anchor }, verifier, revocations })
  }

  /**
   * An overlay's revocation list, handed across by one of its bridges: it
   * counts only if its root signed it for that overlay and it is newer than
   * the one held. Returns the PeerIds newly revoked (undefined when not
   * newer); throws an `AdmissionError` if it does not verify.
   */
  async applyRevocations (overlay: string, jws: string): Promise<string[] | undefined> {
    const entry = this.verifiers.get(overlay)
    if (entry == null) {
      throw new AdmissionError('wrong-audience', 'no trust anchor for that overlay')
    }
    const list = await verifyRevocationList(jws, publicKeyFromRawBytes(Buffer.from(entry.anchor.root, 'base64url')), overlay, this.now())
    return entry.revocations.apply(list, this.now())
  }

  /** The number of the newest revocation list held for `overlay` (-1: none). */
  revocationNumber (overlay: string): number {
    return this.verifiers.get(overlay)?.revocations.number ?? -1
  }

  isRevoked (overlay: string, peer: string): boolean {
    return this.verifiers.get(overlay)?.revocations.isRevoked(peer) === true
  }

  remove (overlay: string): boolean {
    return this.verifiers.delete(overlay)
  }

  list (): TrustAnchor[] {
    return [...this.verifiers.values()].map(v => ({ ...v.anchor }))
  }

  has (overlay: string): boolean {
    return this.verifiers.has(overlay)
  }

  /**
   * Verify a token of an anchored overlay (the one its `aud` names) for a
   * bridge; throws an `AdmissionError` otherwise. What the federation
   * endpoint's admission runs instead of the overlay's own verifier.
   */
  async verifyBridge (token: string, expect: VerifyExpectations = {}): Promise<TokenClaims> {
    let aud: unknown
    try {
      aud = decodeJwt(token).aud
    } catch {
      throw new AdmissionError('malformed', 'the token does not decode')
    }
    const entry = typeof aud === 'string' ? this.verifiers.get(aud) : undefined
    if (entry == null) {
      throw new AdmissionError('wrong-audience', 'no trust anchor for that overlay')
    }
    const claims = await entry.verifier.verify(token, expect)
    if (claims.typ !== 'bridge') {
      throw new AdmissionError('wrong-type', 'only bridges federate')
    }
    return claims
  }

  /** Verify a token of `overlay`, any type (an origin of a relayed anomaly); throws an `AdmissionError`. */
  async verifyMember (overlay: string, token: string, expect: VerifyExpectations = {}): Promise<TokenClaims> {
    const entry = this.verifiers.get(overlay)
    if (entry == null) {
      throw new AdmissionError('wrong-audience', 'no trust anchor for that overlay')
    }
    return await entry.verifier.verify(token, expect)
  }

  /** Does the anchor of `overlay` vouch for `remoteId` as a bridge, by this token? */
  async vouches (overlay: string, remoteId: string, evidence: { token: string, keyCertificate: string }): Promise<boolean> {
    const entry = this.verifiers.get(overlay)
    if (entry == null || evidence.token === '') {
      return false
    }
    try {
      const claims = await entry.verifier.verify(evidence.token, { sub: remoteId, keyCertificate: evidence.keyCertificate === '' ? undefined : evidence.keyCertificate })
      return claims.typ === 'bridge'
    } catch {
      return false
    }
  }
}

/**
 * The verifier the federation endpoint's admission uses: a token is taken
 * only from a bridge of an anchored overlay. It has no epoch of its own
 * (each anchor keeps its own strict rotation), so the exchange's retry on a
 * rotated key never applies to it.
 */
export class AnchoredBridgeVerifier extends TokenVerifier {
  private readonly anchors: TrustAnchors

  constructor (anchors: TrustAnchors) {
    // the base class needs a root; none of its own is ever used
    super({ overlay: '', issuer: '', root: generateKeyPairSync('ed25519').publicKey })
    this.anchors = anchors
  }

  override async verify (token: string, expect: VerifyExpectations = {}): Promise<TokenClaims> {
    return await this.anchors.verifyBridge(token, expect)
  }

  override async setCurrent (): Promise<void> {}
}

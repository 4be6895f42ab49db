/**
 * Membership credentials: signing them, and the one check every member's
 * request passes (a token, a renewal, a re-key): a credential of this
 * issuer, unexpired, for a member that is neither revoked nor of another
 * type now, presented with a proof of possession of its key on a fresh
 * challenge signed for the request's purpose.
 */
import { randomUUID } from 'node:crypto'
import { peerIdFromString } from '@libp2p/peer-id'
import { JWT_TYPE_CREDENTIAL } from '../admission/constants.ts'
import { signToken, verifyTokenSignature } from '../admission/token.ts'
import { DOMAINS } from '../core/domains.ts'
import { publicKeyFromRawBytes, verifyDomain } from '../core/keys.ts'
import { challengeMessage } from '../issuer-client/wire.ts'
import { unb64 } from './encoding.ts'
import { IssuerError } from './errors.ts'
import { VerifiedCredentials } from './verified-credentials.ts'
import type { SigningKey } from '../admission/token.ts'
import type { PeerType } from '../core/peer-type.ts'
import type { ChallengePurpose } from '../issuer-client/wire.ts'
import type { ChallengeBook } from './challenge.ts'
import type { IssuerDb } from './db/sql.ts'
import type { VerifiedCredential } from './verified-credentials.ts'

export interface MembersInit {
  db: IssuerDb
  /** signs credentials (its own key, not a token signing key) */
  credentialKey: SigningKey
  challenges: ChallengeBook
  overlay: string
  issuer: string
  credentialTtlMs: number
  now: () => number
}

/** A member's request that passed every check. */
export interface VerifiedMember {
  sub: string
  typ: PeerType
  /** when it was checked, ms since the epoch */
  now: number
  /** the challenge it redeemed (a re-key's second proof is over it too) */
  challenge: Uint8Array
  /** a re-key to this key is waiting for its first token */
  rekeyed: boolean
}

export class Members {
  readonly credentialTtlMs: number
  private readonly init: MembersInit
  private readonly verified = new VerifiedCredentials()

  constructor (init: MembersInit) {
    this.init = init
    this.credentialTtlMs = init.credentialTtlMs
  }

  async signCredential (peerId: string, typ: PeerType, now: number): Promise<string> {
    return await signToken(this.init.credentialKey, {
      iss: this.init.issuer,
      aud: this.init.overlay,
      sub: peerId,
      typ,
      iat: Math.floor(now / 1000),
      nbf: Math.floor(now / 1000),
      exp: Math.floor((now + this.credentialTtlMs) / 1000),
      jti: randomUUID()
    }, JWT_TYPE_CREDENTIAL)
  }

  /** when a credential signed at `now` expires, ms since the epoch (whole seconds, as in its claims) */
  expiryOf (now: number): number {
    return Math.floor((now + this.credentialTtlMs) / 1000) * 1000
  }

  /** The one check of a member's request; `bound` are the extra bytes its proof signs (a re-key's new key). */
  async verify (req: { credential: unknown, challenge: unknown, signature: unknown }, purpose: ChallengePurpose, ...bound: Uint8Array[]): Promise<VerifiedMember> {
    const { db, challenges, overlay, issuer } = this.init
    if (typeof req?.credential !== 'string' || req.credential.length > 2048) {
      throw new IssuerError('bad-request', 'credential must be a string')
    }
    const challenge = unb64(req.challenge, 'challenge', 128)
    const signature = unb64(req.signature, 'signature', 128)
    const verified = await this.credential(req.credential)
    const claims = verified.claims
    const now = this.init.now()
    if (claims.aud !== overlay || claims.iss !== issuer || claims.exp * 1000 < now) {
      throw new IssuerError('invalid-credential', 'the credential is expired or for another overlay')
    }
    if (!challenges.redeem(challenge)) {
      throw new IssuerError('invalid-challenge', 'the challenge is unknown, used or stale; ask for a new one')
    }
    if (!verifyDomain(verified.holderKey, signature, DOMAINS.issuerChallenge, ...challengeMessage(purpose, challenge, ...bound))) {
      throw new IssuerError('invalid-proof', 'the signature does not prove possession of the key')
    }
    // membership, revocation and a re-key waiting for this key, in one read
    const member = await db.one<{ typ: PeerType, revoked: number | boolean, rekeyed: number | boolean }>('SELECT typ, EXISTS (SELECT 1 FROM revoked WHERE revoked.peer_id = members.peer_id) AS revoked, EXISTS (SELECT 1 FROM rekeys WHERE rekeys.new_peer_id = members.peer_id AND rekeys.state = \'pending\') AS rekeyed FROM members WHERE peer_id = $1', [claims.sub])
    // a credential of a type the member no longer has (it re-enrolled as
    // another type) is as dead as a revoked one
    if (member == null || Boolean(member.revoked) || member.typ !== claims.typ) {
      throw new IssuerError('revoked', 'this key is revoked')
    }
    return { sub: claims.sub, typ: claims.typ, now, challenge, rekeyed: Boolean(member.rekeyed) }
  }

  /** A credential's claims once its signature verified (cached: `verified-credentials.ts`), with its holder's key. */
  private async credential (credential: string): Promise<VerifiedCredential> {
    const known = this.verified.get(credential)
    if (known != null) {
      return known
    }
    let claims
    try {
      claims = (await verifyTokenSignature(credential, this.init.credentialKey.publicKey, JWT_TYPE_CREDENTIAL)).claims
    } catch {
      throw new IssuerError('invalid-credential', 'the credential is not valid')
    }
    let holder
    try {
      holder = peerIdFromString(claims.sub).publicKey
    } catch {}
    if (holder?.type !== 'Ed25519') {
      throw new IssuerError('invalid-credential', 'the credential names no Ed25519 key')
    }
    const entry = { claims, holderKey: publicKeyFromRawBytes(holder.raw) }
    this.verified.set(credential, entry)
    return entry
  }
}

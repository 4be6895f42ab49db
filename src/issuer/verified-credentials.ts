/**
 * Credentials whose signature this issuer already checked, with their
 * holder's public key ready to check proofs. A node presents the same
 * credential (byte for byte) at every token request for days; checking its
 * signature again each time was a fifth of the issuer's CPU per token.
 * Only the signature check is skipped: expiry, membership, revocation and
 * the proof of possession are checked on every request as before. Bounded:
 * the oldest entry goes when it is full (an attacker's junk never gets in,
 * only credentials whose signature verified).
 */
import type { TokenClaims } from '../admission/token.ts'
import type { KeyObject } from 'node:crypto'

export interface VerifiedCredential {
  claims: TokenClaims
  /** the holder's Ed25519 public key, for its proofs of possession */
  holderKey: KeyObject
}

/** @default entries kept at most: a fleet of this many nodes never misses */
export const VERIFIED_CREDENTIALS_MAX = 50_000

export class VerifiedCredentials {
  private readonly entries = new Map<string, VerifiedCredential>()
  private readonly max: number

  constructor (max = VERIFIED_CREDENTIALS_MAX) {
    this.max = max
  }

  get (credential: string): VerifiedCredential | undefined {
    return this.entries.get(credential)
  }

  set (credential: string, entry: VerifiedCredential): void {
    if (this.entries.size >= this.max && !this.entries.has(credential)) {
      const oldest = this.entries.keys().next()
      if (oldest.done !== true) {
        this.entries.delete(oldest.value)
      }
    }
    this.entries.set(credential, entry)
  }

  get size (): number {
    return this.entries.size
  }
}

/**
 * Revocation lists: signed by the issuer's root key, or (an offline root)
 * by a revocation key whose root-signed certificate rides in the list's
 * protected header (`rkc`), numbered monotonically. A node keeps the
 * newest valid list it has seen and ignores older ones, whether they
 * arrive over HTTP or gossip: newest by the serial of the revocation-key
 * certificate it was signed under, then by number, so lists signed under
 * a retired (perhaps stolen) revocation key lose to every list under its
 * successor. protocols/admission.md.
 */
import { decodeProtectedHeader } from 'jose'
import { AdmissionError } from './errors.ts'
import { verifyJws } from './jws.ts'
import { signCompactJws } from './jws-sign.ts'
import { verifyRoleCertificate } from './role-certificate.ts'
import type { SignerKey } from '../core/keys.ts'
import type { KeyObject } from 'node:crypto'

export const JWT_TYPE_CRL = 'tempus-crl+jwt'
export const MAX_CRL_BYTES = 1024 * 1024
export const MAX_CRL_ENTRIES = 20_000

export interface RevokedEntry {
  /** PeerId */
  sub: string
  reason: string
  /** seconds since the epoch */
  at: number
}

export interface RevocationList {
  aud: string
  /** strictly increasing */
  n: number
  iat: number
  revoked: RevokedEntry[]
  /** the serial of the revocation-key certificate it was signed under; absent when the root signed it */
  keySerial?: number
  jws: string
}

/**
 * Sign a list with the root, or with a revocation key: then `certificate`
 * is the key's root-signed certificate, carried in the protected header.
 */
export async function signRevocationList (key: SignerKey, overlay: string, n: number, revoked: RevokedEntry[], nowMs: number, certificate?: string): Promise<string> {
  return signCompactJws(key, { typ: JWT_TYPE_CRL, ...(certificate != null ? { rkc: certificate } : {}) }, { aud: overlay, n, iat: Math.floor(nowMs / 1000), revoked })
}

/**
 * Verify a list signed by `root`, or by a revocation key that a root-signed
 * certificate in its header certifies, valid at `nowMs`. A list that names
 * a certificate is checked with that certificate's key only (never the
 * root's), and a list without one with the root only.
 */
export async function verifyRevocationList (jws: string, root: KeyObject, overlay: string, nowMs: number): Promise<RevocationList> {
  if (typeof jws !== 'string' || jws.length === 0 || jws.length > MAX_CRL_BYTES) {
    throw new AdmissionError('malformed', 'revocation list missing or too large')
  }
  let rkc: unknown
  try {
    rkc = decodeProtectedHeader(jws).rkc
  } catch {
    throw new AdmissionError('malformed', 'revocation list is not a JWS')
  }
  let signer = root
  let keySerial: number | undefined
  if (rkc != null) {
    if (typeof rkc !== 'string') {
      throw new AdmissionError('malformed', 'revocation list names a malformed revocation-key certificate')
    }
    const cert = await verifyRoleCertificate(rkc, root, overlay, 'revocation', nowMs)
    signer = cert.publicKey
    keySerial = cert.sn
  }
  const { payload } = await verifyJws(jws, signer, JWT_TYPE_CRL, MAX_CRL_BYTES, 'revocation list')
  if (payload?.aud !== overlay || !Number.isSafeInteger(payload.n) || payload.n < 0 || !Number.isSafeInteger(payload.iat) ||
    !Array.isArray(payload.revoked) || payload.revoked.length > MAX_CRL_ENTRIES ||
    !payload.revoked.every((e: any) => typeof e?.sub === 'string' && e.sub.length <= 128 && typeof e.reason === 'string' && e.reason.length <= 256 && Number.isSafeInteger(e.at))) {
    throw new AdmissionError('malformed', 'revocation list claims are incomplete')
  }
  return { aud: overlay, n: payload.n, iat: payload.iat, revoked: payload.revoked, ...(keySerial != null ? { keySerial } : {}), jws }
}

/** The node's view: the newest list wins, older and equal numbers are ignored. */
export class RevocationState {
  private list?: RevocationList
  private set = new Set<string>()
  private keySerial = 0
  /** when this node first held a list revoking each peer (its own clock, ms) */
  private heardAt = new Map<string, number>()

  get number (): number {
    return this.list?.n ?? -1
  }

  get current (): RevocationList | undefined {
    return this.list
  }

  isRevoked (peerId: string): boolean {
    return this.set.has(peerId)
  }

  /**
   * When this node first held a list revoking `peerId` (ms, its own clock),
   * or undefined if it is not revoked. Other nodes hear of a revocation at
   * about the same time, not at once: what one of them passes on about a
   * peer revoked a moment ago is judged against this.
   */
  heardOf (peerId: string): number | undefined {
    return this.set.has(peerId) ? this.heardAt.get(peerId) : undefined
  }

  /**
   * Would `list` replace the one held? Lists are ordered by the serial of
   * the revocation-key certificate they were signed under (a root-signed
   * list counts as serial 0), then by number: a list under a newer key
   * always wins, whatever its number, so a retired (perhaps stolen) key
   * cannot pin nodes to its own list by numbering it 2^53 - 1; under one
   * key, the higher number wins.
   */
  accepts (list: Pick<RevocationList, 'n' | 'keySerial'>): boolean {
    const serial = list.keySerial ?? 0
    return serial > this.keySerial || (serial === this.keySerial && list.n > this.number)
  }

  /** Returns the PeerIds newly revoked, or undefined when the list is not newer (or signed by a retired key). */
  apply (list: RevocationList, nowMs: number): string[] | undefined {
    if (!this.accepts(list)) {
      return undefined
    }
    this.keySerial = list.keySerial ?? 0
    const next = new Set(list.revoked.map(e => e.sub))
    const added = [...next].filter(p => !this.set.has(p))
    this.list = list
    this.set = next
    for (const peer of added) {
      this.heardAt.set(peer, nowMs)
    }
    for (const peer of this.heardAt.keys()) {
      if (!next.has(peer)) {
        this.heardAt.delete(peer)
      }
    }
    return added
  }
}

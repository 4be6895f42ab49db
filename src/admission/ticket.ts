/**
 * Resumption tickets (admission.md, "Resumption tickets"): after a full
 * admission, each side seals for the other what it verified — the other's
 * PeerId, its token and claims, the epoch — under a key only it holds. On
 * a later connection the other presents it, and its issuer opens it with
 * AES-256-GCM alone: no signature to make or check.
 *
 * A ticket's header is readable by its holder (to know when it lapses and
 * of which epoch it is) and authenticated with the body:
 *
 *   version(1) ‖ keyId(4) ‖ expiresAt(8, ms) ‖ epoch(4) ‖ iv(12) ‖ AES-256-GCM(body) ‖ tag(16)
 *
 * Pure: no libp2p, no I/O; the clock and the randomness are injected.
 */
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { DOMAINS } from '../core/domains.ts'
import type { TokenClaims } from './token.ts'

const VERSION = 1
const HEADER_BYTES = 1 + 4 + 8 + 4
const IV_BYTES = 12
const TAG_BYTES = 16
/** a ticket larger than this is neither made nor read (it rides in an 8 KiB hello beside a token) */
export const MAX_TICKET_BYTES = 3072
/** the longest a ticket lives: shorter than any token (TOKEN_TTL_MIN_MS) */
export const MAX_TICKET_LIFETIME_MS = 120_000
/** the secret sealed in a ticket and handed to its subject beside it */
export const TICKET_SECRET_BYTES = 32

/** What a ticket vouches for. */
export interface TicketContents {
  /** who sealed it (and alone can open it) */
  issuer: string
  /** whom it admits: the Noise-authenticated PeerId it must be presented by */
  subject: string
  /** the subject's token the issuer verified, and its claims */
  token: string
  claims: TokenClaims
  /** signing-key epoch of that token */
  epoch: number
  issuedAt: number
  expiresAt: number
  /** 16 random bytes, hex: counts its uses */
  id: string
  /**
   * 32 random bytes handed to the subject beside the ticket, inside Noise:
   * presenting the ticket before Noise, the subject proves it holds them
   * (resume-handshake.ts). A ticket sealed by an older version has none.
   */
  secret?: Uint8Array
}

/** What a holder can read of a ticket without its key. */
export interface TicketHeader {
  expiresAt: number
  epoch: number
}

export type TicketRefusal =
  /** too short, too long, another version */
  | 'malformed'
  /** sealed with a key this node no longer (or never) held: a restart, or older than two rotations */
  | 'unknown-key'
  /** the tag does not verify: made or altered by someone without the key */
  | 'forged'
  | 'expired'
  /** of an epoch that is not the current one */
  | 'epoch'
  /** not sealed by this node, or presented by another peer than its subject */
  | 'not-for-this-link'
  /** presented more often than its use count */
  | 'replayed'

export function readTicketHeader (ticket: Uint8Array): TicketHeader | undefined {
  if (ticket.length < HEADER_BYTES + IV_BYTES + TAG_BYTES || ticket.length > MAX_TICKET_BYTES || ticket[0] !== VERSION) {
    return undefined
  }
  const view = Buffer.from(ticket.buffer, ticket.byteOffset, ticket.byteLength)
  return { expiresAt: Number(view.readBigUInt64BE(5)), epoch: view.readUInt32BE(13) }
}

interface SealingKey {
  id: number
  /** a KeyObject: Node prepares a raw key anew for every use, at several times AES-GCM's cost on a ticket */
  key: KeyObject
  createdAt: number
}

export interface TicketKeysInit {
  now: () => number
  /** how long one key seals new tickets; default 60 s */
  rotateMs?: number
  random?: (n: number) => Uint8Array
}

/**
 * The keys a node seals its tickets with: a new one every `rotateMs`, each
 * kept to open tickets until the longest-lived ticket it sealed has lapsed.
 * Memory only: a restart forgets them, and every ticket handed out before
 * it then falls back to the full exchange.
 */
export class TicketKeys {
  private readonly now: () => number
  private readonly rotateMs: number
  private readonly random: (n: number) => Uint8Array
  private readonly keys: SealingKey[] = []

  constructor (init: TicketKeysInit) {
    this.now = init.now
    this.rotateMs = init.rotateMs ?? 60_000
    this.random = init.random ?? ((n) => randomBytes(n))
  }

  private current (): SealingKey {
    const now = this.now()
    const newest = this.keys.at(-1)
    if (newest != null && now - newest.createdAt < this.rotateMs && now >= newest.createdAt) {
      return newest
    }
    // a key opens tickets until its last ticket lapsed: sealed up to rotateMs after it was made
    while (this.keys.length > 0 && now - (this.keys[0] as SealingKey).createdAt > this.rotateMs + MAX_TICKET_LIFETIME_MS) {
      this.keys.shift()
    }
    const id = Buffer.from(this.random(4)).readUInt32BE(0)
    const key = { id, key: createSecretKey(this.random(32)), createdAt: now }
    this.keys.push(key)
    return key
  }

  seal (contents: TicketContents): Uint8Array | undefined {
    const key = this.current()
    const header = Buffer.alloc(HEADER_BYTES)
    header.writeUInt8(VERSION, 0)
    header.writeUInt32BE(key.id, 1)
    header.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(contents.expiresAt))), 5)
    header.writeUInt32BE(contents.epoch >>> 0, 13)
    const iv = Buffer.from(this.random(IV_BYTES))
    const cipher = createCipheriv('aes-256-gcm', key.key, iv)
    cipher.setAAD(Buffer.concat([Buffer.from(DOMAINS.admitTicket), header]))
    const body = Buffer.from(JSON.stringify({ i: contents.issuer, s: contents.subject, t: contents.token, c: contents.claims, at: contents.issuedAt, id: contents.id, ...(contents.secret == null ? {} : { k: Buffer.from(contents.secret).toString('base64') }) }))
    const sealed = Buffer.concat([header, iv, cipher.update(body), cipher.final(), cipher.getAuthTag()])
    return sealed.length > MAX_TICKET_BYTES ? undefined : new Uint8Array(sealed)
  }

  /** Open a ticket this node sealed; its checks against the link are the caller's (`TicketDesk`). */
  open (ticket: Uint8Array): TicketContents | TicketRefusal {
    const header = readTicketHeader(ticket)
    if (header == null) {
      return 'malformed'
    }
    const view = Buffer.from(ticket.buffer, ticket.byteOffset, ticket.byteLength)
    const keyId = view.readUInt32BE(1)
    const key = this.keys.find(k => k.id === keyId)
    if (key == null) {
      return 'unknown-key'
    }
    const iv = view.subarray(HEADER_BYTES, HEADER_BYTES + IV_BYTES)
    const body = view.subarray(HEADER_BYTES + IV_BYTES, view.length - TAG_BYTES)
    let plain: Buffer
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.key, iv)
      decipher.setAAD(Buffer.concat([Buffer.from(DOMAINS.admitTicket), view.subarray(0, HEADER_BYTES)]))
      decipher.setAuthTag(view.subarray(view.length - TAG_BYTES))
      plain = Buffer.concat([decipher.update(body), decipher.final()])
    } catch {
      return 'forged'
    }
    // sealed by us, so well-formed; parsed defensively all the same
    try {
      const b = JSON.parse(plain.toString('utf8'))
      if (typeof b.i !== 'string' || typeof b.s !== 'string' || typeof b.t !== 'string' || typeof b.id !== 'string' || typeof b.at !== 'number' || typeof b.c !== 'object' || b.c == null || (b.k != null && typeof b.k !== 'string')) {
        return 'malformed'
      }
      const secret = typeof b.k === 'string' ? new Uint8Array(Buffer.from(b.k, 'base64')) : undefined
      if (secret != null && secret.length !== TICKET_SECRET_BYTES) {
        return 'malformed'
      }
      return { issuer: b.i, subject: b.s, token: b.t, claims: b.c as TokenClaims, issuedAt: b.at, expiresAt: header.expiresAt, epoch: header.epoch, id: b.id, secret }
    } catch {
      return 'malformed'
    }
  }
}

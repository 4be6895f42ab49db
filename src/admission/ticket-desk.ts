/**
 * A node's resumption tickets, both ways: the ones it grants (sealed with
 * its `TicketKeys`, each bounded by its subject's token and by two
 * minutes) and checks when presented, counting each one's uses; and the
 * ones other nodes granted it, held by issuer until they lapse. Pure: the
 * exchange (`exchange.ts`) decides when to ask and what a refusal means
 * (the full exchange, never less).
 */
import { randomBytes } from 'node:crypto'
import { MAX_TICKET_LIFETIME_MS, TICKET_SECRET_BYTES, TicketKeys, readTicketHeader } from './ticket.ts'
import { ownBytes } from '../core/own-bytes.ts'
import type { TicketContents, TicketHeader, TicketRefusal } from './ticket.ts'
import type { TokenClaims } from './token.ts'

export const TICKET_DEFAULTS = {
  lifetimeMs: MAX_TICKET_LIFETIME_MS,
  /**
   * how often one ticket may be presented: once, as TLS 1.3 advises — each
   * resumption hands out a fresh ticket, and one presented before Noise
   * crosses the wire in the clear, so a second use would link two
   * connections and a replay could spend it
   */
  maxUses: 1,
  /** tickets held from other nodes */
  maxHeld: 4096,
  /** tickets of ours whose uses are counted */
  maxCounted: 65_536,
  /** a ticket is not worth granting for less than this */
  minLifetimeMs: 10_000,
  /** nor presented in its last moments: it could lapse on the way */
  marginMs: 2_000
}

export interface TicketDeskInit {
  now: () => number
  keys?: TicketKeys
  random?: (n: number) => Uint8Array
  lifetimeMs?: number
  maxUses?: number
  maxHeld?: number
  maxCounted?: number
}

/** A ticket granted, and the secret sealed in it, for its subject. */
export interface Grant {
  ticket: Uint8Array
  secret: Uint8Array
}

/** What this node verified of a ticket's issuer when it was granted (to admit it again on a resumption). */
export interface IssuerRecord {
  claims: TokenClaims
  token: string
}

/** A ticket held with what is needed to resume on it before Noise. */
export interface Resumable extends IssuerRecord {
  ticket: Uint8Array
  secret: Uint8Array
}

interface Held {
  ticket: Uint8Array
  header: TicketHeader
  uses: number
  secret?: Uint8Array
  issuer?: IssuerRecord
}

export class TicketDesk {
  private readonly now: () => number
  private readonly keys: TicketKeys
  private readonly random: (n: number) => Uint8Array
  private readonly lifetimeMs: number
  private readonly maxUses: number
  private readonly maxHeld: number
  private readonly maxCounted: number
  /** tickets other nodes granted us, by their issuer */
  private readonly held = new Map<string, Held>()
  /** uses of the tickets we granted, by ticket id, until each lapses */
  private readonly counted = new Map<string, { uses: number, expiresAt: number }>()

  constructor (init: TicketDeskInit) {
    this.now = init.now
    this.random = init.random ?? ((n) => randomBytes(n))
    this.keys = init.keys ?? new TicketKeys({ now: init.now, random: this.random })
    this.lifetimeMs = Math.min(init.lifetimeMs ?? TICKET_DEFAULTS.lifetimeMs, MAX_TICKET_LIFETIME_MS)
    this.maxUses = init.maxUses ?? TICKET_DEFAULTS.maxUses
    this.maxHeld = init.maxHeld ?? TICKET_DEFAULTS.maxHeld
    this.maxCounted = init.maxCounted ?? TICKET_DEFAULTS.maxCounted
  }

  /**
   * A ticket for `subject`, whom `self` has just admitted with this token
   * (verified by a full exchange, or vouched for by a ticket it checked);
   * none when the token has too little life left.
   */
  grant (self: string, subject: string, admitted: { token: string, claims: TokenClaims }): Grant | undefined {
    const now = this.now()
    const expiresAt = Math.min(now + this.lifetimeMs, admitted.claims.exp * 1000)
    if (expiresAt - now < TICKET_DEFAULTS.minLifetimeMs) {
      return undefined
    }
    const secret = new Uint8Array(this.random(TICKET_SECRET_BYTES))
    const ticket = this.keys.seal({
      issuer: self,
      subject,
      token: admitted.token,
      claims: admitted.claims,
      epoch: admitted.claims.ep,
      issuedAt: now,
      expiresAt,
      id: Buffer.from(this.random(16)).toString('hex'),
      secret
    })
    return ticket == null ? undefined : { ticket, secret }
  }

  /**
   * Check a ticket `presenter` showed this node (`self`), counting the use.
   * Before Noise the presenter is not known yet (`undefined`): the ticket
   * names its subject, and the caller has the presenter prove it holds the
   * ticket's secret (resume-handshake.ts).
   */
  check (self: string, presenter: string | undefined, ticket: Uint8Array, epoch: number | undefined): TicketContents | TicketRefusal {
    const opened = this.open(self, presenter, ticket, epoch)
    return typeof opened === 'string' ? opened : this.use(opened)
  }

  /** `check` without counting a use: the caller counts it (`use`) once the presenter proved it holds the ticket's secret. */
  open (self: string, presenter: string | undefined, ticket: Uint8Array, epoch: number | undefined): TicketContents | TicketRefusal {
    const opened = this.keys.open(ticket)
    if (typeof opened === 'string') {
      return opened
    }
    const now = this.now()
    if (opened.issuer !== self || opened.subject !== (presenter ?? opened.subject) || opened.claims.sub !== opened.subject) {
      return 'not-for-this-link'
    }
    if (opened.expiresAt <= now) {
      return 'expired'
    }
    if (epoch == null || opened.epoch !== epoch || opened.claims.ep !== epoch) {
      return 'epoch'
    }
    return opened
  }

  /** Count a use of a ticket `open` accepted: refused once its uses are spent. */
  use (opened: TicketContents): TicketContents | TicketRefusal {
    const now = this.now()
    let count = this.counted.get(opened.id)
    if (count == null) {
      if (this.counted.size >= this.maxCounted) {
        for (const [id, c] of this.counted) {
          if (c.expiresAt <= now) this.counted.delete(id)
        }
      }
      if (this.counted.size >= this.maxCounted) {
        // a count forgotten would let a ticket be used again: refuse instead (the full exchange follows)
        return 'replayed'
      }
      count = { uses: 0, expiresAt: opened.expiresAt }
      this.counted.set(opened.id, count)
    }
    if (count.uses >= this.maxUses) {
      return 'replayed'
    }
    count.uses++
    return opened
  }

  /**
   * Keep a ticket `issuer` granted us (after it passed admission on this
   * link); with its secret and what we verified of the issuer, it can be
   * presented before Noise (`resumable`).
   */
  hold (issuer: string, ticket: Uint8Array, secret?: Uint8Array, record?: IssuerRecord): void {
    const header = readTicketHeader(ticket)
    const now = this.now()
    if (header == null || header.expiresAt - TICKET_DEFAULTS.marginMs <= now) {
      return
    }
    if (!this.held.has(issuer) && this.held.size >= this.maxHeld) {
      for (const [peer, h] of this.held) {
        if (h.header.expiresAt - TICKET_DEFAULTS.marginMs <= now) this.held.delete(peer)
      }
      if (this.held.size >= this.maxHeld) {
        // the oldest kept goes: insertion order
        this.held.delete(this.held.keys().next().value as string)
      }
    }
    this.held.delete(issuer)
    const resumable = secret?.length === TICKET_SECRET_BYTES && record != null
    this.held.set(issuer, { ticket: ownBytes(ticket), header, uses: 0, ...(resumable ? { secret: ownBytes(secret), issuer: { claims: record.claims, token: record.token } } : {}) })
  }

  /**
   * A ticket to present to `issuer` now, counted as used: one of its epoch
   * that will not lapse on the way and has uses left; else none (the full
   * exchange).
   */
  present (issuer: string, epoch: number | undefined): Uint8Array | undefined {
    const h = this.held.get(issuer)
    if (h == null) {
      return undefined
    }
    if (h.header.expiresAt - TICKET_DEFAULTS.marginMs <= this.now() || h.header.epoch !== epoch || h.uses >= this.maxUses) {
      this.held.delete(issuer)
      return undefined
    }
    h.uses++
    return h.ticket
  }

  /**
   * A ticket to present to `issuer` before Noise, counted as used: as
   * `present`, and only with its secret and while the issuer's own token,
   * which this node verified when it got the ticket, is still valid.
   */
  resumable (issuer: string, epoch: number | undefined): Resumable | undefined {
    const h = this.held.get(issuer)
    // the issuer's token, recorded again on the resumption, must be of the current epoch too (no certificate travels with it)
    if (h?.secret == null || h.issuer == null || h.issuer.claims.ep !== epoch || h.issuer.claims.exp * 1000 - TICKET_DEFAULTS.marginMs <= this.now()) {
      return undefined
    }
    const ticket = this.present(issuer, epoch)
    return ticket == null ? undefined : { ticket, secret: h.secret, claims: h.issuer.claims, token: h.issuer.token }
  }

  /**
   * Forget the ticket `issuer` granted us (it refused it, or we refused its
   * own). With `ticket`, only while that one is still what is held: a
   * failure noticed late (a connection's close) must not take the ticket a
   * later admission on another connection granted in its place.
   */
  drop (issuer: string, ticket?: Uint8Array): void {
    if (ticket != null && this.held.get(issuer)?.ticket !== ticket) {
      return
    }
    this.held.delete(issuer)
  }

  /** tickets held from other nodes (for status and tests) */
  get heldCount (): number {
    return this.held.size
  }
}

/**
 * A node's resumption tickets, both ways: the ones it grants (sealed with
 * its `TicketKeys`, each bounded by its subject's token and by two
 * minutes) and checks when presented, counting each one's uses; and the
 * ones other nodes granted it, held by issuer until they lapse. Pure: the
 * exchange (`exchange.ts`) decides when to ask and what a refusal means
 * (the full exchange, never less).
 */
import { randomBytes } from 'node:crypto'
import { MAX_TICKET_LIFETIME_MS, TicketKeys, readTicketHeader } from './ticket.ts'
import type { TicketContents, TicketHeader, TicketRefusal } from './ticket.ts'
import type { TokenClaims } from './token.ts'

export const TICKET_DEFAULTS = {
  lifetimeMs: MAX_TICKET_LIFETIME_MS,
  /** how often one ticket may be presented */
  maxUses: 4,
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

interface Held {
  ticket: Uint8Array
  header: TicketHeader
  uses: number
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
  grant (self: string, subject: string, admitted: { token: string, claims: TokenClaims }): Uint8Array | undefined {
    const now = this.now()
    const expiresAt = Math.min(now + this.lifetimeMs, admitted.claims.exp * 1000)
    if (expiresAt - now < TICKET_DEFAULTS.minLifetimeMs) {
      return undefined
    }
    return this.keys.seal({
      issuer: self,
      subject,
      token: admitted.token,
      claims: admitted.claims,
      epoch: admitted.claims.ep,
      issuedAt: now,
      expiresAt,
      id: Buffer.from(this.random(16)).toString('hex')
    })
  }

  /** Check a ticket `presenter` showed this node (`self`), counting the use. */
  check (self: string, presenter: string, ticket: Uint8Array, epoch: number | undefined): TicketContents | TicketRefusal {
    const opened = this.keys.open(ticket)
    if (typeof opened === 'string') {
      return opened
    }
    const now = this.now()
    if (opened.issuer !== self || opened.subject !== presenter || opened.claims.sub !== presenter) {
      return 'not-for-this-link'
    }
    if (opened.expiresAt <= now) {
      return 'expired'
    }
    if (epoch == null || opened.epoch !== epoch || opened.claims.ep !== epoch) {
      return 'epoch'
    }
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

  /** Keep a ticket `issuer` granted us (after it passed admission on this link). */
  hold (issuer: string, ticket: Uint8Array): void {
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
    this.held.set(issuer, { ticket, header, uses: 0 })
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

  /** Forget the ticket `issuer` granted us (it refused it, or we refused its own). */
  drop (issuer: string): void {
    this.held.delete(issuer)
  }

  /** tickets held from other nodes (for status and tests) */
  get heldCount (): number {
    return this.held.size
  }
}

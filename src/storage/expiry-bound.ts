/**
 * A lower bound of the earliest expiry a store holds, so a sweep with
 * nothing due touches no table: an idle node sweeps its stores several
 * times a second, and a write transaction with nothing to delete was most
 * of its database traffic. Read from the store's expiry indexes when it
 * opens and after each sweep that ran, lowered by every row written;
 * deletes only raise the true minimum, so the bound never skips a due row.
 */
import type { StatementSync } from 'node:sqlite'

export class ExpiryBound {
  private readonly first: StatementSync
  private bound = Number.POSITIVE_INFINITY

  /** `first`: a query answering the earliest expiry held as `e` (NULL when none) */
  constructor (first: StatementSync) {
    this.first = first
    this.reread()
  }

  /** Is a row possibly due at `now`? */
  due (now: number): boolean {
    return now >= this.bound
  }

  /** A row expiring at `t` was written. */
  lower (t: number): void {
    if (t < this.bound) {
      this.bound = t
    }
  }

  /** After a sweep: the earliest expiry held now, from the indexes. */
  reread (): void {
    const row = this.first.get() as { e: number | null } | undefined
    this.bound = row?.e == null ? Number.POSITIVE_INFINITY : Number(row.e)
  }
}

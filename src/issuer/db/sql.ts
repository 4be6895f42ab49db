/**
 * The issuer's storage port: what the issuer and its audit log need from a
 * SQL database, and all they get. Two backends implement it (`sqlite.ts`,
 * the embedded default; `postgres.ts`, for replicas), and one contract
 * suite runs against both (test/issuer/store-contract.test.ts).
 *
 * One dialect is written against it: `$1`-numbered parameters, BIGINT
 * integers read back as numbers, binary columns read back as Uint8Array,
 * `INSERT … ON CONFLICT`, `UPDATE … RETURNING`. What differs between the
 * two (the DDL, how a writer excludes every other writer) stays in the
 * backend.
 */

/** A value a statement binds: SQL NULL is `null` (never `undefined`). */
export type SqlValue = string | number | bigint | Uint8Array | null

/** Reads and writes inside one transaction. */
export interface SqlTx {
  /** the first row, or undefined */
  one: <T = Record<string, unknown>>(sql: string, params?: SqlValue[]) => Promise<T | undefined>
  all: <T = Record<string, unknown>>(sql: string, params?: SqlValue[]) => Promise<T[]>
  /** a write; resolves to the number of rows it changed */
  run: (sql: string, params?: SqlValue[]) => Promise<number>
}

export type IssuerStoreKind = 'sqlite' | 'postgres'

/**
 * A database holding one issuer. Reads outside a transaction see committed
 * data only. Every write happens in `transaction`, and transactions that
 * write are serialised with every other writer of the same database, in
 * this process and in every other replica: the audit log's next index, the
 * revocation list's next number and the current signing epoch are read and
 * written under that exclusion, so they never fork. A transaction's promise
 * resolves only once the database made it durable (a replica killed right
 * after loses nothing it acknowledged).
 */
export interface IssuerDb {
  readonly kind: IssuerStoreKind
  /** where it is, for messages: a file path, or a URL without its password */
  readonly location: string
  one: SqlTx['one']
  all: SqlTx['all']
  /** run `fn` as one serialised write transaction; rolled back if it throws */
  transaction: <T>(fn: (tx: SqlTx) => Promise<T>) => Promise<T>
  close: () => Promise<void>
}

/** Rows are at most this many per read of a paged scan (audit verification). */
export const SCAN_PAGE = 1000

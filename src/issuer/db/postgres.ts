/**
 * The issuer's replicated backend: PostgreSQL through `pg`. Any number of
 * issuer processes (replicas) share one database and serve one overlay.
 *
 * How replicas never fork the issuer's history: every write transaction
 * first takes one transaction-scoped advisory lock (`WRITER_LOCK`), held
 * until its commit is durable. Writers are thus serialised across all
 * replicas, as SQLite's BEGIN IMMEDIATE serialises them across processes:
 * the audit log's next index, the revocation list's next number, the
 * current signing epoch and the approvals counted for a revocation are read
 * and written by one writer at a time, and a conditional UPDATE counts a
 * code's uses exactly. Writes are few per decision, and token audit rows go
 * in groups (one commit for every token decided meanwhile, `issuer.ts`), so
 * one lock costs little.
 *
 * Durability: the server's default `synchronous_commit = on`; a transaction
 * resolves after COMMIT returned, so the WAL holds it on disk.
 */
import { TempusError } from '../../core/tempus-error.ts'
import pg from 'pg'
import { IssuerError } from '../errors.ts'
import { issuerSchema } from './schema.ts'
import type { IssuerDb, SqlTx, SqlValue } from './sql.ts'

/** The advisory lock every writer holds ('tmps' in ASCII). */
const WRITER_LOCK = 0x746d7073


/** The bad store URL, named without its password. */
export class StoreUrlError extends TempusError {
  readonly code = 'bad-store-url'
  override readonly name = 'StoreUrlError'
}

/** `url` as it may be shown: user, host, port, database; never the password. */
export function redactUrl (url: string): string {
  try {
    const u = new URL(url)
    if (u.password !== '') {
      u.password = '***'
    }
    u.search = ''
    return u.toString()
  } catch {
    return 'postgres://(unparsable URL)'
  }
}

/** A postgres:// or postgresql:// URL, checked before anything connects. */
export function checkPostgresUrl (url: string): URL {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    throw new StoreUrlError('the store is not a URL: give postgres://USER@HOST:PORT/DATABASE (the password in PGPASSWORD or ~/.pgpass)')
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw new StoreUrlError(`the store ${redactUrl(url)} is not a postgres:// URL`)
  }
  if (u.hostname === '' || u.pathname.length < 2) {
    throw new StoreUrlError(`the store ${redactUrl(url)} needs a host and a database: postgres://USER@HOST:PORT/DATABASE`)
  }
  return u
}

export interface OpenPostgresOptions {
  /**
   * connections this replica opens at most
   * @default 8
   */
  maxConnections?: number
  /**
   * how long a statement may wait for a connection or an answer, ms
   * (then the request fails with `unavailable` and the node tries another replica)
   * @default 5000
   */
  timeoutMs?: number
  /** told of errors on idle connections (the server went away); never given the password */
  onError?: (err: Error) => void
}

/** connection-level failures: the database, not the request (class 08, 57P0x shutdown, 53300 too many connections) */
function isUnavailable (err: any): boolean {
  const code = String(err?.code ?? '')
  return code.startsWith('08') || code.startsWith('57P') || code === '53300' ||
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH'].includes(code) ||
    /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(String(err?.message ?? ''))
}

function mapError (err: unknown, location: string): unknown {
  if (err instanceof IssuerError) {
    return err
  }
  if (isUnavailable(err)) {
    return new IssuerError('unavailable', `the issuer's database ${location} is unreachable (${String((err as any)?.code ?? (err as any)?.message ?? 'error')}); another replica may answer; check the database server`)
  }
  return err
}

/** 64-bit integers read as numbers (every one here is a count, an index or ms since the epoch: all safe integers). */
const types = {
  getTypeParser: (oid: number, format?: any): any => {
    if (oid === 20) {
      return (value: string) => Number(value)
    }
    return pg.types.getTypeParser(oid, format)
  }
}

/**
 * Connect to the issuer's PostgreSQL database and create its tables if they
 * are missing (under the writer lock: replicas starting together do not race).
 */
export async function openPostgresIssuerDb (url: string, options: OpenPostgresOptions = {}): Promise<IssuerDb> {
  checkPostgresUrl(url)
  const location = redactUrl(url)
  const timeoutMs = options.timeoutMs ?? 5000
  const pool = new pg.Pool({
    connectionString: url,
    max: options.maxConnections ?? 8,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
    idleTimeoutMillis: 30_000,
    application_name: 'tempus-issuer',
    types
  } as pg.PoolConfig)
  // a connection the server closed, idle or in use: reported, never a crash
  // (a statement in flight on it fails on its own, as `unavailable`)
  pool.on('error', err => { options.onError?.(err) })
  pool.on('connect', client => { client.on('error', err => { options.onError?.(err) }) })

  /** a statement's connection-level failure as `unavailable`; anything else as it is */
  const mapped = async <T>(run: () => Promise<T>): Promise<T> => {
    try {
      return await run()
    } catch (err) {
      throw mapError(err, location)
    }
  }
  const executor = (q: { query: pg.Pool['query'] | pg.PoolClient['query'] }): SqlTx => ({
    one: async <T>(sql: string, params: SqlValue[] = []) => await mapped(async () => (await q.query(sql, params)).rows[0] as T | undefined),
    all: async <T>(sql: string, params: SqlValue[] = []) => await mapped(async () => (await q.query(sql, params)).rows as T[]),
    run: async (sql: string, params: SqlValue[] = []) => await mapped(async () => (await q.query(sql, params)).rowCount ?? 0)
  })
  const outside = executor({ query: pool.query.bind(pool) as pg.Pool['query'] })

  const transaction = async <T>(fn: (tx: SqlTx) => Promise<T>): Promise<T> => {
    let client: pg.PoolClient
    try {
      client = await pool.connect()
    } catch (err) {
      throw mapError(err, location)
    }
    let broken = false
    try {
      await client.query('BEGIN')
      await client.query('SELECT pg_advisory_xact_lock($1)', [WRITER_LOCK])
      const result = await fn(executor({ query: client.query.bind(client) as pg.PoolClient['query'] }))
      await client.query('COMMIT')
      return result
    } catch (err) {
      try {
        await client.query('ROLLBACK')
      } catch {
        // the connection itself failed: it is not given back to the pool
        broken = true
      }
      throw mapError(err, location)
    } finally {
      client.release(broken)
    }
  }

  const db: IssuerDb = {
    kind: 'postgres',
    location,
    one: outside.one,
    all: outside.all,
    transaction,
    close: async () => { await pool.end() }
  }
  try {
    await transaction(async tx => {
      for (const statement of issuerSchema('postgres')) {
        await tx.run(statement)
      }
    })
  } catch (err) {
    await pool.end().catch(() => {})
    throw err
  }
  return db
}

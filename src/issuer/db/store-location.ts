/**
 * Where an issuer's state lives: `sqlite` (the file `issuer.db` in the
 * issuer's directory, the embedded default) or a PostgreSQL database shared
 * by replicas. `tempus issuer init --store URL` records the choice in the
 * directory (`issuer-store.json`, without any password: that comes from
 * PGPASSWORD or ~/.pgpass, as for every PostgreSQL client), so later
 * commands on the directory find it; `--store` on a command overrides it.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { writeFileDurablySync } from '../../storage/durable.ts'
import { checkPostgresUrl, openPostgresIssuerDb, StoreUrlError } from './postgres.ts'
import { openSqliteIssuerDb } from './sqlite.ts'
import type { IssuerDb } from './sql.ts'

export const ISSUER_DB = 'issuer.db'
export const STORE_POINTER = 'issuer-store.json'

/** `sqlite`, or a postgres URL (checked). */
export function parseStore (value: string): string {
  if (value === 'sqlite') {
    return value
  }
  checkPostgresUrl(value)
  return value
}

/** The store `issuer init` recorded in `dir`, or undefined (then: sqlite). */
export function readStorePointer (dir: string): string | undefined {
  let text: string
  try {
    text = readFileSync(join(dir, STORE_POINTER), 'utf8')
  } catch (err: any) {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') {
      return undefined
    }
    throw new StoreUrlError(`cannot read ${join(dir, STORE_POINTER)}: ${String(err.code ?? 'unreadable')}; check its owner and permissions`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new StoreUrlError(`${join(dir, STORE_POINTER)} is not JSON; write {"store": "postgres://USER@HOST:PORT/DATABASE"} or remove it to use sqlite`)
  }
  const store = (parsed as any)?.store
  if (typeof store !== 'string') {
    throw new StoreUrlError(`${join(dir, STORE_POINTER)} has no "store"; write {"store": "postgres://USER@HOST:PORT/DATABASE"} or remove it to use sqlite`)
  }
  return parseStore(store)
}

/** Record a postgres store in `dir` (its password left out); sqlite needs no pointer. */
export function writeStorePointer (dir: string, store: string): void {
  if (store === 'sqlite') {
    return
  }
  const u = checkPostgresUrl(store)
  u.password = ''
  writeFileDurablySync(join(dir, STORE_POINTER), JSON.stringify({ store: u.toString() }, null, 2) + '\n')
}

export interface OpenIssuerStoreOptions {
  /** `sqlite` or a postgres URL; default: the directory's pointer, else sqlite */
  store?: string
  /** the sqlite file may be created (`issuer init`) */
  create: boolean
  now?: () => number
  onError?: (err: Error) => void
}

/** Open the issuer's database for `dir`. */
export async function openIssuerStore (dir: string, options: OpenIssuerStoreOptions): Promise<IssuerDb> {
  const store = options.store != null ? parseStore(options.store) : (readStorePointer(dir) ?? 'sqlite')
  if (store === 'sqlite') {
    return openSqliteIssuerDb(join(dir, ISSUER_DB), { mustExist: !options.create, now: options.now })
  }
  const db = await openPostgresIssuerDb(store, { onError: options.onError })
  if (options.create && options.store != null) {
    writeStorePointer(dir, store)
  }
  return db
}


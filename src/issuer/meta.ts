/** The issuer's small settings (overlay, sealed keys, thresholds, replica URLs) in the `meta` table. */
import type { SqlTx } from './db/sql.ts'

export async function getMeta (db: Pick<SqlTx, 'one'>, key: string): Promise<string | undefined> {
  return (await db.one<{ value: string }>('SELECT value FROM meta WHERE key = $1', [key]))?.value
}

export async function setMeta (tx: SqlTx, key: string, value: string): Promise<void> {
  await tx.run('INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value])
}

/**
 * `--reset-store NAME`: the operator accepts the loss of a store. Its files
 * (the database and its -wal and -shm, or a directory) are moved aside as
 * `<file>.damaged-<time>` (kept, never deleted: a forensic copy or a partial
 * recovery may still come from them), the marker forgets the store so the
 * next open creates it anew, and events.log records the decision.
 */
import { renameSync } from 'node:fs'
import { join } from 'node:path'
import { syncDir } from './durable.ts'
import { StorageError } from './errors.ts'
import { appendEvent } from './events-log.ts'
import { forgetStore } from './store-marker.ts'

export interface ResetResult {
  store: string
  /** every file moved aside, as [from, to] */
  moved: Array<[string, string]>
}

/**
 * Reset the store `name`, one of `stores` (name → file in `dir`); throws
 * StorageError `unknown-store` for any other name.
 */
export function resetStore (dir: string, name: string, stores: Readonly<Record<string, string>>, now: () => number = Date.now): ResetResult {
  const file = Object.hasOwn(stores, name) ? stores[name] : undefined
  if (file == null) {
    throw new StorageError('unknown-store', name, `--reset-store ${JSON.stringify(name)}: no such store; the stores are ${Object.keys(stores).join(', ')}`)
  }
  const stamp = new Date(now()).toISOString().replace(/[:.]/g, '-')
  const moved: Array<[string, string]> = []
  for (const suffix of ['', '-wal', '-shm']) {
    const from = join(dir, file + suffix)
    const to = join(dir, `${file}.damaged-${stamp}${suffix}`)
    try {
      renameSync(from, to)
      moved.push([from, to])
    } catch (err: any) {
      if (err.code !== 'ENOENT') {
        throw new StorageError('io', from, `cannot move ${from} aside: ${err.code ?? 'failed'}; check the data directory's owner and permissions`)
      }
    }
  }
  syncDir(dir)
  forgetStore(dir, file)
  appendEvent(dir, { event: 'store-reset', store: name, file: join(dir, file), movedAside: moved.map(([, to]) => to) }, now)
  return { store: name, moved }
}

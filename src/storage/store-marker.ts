/**
 * The marker: a small file kept apart from the stores (`stores.json` in the
 * same directory) recording each store that was created. SQLite opens a
 * 0-byte or missing file as a new, empty database, so without it a store
 * truncated or deleted while the node was down is silently recreated and
 * everything in it is lost without a trace. With it, a store the marker
 * knows but the disk does not is refused, and the operator decides.
 *
 * A store is recorded only once it is on disk with its schema, so a crash
 * during creation leaves a file the marker does not know (adopted at the
 * next open), never a marker entry for a file that was never written.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { MARKER_FILE } from './constants.ts'
import { writeFileDurablySync } from './durable.ts'
import { StorageError } from './errors.ts'

export type StoreKind = 'sqlite' | 'directory' | 'file'

export interface StoreRecord {
  kind: StoreKind
  /** ISO time the store was first recorded */
  createdAt: string
}

export interface Marker {
  version: 1
  /** by file name, relative to the marker's directory */
  stores: Record<string, StoreRecord>
}

/** what is on disk where a store should be */
export type OnDisk = { state: 'missing' } | { state: 'present', size: number }

/**
 * What to do with a store, given the marker's record and the disk:
 * - `create`: neither knows it (first run), or it must not exist yet
 * - `open`: the file is there (recorded or adopted)
 * - a refusal: the marker knows a store the disk lost
 */
export type Verdict =
  | { action: 'create' }
  | { action: 'open', adopt: boolean }
  | { action: 'refuse', fault: 'vanished' | 'emptied' | 'missing' }

/**
 * Pure: the decision at open. `mustExist` is for commands that only read a
 * store: they never create one.
 */
export function verdictFor (record: StoreRecord | undefined, disk: OnDisk, kind: StoreKind, mustExist = false): Verdict {
  if (disk.state === 'missing') {
    if (record != null) {
      return { action: 'refuse', fault: 'vanished' }
    }
    return mustExist ? { action: 'refuse', fault: 'missing' } : { action: 'create' }
  }
  // SQLite never shrinks a database below its first page; a directory's size says nothing
  if (kind !== 'directory' && disk.size === 0) {
    if (record != null) {
      return { action: 'refuse', fault: 'emptied' }
    }
    // unrecorded and empty: a creation that crashed before it was recorded
    return mustExist ? { action: 'refuse', fault: 'missing' } : { action: 'create' }
  }
  return { action: 'open', adopt: record == null }
}

export function markerPath (dir: string): string {
  return join(dir, MARKER_FILE)
}

export function readMarker (dir: string): Marker {
  const path = markerPath(dir)
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err: any) {
    if (err.code === 'ENOENT') {
      return { version: 1, stores: {} }
    }
    throw new StorageError('marker', path, `cannot read the store marker ${path}: ${err.code ?? 'unreadable'}; check its permissions`)
  }
  try {
    const marker = JSON.parse(text)
    if (marker?.version !== 1 || typeof marker.stores !== 'object' || marker.stores == null || Array.isArray(marker.stores)) {
      throw new Error('shape')
    }
    for (const record of Object.values(marker.stores) as any[]) {
      if (typeof record?.kind !== 'string' || typeof record?.createdAt !== 'string') {
        throw new Error('shape')
      }
    }
    return marker as Marker
  } catch {
    throw new StorageError('marker', path, `the store marker ${path} is damaged; restore it from a backup (it lists the stores of this directory, so that a lost store is noticed)`)
  }
}

/** Record a store in the marker (durably), if it is not recorded yet. */
export function recordStore (dir: string, file: string, kind: StoreKind, now: () => number): void {
  const marker = readMarker(dir)
  if (marker.stores[file] != null) {
    return
  }
  marker.stores[file] = { kind, createdAt: new Date(now()).toISOString() }
  writeFileDurablySync(markerPath(dir), JSON.stringify(marker, null, 2) + '\n')
}

/** Forget a store (it was reset: the next open creates it anew). */
export function forgetStore (dir: string, file: string): void {
  const marker = readMarker(dir)
  if (marker.stores[file] == null) {
    return
  }
  delete marker.stores[file]
  writeFileDurablySync(markerPath(dir), JSON.stringify(marker, null, 2) + '\n')
}

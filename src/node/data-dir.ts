/**
 * The files of a node's data directory, the runtime file through which
 * CLI commands find the running node's admin API, and the guards around
 * the directory: its lock, the stores an operator may reset, and the
 * refusal of a store or identity that vanished.
 */
import { existsSync, statSync } from 'node:fs'
import { chmod, mkdir, readFile, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { ENROLLMENT_FILE } from '../admission/enrollment.ts'
import { writeFileDurably } from '../identity/key-store.ts'
import { acquireDataLock, DIR_MODE, faultMessage, readMarker, recordStore, resetStore, StorageError, verdictFor } from '../storage/index.ts'
import { DATA_FILES } from './constants.ts'
import { NodeNotRunningError } from './errors.ts'
import { DataDirError } from '../core/data-dir-error.ts'
import type { DataLock } from '../storage/index.ts'
import type { PinoLogger } from '../logging/logger.ts'

export function dataPath (dataDir: string, file: keyof typeof DATA_FILES): string {
  return join(dataDir, DATA_FILES[file])
}

/** What a running node publishes about itself in `<data>/node.json`. */
export interface RuntimeInfo {
  pid: number
  peerId: string
  type: string
  addrs: string[]
  api?: string
  startedAt: string
}

export async function writeRuntimeInfo (dataDir: string, info: RuntimeInfo): Promise<void> {
  await writeFileDurably(dataPath(dataDir, 'runtime'), JSON.stringify(info, null, 2) + '\n', 0o600)
}

export async function removeRuntimeInfo (dataDir: string): Promise<void> {
  await unlink(dataPath(dataDir, 'runtime')).catch(() => {})
}

export async function readRuntimeInfo (dataDir: string): Promise<RuntimeInfo> {
  let text: string
  try {
    text = await readFile(dataPath(dataDir, 'runtime'), 'utf8')
  } catch (err: any) {
    if (err.code === 'ENOENT') {
      throw new NodeNotRunningError(`no node is running with data directory ${dataDir} (start it with: tempus start --data ${dataDir})`)
    }
    throw new DataDirError(`cannot read ${dataPath(dataDir, 'runtime')}: ${err.code ?? 'unreadable'}`)
  }
  try {
    const info = JSON.parse(text)
    if (typeof info?.peerId !== 'string' || typeof info?.pid !== 'number') {
      throw new Error('shape')
    }
    return info as RuntimeInfo
  } catch {
    throw new DataDirError(`${dataPath(dataDir, 'runtime')} is corrupted; remove it and start the node again`)
  }
}

/** The stores `tempus start --reset-store NAME` can reset, by name. */
export const RESETTABLE_STORES = {
  bundles: DATA_FILES.bundles,
  anomalies: DATA_FILES.anomalies,
  federation: DATA_FILES.federation,
  datastore: DATA_FILES.datastore
} as const

export type StoreName = keyof typeof RESETTABLE_STORES

/** What an operator can do about a lost or damaged store: said in every error about it. */
export function storeRecovery (dataDir: string, name: StoreName): string {
  return `restore it from a backup, or accept the loss with: tempus start --data ${dataDir} --reset-store ${name} (the damaged file is kept aside)`
}

export interface OpenDataDirOptions {
  now: () => number
  log: PinoLogger
  /** stores whose loss the operator accepts (`--reset-store`) */
  resetStores?: readonly string[]
  /** does the node keep its identity key in this directory? (not when an embedder hands it one) @default true */
  identityInDirectory?: boolean
}

/**
 * Make the directory owner-only, take its lock (a second process on it is
 * refused at once), reset the stores the operator named (logged and
 * recorded in events.log), and refuse an identity key that vanished from a
 * directory that had one. The caller releases the lock at stop, or at once
 * if it fails to start.
 */
export async function openDataDir (dataDir: string, options: OpenDataDirOptions): Promise<DataLock> {
  await mkdir(dataDir, { recursive: true, mode: DIR_MODE })
  // an existing directory made by hand keeps no group or other access
  if ((statSync(dataDir).mode & 0o077) !== 0) {
    await chmod(dataDir, DIR_MODE)
  }
  const lock = acquireDataLock(dataDir, {
    now: options.now,
    onStale: stale => { options.log.warn({ dataDir, stalePid: stale?.pid, staleSince: stale?.startedAt }, 'took over a stale data directory lock (its process is gone)') }
  })
  try {
    for (const name of options.resetStores ?? []) {
      const reset = resetStore(dataDir, name, RESETTABLE_STORES, options.now)
      options.log.warn({ store: name, movedAside: reset.moved.map(([, to]) => to) }, 'store reset by the operator (--reset-store): its data is gone from the node; the old files are kept aside; recorded in events.log')
    }
    if (options.identityInDirectory !== false) {
      checkIdentityKept(dataDir)
    }
    return lock
  } catch (err) {
    lock.release()
    throw err
  }
}

/**
 * A data directory that had an identity (the marker recorded it, or the node
 * was enrolled) must not get a new one silently: a new key is a new node.
 */
export function checkIdentityKept (dataDir: string): void {
  const path = dataPath(dataDir, 'identity')
  if (existsSync(path)) {
    return
  }
  const recorded = readMarker(dataDir).stores[DATA_FILES.identity] != null
  if (recorded || existsSync(join(dataDir, ENROLLMENT_FILE))) {
    throw new StorageError('vanished', path, `${path} is gone, but this node had an identity (${recorded ? 'see stores.json' : ENROLLMENT_FILE + ' is there'}); no new key was made, since a new key is a new node. Restore identity.key from a backup, or make a new node: tempus init --data NEWDIR, then tempus enroll`)
  }
}

/** Remember that this directory has an identity key (after it was loaded or created). */
export function recordIdentity (dataDir: string, now: () => number): void {
  recordStore(dataDir, DATA_FILES.identity, 'file', now)
}

/**
 * Has no node ever started from this data directory? Its first start is
 * the one that records the datastore in the marker (`prepareDatastore`),
 * which a recovery keeps; so a key made for it has never handed anything
 * on (the sampler then relays from the start, src/sampling/descriptor-desk.ts).
 */
export function neverStarted (dataDir: string): boolean {
  return readMarker(dataDir).stores[DATA_FILES.datastore] == null
}

/**
 * The libp2p datastore's directory (peer store, DHT records): refused if the
 * marker knows it and it vanished, else made owner-only and recorded.
 */
export async function prepareDatastore (dataDir: string, now: () => number): Promise<string> {
  const path = dataPath(dataDir, 'datastore')
  const verdict = verdictFor(readMarker(dataDir).stores[DATA_FILES.datastore], existsSync(path) ? { state: 'present', size: 0 } : { state: 'missing' }, 'directory')
  if (verdict.action === 'refuse') {
    throw new StorageError(verdict.fault, path, faultMessage(verdict.fault, path, storeRecovery(dataDir, 'datastore')))
  }
  await mkdir(path, { recursive: true, mode: DIR_MODE })
  recordStore(dataDir, DATA_FILES.datastore, 'directory', now)
  return path
}

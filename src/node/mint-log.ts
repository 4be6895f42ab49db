/**
 * The time of this node's last signed descriptor per Cyclon view, kept in
 * its data directory (`descriptor-mints.json`) so that a restart with a
 * clock stepped back (NTP, a VM resumed) cannot mint a second descriptor
 * within one spacing of the last run's last: receivers would charge this
 * honest node as over-minting (protocols/cyclon.md, "One descriptor per
 * spacing"). The sampler records each mint before the descriptor goes out.
 * Each write replaces the file durably (temporary file, fsync, rename).
 */
import { readFile } from 'node:fs/promises'
import { PEER_TYPES } from '../core/peer-type.ts'
import { DataDirError } from '../core/data-dir-error.ts'
import { writeFileDurably } from '../identity/key-store.ts'
import { dataPath } from './data-dir.ts'
import type { PeerType } from '../core/peer-type.ts'
import type { MintLog } from '../sampling/sampler-types.ts'

export class FileMintLog implements MintLog {
  private readonly path: string
  private last: Partial<Record<PeerType, number>> = {}

  constructor (dataDir: string) {
    this.path = dataPath(dataDir, 'mints')
  }

  /** What the file holds; nothing if there is no file (a first start, or a node from before it existed). */
  async load (): Promise<Partial<Record<PeerType, number>>> {
    let text: string
    try {
      text = await readFile(this.path, 'utf8')
    } catch (err: any) {
      if (err?.code === 'ENOENT') {
        return {}
      }
      throw err
    }
    this.last = parseMints(text, this.path)
    return { ...this.last }
  }

  /** Keep `mintedAt` as `type`'s last mint (a later one only: the writes of two views may cross). */
  async record (type: PeerType, mintedAt: number): Promise<void> {
    if (mintedAt <= (this.last[type] ?? -Infinity)) {
      return
    }
    this.last = { ...this.last, [type]: mintedAt }
    await writeFileDurably(this.path, JSON.stringify(this.last) + '\n', 0o600)
  }
}

function parseMints (text: string, path: string): Partial<Record<PeerType, number>> {
  const bad = (): DataDirError => new DataDirError(`${path} is damaged (expected {"edge"|"bridge"|"sentinel": milliseconds since the epoch}); remove it and start again: the node then waits one descriptor spacing after its start before minting`)
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw bad()
  }
  if (value == null || typeof value !== 'object' || Array.isArray(value)) {
    throw bad()
  }
  const out: Partial<Record<PeerType, number>> = {}
  for (const [key, at] of Object.entries(value)) {
    if (!(PEER_TYPES as readonly string[]).includes(key) || typeof at !== 'number' || !Number.isSafeInteger(at) || at < 0) {
      throw bad()
    }
    out[key as PeerType] = at
  }
  return out
}

/**
 * The files of a node's data directory, and the runtime file through which
 * CLI commands find the running node's admin API.
 */
import { readFile, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { writeFileDurably } from '../identity/key-store.ts'
import { DATA_FILES } from './constants.ts'
import { DataDirError, NodeNotRunningError } from './errors.ts'

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

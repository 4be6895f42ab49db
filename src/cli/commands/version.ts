/**
 * `tempus version`: what is running, for a bug report or a fleet check: the
 * package version, the git commit it was built from (`dist/build-info.json`,
 * written by `npm run build` through scripts/build-info.ts; "unknown" when
 * built otherwise) and the Node.js that runs it.
 */
import { readFileSync } from 'node:fs'
import { TEMPUS_VERSION } from '../../node/constants.ts'
import { printJson } from '../output.ts'

/** dist/build-info.json, beside dist/src/ */
export const BUILD_INFO = new URL('../../../build-info.json', import.meta.url)

export interface BuildInfo {
  version: string
  commit?: string
  dirty?: boolean
  builtAt?: string
}

export function readBuildInfo (): BuildInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(BUILD_INFO, 'utf8'))
    return typeof info?.version === 'string' ? info : undefined
  } catch {
    return undefined
  }
}

export function versionCommand (opts: { json?: boolean }): void {
  const build = readBuildInfo()
  const out = {
    version: TEMPUS_VERSION,
    commit: build?.commit ?? null,
    dirty: build?.dirty ?? null,
    builtAt: build?.builtAt ?? null,
    node: process.version,
    platform: `${process.platform}-${process.arch}`
  }
  if (opts.json === true) {
    printJson(out)
    return
  }
  const commit = out.commit == null ? 'unknown (not built by npm run build)' : `${out.commit}${out.dirty === true ? ' (with uncommitted changes)' : ''}`
  process.stdout.write(`tempus ${out.version}\ncommit   ${commit}\nbuilt    ${out.builtAt ?? 'unknown'}\nnode     ${out.node} (${out.platform})\n`)
}

/** `tempus federation status|forget|anchor add`: a bridge's federation, through its admin API and config file. */
import { readFile } from 'node:fs/promises'
import YAML from 'yaml'
import { parseAnchor } from '../../federation/anchors.ts'
import { writeFileDurably } from '../../identity/key-store.ts'
import { parseConfig } from '../../node/config.ts'
import { dataPath } from '../../node/data-dir.ts'
import { NodeNotRunningError } from '../../node/errors.ts'
import { apiGet, apiPost } from '../api-client.ts'
import { UsageError } from '../errors.ts'
import { formatTable, printJson, shortId } from '../output.ts'

interface Status {
  enabled: boolean
  overlay?: string
  addrs?: string[]
  anchors?: Array<{ overlay: string, root: string }>
  pins?: Array<{ remoteId: string, overlay: string, establishedAt: number, rotationDue: number, state: string }>
}

export async function federationStatusCommand (options: { data: string, json?: boolean }): Promise<void> {
  const status = await apiGet<Status>(options.data, '/v1/federation')
  if (options.json === true) {
    printJson(status)
    return
  }
  if (!status.enabled) {
    process.stdout.write('federation is off on this node (federation.enabled: false; bridges only)\n')
    return
  }
  process.stdout.write(`overlay ${status.overlay ?? ''}; federation endpoint ${(status.addrs ?? []).join(' ')}\n`)
  process.stdout.write(`anchors: ${(status.anchors ?? []).map(a => `${a.overlay} (${a.root.slice(0, 8)}…)`).join(', ') || 'none'}\n`)
  process.stdout.write(formatTable(['REMOTE BRIDGE', 'OVERLAY', 'STATE', 'ESTABLISHED', 'ROTATION DUE'],
    (status.pins ?? []).map(p => [shortId(p.remoteId), p.overlay, p.state, new Date(p.establishedAt).toISOString(), new Date(p.rotationDue).toISOString()])))
}

export async function federationForgetCommand (remoteId: string, options: { data: string, json?: boolean }): Promise<void> {
  const result = await apiPost<{ forgotten: boolean }>(options.data, '/v1/federation/forget', { remoteId })
  if (options.json === true) {
    printJson(result)
  } else {
    process.stdout.write(result.forgotten ? `forgot ${remoteId}: it must pass a new handshake to federate again\n` : `no pin for ${remoteId}\n`)
  }
}

/**
 * Trust another overlay: its root key goes into the config file (so it
 * holds after a restart) and, if the node runs, into its live anchors.
 */
export async function federationAnchorAddCommand (options: { data: string, overlay: string, root: string, issuer?: string, json?: boolean }): Promise<void> {
  let anchor
  try {
    anchor = parseAnchor({ overlay: options.overlay, root: options.root, ...(options.issuer != null ? { issuer: options.issuer } : {}) })
  } catch (err: any) {
    throw new UsageError(err.message)
  }
  const path = dataPath(options.data, 'config')
  let file: Record<string, any>
  try {
    file = YAML.parse(await readFile(path, 'utf8')) ?? {}
  } catch (err: any) {
    throw new UsageError(`cannot read ${path}: ${err.code ?? err.message}`)
  }
  const federation = { ...(file.federation ?? {}) }
  federation.anchors = [...(federation.anchors ?? []).filter((a: any) => a?.overlay !== anchor.overlay), anchor]
  const next = { ...file, federation }
  parseConfig(next)
  await writeFileDurably(path, '# tempus node configuration; every field and its default is in the README\n' + YAML.stringify(next), 0o600)
  let live = false
  try {
    await apiPost(options.data, '/v1/federation/anchors', anchor)
    live = true
  } catch (err) {
    if (!(err instanceof NodeNotRunningError) && (err as any)?.status !== 409) {
      throw err
    }
  }
  if (options.json === true) {
    printJson({ anchor, config: path, live })
  } else {
    process.stdout.write(`trusting overlay ${anchor.overlay}: written to ${path}${live ? ' and applied to the running node' : ' (applies when the node starts)'}${federation.enabled === true ? '' : '; federation.enabled is still false'}\n`)
  }
}

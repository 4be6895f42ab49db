/**
 * A local mesh on 127.0.0.1: sentinels first (the bootstrap list of all the
 * others), then bridges and edges, each a real node with its own data dir,
 * identity, peer store, admin API and log file.
 */
import { startAdminApi } from '../api/server.ts'
import { mkdtemp, mkdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadEnrollment, saveEnrollment } from '../admission/enrollment.ts'
import { DEV_PASSPHRASE, EncryptedFileKeyStore, loadOrCreateIdentity } from '../identity/index.ts'
import { IssuerClient } from '../issuer-client/client.ts'
import { startIssuerHttp } from '../issuer/http.ts'
import { Issuer } from '../issuer/issuer.ts'
import { createLogger } from '../logging/logger.ts'
import { createTempusNode } from '../node/tempus-node.ts'
import type { IssuerHttp } from '../issuer/http.ts'
import type { TempusConfigInput } from '../node/config.ts'
import type { PeerType } from '../core/peer-type.ts'
import type { TempusNode } from '../node/tempus-node.ts'

/**
 * The dev overlay's descriptor spacing, on every node of it (a period may
 * not be shorter than the spacing): an embedder's `config` may run a dev
 * mesh's views as fast as every 2 s. By default it shuffles at the
 * product's periods (16 s for edges, 32 s for the rest), so what a dev mesh
 * costs at rest is what a deployed node costs (bench:idle measures it).
 */
const DEV_SPACING = { edge: 2_000, bridge: 2_000, sentinel: 2_000 }

export interface DevMeshOptions {
  sentinels: number
  bridges: number
  edges: number
  /** parent of the nodes' data dirs; a fresh temporary dir by default */
  root?: string
  /** remove the data dirs on stop (default: only when `root` was not given) */
  cleanup?: boolean
  logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  /** extra config applied to every node */
  config?: Partial<TempusConfigInput>
  /** extra config for bridges only (federation) */
  bridgeConfig?: Partial<TempusConfigInput>
  /** the overlay id of this mesh's issuer (default `dev-mesh`) */
  overlay?: string
  /** prefixed to node names (several meshes in one table) */
  namePrefix?: string
}

export interface DevMeshNode {
  name: string
  type: PeerType
  dataDir: string
  node: TempusNode
  /** stopped by `takeOffline`, until `bringBack` */
  offline?: boolean
  bootstrap: string[]
}

export interface DevMesh {
  root: string
  nodes: DevMeshNode[]
  issuer: Issuer
  issuerUrl: string
  /** stop a node as if it went out of reach (its data directory stays) */
  takeOffline(entry: DevMeshNode): Promise<void>
  /** start it again as itself: same key, same data, same enrolment */
  bringBack(entry: DevMeshNode): Promise<void>
  stop(): Promise<void>
}

export async function startDevMesh (options: DevMeshOptions): Promise<DevMesh> {
  if (options.sentinels < 1) {
    throw new RangeError('a dev mesh needs at least one sentinel')
  }
  const root = options.root ?? await mkdtemp(join(tmpdir(), 'tempus-dev-'))
  const cleanup = options.cleanup ?? options.root == null
  await mkdir(root, { recursive: true, mode: 0o700 })
  const nodes: DevMeshNode[] = []

  // the overlay's issuer, in this process, on loopback
  const issuerLog = createLogger({ level: options.logLevel ?? 'info', destination: join(root, 'issuer', 'issuer.log'), bindings: { node: 'issuer' } })
  const issuer = await Issuer.init({ dir: join(root, 'issuer'), overlay: options.overlay ?? 'dev-mesh', passphrase: DEV_PASSPHRASE, revocationThreshold: 1 })
  let http: IssuerHttp
  try {
    http = await startIssuerHttp({ issuer, log: issuerLog, perAddressPerSecond: 10_000 })
  } catch (err) {
    await issuer.close()
    throw err
  }
  const client = new IssuerClient({ url: http.url })

  const createOne = async (type: PeerType, name: string, dataDir: string, bootstrap: string[]): Promise<TempusNode> => {
    // enrol with a one-time code, as an operator would with tempus enroll
    if (await loadEnrollment(dataDir) == null) {
      const { privateKey } = await loadOrCreateIdentity(new EncryptedFileKeyStore({ path: join(dataDir, 'identity.key'), passphrase: DEV_PASSPHRASE }))
      const enrolled = await client.enroll(privateKey, (await issuer.createCode(type)))
      await saveEnrollment(dataDir, { ...enrolled, issuerUrl: http.url })
    }
    const logger = createLogger({ level: options.logLevel ?? 'info', destination: join(dataDir, 'node.log'), bindings: { node: name } })
    const node = await createTempusNode({
      type,
      listen: ['/ip4/127.0.0.1/tcp/0'],
      bootstrap,
      mdns: { enabled: false },
      api: { enabled: true, listen: '127.0.0.1:0' },
      // the product's shuffle periods (see DEV_SPACING); every node of the dev overlay is given DEV_SPACING
      ...options.config,
      ...(type === 'bridge' ? options.bridgeConfig : {})
    }, { dataDir, logger, passphrase: DEV_PASSPHRASE, adminApi: startAdminApi, descriptorSpacingMs: DEV_SPACING })
    return node
  }
  const startOne = async (type: PeerType, index: number, bootstrap: string[]): Promise<DevMeshNode> => {
    const name = `${options.namePrefix ?? ''}${type}-${index}`
    const dataDir = join(root, `${type}-${index}`)
    const entry: DevMeshNode = { name, type, dataDir, bootstrap, node: await createOne(type, name, dataDir, bootstrap) }
    nodes.push(entry)
    return entry
  }

  try {
    const sentinelAddrs: string[] = []
    for (let i = 1; i <= options.sentinels; i++) {
      const s = await startOne('sentinel', i, [...sentinelAddrs])
      sentinelAddrs.push(...s.node.getMultiaddrs())
    }
    const rest: Array<Promise<DevMeshNode>> = []
    for (let i = 1; i <= options.bridges; i++) {
      rest.push(startOne('bridge', i, sentinelAddrs))
    }
    for (let i = 1; i <= options.edges; i++) {
      rest.push(startOne('edge', i, sentinelAddrs))
    }
    await Promise.all(rest)
  } catch (err) {
    await Promise.allSettled(nodes.map(async n => n.node.stop()))
    await http.close()
    await issuer.close()
    throw err
  }
  const order: Record<PeerType, number> = { sentinel: 0, bridge: 1, edge: 2 }
  nodes.sort((a, b) => order[a.type] - order[b.type] || a.name.localeCompare(b.name, 'en', { numeric: true }))

  let stopping = false
  const pending = new Set<Promise<void>>()
  const track = async (fn: () => Promise<void>): Promise<void> => {
    const p = fn()
    pending.add(p)
    try {
      await p
    } finally {
      pending.delete(p)
    }
  }
  return {
    root,
    nodes,
    issuer,
    issuerUrl: http.url,
    async takeOffline (entry) {
      await track(async () => {
        entry.offline = true
        await entry.node.stop()
      })
    },
    async bringBack (entry) {
      await track(async () => {
        if (stopping) {
          return
        }
        entry.node = await createOne(entry.type, entry.name, entry.dataDir, entry.bootstrap)
        entry.offline = false
      })
    },
    async stop () {
      // a node coming back while the mesh stops is waited for, then stopped with the rest
      stopping = true
      await Promise.allSettled(pending)
      await Promise.allSettled(nodes.map(async n => n.node.stop()))
      await http.close()
      await issuer.close()
      for (const n of nodes) {
        n.node.log.flush()
      }
      issuerLog.flush()
      if (cleanup) {
        await rm(root, { recursive: true, force: true })
      }
    }
  }
}

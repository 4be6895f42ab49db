import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseDuration } from '../../core/duration.ts'
import { dataPath } from '../../node/data-dir.ts'
import { createLogger } from '../../logging/logger.ts'
import { startDevMesh } from '../dev-mesh.ts'
import { logDestination } from '../log-format.ts'
import type { LevelName } from '../log-format.ts'
import { DEV_ANOMALY_KIND, demoDelivered, startDevTraffic } from '../dev-traffic.ts'
import { UsageError } from '../errors.ts'
import { formatTable, printJson, shortId } from '../output.ts'
import { installSafetyNet } from '../safety-net.ts'
import type { DevMesh, DevMeshNode } from '../dev-mesh.ts'
import type { DtnDemo, RpcCounts } from '../dev-traffic.ts'

export interface DevOptions {
  edges: string
  sentinels: string
  bridges: string
  overlays?: string
  duration?: string
  root?: string
  json?: boolean
  /** the nodes' and the issuer's log files (<data>/node.log, issuer/issuer.log); default info */
  logLevel?: LevelName
  /** this process' own log lines on stderr (warnings and worse) */
  logFormat?: string
}

function count (value: string, name: string, min: number): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < min || n > 200) {
    throw new UsageError(`--${name} must be an integer from ${min} to 200, got ${JSON.stringify(value)}`)
  }
  return n
}

/** `tempus dev`: a local mesh with a live table, stopped by --duration or Ctrl-C. */
export async function devCommand (options: DevOptions): Promise<void> {
  const sentinels = count(options.sentinels, 'sentinels', 1)
  const bridges = count(options.bridges, 'bridges', 0)
  const edges = count(options.edges, 'edges', 0)
  let durationMs: number | undefined
  if (options.duration != null) {
    try {
      durationMs = parseDuration(options.duration, '--duration')
    } catch (err: any) {
      throw new UsageError(err.message)
    }
  }
  const json = options.json === true
  const log = createLogger({ level: 'warn', destination: logDestination(options.logFormat) })
  const tty = process.stdout.isTTY === true && !json

  if (!json) {
    process.stderr.write('dev mesh: identity keys use the public development passphrase; never use these data dirs in production\n')
  }
  const overlays = count(options.overlays ?? '1', 'overlays', 1)
  if (overlays > 4) {
    throw new UsageError('--overlays must be from 1 to 4')
  }
  if (overlays > 1 && bridges < 1) {
    throw new UsageError('overlays federate through bridges: --bridges must be at least 1')
  }
  const meshes = await startMeshes(overlays, { sentinels, bridges, edges, root: options.root, logLevel: options.logLevel })
  const traffic = meshes.map(m => startDevTraffic(m))
  const across = meshes.length > 1 ? startBundlesAcross(meshes) : undefined
  const allNodes = (): DevMeshNode[] => meshes.flatMap(m => m.nodes)
  let stopping: Promise<void> | undefined
  let ticker: NodeJS.Timeout | undefined
  let timer: NodeJS.Timeout | undefined
  const stop = async (reason: string): Promise<void> => {
    stopping ??= (async () => {
      // whatever goes wrong below, the process ends: a dev mesh that hangs on exit is worse than a short summary
      setTimeout(() => {
        process.stderr.write('dev mesh: stopping took more than 30 s; exiting\n')
        process.exit(1)
      }, 30_000)
      clearInterval(ticker)
      clearTimeout(timer)
      traffic.forEach(t => { t.stop() })
      clearInterval(across)
      const counts = new Map(traffic.flatMap(t => [...t.counts]))
      const summary = allNodes().map(n => n.offline === true ? { name: n.name, type: n.type, offline: true } : nodeSummary(n, counts))
      const bundles = {        sentToOfflineNodes: traffic.reduce((n, t) => n + t.dtn.sent.length, 0),
        delivered: meshes.reduce((n, m, i) => n + demoDelivered(m, (traffic[i] as (typeof traffic)[number]).dtn), 0)
      }
      const overlaySummary = meshes.map(m => ({ id: m.issuer.overlay, nodes: m.nodes.length, anomaliesReceivedFromOtherOverlay: fromOtherOverlays(m), bundlesReceivedFromOtherOverlay: bundlesFromOtherOverlays(m) }))
      const finalTable = renderAll(meshes, traffic)
      // a node that does not stop in time must not hold the summary back
      const stopped = await Promise.race([
        Promise.allSettled(meshes.map(async m => { await m.stop() })).then(() => true),
        new Promise<boolean>(resolve => { setTimeout(() => { resolve(false) }, 10_000).unref() })
      ])
      if (!stopped) {
        process.stderr.write('dev mesh: some nodes did not stop within 10 s; exiting anyway\n')
      }
      if (json) {
        printJson({ event: 'summary', reason, nodes: summary, bundles, overlays: overlaySummary })
      } else {
        process.stdout.write(`\nstopped (${reason}); final table:\n` + finalTable + `bundles sent to offline nodes: ${bundles.sentToOfflineNodes}, delivered after they came back: ${bundles.delivered}\n` +
          (meshes.length > 1 ? overlaySummary.map(o => `overlay ${o.id}: ${o.anomaliesReceivedFromOtherOverlay} anomalies and ${o.bundlesReceivedFromOtherOverlay} bundles received from the other overlays\n`).join('') : ''))
      }
      process.exit(0)
    })()
    return stopping
  }
  installSafetyNet(log, () => { void stop('fatal error') })
  process.once('SIGINT', () => { void stop('SIGINT') })
  process.once('SIGTERM', () => { void stop('SIGTERM') })

  if (json) {
    const nodes = await Promise.all(allNodes().map(async n => ({
      name: n.name,
      type: n.type,
      peerId: n.node.peerId.toString(),
      addrs: n.node.getMultiaddrs(),
      api: n.node.api?.url ?? null,
      apiToken: (await readFile(dataPath(n.dataDir, 'apiToken'), 'utf8')).trim(),
      // the node's data directory: `tempus <command> --data <dataDir>` reaches it while the mesh runs
      dataDir: n.dataDir
    })))
    const first = meshes[0] as DevMesh
    printJson({
      event: 'ready',
      root: meshes.length === 1 ? first.root : meshes.map(m => m.root),
      issuer: { url: first.issuerUrl, overlay: first.issuer.overlay },
      overlays: meshes.map(m => ({ id: m.issuer.overlay, issuer: m.issuerUrl })),
      nodes
    })
  } else {
    process.stdout.write(`dev mesh of ${allNodes().length} nodes in ${meshes.length} overlay${meshes.length > 1 ? 's' : ''} (${meshes.map(m => `${m.issuer.overlay}: ${m.root}, issuer ${m.issuerUrl}`).join('; ')})${durationMs == null ? ' (Ctrl-C to stop)' : ` for ${options.duration}`}\n`)
  }

  let lines = 0
  ticker = setInterval(() => {
    if (json) {
      return
    }
    const table = renderAll(meshes, traffic)
    if (tty) {
      process.stdout.write(lines > 0 ? `\x1b[${lines}A\x1b[J${table}` : table)
      lines = table.split('\n').length - 1
    } else {
      process.stdout.write(table + '\n')
    }
  }, tty ? 1_000 : 5_000)
  timer = durationMs == null ? undefined : setTimeout(() => { void stop('duration elapsed') }, durationMs)
  await new Promise<never>(() => {})
}

/**
 * One mesh, or several overlays whose bridges federate: each overlay trusts
 * the others' root keys, its bridges run a federation endpoint, and the dev
 * demo's anomaly kind crosses.
 */
async function startMeshes (overlays: number, sizes: { sentinels: number, bridges: number, edges: number, root?: string, logLevel?: LevelName }): Promise<DevMesh[]> {
  const meshes: DevMesh[] = []
  try {
    for (let i = 0; i < overlays; i++) {
      const letter = String.fromCharCode(97 + i)
      const federation = overlays === 1
        ? undefined
        : {
            enabled: true,
            listen: ['/ip4/127.0.0.1/tcp/0'],
            anchors: meshes.map(m => ({ overlay: m.issuer.overlay, root: m.issuer.rootPublicKey })),
            remotes: meshes.flatMap(m => m.nodes.filter(n => n.type === 'bridge').flatMap(n => n.node.getFederationMultiaddrs())),
            relay: { anomalyKinds: [DEV_ANOMALY_KIND], bundles: true }
          }
      meshes.push(await startDevMesh({
        ...sizes,
        root: sizes.root == null ? undefined : (overlays === 1 ? sizes.root : join(sizes.root, `dev-${letter}`)),
        overlay: overlays === 1 ? undefined : `dev-${letter}`,
        namePrefix: overlays === 1 ? undefined : `${letter}.`,
        bridgeConfig: federation == null ? undefined : { federation }
      }))
    }
    // the earlier overlays learn the later ones' keys, and their bridges meet
    for (const [i, early] of meshes.entries()) {
      for (const late of meshes.slice(i + 1)) {
        const earlyBridges = early.nodes.filter(n => n.type === 'bridge')
        for (const b of earlyBridges) {
          b.node.federation?.anchors.add({ overlay: late.issuer.overlay, root: late.issuer.rootPublicKey })
        }
        for (const b of late.nodes.filter(n => n.type === 'bridge')) {
          for (const addr of earlyBridges.flatMap(e => e.node.getFederationMultiaddrs())) {
            await b.node.federation?.connect(addr).catch(() => {})
          }
        }
      }
    }
  } catch (err) {
    await Promise.allSettled(meshes.map(async m => { await m.stop() }))
    throw err
  }
  return meshes
}

/** One node's line in the summary; a node that cannot say (it failed) says so instead of breaking the summary. */
function nodeSummary (n: DevMeshNode, counts: Map<string, RpcCounts>): Record<string, unknown> {
  try {
    const status = n.node.status()
    return {
      name: n.name,
      type: n.type,
      peerId: n.node.peerId.toString(),
      peers: n.node.libp2p.getPeers().length,
      admittedPeers: status.admission.admittedPeers,
      views: { edge: n.node.sampling.view('edge').length, bridge: n.node.sampling.view('bridge').length, sentinel: n.node.sampling.view('sentinel').length },
      rpc: counts.get(n.name),
      anomalies: status.anomalies.held,
      bundles: { received: status.bundles.inbox, sent: status.bundles.sent, carried: status.bundles.fragments }
    }
  } catch (err: any) {
    return { name: n.name, type: n.type, error: String(err?.message ?? err) }
  }
}

/**
 * Every 5 s (first at 3 s), an edge of each overlay sends a bundle to an
 * edge of the next overlay (\`<peer>@<overlay>\`): it travels to a bridge,
 * across, and on to its destination.
 */
function startBundlesAcross (meshes: DevMesh[]): ReturnType<typeof setInterval> {
  const online = (m: DevMesh): DevMeshNode[] => m.nodes.filter(n => n.type === 'edge' && n.offline !== true)
  const pick = <T>(list: T[]): T | undefined => list[Math.floor(Math.random() * list.length)]
  const send = (): void => {
    meshes.forEach((m, i) => {
      const next = meshes[(i + 1) % meshes.length] as DevMesh
      const from = pick(online(m))
      const to = pick(online(next))
      if (from != null && to != null) {
        from.node.dtn.send(`${to.node.peerId.toString()}@${next.issuer.overlay}`, Buffer.from(`hello ${to.name}, from ${from.name} in ${m.issuer.overlay}`), { lifetimeMs: 10 * 60_000 }).catch(() => {})
      }
    })
  }
  const first = setTimeout(send, 3_000)
  first.unref()
  const timer = setInterval(send, 5_000)
  timer.unref()
  return timer
}

/** Distinct bundles from other overlays delivered in this one. */
function bundlesFromOtherOverlays (mesh: DevMesh): number {
  const ids = new Set<string>()
  for (const n of mesh.nodes) {
    if (n.offline !== true) {
      for (const b of n.node.dtn.list('inbox', 1000) as Array<{ id: string, sourceOverlay?: string }>) {
        if (b.sourceOverlay != null && b.sourceOverlay !== mesh.issuer.overlay) {
          ids.add(b.id)
        }
      }
    }
  }
  return ids.size
}

/** Distinct anomalies of other overlays held in this one. */
function fromOtherOverlays (mesh: DevMesh): number {
  const ids = new Set<string>()
  for (const n of mesh.nodes) {
    if (n.offline !== true) {
      for (const a of n.node.gossip.list({ limit: 1000 })) {
        if (a.provenance != null && a.provenance.overlay !== mesh.issuer.overlay) {
          ids.add(a.id)
        }
      }
    }
  }
  return ids.size
}

function renderAll (meshes: DevMesh[], traffic: Array<ReturnType<typeof startDevTraffic>>): string {
  if (meshes.length === 1) {
    return renderTable(meshes[0] as DevMesh, traffic[0]?.counts ?? new Map(), traffic[0]?.dtn ?? { sent: [] })
  }
  return meshes.map((m, i) => `overlay ${m.issuer.overlay} — ${fromOtherOverlays(m)} anomalies, ${bundlesFromOtherOverlays(m)} bundles from the other overlays\n` + renderTable(m, traffic[i]?.counts ?? new Map(), traffic[i]?.dtn ?? { sent: [] })).join('')
}

function renderTable (mesh: DevMesh, rpc: Map<string, RpcCounts>, dtn: DtnDemo): string {
  const table = formatTable(['NODE', 'TYPE', 'PEER ID', 'PEERS', 'ADMITTED', 'EPOCH', 'TOKEN TTL', 'VIEWS E/B/S', 'RPC OK/REFUSED', 'ANOMALIES', 'BUNDLES IN/OUT', 'DHT'], mesh.nodes.map(n => {
    if (n.offline === true) {
      return [n.name, n.type, shortId(n.node.peerId.toString()), '(offline)', '-', '-', '-', '-', '-', '-', '-', '-']
    }
    const status = n.node.status()
    const ttl = status.admission.tokenExpiresAt == null ? 'none' : `${Math.max(0, Math.round((Date.parse(status.admission.tokenExpiresAt) - Date.now()) / 1000))}s`
    return [
      n.name,
      n.type,
      shortId(status.peerId),
      status.peers,
      status.admission.admittedPeers,
      status.admission.epoch ?? '-',
      ttl,
      (['edge', 'bridge', 'sentinel'] as const).map(t => n.node.sampling.view(t).length).join('/'),
      `${rpc.get(n.name)?.ok ?? 0}/${rpc.get(n.name)?.refused ?? 0}`,
      status.anomalies.held,
      `${status.bundles.inbox}/${status.bundles.sent}`,
      status.dhtMode
    ]
  }))
  const last = dtn.sent.at(-1)
  return table + (last == null ? '' : `bundle ${last.id.slice(0, 8)}… ${last.from} → ${last.to}${dtn.offline === last.to ? ' (waiting: the destination is offline)' : demoDelivered(mesh, { sent: [last] }) === 1 ? ' (delivered)' : ''}\n`)
}

import { readFile } from 'node:fs/promises'
import { parseDuration } from '../../node/duration.ts'
import { dataPath } from '../../node/data-dir.ts'
import { createLogger } from '../../logging/logger.ts'
import { startDevMesh } from '../dev-mesh.ts'
import { demoDelivered, startDevTraffic } from '../dev-traffic.ts'
import { UsageError } from '../errors.ts'
import { formatTable, printJson, shortId } from '../output.ts'
import { installSafetyNet } from '../safety-net.ts'
import type { DevMesh } from '../dev-mesh.ts'
import type { DtnDemo, RpcCounts } from '../dev-traffic.ts'

export interface DevOptions {
  edges: string
  sentinels: string
  bridges: string
  duration?: string
  root?: string
  json?: boolean
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
  const log = createLogger({ level: 'warn' })
  const tty = process.stdout.isTTY === true && !json

  if (!json) {
    process.stderr.write('dev mesh: identity keys use the public development passphrase; never use these data dirs in production\n')
  }
  const mesh = await startDevMesh({ sentinels, bridges, edges, root: options.root })
  const traffic = startDevTraffic(mesh)
  let stopping: Promise<void> | undefined
  const stop = async (reason: string): Promise<void> => {
    stopping ??= (async () => {
      clearInterval(ticker)
      clearTimeout(timer)
      traffic.stop()
      const summary = mesh.nodes.map(n => n.offline === true ? { name: n.name, type: n.type, offline: true } : ({
        name: n.name,
        type: n.type,
        peerId: n.node.peerId.toString(),
        peers: n.node.libp2p.getPeers().length,
        admittedPeers: n.node.status().admission.admittedPeers,
        views: { edge: n.node.sampling.view('edge').length, bridge: n.node.sampling.view('bridge').length, sentinel: n.node.sampling.view('sentinel').length },
        rpc: traffic.counts.get(n.name),
        anomalies: n.node.status().anomalies.held,
        bundles: { received: n.node.status().bundles.inbox, sent: n.node.status().bundles.sent, carried: n.node.status().bundles.fragments }
      }))
      const bundles = { sentToOfflineNodes: traffic.dtn.sent.length, delivered: demoDelivered(mesh, traffic.dtn) }
      const finalTable = renderTable(mesh, traffic.counts, traffic.dtn)
      // a node that does not stop in time must not hold the summary back
      const stopped = await Promise.race([
        mesh.stop().then(() => true),
        new Promise<boolean>(resolve => { setTimeout(() => { resolve(false) }, 10_000).unref() })
      ])
      if (!stopped) {
        process.stderr.write('dev mesh: some nodes did not stop within 10 s; exiting anyway\n')
      }
      if (json) {
        printJson({ event: 'summary', reason, nodes: summary, bundles })
      } else {
        process.stdout.write(`\nstopped (${reason}); final table:\n` + finalTable + `bundles sent to offline nodes: ${bundles.sentToOfflineNodes}, delivered after they came back: ${bundles.delivered}\n`)
      }
      process.exit(0)
    })()
    return stopping
  }
  installSafetyNet(log, () => { void stop('fatal error') })
  process.once('SIGINT', () => { void stop('SIGINT') })
  process.once('SIGTERM', () => { void stop('SIGTERM') })

  if (json) {
    const nodes = await Promise.all(mesh.nodes.map(async n => ({
      name: n.name,
      type: n.type,
      peerId: n.node.peerId.toString(),
      addrs: n.node.getMultiaddrs(),
      api: n.node.api?.url ?? null,
      apiToken: (await readFile(dataPath(n.dataDir, 'apiToken'), 'utf8')).trim()
    })))
    printJson({ event: 'ready', root: mesh.root, issuer: { url: mesh.issuerUrl, overlay: mesh.issuer.overlay }, nodes })
  } else {
    process.stdout.write(`dev mesh of ${mesh.nodes.length} nodes in ${mesh.root}, issuer ${mesh.issuerUrl}${durationMs == null ? ' (Ctrl-C to stop)' : ` for ${options.duration}`}\n`)
  }

  let lines = 0
  const ticker = setInterval(() => {
    if (json) {
      return
    }
    const table = renderTable(mesh, traffic.counts, traffic.dtn)
    if (tty) {
      process.stdout.write(lines > 0 ? `\x1b[${lines}A\x1b[J${table}` : table)
      lines = table.split('\n').length - 1
    } else {
      process.stdout.write(table + '\n')
    }
  }, tty ? 1_000 : 5_000)
  const timer = durationMs == null ? undefined : setTimeout(() => { void stop('duration elapsed') }, durationMs)
  await new Promise<never>(() => {})
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

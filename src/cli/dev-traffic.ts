/**
 * What the dev mesh does to show RPC at work: every node exposes
 * `status.get` to every type and `admin.ping` to one sentinel only; every
 * couple of seconds some node calls `status.get` on a peer it is connected
 * to (granted), and now and then an edge tries `admin.ping` (refused, with
 * nothing to tell it why) while the admin sentinel's own call goes through.
 * Every six seconds a random edge publishes an anomaly over gossip.
 * Every thirty seconds an edge goes offline, another edge sends it a bundle
 * while it is away, and it comes back and receives it (stored and carried
 * meanwhile by the sender and the sentinels it met).
 */
import { randomBytes } from 'node:crypto'
import type { DevMesh, DevMeshNode } from './dev-mesh.ts'

export interface RpcCounts {
  ok: number
  refused: number
}

/** the kind of the anomalies the dev traffic publishes (and dev overlays relay) */
export const DEV_ANOMALY_KIND = 'dev-demo'

export function exposeDevMethods (mesh: DevMesh): DevMeshNode | undefined {
  const admin = mesh.nodes.find(n => n.type === 'sentinel')
  for (const n of mesh.nodes) {
    exposeOn(n, admin)
  }
  return admin
}

function exposeOn (n: DevMeshNode, admin: DevMeshNode | undefined): void {
  n.node.rpc.expose('status.get', () => ({ name: n.name, type: n.type, peers: n.node.libp2p.getPeers().length }))
  n.node.rpc.expose('admin.ping', () => 'pong')
  n.node.rpc.policy.replace([
    { type: 'edge', allow: ['status.get'] },
    { type: 'bridge', allow: ['status.get'] },
    { type: 'sentinel', allow: ['status.get'] },
    ...(admin != null && admin !== n ? [{ peer: admin.node.peerId.toString(), allow: ['admin.*'] }] : [])
  ])
}

/** The bundle demo: who is away, and the bundles sent to nodes while they were. */
export interface DtnDemo {
  offline?: string
  sent: Array<{ id: string, from: string, to: string }>
}

/** How many of the demo's bundles their destination holds in its inbox. */
export function demoDelivered (mesh: DevMesh, demo: DtnDemo): number {
  return demo.sent.filter(b => {
    const to = mesh.nodes.find(n => n.name === b.to)
    return to != null && to.offline !== true && (to.node.dtn.list('inbox') as Array<{ id: string }>).some(e => e.id === b.id)
  }).length
}

export function startDevTraffic (mesh: DevMesh, intervalMs = 2_000): { counts: Map<string, RpcCounts>, dtn: DtnDemo, stop(): void } {
  const admin = exposeDevMethods(mesh)
  const counts = new Map(mesh.nodes.map(n => [n.name, { ok: 0, refused: 0 }]))
  const dtn: DtnDemo = { sent: [] }
  let away: DevMeshNode | undefined
  let step = 0
  const pick = <T>(list: T[]): T | undefined => list[Math.floor(Math.random() * list.length)]
  const call = (from: DevMeshNode, to: DevMeshNode, method: string): void => {
    const c = counts.get(from.name) as RpcCounts
    from.node.rpc.call(to.node.peerId, method, null, { timeout: 3_000 })
      .then(() => { c.ok++ }, () => { c.refused++ })
  }
  const timer = setInterval(() => {
    step++
    const online = mesh.nodes.filter(n => n.offline !== true)
    const edges = online.filter(n => n.type === 'edge')
    // the bundle demo, every 15 steps: away at 1, a bundle at 2, back at 4
    if (step % 15 === 1 && edges.length >= 2) {
      away = edges[(step / 15 | 0) % edges.length] as DevMeshNode
      dtn.offline = away.name
      mesh.takeOffline(away).catch(() => {})
    } else if (step % 15 === 2 && away != null) {
      const to = away
      const from = pick(edges.filter(n => n !== to))
      from?.node.dtn.send(to.node.peerId.toString(), Buffer.from(`hello ${to.name}, from ${from.name} while you were offline`), { lifetimeMs: 10 * 60_000 })
        .then(id => { dtn.sent.push({ id, from: from.name, to: to.name }) }, () => {})
    } else if (step % 15 === 4 && away != null) {
      const back = away
      away = undefined
      mesh.bringBack(back).then(() => {
        dtn.offline = undefined
        exposeOn(back, admin)
      }, () => {})
    }
    for (const from of online) {
      const connected = online.filter(n => n !== from && from.node.libp2p.getConnections(n.node.peerId).length > 0)
      const to = pick(connected)
      if (to != null) call(from, to, 'status.get')
    }
    if (step % 3 === 0) {
      // an edge reports an anomaly every few seconds; every node should show it
      const edge = pick(edges) ?? pick(online)
      edge?.node.gossip.publish({ kind: DEV_ANOMALY_KIND, digest: randomBytes(16).toString('hex'), severity: Math.floor(Math.random() * 11), metadata: { node: edge.name }, lifetimeMs: 10 * 60_000 })
        .catch(() => {})
    }
    if (step % 5 === 0 && admin != null) {
      const edge = edges[(step / 5) % Math.max(1, edges.length)]
      const target = mesh.nodes.find(n => n.type === 'sentinel' && n !== admin) ?? admin
      if (edge != null) call(edge, target, 'admin.ping')
      const other = pick(online.filter(n => n !== admin && admin.node.libp2p.getConnections(n.node.peerId).length > 0))
      if (other != null) call(admin, other, 'admin.ping')
    }
  }, intervalMs)
  timer.unref?.()
  return { counts, dtn, stop: () => { clearInterval(timer) } }
}

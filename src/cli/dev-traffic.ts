/**
 * What the dev mesh does to show RPC at work: every node exposes
 * `status.get` to every type and `admin.ping` to one sentinel only; every
 * couple of seconds some node calls `status.get` on a peer it is connected
 * to (granted), and now and then an edge tries `admin.ping` (refused, with
 * nothing to tell it why) while the admin sentinel's own call goes through.
 * Every six seconds a random edge publishes an anomaly over gossip.
 */
import { randomBytes } from 'node:crypto'
import type { DevMesh, DevMeshNode } from './dev-mesh.ts'

export interface RpcCounts {
  ok: number
  refused: number
}

export function exposeDevMethods (mesh: DevMesh): DevMeshNode | undefined {
  const admin = mesh.nodes.find(n => n.type === 'sentinel')
  for (const n of mesh.nodes) {
    n.node.rpc.expose('status.get', () => ({ name: n.name, type: n.type, peers: n.node.libp2p.getPeers().length }))
    n.node.rpc.expose('admin.ping', () => 'pong')
    n.node.rpc.policy.replace([
      { type: 'edge', allow: ['status.get'] },
      { type: 'bridge', allow: ['status.get'] },
      { type: 'sentinel', allow: ['status.get'] },
      ...(admin != null && admin !== n ? [{ peer: admin.node.peerId.toString(), allow: ['admin.*'] }] : [])
    ])
  }
  return admin
}

export function startDevTraffic (mesh: DevMesh, intervalMs = 2_000): { counts: Map<string, RpcCounts>, stop(): void } {
  const admin = exposeDevMethods(mesh)
  const counts = new Map(mesh.nodes.map(n => [n.name, { ok: 0, refused: 0 }]))
  let step = 0
  const pick = <T>(list: T[]): T | undefined => list[Math.floor(Math.random() * list.length)]
  const call = (from: DevMeshNode, to: DevMeshNode, method: string): void => {
    const c = counts.get(from.name) as RpcCounts
    from.node.rpc.call(to.node.peerId, method, null, { timeout: 3_000 })
      .then(() => { c.ok++ }, () => { c.refused++ })
  }
  const timer = setInterval(() => {
    step++
    for (const from of mesh.nodes) {
      const connected = mesh.nodes.filter(n => n !== from && from.node.libp2p.getConnections(n.node.peerId).length > 0)
      const to = pick(connected)
      if (to != null) call(from, to, 'status.get')
    }
    if (step % 3 === 0) {
      // an edge reports an anomaly every few seconds; every node should show it
      const edge = pick(mesh.nodes.filter(n => n.type === 'edge')) ?? pick(mesh.nodes)
      edge?.node.gossip.publish({ kind: 'dev-demo', digest: randomBytes(16).toString('hex'), severity: Math.floor(Math.random() * 11), metadata: { node: edge.name }, lifetimeMs: 10 * 60_000 })
        .catch(() => {})
    }
    if (step % 5 === 0 && admin != null) {
      const edges = mesh.nodes.filter(n => n.type === 'edge')
      const edge = edges[(step / 5) % Math.max(1, edges.length)]
      const target = mesh.nodes.find(n => n.type === 'sentinel' && n !== admin) ?? admin
      if (edge != null) call(edge, target, 'admin.ping')
      const other = pick(mesh.nodes.filter(n => n !== admin && admin.node.libp2p.getConnections(n.node.peerId).length > 0))
      if (other != null) call(admin, other, 'admin.ping')
    }
  }, intervalMs)
  timer.unref?.()
  return { counts, stop: () => { clearInterval(timer) } }
}

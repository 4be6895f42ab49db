/**
 * What the dev mesh does to show RPC at work: every node exposes
 * `status.get` to every type and `admin.ping` to one sentinel only; every
 * couple of seconds some node calls `status.get` on a peer it is connected
 * to (granted), and every half minute one edge tries `admin.ping` (refused,
 * with nothing to tell it why) while the admin sentinel's own call goes
 * through. The refusal is shown without pushing the edge toward throttling:
 * see `REFUSED_CALL_EVERY`.
 * Every six seconds a random edge publishes an anomaly over gossip.
 * Every thirty seconds an edge goes offline, another edge sends it a bundle
 * while it is away, and it comes back and receives it (stored and carried
 * meanwhile by the sender and the sentinels it met).
 */
import { randomBytes } from 'node:crypto'
import type { DevMesh, DevMeshNode } from './dev-mesh.ts'
import type { PeerType } from '../core/peer-type.ts'
import type { RpcRule } from '../rpc/policy.ts'

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

/** The dev rules on a node: `status.get` for every type, `admin.*` for the admin sentinel (on the others). */
export function devRules (isAdmin: boolean, adminPeer: string | undefined): RpcRule[] {
  return [
    { type: 'edge', allow: ['status.get'] },
    { type: 'bridge', allow: ['status.get'] },
    { type: 'sentinel', allow: ['status.get'] },
    ...(adminPeer != null && !isAdmin ? [{ peer: adminPeer, allow: ['admin.*'] }] : [])
  ]
}

function exposeOn (n: DevMeshNode, admin: DevMeshNode | undefined): void {
  n.node.rpc.expose('status.get', () => ({ name: n.name, type: n.type, peers: n.node.libp2p.getPeers().length }))
  n.node.rpc.expose('admin.ping', () => 'pong')
  n.node.rpc.policy.replace(devRules(admin === n, admin?.node.peerId.toString()))
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

/** one step of the dev traffic every this many ms */
export const DEV_STEP_MS = 2_000
/** the bundle demo's cycle, in steps: an edge away at 1, a bundle sent to it at 2, back at 4 */
export const BUNDLE_DEMO_EVERY = 15
/** an anomaly is published every this many steps */
export const ANOMALY_EVERY = 3
/**
 * The refused-call demo, every this many steps (30 s at DEV_STEP_MS): the
 * first edge of the mesh calls `admin.ping` on a sentinel that does not
 * grant it. Always the same caller, method and target, 30 s apart: less
 * than the suspicion episode's gap (60 s), so every refusal after the first
 * falls in one episode, charged once (`rpc-denied`, 5) until the episode's
 * 15 min cap, then once more. Its score at the target is thus 5 for the
 * first 15 min and settles at most at 5 / (1 − 2^(−15/10)) = 7.7 (half-life
 * 10 min): never at the throttle threshold (10). The old demo rotated the
 * call over the edges every 10 s and each refusal cost 5, so an edge called
 * every 50 s climbed past 10 within two minutes (and a lone edge, called
 * every 10 s, to quarantine).
 */
export const REFUSED_CALL_EVERY = 15
/** the admin sentinel's own (granted) `admin.ping`, every this many steps */
export const ADMIN_CALL_EVERY = 5

/** What the schedule needs to know of a node. */
export interface DevTrafficNode {
  name: string
  type: PeerType
  offline?: boolean
}

/** What one step of the dev traffic does; the runner carries it out. */
export interface DevStep {
  /** take this edge offline (the bundle demo) */
  takeOffline?: string
  /** send a bundle to the node that is away */
  bundle?: { from: string, to: string }
  /** bring this edge back */
  bringBack?: string
  /** RPC calls: from, to, method */
  calls: Array<{ from: string, to: string, method: string }>
  /** publish an anomaly from this node */
  publish?: string
}

export interface DevStepContext<N extends DevTrafficNode> {
  /** every node of the mesh, in the mesh's order (sentinels, bridges, edges) */
  nodes: N[]
  /** the sentinel that holds `admin.*` on the others */
  admin?: N
  /** the edge the bundle demo took away, until it is brought back */
  away?: N
  connected: (from: N, to: N) => boolean
  pick: <T>(list: T[]) => T | undefined
}

/**
 * The dev traffic's schedule, pure: what step `step` (1, 2, …) does. The
 * runner below and the tests (which check over simulated time that no
 * honest node is pushed toward throttling) share it.
 */
export function planDevStep<N extends DevTrafficNode> (step: number, ctx: DevStepContext<N>): DevStep {
  const plan: DevStep = { calls: [] }
  const online = ctx.nodes.filter(n => n.offline !== true)
  const edges = online.filter(n => n.type === 'edge')
  if (step % BUNDLE_DEMO_EVERY === 1 && edges.length >= 2) {
    plan.takeOffline = (edges[(step / BUNDLE_DEMO_EVERY | 0) % edges.length] as N).name
  } else if (step % BUNDLE_DEMO_EVERY === 2 && ctx.away != null) {
    const to = ctx.away
    const from = ctx.pick(edges.filter(n => n !== to))
    if (from != null) plan.bundle = { from: from.name, to: to.name }
  } else if (step % BUNDLE_DEMO_EVERY === 4 && ctx.away != null) {
    plan.bringBack = ctx.away.name
  }
  for (const from of online) {
    const to = ctx.pick(online.filter(n => n !== from && ctx.connected(from, n)))
    if (to != null) plan.calls.push({ from: from.name, to: to.name, method: 'status.get' })
  }
  if (step % ANOMALY_EVERY === 0) {
    // an edge reports an anomaly every few seconds; every node should show it
    const edge = ctx.pick(edges) ?? ctx.pick(online)
    if (edge != null) plan.publish = edge.name
  }
  const admin = ctx.admin
  if (admin == null) {
    return plan
  }
  if (step % REFUSED_CALL_EVERY === 0) {
    // always the same caller and target (one cause, one episode); skipped while it is away
    const caller = ctx.nodes.find(n => n.type === 'edge')
    const target = ctx.nodes.find(n => n.type === 'sentinel' && n !== admin) ?? admin
    if (caller != null && caller.offline !== true) plan.calls.push({ from: caller.name, to: target.name, method: 'admin.ping' })
  }
  if (step % ADMIN_CALL_EVERY === 0) {
    const other = ctx.pick(online.filter(n => n !== admin && ctx.connected(admin, n)))
    if (other != null) plan.calls.push({ from: admin.name, to: other.name, method: 'admin.ping' })
  }
  return plan
}

export function startDevTraffic (mesh: DevMesh, intervalMs = DEV_STEP_MS): { counts: Map<string, RpcCounts>, dtn: DtnDemo, stop(): void } {
  const admin = exposeDevMethods(mesh)
  const counts = new Map(mesh.nodes.map(n => [n.name, { ok: 0, refused: 0 }]))
  const dtn: DtnDemo = { sent: [] }
  let away: DevMeshNode | undefined
  let step = 0
  const pick = <T>(list: T[]): T | undefined => list[Math.floor(Math.random() * list.length)]
  const named = (name: string): DevMeshNode | undefined => mesh.nodes.find(n => n.name === name)
  const call = (from: DevMeshNode, to: DevMeshNode, method: string): void => {
    const c = counts.get(from.name) as RpcCounts
    from.node.rpc.call(to.node.peerId, method, null, { timeout: 3_000 })
      .then(() => { c.ok++ }, () => { c.refused++ })
  }
  const timer = setInterval(() => {
    step++
    const plan = planDevStep(step, {
      nodes: mesh.nodes,
      admin,
      away,
      connected: (from, to) => from.node.libp2p.getConnections(to.node.peerId).length > 0,
      pick
    })
    if (plan.takeOffline != null) {
      away = named(plan.takeOffline)
      if (away != null) {
        dtn.offline = away.name
        mesh.takeOffline(away).catch(() => {})
      }
    }
    if (plan.bundle != null) {
      const from = named(plan.bundle.from)
      const to = named(plan.bundle.to)
      if (from != null && to != null) {
        from.node.dtn.send(to.node.peerId.toString(), Buffer.from(`hello ${to.name}, from ${from.name} while you were offline`), { lifetimeMs: 10 * 60_000 })
          .then(id => { dtn.sent.push({ id, from: from.name, to: to.name }) }, () => {})
      }
    }
    if (plan.bringBack != null && away != null) {
      const back = away
      away = undefined
      mesh.bringBack(back).then(() => {
        dtn.offline = undefined
        exposeOn(back, admin)
      }, () => {})
    }
    for (const c of plan.calls) {
      const from = named(c.from)
      const to = named(c.to)
      if (from != null && to != null) call(from, to, c.method)
    }
    const edge = plan.publish != null ? named(plan.publish) : undefined
    edge?.node.gossip.publish({ kind: DEV_ANOMALY_KIND, digest: randomBytes(16).toString('hex'), severity: Math.floor(Math.random() * 11), metadata: { node: edge.name }, lifetimeMs: 10 * 60_000 })
      .catch(() => {})
  }, intervalMs)
  timer.unref?.()
  return { counts, dtn, stop: () => { clearInterval(timer) } }
}

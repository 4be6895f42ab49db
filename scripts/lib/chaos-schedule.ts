/**
 * The chaos harness's fault schedule: pure, seeded, printed before the run.
 * Times are ms from the start of the faulted phase. The run ends with a
 * settle phase of at least a fifth of it and 45 s where it can (a node that
 * missed an anomaly while its link was down but its connections survived
 * fetches it in the periodic catch-up, every 30 s: gossip/constants.ts);
 * traffic (anomalies, bundles) runs until then, and every fault heals
 * before it, so "everything delivered by the end" is a fair demand.
 *
 * Node-level faults never overlap on one node, and the node to be revoked
 * takes part in nothing else (it is neither a sender nor a destination), so
 * every later figure can tell honest nodes from the one that is not.
 */
import { seededRandom } from '../../src/sampling/random.ts'
import type { PeerType } from '../../src/core/peer-type.ts'

export type ChaosAction =
  | { at: number, kind: 'kill', node: number, downMs: number }
  | { at: number, kind: 'link', node: number, downMs: number }
  | { at: number, kind: 'partition', half: number[], downMs: number }
  | { at: number, kind: 'issuer-kill', replica: number, downMs: number }
  | { at: number, kind: 'rotate', activateAfterMs: number }
  | { at: number, kind: 'revoke', node: number }
  | { at: number, kind: 'anomaly', node: number, ref: string }
  | { at: number, kind: 'bundle', node: number, to: number, ref: string }

export interface ChaosPlan {
  seed: number
  durationMs: number
  roles: PeerType[]
  revoked: number
  actions: ChaosAction[]
}

/** Sentinels 10 % (at least 2), bridges 5 % (at least 1), the rest edges; sentinels first. */
export function chaosRoles (nodes: number): PeerType[] {
  const sentinels = Math.max(2, Math.round(nodes / 10))
  const bridges = Math.max(1, Math.round(nodes / 20))
  return Array.from({ length: nodes }, (_, i) => i < sentinels ? 'sentinel' : i < sentinels + bridges ? 'bridge' : 'edge')
}

export interface ChaosPlanInit {
  nodes: number
  durationMs: number
  seed: number
  replicas: number
}

/** Per node: the intervals [from, to) in which it is away (killed or unlinked). */
type Busy = Array<Array<[number, number]>>

const overlaps = (busy: Array<[number, number]>, from: number, to: number): boolean => busy.some(([a, b]) => from < b && a < to)

export function planChaos (init: ChaosPlanInit): ChaosPlan {
  const { nodes, durationMs, seed } = init
  if (nodes < 6) {
    throw new RangeError('the chaos harness needs at least 6 nodes (two sentinels, a bridge, edges, one to revoke)')
  }
  const random = seededRandom(seed)
  const between = (a: number, b: number): number => Math.round(a + random() * (b - a))
  const roles = chaosRoles(nodes)
  const edges = roles.flatMap((r, i) => r === 'edge' ? [i] : [])
  const revoked = edges[Math.floor(random() * edges.length)] as number
  const honest = roles.map((_, i) => i).filter(i => i !== revoked)
  const settleMs = Math.max(durationMs * 0.2, Math.min(durationMs * 0.45, 45_000))
  const trafficTo = durationMs - settleMs
  const faultsFrom = durationMs * 0.1
  const faultsTo = trafficTo - 2_000
  const minutes = durationMs / 60_000
  const actions: ChaosAction[] = []
  const busy: Busy = roles.map(() => [])
  // the longest a fault may last: a tenth of the run, at most two minutes, at least a few seconds
  const longest = Math.max(5_000, Math.min(120_000, durationMs * 0.1))

  const pickFree = (from: number, to: number, pool: number[]): number | undefined => {
    for (let attempt = 0; attempt < 50; attempt++) {
      const n = pool[Math.floor(random() * pool.length)] as number
      if (!overlaps(busy[n] as Array<[number, number]>, from - 2_000, to + 2_000)) {
        return n
      }
    }
    return undefined
  }

  // the partition first: half of the honest nodes (never all sentinels on one side) for 10-15 % of the run
  const partitionMs = Math.round(durationMs * (0.1 + random() * 0.05))
  const partitionAt = between(faultsFrom, faultsTo - partitionMs)
  const half = honest.filter((_, k) => k % 2 === 1)
  actions.push({ at: partitionAt, kind: 'partition', half, downMs: partitionMs })

  const kills = Math.max(1, Math.round(nodes * minutes / 100))
  const links = Math.max(2, Math.round(1.5 * nodes * minutes / 100))
  for (let i = 0; i < kills; i++) {
    const downMs = between(2_000, Math.min(20_000, longest))
    const at = between(faultsFrom, faultsTo - downMs)
    const node = pickFree(at, at + downMs, honest)
    if (node != null) {
      busy[node]?.push([at, at + downMs])
      actions.push({ at, kind: 'kill', node, downMs })
    }
  }
  for (let i = 0; i < links; i++) {
    // seconds to minutes: a third short, the rest up to the longest
    const downMs = i % 3 === 0 ? between(2_000, 8_000) : between(5_000, longest)
    const at = between(faultsFrom, faultsTo - downMs)
    const node = pickFree(at, at + downMs, honest)
    if (node != null) {
      busy[node]?.push([at, at + downMs])
      actions.push({ at, kind: 'link', node, downMs })
    }
  }
  actions.push({ at: between(faultsFrom, faultsTo - 20_000), kind: 'issuer-kill', replica: init.replicas - 1, downMs: between(5_000, Math.min(30_000, longest)) })
  actions.push({ at: between(faultsFrom, faultsTo - 20_000), kind: 'rotate', activateAfterMs: between(3_000, 10_000) })
  actions.push({ at: between(faultsFrom, faultsTo * 0.8), kind: 'revoke', node: revoked })

  const anomalies = Math.max(8, Math.round(durationMs / 6_000))
  const bundles = Math.max(10, Math.round(durationMs / 4_000))
  const up = (n: number, at: number): boolean => !(busy[n] as Array<[number, number]>).some(([a, b]) => at >= a - 1_000 && at < b + 3_000)
  for (let i = 0; i < anomalies; i++) {
    const at = between(durationMs * 0.05, trafficTo)
    const node = pickUp(honest, at)
    if (node != null) actions.push({ at, kind: 'anomaly', node, ref: `a${i}` })
  }
  for (let i = 0; i < bundles; i++) {
    const at = between(durationMs * 0.05, trafficTo)
    const node = pickUp(honest, at)
    // every third bundle goes to a node that is away at that moment, when one is
    const away = i % 3 === 0 ? honest.filter(n => n !== node && !up(n, at)) : []
    const pool = away.length > 0 ? away : honest.filter(n => n !== node)
    const to = pool[Math.floor(random() * pool.length)] as number
    if (node != null) actions.push({ at, kind: 'bundle', node, to, ref: `b${i}` })
  }
  actions.sort((a, b) => a.at - b.at)
  return { seed, durationMs, roles, revoked, actions }

  function pickUp (pool: number[], at: number): number | undefined {
    for (let attempt = 0; attempt < 50; attempt++) {
      const n = pool[Math.floor(random() * pool.length)] as number
      if (up(n, at)) return n
    }
    return undefined
  }
}

/** The schedule as a few readable lines. */
export function describePlan (plan: ChaosPlan): string {
  const count = (k: ChaosAction['kind']): number => plan.actions.filter(a => a.kind === k).length
  const s = (ms: number): string => `${(ms / 1000).toFixed(1)}s`
  const lines = [
    `roles: ${count2(plan.roles, 'sentinel')} sentinels, ${count2(plan.roles, 'bridge')} bridges, ${count2(plan.roles, 'edge')} edges; revoked: node ${plan.revoked}`,
    `traffic: ${count('anomaly')} anomalies, ${count('bundle')} bundles`
  ]
  for (const a of plan.actions) {
    switch (a.kind) {
      case 'kill': lines.push(`${s(a.at)} kill -9 node ${a.node}, restart after ${s(a.downMs)}`); break
      case 'link': lines.push(`${s(a.at)} link down node ${a.node} for ${s(a.downMs)}`); break
      case 'partition': lines.push(`${s(a.at)} partition: ${a.half.length} nodes cut off for ${s(a.downMs)}`); break
      case 'issuer-kill': lines.push(`${s(a.at)} kill -9 issuer replica ${a.replica}, restart after ${s(a.downMs)}`); break
      case 'rotate': lines.push(`${s(a.at)} signing-key rotation: announce, activate after ${s(a.activateAfterMs)}`); break
      case 'revoke': lines.push(`${s(a.at)} 2-of-2 revocation of node ${a.node}`); break
    }
  }
  return lines.join('\n')
}

function count2 (roles: PeerType[], r: PeerType): number {
  return roles.filter(x => x === r).length
}

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { SuspicionScores } from '../../src/admission/suspicion.ts'
import { DEV_STEP_MS, devRules, planDevStep } from '../../src/cli/dev-traffic.ts'
import { RpcPolicy } from '../../src/rpc/policy.ts'
import type { DevTrafficNode } from '../../src/cli/dev-traffic.ts'
import type { PeerType } from '../../src/core/peer-type.ts'

// issue #13 item 8: the dev mesh's demo shows a refused call without pushing
// any honest node toward throttling. The dev traffic's real schedule drives
// each node's real policy and suspicion table over simulated time, exactly
// as the RPC service charges a refusal (rpc-denied, the method as its cause).

interface SimNode extends DevTrafficNode {
  id: string
  scores: SuspicionScores
  policy: RpcPolicy
}

const B58 = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'

/** a seeded random source (mulberry32): the picks differ per seed, every run is the same */
function seeded (seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function simulate (counts: Record<PeerType, number>, minutes: number, seed: number): { refused: number, ok: number, worst: number } {
  let now = 0
  const clock = (): number => now
  const nodes: SimNode[] = []
  for (const type of ['sentinel', 'bridge', 'edge'] as const) {
    for (let i = 1; i <= counts[type]; i++) {
      nodes.push({ name: `${type}-${i}`, type, id: `12D3KooW${B58[nodes.length] as string}${'z'.repeat(44)}`, scores: new SuspicionScores({}, clock), policy: new RpcPolicy([], { now: clock }) })
    }
  }
  const admin = nodes.find(n => n.type === 'sentinel')
  // every node exposes status.get and admin.ping; the rules are the dev rules
  const install = (n: SimNode): void => { n.policy.replace(devRules(n === admin, admin?.id)) }
  nodes.forEach(install)
  const random = seeded(seed)
  const pick = <T>(list: T[]): T | undefined => list[Math.floor(random() * list.length)]
  const named = (name: string): SimNode => nodes.find(n => n.name === name) as SimNode
  let away: SimNode | undefined
  let refused = 0
  let ok = 0
  let worst = 0
  const steps = minutes * 60_000 / DEV_STEP_MS
  for (let step = 1; step <= steps; step++) {
    now = step * DEV_STEP_MS
    const plan = planDevStep(step, { nodes, admin, away, connected: (a, b) => a.offline !== true && b.offline !== true, pick })
    if (plan.takeOffline != null) {
      away = named(plan.takeOffline)
      away.offline = true
    }
    if (plan.bringBack != null && away != null) {
      // a node that comes back is a fresh process: new tables, the dev rules again
      away.offline = false
      away.scores = new SuspicionScores({}, clock)
      away.policy = new RpcPolicy([], { now: clock })
      install(away)
      away = undefined
    }
    for (const call of plan.calls) {
      const from = named(call.from)
      const to = named(call.to)
      if (to.offline === true) continue
      if (to.policy.allows(from.id, from.type, call.method)) {
        ok++
      } else {
        refused++
        if (!to.policy.graced(from.id, from.type, call.method)) to.scores.charge(from.id, 'rpc-denied', call.method)
      }
    }
    for (const n of nodes) {
      for (const m of nodes) {
        worst = Math.max(worst, n.scores.score(m.id))
        assert.equal(n.scores.state(m.id), 'ok', `${n.name} holds ${m.name} at ${n.scores.score(m.id).toFixed(1)} (${n.scores.state(m.id)}) after ${(now / 60_000).toFixed(1)} min`)
      }
    }
  }
  return { refused, ok, worst }
}

describe('the dev traffic\'s demo (its real schedule over simulated time)', () => {
  it('the default npm start mesh (2 sentinels, 1 bridge, 5 edges): every node stays ok for 10 minutes, and refusals are shown', () => {
    for (const seed of [1, 2, 3]) {
      const r = simulate({ sentinel: 2, bridge: 1, edge: 5 }, 10, seed)
      assert.ok(r.refused >= 19, `the demo shows refused calls (${r.refused})`)
      assert.ok(r.ok > 1_000)
    }
  })

  it('a mesh of one sentinel and one edge: the edge stays ok for 10 minutes', () => {
    const r = simulate({ sentinel: 1, bridge: 0, edge: 1 }, 10, 7)
    assert.ok(r.refused >= 19)
  })

  it('and for hours: the repeated refusal settles under the throttle threshold', () => {
    const r = simulate({ sentinel: 2, bridge: 1, edge: 5 }, 180, 11)
    assert.ok(r.worst > 5 && r.worst < 8, `worst score ${r.worst}`)
  })
})

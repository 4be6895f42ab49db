/**
 * The chaos harness's figures, computed only from what the nodes reported
 * (their event lines and their end-of-run stores) and from the faults as
 * they actually ran (times the harness recorded when it acted). Pure: no
 * I/O, so the rules that decide "lost", "penalised" and "expected" can be
 * read and tested on their own.
 */
import { percentile } from './stats.ts'

export interface NodeEvent { at: number, event: string, [k: string]: any }

export interface NodeRecord {
  index: number
  peerId: string
  /** every line the node printed, across restarts, in order */
  events: NodeEvent[]
  /** the end-of-run report, when the node answered */
  report?: { anomalies: string[], inbox: string[], held: string[], connections: number }
  /** exits the harness did not cause */
  unexpectedExits: Array<{ at: number, code: number | null, signal: string | null }>
}

/** A fault as it ran: the node (or nodes) away from `from` to `to` (ms since the epoch). */
export interface RanFault {
  kind: 'kill' | 'link' | 'partition' | 'issuer-kill'
  nodes: number[]
  from: number
  to: number
}

export interface Sent { ref: string, kind: 'anomaly' | 'bundle', node: number, to?: number, id: string, at: number, expires: number }

export interface ChaosFigures {
  nodes: number
  durationS: number
  revocationP50Ms: number | null
  revocationP99Ms: number | null
  /** nodes present at the revocation that never applied it */
  revocationMissed: number
  revokedCutOffMs: number | null
  anomalyDelivery: number
  anomalyP99Ms: number | null
  bundleDeliveryVsOracle: number
  bundlesExpected: number
  bundlesDelivered: number
  lost: number
  honestPenalised: number
  /** offences charged to honest peers (below any threshold; a signal, not a goal) */
  honestOffences: number
  crashes: number
  /** network-class errors that escaped a handler (survived) */
  escapedNetworkErrors: number
  /** over every link that came back and every node of a healed partition (below) */
  reconnectP99Ms: number | null
  /** links alone: a node cut off, then back */
  linkReconnectP99Ms: number | null
  /** partitions alone: each node of the cut half until its first admission across the cut */
  partitionHealP99Ms: number | null
  /** the same, the median node */
  partitionHealP50Ms: number | null
  /** a partition until the halves were joined again: the first admission across the cut by any node of the cut half (the slowest partition's) */
  partitionRejoinMs: number | null
  rssPerNodeMb: number | null
  rssMaxMb: number | null
  cpuPerNodePct: number | null
  /** CPU seconds per node to start and mesh, before the first fault */
  startCpuSPerNode: number | null
}

export interface FigureInput {
  nodes: NodeRecord[]
  revoked: number
  faults: RanFault[]
  sent: Sent[]
  /** when the k-th approval was acknowledged, and the list number it made */
  revocation?: { at: number, n: number }
  startedAt: number
  endedAt: number
  /** when traffic and faults were over and the settle phase began */
  settleFrom: number
  /** how long a node must be present for a bundle to it (or from it) to count as deliverable */
  windowMs: number
  rssMb: number[]
  /** CPU seconds the node processes used from the first fault to the end (restarts included) */
  cpuSeconds: number
  /** CPU seconds the node processes had used when the faults began: starting and meshing */
  startCpuSeconds: number
}

const round = (v: number | undefined | null): number | null => v == null || Number.isNaN(v) ? null : Math.round(v)

/** Was node n away (killed, unlinked, or on the cut-off side) at time t? */
export function awayAt (faults: RanFault[], n: number, t: number): boolean {
  return faults.some(f => f.kind !== 'issuer-kill' && f.nodes.includes(n) && t >= f.from && t < f.to)
}

/**
 * When node `n` could first come back from fault `f`: `f`'s end, or later
 * if a kill or a link fault of `n`'s own was still running then (the
 * latest end of those, followed on while one more began before it ended).
 */
export function wayBackAt (n: number, f: RanFault, faults: RanFault[]): number {
  let at = f.to
  for (let changed = true; changed;) {
    changed = false
    for (const g of faults) {
      if (g !== f && (g.kind === 'kill' || g.kind === 'link') && g.nodes.includes(n) && g.from <= at && at < g.to) {
        at = g.to
        changed = true
      }
    }
  }
  return at
}

/**
 * The bundle oracle: a bundle is deliverable when, after it was sent, its
 * sender was present with the mesh whole for a window (it could hand the
 * bundle on), and after that its destination was present with the mesh whole
 * for a window before the end. Checked on a 1 s grid.
 */
export function bundleExpected (faults: RanFault[], s: Sent, endedAt: number, windowMs: number): boolean {
  const whole = (t: number): boolean => !faults.some(f => f.kind === 'partition' && t >= f.from && t < f.to)
  const present = (n: number, t: number): boolean => !awayAt(faults, n, t) && whole(t)
  const windowFrom = (n: number, from: number): number | undefined => {
    let run = 0
    for (let t = from; t < endedAt; t += 1_000) {
      run = present(n, t) ? run + 1_000 : 0
      if (run >= windowMs) return t
    }
    return undefined
  }
  const handed = windowFrom(s.node, s.at)
  if (handed == null || s.to == null) return false
  const reached = windowFrom(s.to, handed - windowMs)
  return reached != null && s.expires > endedAt
}

/**
 * Each acknowledged, unexpired anomaly missing at an honest node by the end,
 * with what a post-mortem needs first: when and by whom it was published,
 * the epoch of the publisher's token then, whether the missing node was
 * away at that moment, and what that node refused in gossip.
 */
export function anomalyMisses (input: Pick<FigureInput, 'nodes' | 'revoked' | 'faults' | 'sent' | 'startedAt' | 'endedAt'>): string[] {
  const { nodes, revoked, faults, sent, startedAt, endedAt } = input
  const t = (at: number): string => `+${((at - startedAt) / 1000).toFixed(1)}s`
  const epochAt = (i: number, at: number): unknown => nodes.find(n => n.index === i)?.events.filter(e => e.event === 'token' && e.at <= at).at(-1)?.epoch
  const misses: string[] = []
  for (const a of sent.filter(s => s.kind === 'anomaly' && s.expires > endedAt)) {
    for (const n of nodes) {
      if (n.index === revoked || n.report == null || n.report.anomalies.includes(a.id)) continue
      const refusals = n.events.filter(e => e.event === 'gossip-refused' && e.at >= a.at).map(e => `${t(e.at)} ${e.reason} from ${String(e.peer).slice(-6)}`)
      misses.push(`anomaly ${a.ref} (node ${a.node} at ${t(a.at)}, its token of epoch ${String(epochAt(a.node, a.at))}) missing at node ${n.index}` +
        `${awayAt(faults, n.index, a.at) ? ' (away when it was published)' : ''}; that node's epoch at the end ${String(epochAt(n.index, endedAt))}` +
        `${refusals.length > 0 ? `; it refused: ${refusals.slice(0, 5).join(', ')}` : ''}`)
    }
  }
  return misses
}

/** Each offence charged to an honest peer, and each honest peer pushed past `ok`: who, by whom, when, for what. */
export function honestOffences (input: Pick<FigureInput, 'nodes' | 'revoked' | 'startedAt'>): string[] {
  const { nodes, revoked, startedAt } = input
  const indexOf = new Map(nodes.map(n => [n.peerId, n.index]))
  const honest = new Set(nodes.filter(n => n.index !== revoked).map(n => n.peerId))
  const t = (at: number): string => `+${((at - startedAt) / 1000).toFixed(1)}s`
  const lines: string[] = []
  for (const n of nodes) {
    for (const [i, e] of n.events.entries()) {
      if (e.event === 'offence' && e.charged === true && honest.has(e.peer)) {
        // a DTN refusal's reason is in the event the node printed beside the offence
        const dtn = e.offence === 'bad-bundle' ? n.events.slice(Math.max(0, i - 3), i + 4).find(f => f.event === 'dtn-refused' && f.peer === e.peer) : undefined
        const cause = e.cause ?? (dtn != null ? `dtn:${String(dtn.reason)}` : 'no cause')
        lines.push(`node ${n.index} charged honest node ${String(indexOf.get(e.peer))} with ${String(e.offence)} (${String(cause)}) at ${t(e.at)}, now ${String(e.state)}`)
      }
    }
  }
  return lines
}

export function computeFigures (input: FigureInput): ChaosFigures {
  const { nodes, revoked, faults, sent, revocation, endedAt, windowMs } = input
  const honest = nodes.filter(n => n.index !== revoked)
  const reporting = honest.filter(n => n.report != null)

  // revocation: the first revocation list at or past the target, at each node present then
  const revocationLatencies: number[] = []
  let revocationMissed = 0
  let revokedCutOffMs: number | null = null
  if (revocation != null) {
    // live: present for the 10 s after the list was published (one that left at once is counted when back, not here)
    for (const n of honest) {
      if (Array.from({ length: 11 }, (_, k) => revocation.at + k * 1_000).some(t => awayAt(faults, n.index, t))) continue
      const applied = n.events.find(e => e.event === 'revocation-list' && e.n >= revocation.n)
      if (applied == null) revocationMissed++
      else revocationLatencies.push(Math.max(0, applied.at - revocation.at))
    }
    const r = nodes.find(n => n.index === revoked)
    if (r != null) {
      // the revoked node's last moment with a connection after the revocation
      const after = r.events.filter(e => (e.event === 'connect' || e.event === 'disconnect') && e.at >= revocation.at)
      const last = after.at(-1)
      const before = r.events.filter(e => (e.event === 'connect' || e.event === 'disconnect') && e.at < revocation.at).at(-1)
      if (last == null) revokedCutOffMs = (before == null || before.connections === 0) ? 0 : null
      else if (last.connections === 0 && (r.report == null || r.report.connections === 0)) revokedCutOffMs = last.at - revocation.at
    }
  }

  // anomalies: every unexpired acknowledged one at every honest node that reported
  const anomalies = sent.filter(s => s.kind === 'anomaly' && s.expires > endedAt)
  let pairs = 0
  let present = 0
  const anomalyLatencies: number[] = []
  for (const n of reporting) {
    const held = new Set(n.report?.anomalies)
    const firstSeen = new Map<string, number>()
    for (const e of n.events) {
      if (e.event === 'anomaly' && !firstSeen.has(e.id)) firstSeen.set(e.id, e.at)
    }
    for (const a of anomalies) {
      pairs++
      if (held.has(a.id)) present++
      const seen = firstSeen.get(a.id)
      if (seen != null && a.node !== n.index) anomalyLatencies.push(Math.max(0, seen - a.at))
    }
  }

  // bundles: delivered = in the destination's inbox at the end, or its delivery event
  const bundles = sent.filter(s => s.kind === 'bundle')
  const deliveredIds = new Set<string>()
  for (const n of nodes) {
    for (const id of n.report?.inbox ?? []) deliveredIds.add(id)
    for (const e of n.events) if (e.event === 'bundle') deliveredIds.add(e.id)
  }
  const expected = bundles.filter(b => bundleExpected(faults, b, endedAt, windowMs))
  const delivered = expected.filter(b => deliveredIds.has(b.id)).length

  // lost: acknowledged, unexpired, and nowhere any more
  const heldAnywhere = new Set<string>()
  for (const n of nodes) {
    for (const id of [...(n.report?.anomalies ?? []), ...(n.report?.inbox ?? []), ...(n.report?.held ?? [])]) heldAnywhere.add(id)
  }
  const lost = sent.filter(s => s.expires > endedAt && !heldAnywhere.has(s.id) && !(s.kind === 'bundle' && deliveredIds.has(s.id) && destinationReported(nodes, s))).length

  // penalised: any honest peer pushed past "ok" by any node; offences charged to honest peers
  const honestPeers = new Set(honest.map(n => n.peerId))
  const penalised = new Set<string>()
  let honestOffences = 0
  for (const n of nodes) {
    for (const e of n.events) {
      if (e.event === 'suspicion' && e.state !== 'ok' && honestPeers.has(e.peer)) penalised.add(`${n.index}>${e.peer}`)
      if (e.event === 'offence' && e.charged === true && honestPeers.has(e.peer)) honestOffences++
    }
  }

  let crashes = 0
  let escaped = 0
  for (const n of nodes) {
    crashes += n.unexpectedExits.length
    for (const e of n.events) {
      if (e.event === 'uncaught') {
        if (e.network === true) escaped++
        else if (n.unexpectedExits.length === 0) crashes++
      }
    }
  }

  // reconnect after a link came back: the first admission after it, or 0 if a connection survived;
  // after a partition, the first with a node of the other side (a node of the cut half kept its
  // connections within the half, and any new one among them says nothing of the cut)
  const byKind = { link: [] as number[], partition: [] as number[] }
  const rejoins: number[] = []
  for (const f of faults) {
    if (f.kind !== 'link' && f.kind !== 'partition') continue
    const cut = new Set(f.nodes.map(i => nodes.find(x => x.index === i)?.peerId))
    let firstAcross = Number.POSITIVE_INFINITY
    for (const i of f.nodes) {
      const n = nodes.find(x => x.index === i)
      if (n == null || i === revoked) continue
      const before = n.events.filter(e => (e.event === 'connect' || e.event === 'disconnect') && e.at <= f.to).at(-1)
      if (f.kind === 'link' && before != null && before.connections > 0) {
        byKind.link.push(0)
        continue
      }
      // its way back opens when this fault and any fault of its own still running then
      // (killed, or its link down, when the partition healed) are over: a node cannot
      // reconnect while it is down, and that wait is the schedule's, not the mesh's
      const back = wayBackAt(i, f, faults)
      const across = (e: NodeEvent): boolean => f.kind === 'link' || (typeof e.peer === 'string' && !cut.has(e.peer))
      const next = n.events.find(e => (e.event === 'connect' || e.event === 'admitted') && e.at > back && across(e))
      if (next != null) {
        byKind[f.kind].push(next.at - back)
        if (f.kind === 'partition') firstAcross = Math.min(firstAcross, next.at - back)
      }
    }
    if (f.kind === 'partition' && Number.isFinite(firstAcross)) rejoins.push(firstAcross)
  }

  const seconds = (input.endedAt - input.startedAt) / 1000
  return {
    nodes: nodes.length,
    durationS: Math.round(seconds),
    revocationP50Ms: round(quantileOrNull(revocationLatencies, 0.5)),
    revocationP99Ms: round(quantileOrNull(revocationLatencies, 0.99)),
    revocationMissed,
    revokedCutOffMs: round(revokedCutOffMs),
    anomalyDelivery: pairs === 0 ? 1 : Number((present / pairs).toFixed(4)),
    anomalyP99Ms: round(quantileOrNull(anomalyLatencies, 0.99)),
    bundleDeliveryVsOracle: expected.length === 0 ? 1 : Number((delivered / expected.length).toFixed(4)),
    bundlesExpected: expected.length,
    bundlesDelivered: delivered,
    lost,
    honestPenalised: penalised.size,
    honestOffences,
    crashes,
    escapedNetworkErrors: escaped,
    reconnectP99Ms: round(quantileOrNull([...byKind.link, ...byKind.partition], 0.99)),
    linkReconnectP99Ms: round(quantileOrNull(byKind.link, 0.99)),
    partitionHealP99Ms: round(quantileOrNull(byKind.partition, 0.99)),
    partitionHealP50Ms: round(quantileOrNull(byKind.partition, 0.5)),
    partitionRejoinMs: rejoins.length === 0 ? null : Math.max(...rejoins),
    rssPerNodeMb: input.rssMb.length === 0 ? null : Math.round(input.rssMb.reduce((a, b) => a + b, 0) / input.rssMb.length),
    rssMaxMb: input.rssMb.length === 0 ? null : Math.round(Math.max(...input.rssMb)),
    cpuPerNodePct: seconds <= 0 ? null : Number((100 * input.cpuSeconds / seconds / nodes.length).toFixed(2)),
    startCpuSPerNode: nodes.length === 0 ? null : Number((input.startCpuSeconds / nodes.length).toFixed(2))
  }
}

/** a delivered bundle whose destination never reported may still be on its disk: not counted lost */
function destinationReported (nodes: NodeRecord[], s: Sent): boolean {
  return nodes.find(n => n.index === s.to)?.report == null
}

function quantileOrNull (values: number[], q: number): number | null {
  return values.length === 0 ? null : percentile([...values].sort((a, b) => a - b), q * 100)
}

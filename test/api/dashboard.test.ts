/**
 * The dashboard's pure parts: sessions and cookies, the history ring, the
 * refused peers, and the snapshot shaped from what the node reports.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { RefusedPeers, UNKNOWN_PEER } from '../../src/api/dashboard/refused-peers.ts'
import { Series } from '../../src/api/dashboard/series.ts'
import { clearedCookie, cookieValue, sessionCookie, Sessions } from '../../src/api/dashboard/session.ts'
import { connectionGraph, peerState, refusalsByReason, rpcByMethod, seriesPoint, shapeSnapshot } from '../../src/api/dashboard/snapshot.ts'
import type { DashboardInput, PeerInput } from '../../src/api/dashboard/snapshot.ts'

const NOW = Date.parse('2026-12-01T12:00:00Z')
const iso = (offsetS: number): string => new Date(NOW + offsetS * 1000).toISOString()

function peer (id: string, over: Partial<PeerInput> = {}): PeerInput {
  return { peerId: id, type: 'edge', addresses: ['/ip4/127.0.0.1/tcp/1', '/ip4/127.0.0.1/tcp/2', '/ip4/127.0.0.1/tcp/3', '/ip4/127.0.0.1/tcp/4', '/ip4/127.0.0.1/tcp/5'], connected: true, lastSeen: iso(0), admitted: true, suspicion: { score: 0, state: 'ok' }, revoked: false, ...over }
}

function input (over: Partial<DashboardInput> = {}): DashboardInput {
  return {
    now: NOW,
    status: {
      peerId: 'SELF',
      type: 'sentinel',
      status: 'started',
      version: '0.1.0',
      connections: 2,
      peers: 2,
      uptimeSeconds: 60,
      admission: {
        overlay: 'ov',
        epoch: 3,
        tokenExpiresAt: iso(95),
        credentialExpiresAt: iso(7200),
        credentialRefused: null,
        issuers: [{ url: 'http://a', healthy: true, lastAnswerAt: iso(-1) }, { url: 'http://b', healthy: false, lastAnswerAt: null }],
        admittedPeers: 2,
        issuerOutageSince: null
      },
      anomalies: { held: 1, published: 0, delivered: 1 },
      bundles: { bytes: 256, inbox: 1, outbox: 2, fragments: 3, delivered: 1 }
    },
    peers: [peer('A', { type: 'bridge' }), peer('B'), peer('C', { connected: false, admitted: false, lastSeen: iso(-90), suspicion: { score: 40, state: 'quarantined' } })],
    views: { edge: { member: false, size: 2, capacity: 20, sampled: 1 }, bridge: { member: false, size: 1, capacity: 10, sampled: 1 }, sentinel: { member: true, size: 0, capacity: 10, sampled: 0 } },
    admissions: [
      { labels: { direction: 'inbound', outcome: 'admitted', reason: 'none' }, value: 5 },
      { labels: { direction: 'inbound', outcome: 'refused', reason: 'bad-signature' }, value: 2 },
      { labels: { direction: 'outbound', outcome: 'refused', reason: 'bad-signature' }, value: 1 },
      { labels: { direction: 'inbound', outcome: 'refused', reason: 'revoked' }, value: 1 }
    ],
    rpcServed: [
      { labels: { method: 'status.get', outcome: 'ok' }, value: 3 },
      { labels: { method: 'status.get', outcome: 'handler-failed' }, value: 1 },
      { labels: { method: 'other', outcome: 'refused' }, value: 2 },
      { labels: { method: 'unknown', outcome: 'dropped' }, value: 1 },
      { labels: { method: 'admin.secret', outcome: 'refused' }, value: 0 }
    ],
    anomalies: [
      { id: 'x1', origin: 'B', kind: 'ioc-hash', severity: 8, timestamp: NOW - 10_000, expires: NOW + 3_600_000, receivedAt: NOW - 9_990 },
      { id: 'x2', origin: 'R', kind: 'scan', severity: 2, timestamp: NOW - 5_000, expires: NOW + 3_600_000, receivedAt: NOW - 4_970, provenance: { overlay: 'far' } }
    ],
    bundles: {
      inbox: [{ id: 'i1', source: 'B', createdAt: NOW - 5000, receivedAt: NOW - 4000, expiresAt: NOW + 1000, size: 14 }],
      outbox: [
        { id: 'o1', destination: 'Z', createdAt: NOW - 1, expiresAt: NOW + 10_000, size: 10, fragments: 1 },
        { id: 'o2', destination: 'A', createdAt: NOW - 1, expiresAt: NOW + 10_000, size: 10, fragments: 1, deliveredAt: NOW },
        { id: 'o3', destination: 'Z', createdAt: NOW - 20_000, expiresAt: NOW - 1, size: 10, fragments: 1 }
      ],
      carried: [{ id: 'c1', source: 'B', destination: 'Z', expiresAt: NOW + 61_000, fragments: 1, bytes: 30, copies: 2 }],
      quotaBytes: 1024
    },
    federation: undefined,
    refusedPeers: [{ peerId: 'F', reason: 'bad-signature', direction: 'inbound', count: 3, firstAt: NOW - 30_000, lastAt: NOW - 2_000 }],
    ...over
  }
}

describe('dashboard: sessions', () => {
  it('a session lives until its expiry, ends on logout, and only the id the cookie carries opens it', () => {
    let now = NOW
    const sessions = new Sessions({ ttlMs: 60_000, maxSessions: 4, now: () => now })
    const s = sessions.create()
    assert.match(s.id, /^[A-Za-z0-9_-]{43}$/)
    assert.equal(sessions.check(s.id), NOW + 60_000)
    assert.equal(sessions.check(`${s.id.slice(0, -1)}${s.id.endsWith('A') ? 'B' : 'A'}`), undefined)
    for (const bad of [undefined, '', 'x', `${s.id}x`, s.id.replace(/./, '%')]) assert.equal(sessions.check(bad), undefined)
    now += 60_000
    assert.equal(sessions.check(s.id), undefined, 'expired')
    const t = sessions.create()
    sessions.end(t.id)
    assert.equal(sessions.check(t.id), undefined, 'logged out')
  })

  it('holds at most maxSessions: a new one ends the oldest', () => {
    const sessions = new Sessions({ ttlMs: 60_000, maxSessions: 2, now: () => NOW })
    const [a, b, c] = [sessions.create(), sessions.create(), sessions.create()]
    assert.equal(sessions.check(a.id), undefined)
    assert.notEqual(sessions.check(b.id), undefined)
    assert.notEqual(sessions.check(c.id), undefined)
    assert.equal(sessions.size, 2)
  })

  it('reads its cookie from a Cookie header, bounded, and sets it HttpOnly, SameSite=Strict, under /dashboard', () => {
    assert.equal(cookieValue('a=1; tempus_dashboard=abc; b=2'), 'abc')
    assert.equal(cookieValue('tempus_dashboardx=abc'), undefined)
    assert.equal(cookieValue(undefined), undefined)
    assert.equal(cookieValue(`${'a=1;'.repeat(65)} tempus_dashboard=abc`), undefined, 'too many pairs')
    assert.equal(cookieValue(`tempus_dashboard=${'a'.repeat(9000)}`), undefined, 'too long')
    assert.equal(sessionCookie({ id: 'ID', expiresAt: NOW + 3_600_000, ttlMs: 3_600_000 }), 'tempus_dashboard=ID; Path=/dashboard; Max-Age=3600; HttpOnly; SameSite=Strict')
    assert.match(clearedCookie(), /^tempus_dashboard=; Path=\/dashboard; Max-Age=0; HttpOnly; SameSite=Strict$/)
  })
})

describe('dashboard: history and refused peers', () => {
  it('keeps the newest points in a ring, gives columns with every reason seen (0 before it appeared), and never goes back in time', () => {
    const series = new Series(3)
    const point = (t: number, refusals: Record<string, number>): Parameters<Series['add']>[0] => ({ t, views: { edge: t, bridge: 0, sentinel: 1 }, sampler: { edge: 0, bridge: 0, sentinel: 0 }, refusals })
    series.add(point(1000, {}))
    series.add(point(2000, { revoked: 1 }))
    series.add(point(3000, { revoked: 1, 'bad-signature': 2 }))
    series.add(point(4000, { revoked: 2, 'bad-signature': 2 }))
    series.add(point(3500, { revoked: 3, 'bad-signature': 2 }))
    const c = series.columns()
    assert.deepEqual(c.t, [2, 3, 4])
    assert.deepEqual(c.views.edge, [2000, 3000, 3500])
    assert.deepEqual(c.refusals, { 'bad-signature': [0, 2, 2], revoked: [1, 1, 3] })
    assert.throws(() => new Series(0), RangeError)
  })

  it('remembers the most recent refused peers, counting repeats, and those without a PeerId as one', () => {
    const refused = new RefusedPeers(2)
    refused.add('A', 'revoked', 'inbound', 1)
    refused.add('B', 'bad-signature', 'inbound', 2)
    refused.add('A', 'revoked', 'outbound', 3)
    refused.add(undefined, 'malformed', 'inbound', 4)
    assert.deepEqual(refused.list().map(p => [p.peerId, p.count, p.firstAt, p.lastAt]), [[UNKNOWN_PEER, 1, 4, 4], ['A', 2, 1, 3]])
  })
})

describe('dashboard: the snapshot', () => {
  it('shapes the node: seconds left on the token and credential, issuers reachable', () => {
    const s = shapeSnapshot(input())
    assert.deepEqual({ ...s.node, issuers: s.node.issuers.reachable + '/' + s.node.issuers.total }, {
      peerId: 'SELF', type: 'sentinel', overlay: 'ov', status: 'started', version: '0.1.0', epoch: 3, tokenSecondsLeft: 95, credentialExpiresAt: iso(7200), credentialSecondsLeft: 7200, credentialRefused: null, issuers: '1/2', issuerOutageSince: null, connections: 2, admittedPeers: 2, uptimeSeconds: 60
    })
  })

  it('shapes peers: state, score, last seen, at most four addresses; counts by type', () => {
    const s = shapeSnapshot(input())
    assert.deepEqual(s.peers.byType, { edge: 2, bridge: 1, sentinel: 0, unknown: 0 })
    assert.equal(s.peers.connected, 2)
    const c = s.peers.rows.find(r => r.peerId === 'C')
    assert.deepEqual({ state: c?.state, score: c?.score, last: c?.lastSeenSecondsAgo, admitted: c?.admitted }, { state: 'quarantined', score: 40, last: 90, admitted: false })
    assert.equal(s.peers.rows[0]?.addresses.length, 4)
  })

  it('a peer\'s worst standing wins: revoked, banned/quarantined/throttled, refused, then connected or known', () => {
    assert.equal(peerState(peer('x', { revoked: true, suspicion: { score: 99, state: 'banned' } }), true), 'revoked')
    assert.equal(peerState(peer('x', { suspicion: { score: 99, state: 'banned' } }), true), 'banned')
    assert.equal(peerState(peer('x', { connected: false }), true), 'refused')
    assert.equal(peerState(peer('x', { connected: false }), false), 'known')
    assert.equal(peerState(peer('x'), false), 'connected')
  })

  it('graphs this node, its peers and the refused ones: connected, known and refused edges', () => {
    const g = connectionGraph({ peerId: 'SELF', type: 'sentinel' }, input().peers, [...input().refusedPeers, { peerId: UNKNOWN_PEER, reason: 'malformed', direction: 'inbound', count: 1, firstAt: 0, lastAt: 0 }, { peerId: 'B', reason: 'revoked', direction: 'inbound', count: 1, firstAt: 0, lastAt: 0 }])
    assert.deepEqual(g.nodes.map(n => [n.id, n.type, n.state]), [['SELF', 'sentinel', 'connected'], ['A', 'bridge', 'connected'], ['B', 'edge', 'connected'], ['C', 'edge', 'quarantined'], ['F', null, 'refused']])
    assert.deepEqual(g.edges.map(e => `${e.to}:${e.kind}`), ['A:connected', 'B:connected', 'C:known', 'F:refused'])
  })

  it('counts refusals by reason (both directions) and RPC calls by method, granted and refused', () => {
    assert.deepEqual(refusalsByReason(input().admissions), { 'bad-signature': 3, revoked: 1 })
    assert.deepEqual(rpcByMethod(input().rpcServed), { rows: [{ method: 'other', granted: 0, refused: 2 }, { method: 'status.get', granted: 4, refused: 0 }, { method: 'unknown', granted: 0, refused: 1 }], granted: 4, refused: 3 })
    const s = shapeSnapshot(input())
    assert.equal(s.refusals.total, 4)
    assert.deepEqual(s.refusals.recent.map(r => [r.peerId, r.secondsAgo]), [['F', 2]])
  })

  it('shapes anomalies with age and delivery latency, bundles with their state and the quota, federation off or on', () => {
    const s = shapeSnapshot(input())
    assert.deepEqual(s.anomalies.rows.map(a => [a.id, a.ageSeconds, a.latencyMs, a.verified, a.overlay]), [['x1', 10, 10, true, null], ['x2', 5, 30, true, 'far']])
    assert.deepEqual(s.anomalies.latencyMs, { median: 20, max: 30 })
    assert.deepEqual(s.bundles.outbox.map(b => b.state), ['pending', 'delivered', 'expired'])
    assert.equal(s.bundles.usedFraction, 0.25)
    assert.deepEqual(s.bundles.carried.map(b => b.secondsLeft), [61])
    assert.deepEqual(s.federation, { enabled: false, anchors: [], pins: [] })
    const fed = shapeSnapshot(input({ federation: { anchors: [{ overlay: 'far', root: 'R' }], pins: [{ remoteId: 'P', overlay: 'far', establishedAt: NOW - 1000, rotationDue: NOW + 30_000, state: 'fresh' }] } }))
    assert.deepEqual(fed.federation.pins, [{ remoteId: 'P', overlay: 'far', state: 'fresh', rotationDue: iso(30), secondsLeft: 30 }])
  })

  it('bounds every list, and gives the history point', () => {
    const many = Array.from({ length: 500 }, (_, i) => peer(`P${i}`))
    const s = shapeSnapshot(input({ peers: many }))
    assert.equal(s.peers.total, 500)
    assert.equal(s.peers.rows.length, 200)
    assert.ok(s.graph.nodes.length <= 201)
    assert.deepEqual(seriesPoint(input()), { t: NOW, views: { edge: 2, bridge: 1, sentinel: 0 }, sampler: { edge: 1, bridge: 1, sentinel: 0 }, refusals: { 'bad-signature': 3, revoked: 1 } })
  })
})

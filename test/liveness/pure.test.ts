import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { backoffDelay } from '../../src/core/backoff.ts'
import { selectDialCandidates, selectNeighbour } from '../../src/liveness/dial-policy.ts'
import { addressSnapshot, diffSnapshots, isChange } from '../../src/liveness/network-change.ts'
import type { NetworkInterfaceInfo } from 'node:os'

const policy = { initialDelayMs: 100, maxDelayMs: 5_000, factor: 2, jitter: 0.5 }

describe('backoff', () => {
  it('grows exponentially up to the cap, with jitter below the nominal delay', () => {
    assert.equal(backoffDelay(policy, 0, () => 1), 100)
    assert.equal(backoffDelay(policy, 0, () => 0), 50)
    assert.equal(backoffDelay(policy, 3, () => 1), 800)
    assert.equal(backoffDelay(policy, 20, () => 1), 5_000)
    assert.equal(backoffDelay(policy, 1_000, () => 0.5), 3_750)
  })

  it('spreads retries of many peers', () => {
    let seed = 7
    const random = (): number => { seed = (seed * 48271) % 2147483647; return seed / 2147483647 }
    const delays = new Set(Array.from({ length: 50 }, () => backoffDelay(policy, 4, random)))
    assert.ok(delays.size > 30)
    for (const d of delays) {
      assert.ok(d >= 800 && d <= 1_600)
    }
  })
})

describe('dial policy', () => {
  it('dials (kept) sentinels first, then edges, the most recently seen first, then peers of unknown type, bridges last, skipping connected and backed-off peers', () => {
    const picks = selectDialCandidates([
      { id: 'e-old', type: 'edge', lastSeen: 1, connected: false },
      { id: 'e-new', type: 'edge', lastSeen: 9, connected: false },
      { id: 'unknown', connected: false },
      { id: 'b', type: 'bridge', connected: false },
      { id: 's-connected', type: 'sentinel', connected: true },
      { id: 's-backoff', type: 'sentinel', connected: false, notBefore: 2_000 },
      { id: 's', type: 'sentinel', connected: false, notBefore: 500 }
    ], 10, 1_000)
    assert.deepEqual(picks.map(p => p.id), ['s', 'e-new', 'e-old', 'unknown', 'b'])
    assert.deepEqual(selectDialCandidates([{ id: 'x', connected: false }], 0, 0), [])
  })

  it('picks one more neighbour for a thin gossip mesh among edges first (the hubs\' meshes are the full ones), skipping connected and backed-off peers', () => {
    const candidates = [
      { id: 's', type: 'sentinel' as const, lastSeen: 9, connected: false },
      { id: 'b', type: 'bridge' as const, lastSeen: 9, connected: false },
      { id: 'unknown', lastSeen: 9, connected: false },
      { id: 'e-connected', type: 'edge' as const, lastSeen: 9, connected: true },
      { id: 'e-backoff', type: 'edge' as const, lastSeen: 9, connected: false, notBefore: 2_000 },
      { id: 'e-old', type: 'edge' as const, lastSeen: 1, connected: false },
      { id: 'e-new', type: 'edge' as const, lastSeen: 5, connected: false }
    ]
    assert.equal(selectNeighbour(candidates, 1_000)?.id, 'e-new')
    assert.equal(selectNeighbour(candidates.filter(c => !c.id.startsWith('e-')), 1_000)?.id, 'unknown')
    assert.equal(selectNeighbour(candidates.filter(c => c.id === 's' || c.id === 'b'), 1_000)?.id, 'b')
    assert.equal(selectNeighbour(candidates.filter(c => c.id === 'e-backoff' || c.id === 'e-connected'), 1_000), undefined)
    assert.equal(selectNeighbour(candidates.filter(c => c.id === 'e-backoff'), 2_000)?.id, 'e-backoff')
  })
})

describe('network change', () => {
  const info = (address: string, internal = false): NetworkInterfaceInfo =>
    ({ address, netmask: '255.255.255.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal, cidr: `${address}/24` }) as NetworkInterfaceInfo

  it('ignores loopback and reports added and removed addresses', () => {
    const before = addressSnapshot({ lo: [info('127.0.0.1', true)], eth0: [info('10.1.0.2')] })
    const same = addressSnapshot({ lo: [info('127.0.0.1', true)], eth0: [info('10.1.0.2')] })
    const after = addressSnapshot({ eth0: [info('10.1.0.3')], wg0: [info('10.9.0.1')] })
    assert.equal(isChange(diffSnapshots(before, same)), false)
    assert.deepEqual(diffSnapshots(before, after), { added: ['eth0/10.1.0.3', 'wg0/10.9.0.1'], removed: ['eth0/10.1.0.2'] })
  })
})

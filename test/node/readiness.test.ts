import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { readinessOf } from '../../src/node/readiness.ts'
import type { ReadinessInput } from '../../src/node/readiness.ts'

const NOW = Date.parse('2026-01-01T00:00:00Z')
const base: ReadinessInput = { libp2pStatus: 'started', storesOpen: true, ownTokenExpiresAt: NOW + 60_000, now: NOW, admittedPeers: 1, bootstrapPeers: 2, issuers: ['https://issuer.example:7443'] }
const codes = (input: Partial<ReadinessInput>): string[] => readinessOf({ ...base, ...input }).reasons.map(r => r.code)

describe('readiness (/readyz, READY=1)', () => {
  it('ready with a valid token and an admitted peer', () => {
    const r = readinessOf(base)
    assert.deepEqual(r, { ready: true, reasons: [], admittedPeers: 1, aloneByDesign: false, tokenExpiresAt: new Date(NOW + 60_000).toISOString() })
  })

  it('alone by design: no bootstrap peers, ready without a peer', () => {
    const r = readinessOf({ ...base, bootstrapPeers: 0, admittedPeers: 0 })
    assert.equal(r.ready, true)
    assert.equal(r.aloneByDesign, true)
  })

  it('names every reason, each with what to do', () => {
    assert.deepEqual(codes({ admittedPeers: 0 }), ['no-admitted-peer'])
    assert.deepEqual(codes({ ownTokenExpiresAt: undefined }), ['no-token'])
    assert.deepEqual(codes({ ownTokenExpiresAt: NOW }), ['token-expired'])
    assert.deepEqual(codes({ storesOpen: false }), ['stores-closed'])
    assert.deepEqual(codes({ libp2pStatus: 'stopping', storesOpen: false, ownTokenExpiresAt: undefined, admittedPeers: 0 }), ['not-started', 'stores-closed', 'no-token', 'no-admitted-peer'])
    // alone by design still needs a token
    assert.deepEqual(codes({ bootstrapPeers: 0, admittedPeers: 0, ownTokenExpiresAt: NOW - 1 }), ['token-expired'])
    const r = readinessOf({ ...base, ownTokenExpiresAt: undefined })
    assert.match(r.reasons[0]!.detail, /https:\/\/issuer\.example:7443 is up and reachable/)
    assert.equal(r.tokenExpiresAt, null)
  })
})

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DEFAULT_CALL_TIMEOUT_MS } from '../../src/rpc/constants.ts'
import { RpcPolicy } from '../../src/rpc/policy.ts'

const A = '12D3KooWA1111111111111111111111111111111111111111111'
const B = '12D3KooWB2222222222222222222222222222222222222222222'

// issue #13 item 7: a grant removed by a reload gives its holders a grace of one call deadline

describe('RPC policy: the grace of a removed grant (pure, injected clock)', () => {
  it('spares the holders of a removed grant for one call deadline, and only them, only for what it covered', () => {
    let now = 1_000
    const p = new RpcPolicy([{ type: 'edge', allow: ['echo.*', 'status.get'] }, { peer: A, allow: ['admin.ping'] }], { now: () => now })
    assert.equal(p.graced(B, 'edge', 'echo.back'), false, 'nothing removed yet')
    p.replace([{ type: 'edge', allow: ['status.get'] }])
    assert.equal(p.allows(B, 'edge', 'echo.back'), false, 'refused at once')
    assert.equal(p.graced(B, 'edge', 'echo.back'), true, 'but graced')
    assert.equal(p.graced(A, 'sentinel', 'admin.ping'), true)
    assert.equal(p.graced(A, 'sentinel', 'admin.other'), false, 'not what the grant covered')
    assert.equal(p.graced(B, 'bridge', 'echo.back'), false, 'not the holders of the grant')
    assert.equal(p.graced(B, 'sentinel', 'admin.ping'), false)
    now += DEFAULT_CALL_TIMEOUT_MS - 1
    assert.equal(p.graced(B, 'edge', 'echo.back'), true)
    now += 1
    assert.equal(p.graced(B, 'edge', 'echo.back'), false, 'the grace lasts one call deadline')
    assert.equal(p.graced(A, 'sentinel', 'admin.ping'), false)
  })

  it('a grant given back is no longer graced, and an unchanged reload graces nothing', () => {
    let now = 0
    const rules = [{ type: 'edge' as const, allow: ['echo.back'] }]
    const p = new RpcPolicy(rules, { now: () => now, graceMs: 5_000 })
    p.replace(rules)
    assert.equal(p.graced(B, 'edge', 'echo.back'), false)
    p.replace([])
    assert.equal(p.graced(B, 'edge', 'echo.back'), true)
    p.replace(rules)
    assert.equal(p.allows(B, 'edge', 'echo.back'), true)
    p.replace([])
    now += 4_000
    p.replace([{ type: 'bridge', allow: ['x.y'] }])
    assert.equal(p.graced(B, 'edge', 'echo.back'), true, 'a later reload keeps the earlier grace running')
    now += 1_000
    assert.equal(p.graced(B, 'edge', 'echo.back'), false)
  })
})

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DEFAULT_LIMITS, decodeValue, encodeValue } from '../../src/rpc/codec.ts'
import { EncodingError } from '../../src/rpc/errors.ts'
import { RpcPolicy, isMethodName } from '../../src/rpc/policy.ts'

const A = '12D3KooWA1111111111111111111111111111111111111111111'
const B = '12D3KooWB2222222222222222222222222222222222222222222'

describe('RPC policy', () => {
  it('denies by default', () => {
    assert.equal(new RpcPolicy().allows(A, 'edge', 'status.get'), false)
  })

  it('grants by PeerId and by type, on module.function and module.*', () => {
    const p = new RpcPolicy([
      { type: 'edge', allow: ['status.get'] },
      { peer: A, allow: ['admin.*'] }
    ])
    assert.equal(p.allows(B, 'edge', 'status.get'), true)
    assert.equal(p.allows(B, 'bridge', 'status.get'), false)
    assert.equal(p.allows(B, undefined, 'status.get'), false)
    assert.equal(p.allows(A, 'sentinel', 'admin.restart'), true)
    assert.equal(p.allows(B, 'edge', 'admin.restart'), false)
    assert.equal(p.allows(A, 'sentinel', 'administer.x'), false, 'module.* does not leak into other modules')
  })

  it('refuses malformed rules with a clear message and reloads atomically', () => {
    assert.throws(() => new RpcPolicy([{ allow: ['a.b'] }]), /exactly one of peer or type/)
    assert.throws(() => new RpcPolicy([{ type: 'router' as any, allow: ['a.b'] }]), /type must be/)
    assert.throws(() => new RpcPolicy([{ peer: 'nope', allow: ['a.b'] }]), /PeerId/)
    assert.throws(() => new RpcPolicy([{ type: 'edge', allow: ['a'] }]), /allow must/)
    const p = new RpcPolicy([{ type: 'edge', allow: ['x.y'] }])
    assert.throws(() => { p.replace([{ type: 'edge', allow: ['bad pattern'] }]) })
    assert.equal(p.allows(A, 'edge', 'x.y'), true, 'a failed reload keeps the old rules')
    p.replace([])
    assert.equal(p.allows(A, 'edge', 'x.y'), false)
  })

  it('knows a method name when it sees one', () => {
    for (const ok of ['status.get', 'admin.restart', 'a.b_c']) assert.equal(isMethodName(ok), true)
    for (const bad of ['status', '.get', 'status.', 'Status.get', 'a.b.c', 'a.*', '', 7, 'x'.repeat(70) + '.y']) assert.equal(isMethodName(bad), false)
  })
})

describe('RPC codec', () => {
  it('round-trips JSON data', () => {
    const v = { a: [1, 2.5, 'x', null, true, { b: [] }], s: 'é' }
    assert.deepEqual(decodeValue(encodeValue(v)), v)
  })

  it('refuses what does not fit: types that execute, cycles, depth, count, size, polluting keys', () => {
    const cyclic: any = {}; cyclic.self = cyclic
    let deep: any = 1
    for (let i = 0; i < 40; i++) deep = [deep]
    for (const bad of [() => 1, undefined, Symbol('x'), 10n, NaN, Infinity, new Date(), new Map(), new Uint8Array(2), cyclic, deep, Array.from({ length: 20_000 }, () => 0), 'x'.repeat(70_000)]) {
      assert.throws(() => encodeValue(bad), EncodingError)
    }
    assert.throws(() => encodeValue(JSON.parse('{"__proto__": {"polluted": true}}')), /forbidden key/)
    assert.throws(() => decodeValue(new TextEncoder().encode('{"constructor": {"prototype": {}}}')), /forbidden key/)
    assert.equal(({} as any).polluted, undefined)
  })

  it('refuses malformed, oversize and deeply nested input without throwing anything else', () => {
    const inputs = [new Uint8Array([0xff, 0xfe]), new TextEncoder().encode('{'), new TextEncoder().encode('['.repeat(100_000)), new Uint8Array(DEFAULT_LIMITS.maxBytes + 1)]
    for (const bytes of inputs) {
      assert.throws(() => decodeValue(bytes), EncodingError)
    }
    // random bytes
    for (let i = 0; i < 500; i++) {
      const bytes = crypto.getRandomValues(new Uint8Array(1 + (i % 64)))
      try { decodeValue(bytes) } catch (err) { assert.ok(err instanceof EncodingError) }
    }
  })
})

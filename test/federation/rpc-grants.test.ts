import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { FederatedRpcGrants } from '../../src/federation/rpc-grants.ts'
import { parseConfig } from '../../src/node/config.ts'

const B1 = '12D3KooWQ75pqqp3EVN6N96AQTdbDDLdGscjxSW8qu6aTw73VkCo'
const B2 = '12D3KooWAey79CLQPN4fXuqjCcRDyM1FrynC87keF3uvt9LJi6Xg'

describe('federated RPC grants (pure)', () => {
  it('deny by default; a grant covers its overlay (or one bridge of it) and its methods only', () => {
    assert.equal(new FederatedRpcGrants().allows('beta', B1, 'status.get'), false)
    const g = new FederatedRpcGrants([{ overlay: 'beta', allow: ['status.get', 'metrics.*'] }, { overlay: 'gamma', peer: B2, allow: ['*'] }])
    assert.equal(g.allows('beta', B1, 'status.get'), true)
    assert.equal(g.allows('beta', B1, 'metrics.read'), true)
    assert.equal(g.allows('beta', B1, 'admin.ping'), false)
    assert.equal(g.allows('gamma', B2, 'admin.ping'), true)
    assert.equal(g.allows('gamma', B1, 'admin.ping'), false)
    // no fresh pin, no overlay: nothing
    assert.equal(g.allows(undefined, B1, 'status.get'), false)
    assert.equal(g.allows('beta', B1, 'not a method'), false)
  })

  it('refuses malformed grants with the field named, in the config too', () => {
    assert.throws(() => new FederatedRpcGrants([{ overlay: '', allow: ['a.b'] }]), /grant 0: overlay/)
    assert.throws(() => new FederatedRpcGrants([{ overlay: 'beta', peer: 'nope', allow: ['a.b'] }]), /grant 0: peer/)
    assert.throws(() => new FederatedRpcGrants([{ overlay: 'beta', allow: ['rm -rf'] }]), /grant 0: allow/)
    assert.throws(() => parseConfig({ type: 'bridge', federation: { enabled: true, rpc: [{ overlay: 'beta', allow: [] }] } }), /federation\.rpc\.0\.allow/)
    assert.throws(() => parseConfig({ type: 'bridge', federation: { enabled: true, rpc: [{ overlay: 'beta', allow: ['x'] }] } }), /federation\.rpc\.0/)
    assert.deepEqual(parseConfig({ type: 'bridge', federation: { enabled: true, rpc: [{ overlay: 'beta', allow: ['status.get'] }] } }).federation.rpc, [{ overlay: 'beta', allow: ['status.get'] }])
  })
})

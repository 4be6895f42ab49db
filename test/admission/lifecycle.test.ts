import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import { startIssuerHttp } from '../../src/issuer/http.ts'
import { IssuerClient, IssuerClientError } from '../../src/issuer-client/client.ts'
import { createLogger } from '../../src/logging/logger.ts'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { TestNet } from '../fixtures/nodes.ts'
import { eventually, waitForEvent } from '../fixtures/wait.ts'

describe('admission over a connection\'s life', () => {
  const net = new TestNet()
  after(async () => { await net.stop() })

  it('a refreshed token is re-presented to connected peers', async () => {
    const sentinel = await net.node({ type: 'sentinel' })
    const edge = await net.node({ type: 'edge', bootstrap: sentinel.getMultiaddrs() })
    await eventually(() => sentinel.admission.admitted.has(edge.peerId.toString()), 'edge admitted')
    const before = sentinel.admission.admitted.get(edge.peerId.toString())?.claims.jti
    const refreshed = waitForEvent(sentinel.admission, 'admitted', evt => evt.detail.peer === edge.peerId.toString() && evt.detail.refreshed)
    const own = await edge.tokens.refresh()
    assert.ok(own != null)
    const evt = await refreshed
    assert.equal(evt.detail.claims.jti, own.claims.jti)
    assert.notEqual(evt.detail.claims.jti, before)
  })

  it('closes a connection whose peer\'s token lapsed without a refresh (injected clock)', async () => {
    let skew = 0
    const now = (): number => Date.now() + skew
    const sentinel = await net.node({ type: 'sentinel', admission: { sweepInterval: '100ms' }, options: { now } })
    const edge = await net.node({ type: 'edge', bootstrap: sentinel.getMultiaddrs() })
    await eventually(() => sentinel.libp2p.getPeers().some(p => p.equals(edge.peerId)), 'edge connected')
    const gone = waitForEvent(sentinel.libp2p, 'peer:disconnect', evt => evt.detail.equals(edge.peerId))
    // the sentinel's clock jumps past the edge's token expiry + 30 s skew
    skew = 10 * 60_000
    await gone
  })

  it('quarantines a suspicious peer (disconnect + refusal), bans it across a restart, and an operator clears it', async () => {
    const dataDir = await net.tempDir()
    const opts = { dataDir, passphrase: 'p' }
    const sentinel = await net.node({ type: 'sentinel', options: opts })
    const edge = await net.node({ type: 'edge', bootstrap: sentinel.getMultiaddrs(), connections: { minConnections: 0 } })
    await eventually(() => sentinel.libp2p.getPeers().some(p => p.equals(edge.peerId)), 'edge connected')
    const id = edge.peerId.toString()
    const addr = multiaddr(sentinel.getMultiaddrs()[0] ?? '')

    // quarantine: over 25, under 100
    const dropped = waitForEvent(sentinel.libp2p, 'peer:disconnect', evt => evt.detail.equals(edge.peerId))
    assert.equal(sentinel.admission.raise(id, 'bad-proof').state, 'throttled')
    assert.equal(sentinel.admission.raise(id, 'forged-token').state, 'quarantined')
    await dropped
    await eventually(() => edge.libp2p.getConnections(sentinel.peerId).length === 0, 'the edge to see its connection close')
    await assert.rejects(edge.libp2p.dial(addr, { signal: AbortSignal.timeout(10_000) }), 'quarantined: refused')

    // nothing more is charged while it is quarantined (what it had in flight is a consequence)…
    assert.equal(sentinel.admission.raise(id, 'revoked-token').state, 'quarantined')
    // …a ban (here an operator's; by score, the third quarantine within an hour) is persisted
    sentinel.admission.ban(id)
    assert.equal(sentinel.admission.suspicion.state(id), 'banned')
    await eventually(async () => (await sentinel.libp2p.services.admission.storedBans()).includes(id), 'the ban to be stored')
    await sentinel.stop()
    const again = await net.node({ type: 'sentinel', listen: [addr.toString().replace(/\/p2p\/.*$/, '')], options: opts })
    assert.equal(again.admission.suspicion.state(id), 'banned', 'the ban survives a restart')
    await assert.rejects(edge.libp2p.dial(multiaddr(again.getMultiaddrs()[0] ?? ''), { signal: AbortSignal.timeout(10_000) }), 'banned: refused')

    // an operator clears it; the edge gets back in
    const cleared = await again.clearPeer(id)
    assert.deepEqual(cleared?.suspicion, { score: 0, state: 'ok', quarantinedUntil: null, offences: [] })
    await edge.libp2p.dial(multiaddr(again.getMultiaddrs()[0] ?? ''), { signal: AbortSignal.timeout(10_000) })
    await eventually(() => again.libp2p.getPeers().some(p => p.equals(edge.peerId)), 'edge back')
  })

  it('the issuer rate-limits per address and per peer', async () => {
    const t = await net.issuer()
    const strict = await startIssuerHttp({ issuer: t.issuer, log: createLogger({ level: 'silent' }), perAddressPerSecond: 1000, perPeerPerMinute: 2 })
    try {
      const client = new IssuerClient({ url: strict.url })
      const key = await generateKeyPair('Ed25519')
      const enrolled = await client.enroll(key, (await t.issuer.createCode('edge')))
      await client.token(key, enrolled.credential)
      await client.token(key, enrolled.credential)
      await assert.rejects(client.token(key, enrolled.credential), (e: IssuerClientError) => e.code === 'rate-limited' && e.status === 429)
    } finally {
      await strict.close()
    }
    const tight = await startIssuerHttp({ issuer: t.issuer, log: createLogger({ level: 'silent' }), perAddressPerSecond: 3 })
    try {
      const results = await Promise.allSettled(Array.from({ length: 10 }, async () => new IssuerClient({ url: tight.url }).challenge()))
      assert.ok(results.some(r => r.status === 'rejected' && (r.reason as IssuerClientError).code === 'rate-limited'))
    } finally {
      await tight.close()
    }
  })
})

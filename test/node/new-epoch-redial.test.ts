/**
 * Issue #20 (the 100-process chaos run): an edge away over a signing-key
 * rotation was refused everywhere until it held a token of the new epoch
 * (9.4 s after its link came back), and was admitted only at 15.5 s: the
 * dials it made meanwhile, refused as `rotated-key`, had grown their
 * backoffs, and the next redial waited them out. A token of a newer epoch
 * now brings every redial forward, as the end of an issuer outage does.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { issuerRelay } from '../fixtures/issuer-relay.ts'
import { TestNet } from '../fixtures/nodes.ts'
import { eventually, waitForEvent } from '../fixtures/wait.ts'

const QUIET = { sampling: { edge: { period: '1h' }, bridge: { period: '1h' }, sentinel: { period: '1h' } } }

describe('a token of a new epoch', () => {
  const net = new TestNet()
  after(async () => { await net.stop() })

  it('brings forward the redials that the rotation made fail: the kept sentinel is dialled at once, not after its backoff', async () => {
    const t = await net.issuer()
    const relay = await issuerRelay(new URL(t.url))
    after(async () => { await relay.close() })
    const a = await net.node({ type: 'sentinel', ...QUIET })
    const bootstrap = [`${a.getMultiaddrs()[0] ?? ''}`]
    // a failed redial waits ten minutes: only something that brings it forward reconnects b within the test
    const b = await net.node({
      type: 'edge',
      ...QUIET,
      bootstrap,
      issuers: [relay.url],
      redial: { initialDelay: '50ms', factor: 100_000, maxDelay: '10m', earlyMaxDelay: '10m' }
    })
    const aId = a.peerId.toString()
    const keeper = b.libp2p.services.keeper
    await waitForEvent(b.libp2p, 'peer:connect', evt => evt.detail.toString() === aId)
    assert.ok(keeper.keptSentinels.has(aId), 'b keeps a as its sentinel')

    const epoch = b.admission.ownToken?.claims.ep as number
    await t.issuer.announceKey()
    await t.issuer.activateKey()
    assert.ok(await a.tokens.refresh() != null)
    assert.equal(a.admission.ownToken?.claims.ep, epoch + 1, 'a is on the new epoch')

    // b's issuer refuses it for now: its redial shows the token it holds, and a refuses that
    relay.set('refuse')
    const refused = waitForEvent(a.admission, 'refused', evt => evt.detail.peer === b.peerId.toString(), 20_000)
    await a.libp2p.hangUp(b.peerId)
    assert.equal((await refused).detail.reason, 'rotated-key')
    // the first failure is redialled after the initial delay, the second after ten minutes
    const failed = await eventually(() => { const s = keeper.redialOf(a.peerId); return s != null && s.failures >= 2 ? s : undefined }, 'two failed redials recorded')
    assert.ok(failed.nextAt - Date.now() > 60_000, `the next redial is minutes away (${failed.nextAt - Date.now()} ms)`)
    assert.match(failed.lastError ?? '', /^EncryptionFailedError: admission refused/, 'the keeper says why its last dial failed')
    // and the operator's view says so (`tempus peers`, GET /v1/mesh/peers)
    const summary = (await b.peers()).find(p => p.peerId === aId)
    assert.equal(summary?.keptSentinel, true)
    assert.ok((summary?.redial?.failures ?? 0) >= 2 && !Number.isNaN(Date.parse(summary?.redial?.nextAt ?? '')))
    assert.match(summary?.redial?.lastError ?? '', /admission refused/)
    assert.equal(b.libp2p.getConnections(a.peerId).length, 0)

    // the issuer answers again: b's token of the new epoch brings the redial forward
    relay.set('relay')
    const back = waitForEvent(b.libp2p, 'peer:connect', evt => evt.detail.toString() === aId, 20_000)
    const own = await b.tokens.refresh()
    assert.equal(own?.claims.ep, epoch + 1, 'b holds a token of the new epoch')
    // checked before any dial can have finished (other components, the DHT's
    // queries among them, dial a too, and would clear it by connecting)
    assert.equal(keeper.redialOf(a.peerId), undefined, 'the backoff the rotation grew is forgotten as the token arrives')
    await back
  })
})

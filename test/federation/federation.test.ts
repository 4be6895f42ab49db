import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { TestNet } from '../fixtures/nodes.ts'
import { eventually } from '../fixtures/wait.ts'
import type { TempusNode } from '../../src/node/tempus-node.ts'

const QUIET = { sampling: { edge: { period: '1h' }, bridge: { period: '1h' }, sentinel: { period: '1h' } } }

describe('federation between two overlays', () => {
  const alpha = new TestNet({ overlay: 'alpha' })
  const beta = new TestNet({ overlay: 'beta' })
  const gamma = new TestNet({ overlay: 'gamma' })
  after(async () => { await Promise.all([alpha.stop(), beta.stop(), gamma.stop()]) })

  const federated = (anchors: Array<{ overlay: string, root: string }>, remotes: string[] = [], extra: Record<string, unknown> = {}): Record<string, unknown> =>
    ({ type: 'bridge', ...QUIET, federation: { enabled: true, listen: ['/ip4/127.0.0.1/tcp/0'], anchors, remotes, ...extra } })

  it('bridges pin each other with a 12 h deadline; edges and sentinels of the other overlay, and bridges of an unanchored one, are refused by every node', async () => {
    const tA = await alpha.issuer()
    const tB = await beta.issuer()
    const sentinelA = await alpha.node({ type: 'sentinel', ...QUIET })
    const bridgeA = await alpha.node({ ...federated([{ overlay: 'beta', root: tB.issuer.rootPublicKey }]), bootstrap: sentinelA.getMultiaddrs() } as any)
    const bridgeB = await beta.node(federated([{ overlay: 'alpha', root: tA.issuer.rootPublicKey }], bridgeA.getFederationMultiaddrs()) as any)
    const a = bridgeA.peerId.toString()
    const b = bridgeB.peerId.toString()
    await eventually(() => bridgeA.federation?.pins.state(b) === 'fresh' && bridgeB.federation?.pins.state(a) === 'fresh', 'both bridges pinned', 30_000, 50)
    const pin = bridgeA.federation?.status().pins.find(p => p.remoteId === b)
    assert.equal(pin?.overlay, 'beta')
    assert.equal((pin?.rotationDue ?? 0) - (pin?.establishedAt ?? 0), 12 * 60 * 60_000)
    // the overlay's own endpoint never saw the remote bridge
    assert.ok(!bridgeA.admission.admitted.has(b))
    assert.ok(bridgeA.libp2p.getConnections().every(c => c.remotePeer.toString() !== b))

    // an edge and a sentinel of beta: refused at every endpoint of alpha
    const edgeB = await beta.node({ type: 'edge', ...QUIET })
    const sentinelB = await beta.node({ type: 'sentinel', ...QUIET })
    const targets = [...sentinelA.getMultiaddrs(), ...bridgeA.getMultiaddrs(), ...bridgeA.getFederationMultiaddrs()]
    for (const outsider of [edgeB, sentinelB, bridgeB] as TempusNode[]) {
      for (const target of targets) {
        if (outsider === bridgeB && bridgeA.getFederationMultiaddrs().includes(target)) {
          continue
        }
        await assert.rejects(outsider.libp2p.dial(multiaddr(target), { signal: AbortSignal.timeout(10_000) }), `${outsider.type} of beta → ${target}`)
      }
    }
    // a bridge of an overlay without an anchor at alpha is refused at the federation endpoint too
    const bridgeG = await gamma.node(federated([{ overlay: 'alpha', root: tA.issuer.rootPublicKey }], bridgeA.getFederationMultiaddrs()) as any)
    await assert.rejects(bridgeG.federation?.handshake(peerIdFromString(a)) ?? Promise.reject(new Error('no federation')))
    await assert.rejects(bridgeG.libp2p.dial(multiaddr(bridgeA.getFederationMultiaddrs()[0] ?? ''), { signal: AbortSignal.timeout(10_000) }))
    assert.equal(bridgeA.federation?.pins.state(bridgeG.peerId.toString()), 'none')
    assert.deepEqual(bridgeA.federation?.status().pins.map(p => p.remoteId), [b])
  })

  it('a stale pin counts for nothing until a new handshake restores it; forget removes it', async () => {
    const tA = await alpha.issuer()
    const tB = await beta.issuer()
    const bridgeA = await alpha.node(federated([{ overlay: 'beta', root: tB.issuer.rootPublicKey }], [], { rotationWindow: '1500ms' }) as any)
    const bridgeB = await beta.node(federated([{ overlay: 'alpha', root: tA.issuer.rootPublicKey }], bridgeA.getFederationMultiaddrs()) as any)
    const b = bridgeB.peerId.toString()
    await eventually(() => bridgeA.federation?.pins.state(b) === 'fresh', 'pinned', 30_000, 50)
    const first = bridgeA.federation?.pins.fresh(b)
    await eventually(() => bridgeA.federation?.pins.state(b) === 'stale', 'stale after the window', 10_000, 50)
    assert.equal(bridgeA.federation?.pins.fresh(b), undefined)
    // a new, complete handshake (started by the dialer) restores it with a new deadline
    await bridgeB.federation?.handshake(bridgeA.peerId)
    const renewed = bridgeA.federation?.pins.fresh(b)
    assert.ok(renewed != null && first != null && renewed.rotationDue > first.rotationDue)
    assert.equal(await bridgeA.federation?.forget(b), true)
    assert.equal(bridgeA.federation?.pins.state(b), 'none')
  })

  it('refuses federation on anything but a bridge', async () => {
    await assert.rejects(alpha.node({ type: 'edge', federation: { enabled: true } } as any), /only bridges federate/)
  })
})

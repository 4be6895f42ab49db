import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { after, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { DOMAINS } from '../../src/core/domains.ts'
import { generateEd25519, rawPublicKey, signDomain } from '../../src/core/keys.ts'
import { createBundle, endorse, toWire } from '../../src/dtn/bundle.ts'
import { DTN_PROTOCOL } from '../../src/dtn/constants.ts'
import { Bundle as PbBundle, DtnFrame } from '../../src/dtn/pb/dtn.ts'
import { TestNet } from '../fixtures/nodes.ts'
import { eventually, waitForEvent } from '../fixtures/wait.ts'
import type { Fragment, Signer } from '../../src/dtn/bundle.ts'
import type { DeliveredBundle } from '../../src/dtn/index.ts'
import type { TempusNode } from '../../src/node/tempus-node.ts'
import type { PrivateKey } from '@libp2p/interface'

const QUIET = { sampling: { edge: { period: '1h' }, bridge: { period: '1h' }, sentinel: { period: '1h' } } }
const DTN = { fragmentSize: 64 * 1024 }

function collect (node: TempusNode): DeliveredBundle[] {
  const got: DeliveredBundle[] = []
  node.dtn.addEventListener('bundle', evt => { got.push(evt.detail) })
  return got
}

describe('bundles across overlays', () => {
  const alpha = new TestNet({ overlay: 'alpha' })
  const beta = new TestNet({ overlay: 'beta' })
  after(async () => { await Promise.all([alpha.stop(), beta.stop()]) })

  /** alpha: sentinel, federated bridge, edge; beta: sentinel and federated bridge (the destination joins later) */
  async function overlays (relayBundles = true): Promise<{ sA: TempusNode, a1: TempusNode, eA: TempusNode, sB: TempusNode, b1: TempusNode, keys: { eA: PrivateKey, b1: PrivateKey } }> {
    const keys = { eA: await generateKeyPair('Ed25519'), b1: await generateKeyPair('Ed25519') }
    const tA = await alpha.issuer()
    const tB = await beta.issuer()
    const federation = (anchor: { overlay: string, root: string }, remotes: string[]): Record<string, unknown> =>
      ({ enabled: true, listen: ['/ip4/127.0.0.1/tcp/0'], anchors: [anchor], remotes, relay: { bundles: relayBundles } })
    const sA = await alpha.node({ type: 'sentinel', ...QUIET, dtn: DTN })
    const a1 = await alpha.node({ type: 'bridge', ...QUIET, dtn: DTN, bootstrap: sA.getMultiaddrs(), federation: federation({ overlay: 'beta', root: tB.issuer.rootPublicKey }, []) } as any)
    const eA = await alpha.node({ type: 'edge', ...QUIET, dtn: DTN, bootstrap: sA.getMultiaddrs(), options: { privateKey: keys.eA } })
    const sB = await beta.node({ type: 'sentinel', ...QUIET, dtn: DTN })
    const b1 = await beta.node({ type: 'bridge', ...QUIET, dtn: DTN, bootstrap: sB.getMultiaddrs(), federation: federation({ overlay: 'alpha', root: tA.issuer.rootPublicKey }, a1.getFederationMultiaddrs()), options: { privateKey: keys.b1 } } as any)
    await eventually(() => a1.federation?.pins.state(b1.peerId.toString()) === 'fresh' && b1.federation?.pins.state(a1.peerId.toString()) === 'fresh', 'the bridges pinned each other', 30_000, 50)
    await eventually(() => eA.admission.admitted.has(sA.peerId.toString()) && a1.admission.admitted.has(sA.peerId.toString()) && b1.admission.admitted.has(sB.peerId.toString()), 'both overlays connected', 30_000, 50)
    return { sA, a1, eA, sB, b1, keys }
  }

  it('an edge of alpha reaches an edge of beta that was offline, through both bridges: byte-identical, once, encrypted end to end; the receipt comes back', async () => {
    const { sA, a1, eA, sB, b1 } = await overlays()
    const xKey = await generateKeyPair('Ed25519')
    const x = peerIdFromPrivateKey(xKey).toString()
    const xData = await beta.tempDir()
    // X was enrolled in beta, and is offline when the bundle is sent
    await (await beta.node({ type: 'edge', ...QUIET, dtn: DTN, options: { dataDir: xData, privateKey: xKey } })).stop()
    const payload = randomBytes(200 * 1024)
    const receipt = waitForEvent(eA.dtn, 'receipt', () => true, 60_000)
    const id = await eA.dtn.send(`${x}@beta`, payload, { lifetimeMs: 300_000 })
    const fragments = (eA.dtn.list('outbox')[0] as { fragments: number }).fragments
    assert.equal(fragments, 4)
    // across to beta's bridge, endorsed there
    await eventually(() => (b1.bundleRelay?.stats.received ?? 0) === fragments, 'every fragment across', 60_000, 50)
    const held = b1.dtn.store.fragmentsOf(id, Date.now())
    assert.equal(held.length, fragments)
    assert.ok(held.every(f => f.endorsement?.bridge === b1.peerId.toString() && f.endorsement.sourceOverlay === 'alpha' && f.source === eA.peerId.toString()))
    // nobody in alpha is its destination; the sentinels carried it, the bridge handed it across
    for (const n of [sA, a1, eA]) {
      assert.equal(n.dtn.list('inbox').length, 0)
    }
    // X comes back in beta, through beta's sentinel
    const xNode = await beta.node({ type: 'edge', ...QUIET, dtn: DTN, bootstrap: sB.getMultiaddrs(), options: { dataDir: xData, privateKey: xKey, start: false } })
    const got = collect(xNode)
    await xNode.start()
    await eventually(() => got.length === 1, 'X to receive it', 60_000, 50)
    assert.equal(got[0]?.id, id)
    assert.equal(got[0]?.source, eA.peerId.toString())
    assert.equal(got[0]?.sourceOverlay, 'alpha')
    assert.equal(createHash('sha256').update(got[0]?.payload ?? new Uint8Array()).digest('hex'), createHash('sha256').update(payload).digest('hex'))
    // encrypted to X: what the carriers held is not the payload
    assert.ok(!Buffer.concat(held.map(f => f.payload)).includes(payload.subarray(0, 64)))
    // the receipt, signed by X, travels back through beta, across, and through alpha to the source
    const r = await receipt
    assert.equal(r.detail.id, id)
    assert.equal(r.detail.destination, x)
    assert.ok((b1.bundleRelay?.stats.receiptsSent ?? 0) >= 1)
    await eventually(() => a1.dtn.store.fragmentsOf(id, Date.now()).length === 0 && b1.dtn.store.fragmentsOf(id, Date.now()).length === 0, 'both bridges released their copies', 30_000, 50)
    // delivered once: a restart delivers nothing again
    await xNode.stop()
    const again = await beta.node({ type: 'edge', ...QUIET, dtn: DTN, bootstrap: sB.getMultiaddrs(), options: { dataDir: xData, privateKey: xKey, start: false } })
    const twice = collect(again)
    await again.start()
    assert.equal(again.dtn.list('inbox').length, 1)
    // a session each way with its sentinel: anything still held for X is offered now
    await eventually(() => again.admission.admitted.has(sB.peerId.toString()), 'the restarted node admitted by its sentinel', 30_000, 50)
    await sB.dtn.sync(again.peerId)
    await again.dtn.sync(sB.peerId)
    assert.deepEqual(twice, [])
  })

  it('refuses what must not cross or travel: no policy, a forged or second endorsement, a source its anchor does not vouch for, the wrong overlay', async () => {
    const { a1, eA, sB, b1, keys } = await overlays()
    const someone = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const own = eA.admission.ownToken
    assert.ok(own != null)
    const make = (overlay: string, signer: Signer = { privateKey: keys.eA, peerId: eA.peerId.toString(), evidence: own }): Fragment =>
      createBundle(signer, { kind: 'peer', peer: someone, overlay }, randomBytes(100), { lifetimeMs: 60_000, hopLimit: 8, copies: 2 }, Date.now())[0] as Fragment
    const cross = async (bytes: Uint8Array): Promise<boolean> => await (a1.federation as any).cross(b1.peerId, { bundle: bytes, receipts: [] })
    const dropped = (): Record<string, number> => b1.bundleRelay?.stats.dropped ?? {}

    // a good one crosses
    assert.equal(await cross(PbBundle.encode(toWire(make('beta'), { hops: 1, copies: 2 }))), true)
    // addressed to another overlay than beta
    assert.equal(await cross(PbBundle.encode(toWire(make('gamma'), { hops: 1, copies: 2 }))), false)
    assert.equal(dropped()['bad-destination'], 1)
    // a source alpha's anchor does not vouch for: a key alpha never admitted, showing eA's token
    const stranger = await generateKeyPair('Ed25519')
    assert.equal(await cross(PbBundle.encode(toWire(make('beta', { privateKey: stranger, peerId: peerIdFromPrivateKey(stranger).toString(), evidence: own }), { hops: 1, copies: 2 }))), false)
    assert.equal(dropped()['no-admission'], 1)
    // endorsed already: a bundle crosses once
    const b1Signer = { privateKey: keys.b1, peerId: b1.peerId.toString(), evidence: b1.admission.ownToken ?? assert.fail('no token') }
    assert.equal(await cross(PbBundle.encode(toWire(endorse(make('beta'), b1Signer, 'alpha', Date.now()), { hops: 1, copies: 2 }))), false)
    assert.equal(dropped()['bad-endorsement'], 1)
    // garbage
    assert.equal(await cross(randomBytes(300)), false)
    assert.equal(dropped().malformed, 1)
    assert.equal(b1.bundleRelay?.stats.received, 1)

    // inside beta: an edge endorsing a bundle as if it were a bridge is refused by the sentinel, and counted against it
    const forgerKey = await generateKeyPair('Ed25519')
    const forger = await beta.node({ type: 'edge', ...QUIET, dtn: DTN, bootstrap: sB.getMultiaddrs(), options: { privateKey: forgerKey } })
    await eventually(() => sB.admission.admitted.has(forger.peerId.toString()), 'the forger admitted')
    const forgerSigner = { privateKey: forgerKey, peerId: forger.peerId.toString(), evidence: forger.admission.ownToken ?? assert.fail('no token') }
    const refused: string[] = []
    sB.dtn.addEventListener('refused', evt => { if (evt.detail.peer === forger.peerId.toString()) refused.push(evt.detail.reason) })
    const forged = endorse(make('beta'), forgerSigner, 'alpha', Date.now())
    const stream = await forger.libp2p.dialProtocol(sB.peerId, DTN_PROTOCOL)
    const lp = lpStream(stream, { maxDataLength: 4 * 1024 * 1024 })
    const wire = toWire(forged, { hops: 2, copies: 1 })
    await lp.write(DtnFrame.encode({ offer: { keys: [{ id: Buffer.from(forged.id, 'hex'), offset: 0n, length: wire.payload.length }], receipts: [] } }))
    assert.equal(DtnFrame.decode(await lp.read()).want?.keys.length, 1)
    await lp.write(DtnFrame.encode({ bundle: wire }))
    await lp.read().catch(() => {})
    stream.abort(new Error('done'))
    await eventually(() => refused.includes('bad-endorsement'), 'the forged endorsement refused', 10_000, 20)
    assert.equal(sB.dtn.store.fragmentsOf(forged.id, Date.now()).length, 0)

    // a bridge without the policy takes nothing across
    await b1.stop()
    const { a1: a2, b1: b2 } = await overlays(false)
    assert.equal(await (a2.federation as any).cross(b2.peerId, { bundle: PbBundle.encode(toWire(make('beta'), { hops: 1, copies: 2 })), receipts: [] }), false)
    assert.equal(b2.bundleRelay, undefined)
    assert.equal(b2.dtn.status().fragments, 0)
  })
})

describe('revocations across overlays', () => {
  const alpha = new TestNet({ overlay: 'alpha' })
  const beta = new TestNet({ overlay: 'beta' })
  after(async () => { await Promise.all([alpha.stop(), beta.stop()]) })

  it('a bridge hands its overlay\'s revocation list across: the other overlay drops the revoked bridge\'s pin and connection, and takes nothing more from a revoked member', async () => {
    const tA = await alpha.issuer()
    const tB = await beta.issuer()
    const federation = (anchor: { overlay: string, root: string }, remotes: string[]): Record<string, unknown> =>
      ({ enabled: true, listen: ['/ip4/127.0.0.1/tcp/0'], anchors: [anchor], remotes, relay: { bundles: true } })
    const admission = { crlPollInterval: '200ms' }
    const a1 = await alpha.node({ type: 'bridge', ...QUIET, admission, federation: federation({ overlay: 'beta', root: tB.issuer.rootPublicKey }, []) } as any)
    const a2 = await alpha.node({ type: 'bridge', ...QUIET, admission, bootstrap: a1.getMultiaddrs(), federation: federation({ overlay: 'beta', root: tB.issuer.rootPublicKey }, []) } as any)
    const eKey = await generateKeyPair('Ed25519')
    const eA = await alpha.node({ type: 'edge', ...QUIET, bootstrap: a1.getMultiaddrs(), options: { privateKey: eKey } })
    const b1 = await beta.node({ type: 'bridge', ...QUIET, federation: federation({ overlay: 'alpha', root: tA.issuer.rootPublicKey }, [...a1.getFederationMultiaddrs(), ...a2.getFederationMultiaddrs()]) } as any)
    const [ia1, ia2, ib1] = [a1, a2, b1].map(n => n.peerId.toString()) as [string, string, string]
    await eventually(() => b1.federation?.pins.state(ia1) === 'fresh' && b1.federation?.pins.state(ia2) === 'fresh' && a1.federation?.pins.state(ib1) === 'fresh', 'pinned', 30_000, 50)
    const own = eA.admission.ownToken ?? assert.fail('no token')
    const someone = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const fragment = (): Fragment => createBundle({ privateKey: eKey, peerId: eA.peerId.toString(), evidence: own }, { kind: 'peer', peer: someone, overlay: 'beta' }, randomBytes(50), { lifetimeMs: 60_000, hopLimit: 8, copies: 2 }, Date.now())[0] as Fragment
    // before: eA's bundles cross
    assert.equal(await a1.federation?.cross(b1.peerId, { bundle: PbBundle.encode(toWire(fragment(), { hops: 1, copies: 2 })) }), true)
    assert.equal(b1.dtn.status().fragments, 1)

    // alpha revokes its edge and its second bridge (two admins approve)
    const admins = [generateEd25519(), generateEd25519()]
    const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url')
    for (const [i, ad] of admins.entries()) { await tA.issuer.addAdmin(b64(rawPublicKey(ad.publicKey)), `federation-admin-${i}`) }
    for (const victim of [eA.peerId.toString(), ia2]) {
      const request = (await tA.issuer.requestRevocation(victim, 'test'))
      for (const ad of admins) {
        await tA.issuer.approve(request.id, b64(rawPublicKey(ad.publicKey)), b64(signDomain(ad.privateKey, DOMAINS.revocationApproval, Buffer.from(request.payload, 'base64url'))))
      }
    }
    // a1 learns it and hands it across; beta checks it under alpha's root
    await eventually(() => b1.federation?.anchors.isRevoked('alpha', eA.peerId.toString()) === true && b1.federation?.anchors.isRevoked('alpha', ia2) === true, 'beta to know alpha\'s revocations', 30_000, 50)
    await eventually(() => b1.federation?.pins.state(ia2) === 'none', 'the revoked bridge\'s pin dropped', 10_000, 50)
    await eventually(() => !(b1 as any).federationEndpoint.libp2p.getConnections().some((c: any) => c.remotePeer.toString() === ia2), 'and its connection', 10_000, 50)
    // what the revoked edge sent is dropped, and nothing more of it comes in
    await eventually(() => b1.dtn.status().fragments === 0, 'the revoked member\'s bundle dropped', 10_000, 50)
    assert.equal(await a1.federation?.cross(b1.peerId, { bundle: PbBundle.encode(toWire(fragment(), { hops: 1, copies: 2 })) }), false)
    assert.equal(b1.bundleRelay?.stats.dropped['no-admission'], 1)
    // the revoked bridge cannot come back: its handshake is refused
    await assert.rejects(a2.federation?.connect(b1.getFederationMultiaddrs()[0] ?? '') ?? Promise.reject(new Error('no federation')))
    // a list not signed by alpha's root is refused (beta's own list, say)
    const before = b1.federation?.anchors.revocationNumber('alpha')
    await assert.rejects(b1.federation?.anchors.applyRevocations('alpha', 'e30.e30.AAAA') ?? Promise.resolve())
    assert.equal(b1.federation?.anchors.revocationNumber('alpha'), before)
  })
})

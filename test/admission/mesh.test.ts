import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { DOMAINS } from '../../src/core/domains.ts'
import { generateEd25519, rawPublicKey, signDomain } from '../../src/core/keys.ts'
import { IssuerClient } from '../../src/issuer-client/client.ts'
import { admittingAttacker } from '../fixtures/attacker.ts'
import { TestNet } from '../fixtures/nodes.ts'
import { eventually, waitForEvent } from '../fixtures/wait.ts'
import type { TempusNode } from '../../src/node/tempus-node.ts'

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url')

/** 2 sentinels and `edges` edges, every edge on both sentinels. */
async function mesh (net: TestNet, edges: number, config: Record<string, unknown> = {}): Promise<TempusNode[]> {
  const s1 = await net.node({ type: 'sentinel', ...config })
  const s2 = await net.node({ type: 'sentinel', bootstrap: s1.getMultiaddrs(), ...config })
  const bootstrap = [...s1.getMultiaddrs(), ...s2.getMultiaddrs()]
  const rest = await Promise.all(Array.from({ length: edges }, async () => net.node({ type: 'edge', bootstrap, connections: { minConnections: 2 }, ...config })))
  const nodes = [s1, s2, ...rest]
  await eventually(() => rest.every(e => [s1, s2].every(s => e.libp2p.getPeers().some(p => p.equals(s.peerId)))), 'every edge on both sentinels', 60_000, 100)
  return nodes
}

describe('admission across a mesh', () => {
  const net = new TestNet()
  after(async () => { await net.stop() })

  it('rotates the signing key under continuous refresh and churn: zero failed admissions among 20 honest nodes, and the old epoch is refused everywhere', async () => {
    const nodes = await mesh(net, 18, { admission: { keysPollInterval: '300ms' } })
    const refusals: string[] = []
    for (const n of nodes) {
      n.admission.addEventListener('refused', evt => { refusals.push(`${n.peerId.toString().slice(-6)} refused ${evt.detail.peer?.slice(-6)} (${evt.detail.direction}): ${evt.detail.reason}${evt.detail.why != null ? ` (${evt.detail.why})` : ''}`) })
    }
    const t = await net.issuer()
    // a member whose token is of the old epoch and who cannot refresh (for the last step)
    const staleKey = await generateKeyPair('Ed25519')
    const staleEnrollment = await net.enroll(staleKey, 'edge')
    const stale = await new IssuerClient({ url: t.url }).token(staleKey, staleEnrollment.credential)

    // churn: fresh connections between edges and token refreshes, all the time
    let churning = true
    let dials = 0
    const failedDials: string[] = []
    const edges = nodes.slice(2)
    const churn = (async () => {
      let i = 0
      while (churning) {
        const a = edges[i % edges.length] as TempusNode
        const b = edges[(i * 7 + 3) % edges.length] as TempusNode
        i++
        if (a !== b) {
          dials++
          try {
            const c = await a.libp2p.dial(multiaddr(b.getMultiaddrs()[0] ?? ''), { signal: AbortSignal.timeout(10_000) })
            await c.close()
          } catch (err: any) {
            failedDials.push(`${err?.name}: ${err?.message}`)
          }
        }
        void (nodes[i % nodes.length] as TempusNode).tokens.refresh()
      }
    })()

    const announced = await t.issuer.announceKey()
    await eventually(() => nodes.every(n => n.admission.verifier.certificateFor(announced.kid) != null), 'every node to learn the announced key', 30_000, 50)
    const dialsBefore = dials
    await t.issuer.activateKey()
    await eventually(() => nodes.every(n => n.admission.verifier.current?.epoch === announced.epoch && n.admission.ownToken?.claims.ep === announced.epoch),
      'every node on the new epoch with a new token', 30_000, 50)
    // keep churning a little on the new epoch
    await eventually(() => dials > dialsBefore + 40, 'churn after activation', 30_000, 50)
    churning = false
    await churn

    assert.deepEqual(refusals, [], 'no honest admission was refused')
    assert.deepEqual(failedDials, [], 'no honest dial failed')
    assert.ok(dials > 40)

    // right after activation, the old epoch is refused by every node
    const { node: holder } = await admittingAttacker({
      privateKey: staleKey,
      enrollment: staleEnrollment,
      token: { token: stale.token, keyCertificate: stale.keyCertificate, claims: JSON.parse(Buffer.from(stale.token.split('.')[1] ?? '', 'base64url').toString()) }
    })
    try {
      for (const n of nodes) {
        const refused = waitForEvent(n.admission, 'refused', evt => evt.detail.peer === staleKey.publicKey.toString() || evt.detail.peer === holder.peerId.toString())
        await holder.dial(multiaddr(n.getMultiaddrs()[0] ?? ''), { signal: AbortSignal.timeout(10_000) }).catch(() => {})
        assert.equal((await refused).detail.reason, 'rotated-key')
        assert.ok(!n.libp2p.getPeers().some(p => p.equals(holder.peerId)))
      }
    } finally {
      await holder.stop()
    }
    await Promise.all(nodes.map(async n => n.stop()))
  })

  it('revokes a member: every node of 20 refuses and disconnects it within 10 s of publication, and it cannot rejoin', async (t0) => {
    const nodes = await mesh(net, 18)
    const [victim, ...honest] = [nodes[2] as TempusNode, ...nodes.filter((_, i) => i !== 2)]
    // the victim also holds connections to a few edges
    for (const other of honest.slice(2, 6)) {
      await victim.libp2p.dial(multiaddr(other.getMultiaddrs()[0] ?? ''), { signal: AbortSignal.timeout(10_000) })
    }
    const id = victim.peerId.toString()
    const t = await net.issuer()
    const admins = [generateEd25519(), generateEd25519()]
    for (const [i, a] of admins.entries()) { await t.issuer.addAdmin(b64(rawPublicKey(a.publicKey)), `mesh-admin-${i}`) }
    const request = (await t.issuer.requestRevocation(id, 'compromised'))

    const appliedAt = new Map<string, number>()
    for (const n of honest) {
      n.admission.addEventListener('revoked', evt => {
        if (evt.detail.includes(id) && !appliedAt.has(n.peerId.toString())) {
          appliedAt.set(n.peerId.toString(), Date.now())
        }
      })
    }
    await t.issuer.approve(request.id, b64(rawPublicKey((admins[0] as ReturnType<typeof generateEd25519>).publicKey)), b64(signDomain((admins[0] as ReturnType<typeof generateEd25519>).privateKey, DOMAINS.revocationApproval, Buffer.from(request.payload, 'base64url'))))
    assert.equal((await t.issuer.isRevoked(id)), false, 'one approval is not enough')
    await t.issuer.approve(request.id, b64(rawPublicKey((admins[1] as ReturnType<typeof generateEd25519>).publicKey)), b64(signDomain((admins[1] as ReturnType<typeof generateEd25519>).privateKey, DOMAINS.revocationApproval, Buffer.from(request.payload, 'base64url'))))
    const published = Date.now()
    assert.equal((await t.issuer.isRevoked(id)), true)

    await eventually(() => appliedAt.size === honest.length, 'every node to apply the revocation', 30_000, 50)
    await eventually(() => honest.every(n => n.libp2p.getConnections().every(c => !c.remotePeer.equals(victim.peerId))), 'every node to drop the victim', 30_000, 50)
    const latencies = [...appliedAt.values()].map(at => at - published).sort((a, b) => a - b)
    const p99 = latencies[Math.ceil(latencies.length * 0.99) - 1] ?? Infinity
    t0.diagnostic(`revocation reached ${latencies.length} nodes: p50 ${latencies[Math.floor(latencies.length / 2)]} ms, p99 ${p99} ms`)
    assert.ok(p99 <= 10_000, `p99 from publication to refusal ${p99} ms`)

    // it cannot rejoin: every dial is refused and the issuer gives it no token
    for (const n of honest) {
      await assert.rejects(victim.libp2p.dial(multiaddr(n.getMultiaddrs()[0] ?? ''), { signal: AbortSignal.timeout(10_000) }))
    }
    assert.equal(await victim.tokens.refresh(), undefined, 'the issuer refuses the revoked key a token')
    assert.ok(honest.every(n => !n.libp2p.getPeers().some(p => p.equals(victim.peerId))))
  })
})

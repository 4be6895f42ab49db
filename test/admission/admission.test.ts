import assert from 'node:assert/strict'
import { EXPIRED_TOKEN_GRACE_MS } from '../../src/admission/refusal-cost.ts'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { IssuerClient } from '../../src/issuer-client/client.ts'
import { MAX_ADMIT_FRAME_BYTES } from '../../src/admission/constants.ts'
import { admittingAttacker, genuineProof, plainNode, scriptedInitiator, scriptedPeer } from '../fixtures/attacker.ts'
import { startTestIssuer } from '../fixtures/issuer.ts'
import { TestNet } from '../fixtures/nodes.ts'
import { eventually, waitForEvent } from '../fixtures/wait.ts'
import type { ExchangeScript } from '../fixtures/attacker.ts'
import type { OwnToken } from '../../src/admission/state.ts'
import type { TempusNode } from '../../src/node/tempus-node.ts'
import type { Libp2p, PrivateKey } from '@libp2p/interface'

describe('admission on every connection', () => {
  const net = new TestNet()
  let target: TempusNode
  let addr: ReturnType<typeof multiaddr>
  const attackers: Libp2p[] = []

  before(async () => {
    // each shut-out check dials every registered protocol: dozens of connects
    // from 127.0.0.1 within a second, which the per-host inbound limit (tested
    // in test/node/robustness) would start resetting; loopback is exempt here
    target = await net.node({ type: 'sentinel', admission: { deadline: '1500ms' }, connections: { allow: ['127.0.0.1/32'] } })
    addr = multiaddr(target.getMultiaddrs()[0] ?? '')
  })
  after(async () => {
    await Promise.allSettled(attackers.map(async a => a.stop()))
    await net.stop()
  })

  const ownToken = async (key: PrivateKey, typ: 'edge' | 'sentinel' = 'edge', at?: number): Promise<{ token: OwnToken, enrollment: Awaited<ReturnType<TestNet['enroll']>> }> => {
    const enrollment = await net.enroll(key, typ)
    const t = await net.issuer()
    const result = at == null ? await new IssuerClient({ url: t.url }).token(key, enrollment.credential) : await t.issuer.issueToken(enrollment.peerId, typ, at)
    const claims = JSON.parse(Buffer.from(result.token.split('.')[1] ?? '', 'base64url').toString())
    return { token: { token: result.token, keyCertificate: result.keyCertificate, claims }, enrollment }
  }

  /**
   * The attacker reaches nothing: its connection is refused (a plain-Noise
   * dialler may see its dial resolve, then the connection dies at once),
   * every protocol the target registers fails, and the target never counts
   * it as a peer.
   */
  const assertShutOut = async (attacker: Libp2p, label: string): Promise<void> => {
    attackers.push(attacker)
    const refused = waitForEvent(target.admission, 'refused', evt => evt.detail.peer === attacker.peerId.toString() || evt.detail.peer == null)
    try {
      const connection = await attacker.dial(addr, { signal: AbortSignal.timeout(10_000) })
      if (connection.status === 'open') {
        await waitForEvent(attacker, 'connection:close', evt => evt.detail === connection)
      }
    } catch {
      // refused during the upgrade: what an admitting dialler sees
    }
    await refused
    const protocols = target.libp2p.getProtocols()
    assert.ok(protocols.length >= 5, 'the target registers protocols')
    for (const protocol of protocols) {
      await assert.rejects(attacker.dialProtocol(addr, protocol, { signal: AbortSignal.timeout(10_000) }), `${label}: ${protocol} must be unreachable`)
    }
    assert.ok(!target.libp2p.getPeers().some(p => p.equals(attacker.peerId)), `${label}: never a peer of the target`)
  }

  it('a plain libp2p node (no token) reaches no protocol', async () => {
    await assertShutOut(await plainNode(), 'plain')
  })

  it('an expired token is refused', async () => {
    const key = await generateKeyPair('Ed25519')
    const { token, enrollment } = await ownToken(key, 'edge', Date.now() - 10 * 60_000)
    const { node } = await admittingAttacker({ privateKey: key, enrollment, token })
    const reason = waitForEvent(target.admission, 'refused', evt => evt.detail.peer === key.publicKey.toString() || evt.detail.peer === node.peerId.toString())
    await assertShutOut(node, 'expired')
    assert.equal((await reason).detail.reason, 'expired')
    // its holder is an honest peer that could not reach an issuer: refused, never charged (#13, #14)
    assert.equal(target.admission.suspicion.score(node.peerId.toString()), 0, 'an expired token costs its holder nothing')
  })

  it('a token expired for longer than any outage is charged', async () => {
    const key = await generateKeyPair('Ed25519')
    const { token, enrollment } = await ownToken(key, 'edge', Date.now() - EXPIRED_TOKEN_GRACE_MS - 10 * 60_000)
    const { node } = await admittingAttacker({ privateKey: key, enrollment, token })
    const reason = waitForEvent(target.admission, 'refused', evt => evt.detail.peer === node.peerId.toString())
    await assertShutOut(node, 'fossil')
    assert.equal((await reason).detail.reason, 'expired')
    assert.ok(target.admission.suspicion.score(node.peerId.toString()) > 4, 'a fossil token costs admission-failed')
  })

  it('a valid token of another PeerId is refused', async () => {
    const victim = await generateKeyPair('Ed25519')
    const { token, enrollment } = await ownToken(victim)
    const { node } = await admittingAttacker({ enrollment, token })
    const reason = waitForEvent(target.admission, 'refused', evt => evt.detail.peer === node.peerId.toString())
    await assertShutOut(node, 'stolen token')
    assert.equal((await reason).detail.reason, 'wrong-subject')
    assert.ok(target.admission.suspicion.score(node.peerId.toString()) > 4, 'showing someone else\'s token costs')
  })

  it('a token of an unknown issuer is refused', async () => {
    const rogue = await startTestIssuer({ overlay: 'test-overlay' })
    try {
      const key = await generateKeyPair('Ed25519')
      const client = new IssuerClient({ url: rogue.url })
      const enrollment = { ...await client.enroll(key, (await rogue.issuer.createCode('sentinel'))), issuerUrl: rogue.url }
      const result = await client.token(key, enrollment.credential)
      const claims = JSON.parse(Buffer.from(result.token.split('.')[1] ?? '', 'base64url').toString())
      const { node } = await admittingAttacker({ privateKey: key, enrollment, token: { token: result.token, keyCertificate: result.keyCertificate, claims } })
      const reason = waitForEvent(target.admission, 'refused', evt => evt.detail.peer === node.peerId.toString())
      await assertShutOut(node, 'rogue issuer')
      assert.ok(['unknown-key', 'bad-signature'].includes((await reason).detail.reason))
    } finally {
      await rogue.stop()
    }
  })

  it('a replayed proof (a signature over an old nonce) is refused', async () => {
    const key = await generateKeyPair('Ed25519')
    const { token } = await ownToken(key)
    // a genuine member records its proof on a first, honest connection…
    let recorded: Uint8Array | undefined
    const honest = await scriptedInitiator(key, token, nonce => { recorded = genuineProof(key, token.token, nonce); return recorded })
    attackers.push(honest)
    const connection = await honest.dial(addr, { signal: AbortSignal.timeout(10_000) })
    await eventually(() => target.libp2p.getPeers().some(p => p.equals(honest.peerId)), 'the honest connection to be admitted')
    assert.ok(recorded != null)
    await connection.close()
    await eventually(() => !target.libp2p.getPeers().some(p => p.equals(honest.peerId)), 'the honest connection to close')
    await honest.stop()
    // …and replays it: the target's nonce is fresh, so the old signature fails
    const node = await scriptedInitiator(key, token, () => recorded as Uint8Array)
    const reason = waitForEvent(target.admission, 'refused', evt => evt.detail.peer === node.peerId.toString())
    await assertShutOut(node, 'replay')
    assert.equal((await reason).detail.reason, 'bad-proof')
    // one episode of bad proofs costs one offence (20), decaying from the moment it was charged
    assert.ok(target.admission.suspicion.score(node.peerId.toString()) > 19, 'suspicion raised')
  })

  it('a peer that completes Noise and then says nothing is closed at the admission deadline', async () => {
    const key = await generateKeyPair('Ed25519')
    const { enrollment } = await ownToken(key)
    const silent = await admittingAttacker({ privateKey: key, enrollment, token: undefined })
    // with no token of its own the attacker's side refuses at once; make it hang instead
    const { node } = silent
    silent.state.setOwnToken = () => {}
    Object.defineProperty(silent.state, 'ownToken', { get: () => ({ token: 'x', keyCertificate: '', claims: {} }) })
    const origEnsure = silent.state.ensureOwnTokenCurrent.bind(silent.state)
    silent.state.ensureOwnTokenCurrent = async () => { await origEnsure(); await new Promise(() => {}) }
    const reason = waitForEvent(target.admission, 'refused', evt => evt.detail.peer === node.peerId.toString())
    attackers.push(node)
    // the attacker's own side hangs forever; the target must give up at its deadline
    const controller = new AbortController()
    const dialing = node.dial(addr, { signal: controller.signal })
    assert.equal((await reason).detail.reason, 'timeout')
    controller.abort()
    await assert.rejects(dialing)
  })

  it('a hello that does not decode, or is over the frame limit, is malformed and charged; a hang-up is neither', async () => {
    const hello = (frame: Uint8Array): ExchangeScript => async (lp, signal) => {
      await lp.write(frame, { signal })
      await lp.read({ signal }).catch(() => {})
    }
    const cases: Array<[string, ExchangeScript, string]> = [
      ['undecodable', hello(Uint8Array.from([0xff, 0xff, 0xff])), 'malformed'],
      ['oversize', hello(new Uint8Array(MAX_ADMIT_FRAME_BYTES + 1)), 'malformed'],
      ['hang-up', async () => {}, 'refused']
    ]
    for (const [label, outbound, reason] of cases) {
      const key = await generateKeyPair('Ed25519')
      const id = key.publicKey.toString()
      const peer = await scriptedPeer({ privateKey: key, outbound })
      attackers.push(peer.node)
      // every refusal names its peer (the operator's log says who); one that charges nobody carries no suspicion
      const refused = waitForEvent(target.admission, 'refused', evt => evt.detail.peer === id)
      await assert.rejects(peer.node.dial(addr, { signal: AbortSignal.timeout(10_000) }))
      const { detail } = await refused
      assert.equal(detail.reason, reason, label)
      assert.equal(detail.suspicion == null, reason === 'refused', `${label}: charged or not`)
      const score = target.admission.suspicion.score(id)
      assert.ok(reason === 'malformed' ? score > 9.9 : score === 0, `${label}: charged ${score}`)
    }
  })

  it('an honest member is admitted, and the type it shows comes from its token', async () => {
    const edge = await net.node({ type: 'edge', bootstrap: target.getMultiaddrs() })
    await eventually(() => target.admission.admitted.get(edge.peerId.toString())?.claims.typ === 'edge', 'the edge admitted')
    assert.ok(target.libp2p.getPeers().some(p => p.equals(edge.peerId)))
  })
})

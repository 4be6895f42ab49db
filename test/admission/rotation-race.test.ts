/**
 * The race the clean-clone run found in the rotation-under-churn test: an
 * initiator's verifier moved to a newly activated epoch while the responder
 * was answering. The token the initiator had shown was of the old epoch, so
 * it could not prove the new one to the responder (no retry), and the
 * responder's token of that same old epoch was refused as `rotated-key`:
 * two honest members refused each other. An exchange is judged by the epoch
 * current when it began; an exchange that begins on the new epoch still
 * takes no token of the old one.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { pbStream } from '@libp2p/utils'
import { ADMIT_PROTOCOL, NONCE_BYTES, REFRESH_PROTOCOL } from '../../src/admission/constants.ts'
import { AdmitHello, AdmitProof, TokenRefresh } from '../../src/admission/pb/admission.ts'
import { IssuerClient } from '../../src/issuer-client/client.ts'
import { genuineProof, scriptedPeer } from '../fixtures/attacker.ts'
import { TestNet } from '../fixtures/nodes.ts'
import type { TokenClaims } from '../../src/admission/token.ts'
import type { TempusNode } from '../../src/node/tempus-node.ts'
import type { ExchangeScript } from '../fixtures/attacker.ts'
import type { PrivateKey } from '@libp2p/interface'

const claimsOf = (token: string): TokenClaims => JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString())

describe('an exchange is judged by the epoch current when it began', () => {
  const net = new TestNet()
  let dialler: TempusNode
  let responderKey: PrivateKey
  let oldToken: { token: string, keyCertificate: string }
  const refusals: string[] = []

  before(async () => {
    // the dialler learns the activation only from what the test shows it
    dialler = await net.node({ admission: { keysPollInterval: '1h' } })
    dialler.admission.addEventListener('refused', evt => { refusals.push(`${evt.detail.reason} (${evt.detail.direction})`) })
    responderKey = await generateKeyPair('Ed25519')
    const t = await net.issuer()
    oldToken = await new IssuerClient({ url: t.url }).token(responderKey, (await net.enroll(responderKey, 'edge')).credential)
    await t.issuer.announceKey()
  })
  after(async () => { await net.stop() })

  /**
   * A responder that reads the dialler's hello, runs `meanwhile`, answers
   * with its genuine token of the old epoch and a genuine proof, and
   * reports the dialler's next frame (undefined: none came before the
   * dialler closed or the responder stopped).
   */
  const answerWithOldToken = (meanwhile: () => Promise<void>, next: (proof: AdmitProof | undefined) => void): ExchangeScript => async (lp, signal) => {
    const hello = AdmitHello.decode(await lp.read({ signal }))
    await meanwhile()
    await lp.write(AdmitHello.encode({
      version: ADMIT_PROTOCOL,
      token: oldToken.token,
      nonce: new Uint8Array(randomBytes(NONCE_BYTES)),
      keyCertificate: oldToken.keyCertificate,
      retry: false,
      signature: new Uint8Array(genuineProof(responderKey, oldToken.token, hello.nonce))
    }), { signal })
    next(await lp.read({ signal }).then(bytes => AdmitProof.decode(bytes), () => undefined))
  }

  /**
   * Dial a scripted responder: did the dialler's side of the connection
   * open (it admitted the responder), and the epoch of the token it took,
   * read while the connection is still open (the admission state forgets a
   * peer when its last connection closes, and the responder stops next).
   */
  const dialScripted = async (script: ExchangeScript): Promise<{ opened: boolean, admittedEpoch?: number }> => {
    const responder = await scriptedPeer({ privateKey: responderKey, inbound: script })
    try {
      const opened = await dialler.libp2p.dial(multiaddr(responder.node.getMultiaddrs()[0] ?? ''), { signal: AbortSignal.timeout(10_000) }).then(() => true, () => false)
      return { opened, admittedEpoch: dialler.admission.admitted.get(responderKey.publicKey.toString())?.claims.ep }
    } finally {
      await responder.node.stop()
    }
  }

  it('the dialler\'s verifier moves to the new epoch mid-exchange: the responder\'s token of the epoch it began on is taken, with no refusal', async () => {
    const epochBefore = dialler.admission.verifier.current?.epoch
    assert.equal(dialler.admission.ownToken?.claims.ep, epochBefore)
    assert.equal(claimsOf(oldToken.token).ep, epochBefore)
    const { opened, admittedEpoch } = await dialScripted(answerWithOldToken(async () => {
      // the issuer activates its announced key, and a token signed with it
      // reaches the dialler on another path (here: verified directly)
      const t = await net.issuer()
      await t.issuer.activateKey()
      const otherKey = await generateKeyPair('Ed25519')
      const fresh = await new IssuerClient({ url: t.url }).token(otherKey, (await net.enroll(otherKey, 'edge')).credential)
      await dialler.admission.verifier.verify(fresh.token, { keyCertificate: fresh.keyCertificate })
      assert.equal(dialler.admission.verifier.current?.epoch, (epochBefore ?? 0) + 1)
    }, () => {}))
    assert.deepEqual(refusals, [], 'the dialler refused nobody')
    assert.ok(opened, 'the dialler admitted the responder and its connection opened')
    assert.equal(admittedEpoch, epochBefore, 'admitted on the token of the epoch the exchange began on')
  })

  it('an exchange that begins on the new epoch takes no token of the old one: the dialler retries with its new token as proof, never accepts', async () => {
    await dialler.tokens.refresh()
    const current = dialler.admission.verifier.current?.epoch
    assert.equal(dialler.admission.ownToken?.claims.ep, current)
    let proof: AdmitProof | undefined
    const { opened } = await dialScripted(answerWithOldToken(async () => {}, p => { proof = p }))
    assert.equal(opened, false)
    assert.ok(proof != null)
    assert.equal(proof.retry, true, 'the responder is told it is behind')
    assert.equal(proof.signature.length, 0, 'and is not admitted')
  })
})

describe('a re-presented token of the epoch just left is no refusal', () => {
  const net = new TestNet()
  after(async () => { await net.stop() })

  it('a member re-presents its old-epoch token (fetched before it learned of the rotation) to a peer already on the new epoch: nothing refused, nothing charged, the link stays', async () => {
    // neither node polls the issuer's keys during the test
    const [a, b] = [await net.node({ admission: { keysPollInterval: '1h' } }), await net.node({ admission: { keysPollInterval: '1h' } })] as [TempusNode, TempusNode]
    await a.libp2p.dial(multiaddr(b.getMultiaddrs()[0] ?? ''), { signal: AbortSignal.timeout(10_000) })
    const refusals: string[] = []
    b.admission.addEventListener('refused', evt => { refusals.push(`${evt.detail.reason} (${evt.detail.direction})`) })
    const t = await net.issuer()
    await t.issuer.announceKey()
    await t.issuer.activateKey()
    const otherKey = await generateKeyPair('Ed25519')
    const fresh = await new IssuerClient({ url: t.url }).token(otherKey, (await net.enroll(otherKey, 'edge')).credential)
    await b.admission.verifier.verify(fresh.token, { keyCertificate: fresh.keyCertificate })
    const old = a.admission.ownToken
    assert.ok(old != null && old.claims.ep < (b.admission.verifier.current?.epoch ?? 0))

    const stream = await a.libp2p.dialProtocol(b.peerId, REFRESH_PROTOCOL, { signal: AbortSignal.timeout(5_000) })
    await pbStream(stream).write({ token: old.token, keyCertificate: old.keyCertificate }, TokenRefresh, { signal: AbortSignal.timeout(5_000) })
    // b ends the stream when it has judged the token
    await pbStream(stream).read(TokenRefresh, { signal: AbortSignal.timeout(5_000) }).catch(() => {})
    assert.deepEqual(refusals, [])
    assert.equal(b.admission.suspicion.score(a.peerId.toString()), 0)
    assert.ok(b.libp2p.getPeers().some(p => p.equals(a.peerId)), 'the link stays')
  })
})

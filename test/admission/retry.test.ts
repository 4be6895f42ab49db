/**
 * Issue #13 item 5: a `retry` moves a node only when it is proven. An
 * unadmitted responder that answers every dial with `retry` and some key
 * certificate must not make the dialler hammer its issuer, move its
 * verifier (an announced key's certificate would wedge it), or cost it its
 * own share of the issuer's per-peer rate limit; every such retry costs the
 * stranger suspicion. The same holds the other way round (an initiator's
 * retry), for forged tokens that merely name an old kid, and for the token
 * manager when the issuer has not activated an epoch the verifier believes.
 *
 * Steps share one issuer (with the HTTP API's real rate limits) whose epochs
 * are: 1 rotated out, 2 current, 3 announced (activated in the last steps).
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { ADMIT_PROTOCOL, NONCE_BYTES, TOKEN_TTL_MAX_MS } from '../../src/admission/constants.ts'
import { signKeyCertificate } from '../../src/admission/key-certificate.ts'
import { generateEd25519 } from '../../src/core/keys.ts'
import { AdmitHello, AdmitProof } from '../../src/admission/pb/admission.ts'
import { admissionStateFor } from '../../src/admission/state.ts'
import { TokenManager } from '../../src/admission/token-manager.ts'
import { signToken } from '../../src/admission/token.ts'
import { IssuerClient } from '../../src/issuer-client/client.ts'
import { startIssuerHttp } from '../../src/issuer/http.ts'
import { Issuer } from '../../src/issuer/issuer.ts'
import { KEYS_TOPIC } from '../../src/gossip/constants.ts'
import { sealFrame } from '../../src/gossip/frame.ts'
import { createLogger } from '../../src/logging/logger.ts'
import { answerRetry, scriptedPeer } from '../fixtures/attacker.ts'
import { TEST_SCRYPT_N, TestNet } from '../fixtures/nodes.ts'
import { eventually, waitForEvent } from '../fixtures/wait.ts'
import type { Enrollment } from '../../src/admission/enrollment.ts'
import type { SigningKey, TokenClaims } from '../../src/admission/token.ts'
import type { IssuerHttp } from '../../src/issuer/http.ts'
import type { PeerType } from '../../src/core/peer-type.ts'
import type { TempusNode } from '../../src/node/tempus-node.ts'
import type { ExchangeScript, ScriptedPeer } from '../fixtures/attacker.ts'
import type { PrivateKey } from '@libp2p/interface'

const DIALS = 70
const OVERLAY = 'test-overlay'

const claimsOf = (token: string): TokenClaims => JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString())

describe('a retry moves a node only when it is proven', () => {
  const net = new TestNet()
  const silent = createLogger({ level: 'silent' })
  let dir: string
  let issuer: Issuer
  let http: IssuerHttp
  /** token requests that reached the issuer, by the PeerId of the credential */
  const tokenRequests = new Map<string, number>()
  const requestsOf = (peer: { toString: () => string }): number => tokenRequests.get(peer.toString()) ?? 0
  const certs: Record<1 | 2 | 3, string> = { 1: '', 2: '', 3: '' }
  const strangers: ScriptedPeer[] = []
  /** the dialler whose issuer must not be hammered */
  let dialler: TempusNode
  /** an honest member, on the same epoch as the dialler until the last steps */
  let honest: TempusNode
  /** a stranger's identity with a genuine token of epoch 1 (issued before the rotation) */
  let oldKey: PrivateKey
  let oldToken: { token: string, keyCertificate: string }
  /** a member enrolled after the activation of epoch 3 */
  let fresh: TempusNode

  const enroll = async (key: PrivateKey, type: PeerType): Promise<Enrollment> =>
    ({ ...await new IssuerClient({ url: http.url }).enroll(key, (await issuer.createCode(type))), issuerUrl: http.url })

  const keys = new Map<TempusNode, PrivateKey>()
  const member = async (type: PeerType): Promise<TempusNode> => {
    const privateKey = await generateKeyPair('Ed25519')
    // the dialler learns a newer epoch only from what peers show it; the
    // steps dial it dozens of times a second from 127.0.0.1, which the
    // per-host inbound limit would otherwise reset
    const node = await net.node({ type, admission: { keysPollInterval: '1h' }, connections: { allow: ['127.0.0.1/32'] }, options: { privateKey, enrollment: await enroll(privateKey, type) } })
    keys.set(node, privateKey)
    return node
  }

  const stranger = async (init: { privateKey?: PrivateKey, inbound?: ExchangeScript, outbound?: ExchangeScript }): Promise<ScriptedPeer> => {
    const peer = await scriptedPeer(init)
    strangers.push(peer)
    return peer
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tempus-retry-'))
    // the longest token life: no scheduled refresh falls inside these steps
    issuer = await Issuer.init({ dir, overlay: OVERLAY, passphrase: 'issuer-test', scryptN: TEST_SCRYPT_N, revocationThreshold: 2, tokenTtlMs: TOKEN_TTL_MAX_MS })
    const token = issuer.token.bind(issuer)
    issuer.token = async (req, beforeIssue) => {
      let sub = '?'
      try {
        sub = claimsOf(req.credential).sub
      } catch {}
      tokenRequests.set(sub, (tokenRequests.get(sub) ?? 0) + 1)
      return token(req, beforeIssue)
    }
    // the API's own limits (per peer: 60 token requests a minute), not the fixture's raised ones
    http = await startIssuerHttp({ issuer, log: silent })
    certs[1] = (await issuer.keys()).current
    oldKey = await generateKeyPair('Ed25519')
    oldToken = await issuer.issueToken(oldKey.publicKey.toString(), 'edge')
    await issuer.announceKey()
    await issuer.activateKey()
    certs[2] = (await issuer.keys()).current
    certs[3] = (await issuer.announceKey()).certificate
    dialler = await member('edge')
    honest = await member('sentinel')
    assert.equal(dialler.admission.verifier.current?.epoch, 2)
    assert.equal(dialler.admission.ownToken?.claims.ep, 2)
  })

  after(async () => {
    await Promise.allSettled(strangers.map(async s => s.node.stop()))
    await net.stop()
    await http.close()
    await issuer.close()
    await rm(dir, { recursive: true, force: true })
  })

  /**
   * The dialler dials `peer` DIALS times; every dial must be refused with a
   * reason that charges the peer. Between dials the charge is cleared, so
   * every dial reaches the exchange (the bound on issuer requests must not
   * rest on quarantine).
   */
  const dialRepeatedly = async (peer: ScriptedPeer): Promise<string[]> => {
    const id = peer.node.peerId.toString()
    const addr = multiaddr(peer.node.getMultiaddrs()[0] ?? '')
    const reasons: string[] = []
    for (let i = 0; i < DIALS; i++) {
      const refused = waitForEvent(dialler.admission, 'refused', evt => evt.detail.direction === 'outbound')
      await assert.rejects(dialler.libp2p.dial(addr, { signal: AbortSignal.timeout(10_000) }))
      const { detail } = await refused
      assert.equal(detail.peer, id, `dial ${i}: the refusal names the stranger (reason ${detail.reason})`)
      assert.ok(dialler.admission.suspicion.score(id) > 0, `dial ${i}: the stranger's retry (${detail.reason}) costs it suspicion`)
      reasons.push(detail.reason)
      dialler.admission.suspicion.clear(id)
    }
    assert.equal(peer.exchanges(), DIALS, 'every dial reached the stranger\'s exchange')
    return reasons
  }

  it(`a stranger answering ${DIALS} dials with retry (current, older, forged, announced certificates) moves nothing, costs no issuer request and is charged each time`, async (t) => {
    const forgedRoot = generateEd25519()
    const forgedSigning = generateEd25519()
    const cases: Array<{ label: string, key?: PrivateKey, retry: (id: string) => Promise<{ token: string, keyCertificate: string }> }> = [
      { label: 'the current epoch\'s genuine certificate', retry: async () => ({ token: '', keyCertificate: certs[2] }) },
      { label: 'the current epoch\'s certificate and a member\'s genuine token', retry: async () => ({ token: honest.admission.ownToken?.token ?? '', keyCertificate: certs[2] }) },
      { label: 'an older epoch\'s genuine certificate', retry: async () => ({ token: '', keyCertificate: certs[1] }) },
      { label: 'an older epoch\'s certificate and a genuine token of that epoch naming the stranger', key: oldKey, retry: async () => oldToken },
      {
        label: 'a forged certificate of a newer epoch and a token its key signed',
        retry: async (id) => {
          const kid = 'e9-forged'
          const keyCertificate = await signKeyCertificate(forgedRoot.privateKey, OVERLAY, kid, 9, forgedSigning.publicKey, Date.now())
          return { token: await forgedToken({ kid, epoch: 9, ...forgedSigning }, issuer.id, id), keyCertificate }
        }
      },
      { label: 'the announced (not yet current) key\'s genuine certificate', retry: async () => ({ token: '', keyCertificate: certs[3] }) },
      {
        label: 'the announced key\'s genuine certificate and a token forged under its kid',
        retry: async (id) => ({ token: await forgedToken({ kid: kidOf(certs[3]), epoch: 3, ...generateEd25519() }, issuer.id, id), keyCertificate: certs[3] })
      }
    ]

    const before = requestsOf(dialler.peerId)
    for (const c of cases) {
      const key = c.key ?? await generateKeyPair('Ed25519')
      const peer = await stranger({ privateKey: key, inbound: answerRetry(await c.retry(key.publicKey.toString())) })
      const reasons = await dialRepeatedly(peer)
      t.diagnostic(`${c.label}: refused as ${[...new Set(reasons)].join(', ')}`)
      assert.ok(!reasons.includes('refused'), `${c.label}: every retry is charged (${[...new Set(reasons)].join(', ')})`)
      assert.equal(dialler.admission.verifier.current?.epoch, 2, `${c.label}: the verifier did not move`)
      assert.equal(dialler.admission.ownToken?.claims.ep, 2, `${c.label}: the dialler keeps its token`)
      assert.ok(requestsOf(dialler.peerId) - before <= 1, `${c.label}: ${requestsOf(dialler.peerId) - before} token requests to the issuer`)
      await peer.node.stop()
    }
    assert.ok(requestsOf(dialler.peerId) - before <= 1, `${cases.length * DIALS} dials: ${requestsOf(dialler.peerId) - before} token requests to the issuer`)

    // the dialler's own honest refresh is not rate limited, and it is admitted by an honest peer
    const refreshed = await dialler.tokens.refresh()
    assert.ok(refreshed != null, 'the dialler\'s honest token refresh succeeds')
    const connection = await dialler.libp2p.dial(multiaddr(honest.getMultiaddrs()[0] ?? ''), { signal: AbortSignal.timeout(10_000) })
    assert.equal(connection.status, 'open')
    await eventually(() => honest.admission.admitted.has(dialler.peerId.toString()), 'the dialler admitted by an honest peer')
    await dialler.libp2p.hangUp(honest.peerId)
  })

  it('a token forged under a rotated epoch\'s kid gets no retry: the responder says nothing and charges the forger', async () => {
    const key = await generateKeyPair('Ed25519')
    const id = key.publicKey.toString()
    let reply: 'nothing' | 'retry' | 'hello' = 'nothing'
    const token = await forgedToken({ kid: kidOf(certs[1]), epoch: 1, ...generateEd25519() }, issuer.id, id)
    const peer = await stranger({
      privateKey: key,
      outbound: async (lp, signal) => {
        await lp.write(AdmitHello.encode({ version: ADMIT_PROTOCOL, token, nonce: new Uint8Array(randomBytes(NONCE_BYTES)), keyCertificate: certs[1], retry: false, signature: new Uint8Array(0) }), { signal })
        try {
          reply = AdmitHello.decode(await lp.read({ signal })).retry ? 'retry' : 'hello'
        } catch {}
      }
    })
    const refused = waitForEvent(dialler.admission, 'refused', evt => evt.detail.peer === id)
    await assert.rejects(peer.node.dial(multiaddr(dialler.getMultiaddrs()[0] ?? ''), { signal: AbortSignal.timeout(10_000) }))
    assert.equal((await refused).detail.reason, 'bad-signature')
    assert.equal(reply, 'nothing', 'a stranger learns nothing, not even the current key')
    // (the score decays from the instant it was raised)
    assert.ok(dialler.admission.suspicion.score(id) > 24, 'charged as a forgery')
  })

  it(`a member's unproven retry as initiator (announced, current or forged certificate), ${DIALS} times: the responder neither moves nor fetches, and charges it`, async () => {
    const key = await generateKeyPair('Ed25519')
    const id = key.publicKey.toString()
    const enrollment = await enroll(key, 'edge')
    const result = await new IssuerClient({ url: http.url }).token(key, enrollment.credential)
    const forged = await signKeyCertificate(generateEd25519().privateKey, OVERLAY, 'e9-forged', 9, generateEd25519().publicKey, Date.now())
    const certificates = [certs[3], certs[2], forged]
    let attempt = 0
    const peer = await stranger({
      privateKey: key,
      outbound: async (lp, signal) => {
        await lp.write(AdmitHello.encode({ version: ADMIT_PROTOCOL, token: result.token, nonce: new Uint8Array(randomBytes(NONCE_BYTES)), keyCertificate: result.keyCertificate, retry: false, signature: new Uint8Array(0) }), { signal })
        await lp.read({ signal })
        await lp.write(AdmitProof.encode({ signature: new Uint8Array(0), retry: true, keyCertificate: certificates[attempt++ % certificates.length] ?? '' }), { signal })
        await lp.read({ signal }).catch(() => {})
      }
    })
    const before = requestsOf(dialler.peerId)
    const addr = multiaddr(dialler.getMultiaddrs()[0] ?? '')
    for (let i = 0; i < DIALS; i++) {
      const refused = waitForEvent(dialler.admission, 'refused', evt => evt.detail.peer === id)
      await assert.rejects(peer.node.dial(addr, { signal: AbortSignal.timeout(10_000) }))
      assert.equal((await refused).detail.reason, 'bad-proof', `dial ${i}`)
      assert.ok(dialler.admission.suspicion.score(id) > 19, `dial ${i}: charged as a bad proof`)
      dialler.admission.suspicion.clear(id)
    }
    assert.equal(peer.exchanges(), DIALS)
    assert.equal(dialler.admission.verifier.current?.epoch, 2, 'the responder\'s verifier did not move')
    assert.equal(dialler.admission.ownToken?.claims.ep, 2)
    assert.ok(requestsOf(dialler.peerId) - before <= 1, `${requestsOf(dialler.peerId) - before} token requests to the issuer`)
  })

  it('a member gossiping the announced key\'s certificate on tempus/keys/1 moves nothing: no token signed by that key came with it', async () => {
    await dialler.libp2p.dial(multiaddr(honest.getMultiaddrs()[0] ?? ''), { signal: AbortSignal.timeout(10_000) })
    const sees = (x: TempusNode, y: TempusNode): boolean => x.libp2p.services.pubsub.getSubscribers(KEYS_TOPIC).some(p => p.equals(y.peerId))
    await eventually(() => sees(dialler, honest) && sees(honest, dialler), 'both ends on the keys topic')
    const before = requestsOf(dialler.peerId)
    const own = honest.admission.ownToken
    assert.ok(own != null)
    const refused = waitForEvent(dialler.gossip, 'refused', evt => evt.detail.topic === KEYS_TOPIC)
    await honest.libp2p.services.pubsub.publish(KEYS_TOPIC, sealFrame(KEYS_TOPIC, keys.get(honest) as PrivateKey, honest.peerId.toString(), own, new TextEncoder().encode(certs[3])))
    assert.equal((await refused).detail.reason, 'bad-body')
    assert.equal(dialler.admission.verifier.current?.epoch, 2)
    assert.equal(requestsOf(dialler.peerId) - before, 0)
    dialler.admission.suspicion.clear(honest.peerId.toString())
    await dialler.libp2p.hangUp(honest.peerId)
  })

  it('the token manager fetches once for an epoch the issuer has not activated, however often it is asked, and does not loop', async () => {
    const privateKey = await generateKeyPair('Ed25519')
    const enrollment = await enroll(privateKey, 'edge')
    const state = await admissionStateFor(enrollment)
    const tokens = new TokenManager({
      client: new IssuerClient({ url: http.url }),
      privateKey,
      credential: enrollment.credential,
      state,
      log: silent,
      keysPollIntervalMs: 3_600_000,
      // the schedule's own retry lies beyond this step
      backoff: { initialDelayMs: 3_600_000, maxDelayMs: 3_600_000, factor: 1, jitter: 0 }
    })
    state.refreshOwnToken = async () => tokens.catchUp()
    try {
      await tokens.start()
      assert.equal(state.ownToken?.claims.ep, 2)
      const id = privateKey.publicKey.toString()
      const before = requestsOf(id)
      // a verifier told (as the old retry told it) that the announced key is current
      await state.verifier.setCurrent(certs[3])
      for (let i = 0; i < DIALS; i++) {
        await state.ensureOwnTokenCurrent()
      }
      assert.equal(requestsOf(id) - before, 1, 'one fetch for epoch 3, whose answer (an epoch-2 token) is not taken')
      assert.equal(state.ownToken?.claims.ep, 2)
    } finally {
      tokens.stop()
    }
  })

  it('after the issuer activates the announced key, an honest responder\'s proven retry moves the dialler once, with one token request', async () => {
    await issuer.activateKey()
    // a member enrolled now holds a token of epoch 3; the dialler has never
    // met it, and nothing else tells the dialler of the new epoch
    fresh = await member('sentinel')
    assert.equal(fresh.admission.ownToken?.claims.ep, 3)
    assert.equal(dialler.admission.verifier.current?.epoch, 2)
    const before = requestsOf(dialler.peerId)
    const refusals: string[] = []
    const onRefused = (evt: CustomEvent<{ reason: string }>): void => { refusals.push(evt.detail.reason) }
    dialler.admission.addEventListener('refused', onRefused)
    fresh.admission.addEventListener('refused', onRefused)
    const connection = await dialler.libp2p.dial(multiaddr(fresh.getMultiaddrs()[0] ?? ''), { signal: AbortSignal.timeout(10_000) })
    dialler.admission.removeEventListener('refused', onRefused)
    fresh.admission.removeEventListener('refused', onRefused)
    assert.equal(connection.status, 'open')
    assert.deepEqual(refusals, [], 'nobody refused or charged')
    assert.equal(dialler.admission.verifier.current?.epoch, 3)
    assert.equal(dialler.admission.ownToken?.claims.ep, 3)
    assert.equal(requestsOf(dialler.peerId) - before, 1, 'exactly one token request for the new epoch')
    assert.equal(fresh.admission.suspicion.score(dialler.peerId.toString()), 0)
    assert.equal(dialler.admission.suspicion.score(fresh.peerId.toString()), 0)
  })

  it(`on the new epoch, a stranger's retry with its genuine certificate and a member's token, ${DIALS} times: charged, no request`, async () => {
    const before = requestsOf(dialler.peerId)
    const peer = await stranger({ inbound: answerRetry({ token: fresh.admission.ownToken?.token ?? '', keyCertificate: certs[3] }) })
    const reasons = await dialRepeatedly(peer)
    assert.ok(!reasons.includes('refused'), [...new Set(reasons)].join(', '))
    assert.equal(requestsOf(dialler.peerId) - before, 0)
    assert.equal(dialler.admission.verifier.current?.epoch, 3)
  })
})

function kidOf (certificate: string): string {
  return JSON.parse(Buffer.from(certificate.split('.')[1] ?? '', 'base64url').toString()).kid
}

/** A token of the overlay's shape, signed by a key the issuer never had. */
async function forgedToken (key: SigningKey, iss: string, sub: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  return signToken(key, { iss, aud: OVERLAY, sub, typ: 'edge', iat: now, nbf: now, exp: now + 180, jti: `forged-${now}` })
}

/**
 * Issue #18 item 2 and 3: an issuer whose root is offline. The root key
 * lives here in the test (as on its own machine); the issuer holds only
 * its credential, signing, revocation and audit keys, and every act that
 * needs the root is a request the root answers and the issuer imports.
 * Numbered as the ceremony runs: init, enrol, rotate, admins, revoke;
 * then the refusals.
 */
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { signKeyCertificate } from '../../src/admission/key-certificate.ts'
import { RevocationState, signRevocationList, verifyRevocationList } from '../../src/admission/revocation.ts'
import { signRoleCertificate, verifyRoleCertificate } from '../../src/admission/role-certificate.ts'
import { DOMAINS } from '../../src/core/domains.ts'
import { generateEd25519, memorySigner, rawPublicKey, signDomain, verifyDomain } from '../../src/core/keys.ts'
import { checkpointBytes } from '../../src/issuer/audit-rows.ts'
import { CRL_TOPIC } from '../../src/gossip/constants.ts'
import { GossipError } from '../../src/gossip/errors.ts'
import { sealFrame } from '../../src/gossip/frame.ts'
import { GossipValidator } from '../../src/gossip/validation.ts'
import { IssuerError } from '../../src/issuer/errors.ts'
import { IssuerClient } from '../../src/issuer-client/client.ts'
import { KeyVault, SEALED_BACKEND } from '../../src/issuer/key-vault.ts'
import { answerRootRequest, parseRootRequest, requestBytes } from '../../src/issuer/root-request.ts'
import { tempus } from '../fixtures/cli.ts'
import { TestNet } from '../fixtures/nodes.ts'
import { eventually } from '../fixtures/wait.ts'
import type { Ed25519Signer } from '../../src/core/keys.ts'
import type { Issuer, PendingRootRequest } from '../../src/issuer/issuer.ts'
import type { TempusNode } from '../../src/node/tempus-node.ts'

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url')
const OVERLAY = 'offline-overlay'

const rootPair = generateEd25519()
const root = memorySigner(rootPair.privateKey)
const rootPublic = b64(root.publicKey)

async function answer (pending: PendingRootRequest, key: Ed25519Signer = root, publicKey: Uint8Array = root.publicKey): Promise<string> {
  return JSON.stringify(await answerRootRequest(key, publicKey, parseRootRequest(pending.text), Date.now()))
}

const refusedAs = (code: string, why?: RegExp) => (err: unknown): boolean => {
  assert.ok(err instanceof IssuerError, `an IssuerError, not ${String(err)}`)
  assert.equal(err.code, code, err.message)
  if (why != null) assert.match(err.message, why)
  return true
}

/** Every private key the issuer's database can open, sealed or not: none may be the root. */
async function assertNoRootKeyIn (issuer: Issuer): Promise<number> {
  const vault = new KeyVault({ backend: SEALED_BACKEND, passphrase: 'issuer-test' })
  let opened = 0
  const stored = [
    ...(await issuer.db.all<{ value: string }>('SELECT value FROM meta')).map(r => r.value),
    ...(await issuer.db.all<{ sealed: string }>('SELECT sealed FROM signing_keys')).map(r => r.sealed)
  ]
  for (const value of stored) {
    assert.ok(!value.includes(Buffer.from(rootPair.privateKey.export({ format: 'der', type: 'pkcs8' })).toString('base64')), 'the root\'s PKCS#8 is not in the database')
    let key
    try { key = await vault.open(value) } catch { continue }
    opened++
    assert.notEqual(b64(rawPublicKey(key.publicKey)), rootPublic, 'a key in the issuer database is the root')
  }
  vault.close()
  assert.equal(await issuer.db.one('SELECT value FROM meta WHERE key = \'root_key\''), undefined, 'no root_key at all')
  return opened
}

async function connect (a: TempusNode, b: TempusNode): Promise<void> {
  await a.libp2p.dial(multiaddr(b.getMultiaddrs()[0] ?? ''), { signal: AbortSignal.timeout(10_000) })
  await eventually(() => a.admission.admitted.has(b.peerId.toString()) && b.admission.admitted.has(a.peerId.toString()), 'mutual admission', 20_000)
}

describe('an issuer with an offline root', () => {
  const net = new TestNet({ overlay: OVERLAY, issuer: { offlineRoot: rootPublic } })
  after(async () => { await net.stop() })
  const admins = [generateEd25519(), generateEd25519()]
  let nodes: TempusNode[] = []

  it('1. holds no root key and serves nothing until the root answers its init request; then enrols nodes that admit each other', async () => {
    const t = await net.issuer()
    assert.equal(t.issuer.offlineRoot, true)
    assert.equal(t.issuer.rootPublicKey, rootPublic)
    await assert.rejects(t.issuer.keys(), refusedAs('not-initialised'))
    const [init, ...more] = await t.issuer.pendingRootRequests()
    assert.ok(init != null && more.length === 0)
    assert.equal(init.purpose, 'init')
    assert.deepEqual(init.request.items.map(i => i.kind), ['signing-key', 'revocation-key', 'audit-key'])
    const imported = await t.issuer.importRootAnswer(await answer(init))
    assert.equal(imported.purpose, 'init')
    assert.deepEqual(await t.issuer.pendingRootRequests(), [])
    // the first revocation list is signed by the revocation key, under its root-signed certificate
    const list = await verifyRevocationList((await t.issuer.revocationList()).jws, rootPair.publicKey, OVERLAY, Date.now())
    assert.equal(list.keySerial, 1)
    assert.ok(await assertNoRootKeyIn(t.issuer) >= 4, 'credential, signing, revocation and audit keys open; none is the root')
    nodes = await Promise.all([net.node({ type: 'sentinel', admission: { keysPollInterval: '300ms', crlPollInterval: '300ms' } }), net.node({ admission: { keysPollInterval: '300ms', crlPollInterval: '300ms' } }), net.node({ admission: { keysPollInterval: '300ms', crlPollInterval: '300ms' } })])
    await connect(nodes[1] as TempusNode, nodes[0] as TempusNode)
    await connect(nodes[2] as TempusNode, nodes[0] as TempusNode)
    // the audit log's checkpoints verify under the root-certified audit key, whose certificate the issuer serves
    assert.equal((await t.issuer.audit.verify(t.issuer.auditPublicKey)).ok, true)
    const { certificate } = await (await fetch(`${t.url}/v1/audit/key`)).json() as { certificate: string }
    const auditKey = await verifyRoleCertificate(certificate, rootPair.publicKey, OVERLAY, 'audit', Date.now())
    const checkpoint = await (await fetch(`${t.url}/v1/audit/checkpoint`)).json() as { size: number, root: string, signature: string }
    assert.ok(verifyDomain(auditKey.publicKey, Buffer.from(checkpoint.signature, 'base64url'), DOMAINS.checkpoint, checkpointBytes(checkpoint.size, Buffer.from(checkpoint.root, 'base64url'))))
  })

  it('2. rotates through the root: announce → request → root sign → import → activate; the nodes follow', async () => {
    const t = await net.issuer()
    const announced = await t.issuer.announceKey()
    assert.equal(announced.certificate, '', 'no certificate before the root signs')
    assert.ok(announced.request != null)
    assert.equal((await t.issuer.keys()).announced, undefined, 'an uncertified key is not published')
    await assert.rejects(t.issuer.activateKey(), refusedAs('conflict', /no certificate yet/))
    // announcing again hands back the same request
    assert.equal((await t.issuer.announceKey()).request?.request.nonce, announced.request.request.nonce)
    await t.issuer.importRootAnswer(await answer(announced.request))
    assert.ok((await t.issuer.keys()).announced != null)
    await eventually(() => nodes.every(n => n.admission.verifier.certificateFor(announced.kid) != null), 'every node to learn the announced key', 30_000)
    await t.issuer.activateKey()
    await eventually(() => nodes.every(n => n.admission.verifier.current?.epoch === announced.epoch && n.admission.ownToken?.claims.ep === announced.epoch), 'every node on the new epoch with a new token', 30_000)
    await (nodes[1] as TempusNode).libp2p.hangUp((nodes[2] as TempusNode).peerId).catch(() => {})
    await connect(nodes[1] as TempusNode, nodes[2] as TempusNode)
  })

  it('3. registers admins only with the root\'s certificate; a revocation signed by the revocation key reaches the nodes and is enforced', async () => {
    const t = await net.issuer()
    const victim = nodes[2] as TempusNode
    const victimId = victim.peerId.toString()
    const approve = async (i: number, id: string, payload: string): Promise<unknown> => {
      const admin = admins[i] as ReturnType<typeof generateEd25519>
      return await t.issuer.approve(id, b64(rawPublicKey(admin.publicKey)), b64(signDomain(admin.privateKey, DOMAINS.revocationApproval, Buffer.from(payload, 'base64url'))))
    }
    const requests: PendingRootRequest[] = []
    for (const [i, a] of admins.entries()) {
      const r = await t.issuer.addAdmin(b64(rawPublicKey(a.publicKey)), `admin-${i}`)
      assert.ok(r != null)
      requests.push(r)
    }
    const revocation = await t.issuer.requestRevocation(victimId, 'compromised')
    // not yet certified: not an admin
    await assert.rejects(approve(0, revocation.id, revocation.payload), refusedAs('not-admin'))
    // a row written straight into the database (no root certificate) is no admin either
    await t.issuer.db.transaction(async tx => { await tx.run('INSERT INTO admins (public_key, name, added_at) VALUES ($1, $2, $3)', [b64(rawPublicKey((admins[0] as ReturnType<typeof generateEd25519>).publicKey)), 'forged', 0]) })
    await assert.rejects(approve(0, revocation.id, revocation.payload), refusedAs('not-admin'))
    for (const r of requests) {
      await t.issuer.importRootAnswer(await answer(r))
    }
    await approve(0, revocation.id, revocation.payload)
    const done = await approve(1, revocation.id, revocation.payload) as { state: string }
    assert.equal(done.state, 'done')
    const list = await verifyRevocationList((await t.issuer.revocationList()).jws, rootPair.publicKey, OVERLAY, Date.now())
    assert.equal(list.keySerial, 1)
    assert.ok(list.revoked.some(e => e.sub === victimId))
    const honest = nodes.slice(0, 2)
    await eventually(() => honest.every(n => n.admission.revocations.isRevoked(victimId)), 'the nodes to apply the list', 30_000)
    await eventually(() => honest.every(n => n.libp2p.getConnections().every(c => !c.remotePeer.equals(victim.peerId))), 'the nodes to drop the victim', 30_000)
    // (the victim's own side of a closed connection may linger a moment: a dial would reuse it)
    await eventually(() => victim.libp2p.getConnections((nodes[0] as TempusNode).peerId).length === 0, 'the victim to see its connection closed', 30_000)
    await assert.rejects(victim.libp2p.dial(multiaddr((nodes[0] as TempusNode).getMultiaddrs()[0] ?? ''), { signal: AbortSignal.timeout(10_000) }))
  })

  it('4. renews the revocation key: the new serial\'s list retires every list signed under the old one', async () => {
    const t = await net.issuer()
    const before = await t.issuer.revocationList()
    const pending = await t.issuer.requestRevocationKey(24 * 3_600_000)
    await t.issuer.importRootAnswer(await answer(pending))
    const after = await t.issuer.revocationList()
    const list = await verifyRevocationList(after.jws, rootPair.publicKey, OVERLAY, Date.now())
    assert.equal(list.keySerial, 2)
    assert.ok(after.n > before.n)
    const sentinel = nodes[0] as TempusNode
    await eventually(() => sentinel.admission.revocations.current?.keySerial === 2, 'the node to hold the serial-2 list', 30_000)
    // a list signed with the old (serial 1) key, numbered higher: refused now
    const state = new RevocationState()
    state.apply(list, Date.now())
    const old = await verifyRevocationList(before.jws, rootPair.publicKey, OVERLAY, Date.now())
    assert.equal(state.accepts({ n: list.n + 1, keySerial: old.keySerial }), false, 'a retired revocation key\'s list is refused')
    // a thief of the old key who numbered its list 2^53 - 1 first pins no node: the successor's list wins whatever its number
    const pinned = new RevocationState()
    assert.ok(pinned.apply({ ...old, n: Number.MAX_SAFE_INTEGER }, Date.now()) != null)
    assert.ok(pinned.apply(list, Date.now()) != null, 'the new key\'s list replaces the thief\'s')
    assert.equal(pinned.current?.keySerial, 2)
  })

  it('6. gossip: a list under a revocation-key certificate that ran out is ignored (an honest relay is never charged); one under an uncertified key is a bad body', async () => {
    const t = await net.issuer()
    const sentinel = nodes[0] as TempusNode
    const validator = new GossipValidator({ state: sentinel.admission, store: { holds: () => 'none' as const }, now: Date.now, sawKeyEpoch: () => {} })
    const relay = await generateKeyPair('Ed25519')
    const relayId = peerIdFromPrivateKey(relay).toString()
    // a member relays it (its admission evidence is checked before the body)
    const token = await new IssuerClient({ url: t.url }).token(relay, (await net.enroll(relay, 'edge')).credential)
    const frame = (jws: string): Uint8Array => sealFrame(CRL_TOPIC, relay, relayId, { token: token.token, keyCertificate: token.keyCertificate }, new TextEncoder().encode(jws))
    const nowS = Math.floor(Date.now() / 1000)
    const key = memorySigner(generateEd25519().privateKey)
    const n = sentinel.admission.revocations.number + 10
    const claims = { aud: OVERLAY, use: 'revocation' as const, x: b64(key.publicKey), sn: 9, iat: nowS }
    const ranOut = await signRevocationList(key, OVERLAY, n, [], Date.now(), signRoleCertificate(root, { ...claims, nbf: nowS - 7200, exp: nowS - 3600 }))
    await assert.rejects(validator.check(CRL_TOPIC, frame(ranOut), true), (err: any) => { assert.ok(err instanceof GossipError); assert.equal(err.reason, 'stale'); return true })
    const uncertified = await signRevocationList(key, OVERLAY, n, [], Date.now(), signRoleCertificate(key, { ...claims, nbf: nowS - 60, exp: nowS + 3600 }))
    await assert.rejects(validator.check(CRL_TOPIC, frame(uncertified), true), (err: any) => { assert.ok(err instanceof GossipError); assert.equal(err.reason, 'bad-body'); return true })
  })

  it('5. refuses an answer signed by another key, a replayed answer, a tampered request and an answer for another overlay', async () => {
    const t = await net.issuer()
    const pending = await t.issuer.requestRevocationKey()
    const other = memorySigner(generateEd25519().privateKey)
    // another key (that claims to be the root)
    const forged = JSON.parse(await answer({ ...pending, text: pending.text.replace(rootPublic, b64(other.publicKey)) }, other, other.publicKey))
    forged.request = JSON.parse(await answer(pending)).request
    await assert.rejects(t.issuer.importRootAnswer(JSON.stringify(forged)), refusedAs('invalid-proof'))
    // the request changed on its way to the root: another revocation key swapped in, and the root signed that
    const thief = b64(rawPublicKey(generateEd25519().publicKey))
    const item = pending.request.items[0] as { publicKey: string }
    const tampered = { ...pending, text: requestBytes({ ...pending.request, items: [{ ...item, publicKey: thief } as any] }) }
    await assert.rejects(t.issuer.importRootAnswer(await answer(tampered)), refusedAs('invalid-proof', /another request|changed/))
    // the right answer to a request of another overlay (its nonce unknown here)
    const elsewhere = { ...pending, text: requestBytes({ ...pending.request, overlay: 'other-overlay' }) }
    await assert.rejects(t.issuer.importRootAnswer(await answer(elsewhere)), refusedAs('invalid-proof'))
    // a certificate swapped inside a genuine answer
    const genuine = await answer(pending)
    const bent = JSON.parse(genuine)
    bent.certificates = [signRoleCertificate(root, { aud: OVERLAY, use: 'revocation', x: thief, sn: 99, nbf: 0, exp: 2 ** 31, iat: 0 })]
    await assert.rejects(t.issuer.importRootAnswer(JSON.stringify(bent)), refusedAs('invalid-proof'))
    // the genuine answer imports once; again, it is a replay
    await t.issuer.importRootAnswer(genuine)
    await assert.rejects(t.issuer.importRootAnswer(genuine), refusedAs('conflict', /replayed/))
    await assert.rejects(t.issuer.importRootAnswer('{"format":"tempus-root-answer"'), refusedAs('bad-request'))
    await assertNoRootKeyIn(t.issuer)
  })
})

describe('revocation lists under a revocation key (verification)', () => {
  const overlay = 'crl-overlay'
  const now = Date.now()
  const nowS = Math.floor(now / 1000)
  const revocationPair = generateEd25519()
  const revocation = memorySigner(revocationPair.privateKey)
  const certificate = (claims: Partial<Parameters<typeof signRoleCertificate>[1]> = {}, by: Ed25519Signer = root): string =>
    signRoleCertificate(by, { aud: overlay, use: 'revocation', x: b64(revocation.publicKey), sn: 3, nbf: nowS - 60, exp: nowS + 3600, iat: nowS, ...claims })
  const entries = [{ sub: '12D3KooWLhVcYzN7KpWJjuWTAMbVTcUAeo5hE4Jnsd5zXD6bXe2N', reason: 'test', at: nowS }]

  it('accepts a list signed by the root, or by a key with a valid root-signed certificate', async () => {
    assert.equal((await verifyRevocationList(await signRevocationList(root, overlay, 1, entries, now), rootPair.publicKey, overlay, now)).keySerial, undefined)
    assert.equal((await verifyRevocationList(await signRevocationList(revocation, overlay, 2, entries, now, certificate()), rootPair.publicKey, overlay, now)).keySerial, 3)
  })

  it('refuses a list signed by an uncertified key, a key certified by another, another key than the certified one, an expired or not-yet-valid certificate, another use or overlay', async () => {
    const stranger = memorySigner(generateEd25519().privateKey)
    const cases: Array<[string, Promise<string>, string]> = [
      ['no certificate: only the root may', signRevocationList(revocation, overlay, 2, entries, now), 'bad-signature'],
      ['certified by another key', signRevocationList(revocation, overlay, 2, entries, now, certificate({}, stranger)), 'bad-signature'],
      ['signed by another key than the certified one', signRevocationList(stranger, overlay, 2, entries, now, certificate()), 'bad-signature'],
      ['an expired certificate', signRevocationList(revocation, overlay, 2, entries, now, certificate({ nbf: nowS - 7200, exp: nowS - 3600 })), 'expired'],
      ['a certificate not valid yet', signRevocationList(revocation, overlay, 2, entries, now, certificate({ nbf: nowS + 3600, exp: nowS + 7200 })), 'expired'],
      ['an audit key\'s certificate', signRevocationList(revocation, overlay, 2, entries, now, certificate({ use: 'audit' })), 'malformed'],
      ['another overlay\'s certificate', signRevocationList(revocation, overlay, 2, entries, now, certificate({ aud: 'elsewhere' })), 'malformed'],
      ['a signing-key certificate in its place', (async () => await signRevocationList(revocation, overlay, 2, entries, now, await signKeyCertificate(root, overlay, 'e1-x', 1, revocation.publicKey, now)))(), 'malformed']
    ]
    for (const [what, jws, code] of cases) {
      await assert.rejects(verifyRevocationList(await jws, rootPair.publicKey, overlay, now), (err: any) => { assert.equal(err.code, code, `${what}: ${String(err.message)}`); return true }, what)
    }
  })
})

describe('the ceremony with a root key file, as CLI processes', () => {
  const net = new TestNet()
  after(async () => { await net.stop() })

  it('root init seals the key with the root passphrase; root sign shows the request and signs; issuer import takes it once; a wrong passphrase signs nothing', async () => {
    const dir = await net.tempDir('tempus-root-cli-')
    const rootFile = join(dir, 'root.key')
    const data = join(dir, 'issuer')
    const env = { TEMPUS_ROOT_PASSPHRASE: 'root passphrase, kept offline', TEMPUS_ISSUER_PASSPHRASE: 'issuer passphrase' }
    const run = async (args: string[], extra: Record<string, string> = {}): Promise<any> => {
      const r = await tempus([...args, '--json'], { ...env, ...extra })
      assert.equal(r.code, 0, `tempus ${args.join(' ')}: ${r.stderr}`)
      return JSON.parse(r.stdout)
    }
    // no passphrase: no root (never the development default)
    const bare = await tempus(['root', 'init', '--key', rootFile], { TEMPUS_ROOT_PASSPHRASE: '' })
    assert.notEqual(bare.code, 0)
    assert.match(bare.stderr, /TEMPUS_ROOT_PASSPHRASE/)
    const { rootPublicKey } = await run(['root', 'init', '--key', rootFile])
    const file = await readFile(rootFile, 'utf8')
    assert.ok(file.includes(rootPublicKey) && file.includes('ciphertext') && !file.includes('PRIVATE KEY'))
    assert.notEqual((await tempus(['root', 'init', '--key', rootFile], env)).code, 0, 'a root key file is never overwritten')
    const init = await run(['issuer', 'init', '--data', data, '--overlay', 'file-root', '--offline-root', rootPublicKey])
    const wrong = await tempus(['root', 'sign', init.request, '--key', rootFile, '--yes'], { ...env, TEMPUS_ROOT_PASSPHRASE: 'guess' })
    assert.notEqual(wrong.code, 0)
    assert.match(wrong.stderr, /wrong root passphrase/)
    const signed = await tempus(['root', 'sign', init.request, '--key', rootFile, '--yes', '--json'], env)
    assert.equal(signed.code, 0, signed.stderr)
    assert.match(signed.stderr, /signing key epoch 1[\s\S]*revocation-key serial 1[\s\S]*audit-key serial 1/)
    const { answer: answerFile } = JSON.parse(signed.stdout)
    assert.equal((await run(['issuer', 'import', answerFile, '--data', data])).purpose, 'init')
    const replay = await tempus(['issuer', 'import', answerFile, '--data', data], env)
    assert.notEqual(replay.code, 0)
    assert.match(replay.stderr, /replayed/)
    assert.deepEqual((await run(['issuer', 'requests', '--data', data])).requests, [])
    const renewal = await run(['issuer', 'revocation-key', '--data', data, '--validity', '30d'])
    assert.equal((await run(['issuer', 'requests', '--data', data])).requests.length, 1)
    const answered = await tempus(['root', 'sign', renewal.request, '--key', rootFile, '--yes', '--json'], env)
    await run(['issuer', 'import', JSON.parse(answered.stdout).answer, '--data', data])
    const audit = await run(['issuer', 'audit', 'verify', '--data', data])
    assert.equal(audit.ok, true)
  })
})

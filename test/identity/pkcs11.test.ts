/**
 * Issue #18 item 1: the identity key in a PKCS#11 token (a real SoftHSM2
 * token, made by the fixture): generated inside it, never readable, found
 * again by its reference, and signing everything a node signs — Noise's
 * handshake, the admission proof, descriptors, anomaly frames — in a mesh
 * with nodes whose keys are files.
 */
import assert from 'node:assert/strict'
import { randomBytes, verify } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import pkcs11js from 'pkcs11js'
import { keyObjectOf, publicKeyFromRawBytes, signDomain, verifyDomain } from '../../src/core/keys.ts'
import { KeyError, Pkcs11KeyStore, formatPkcs11Uri, identityKeyStore, openPkcs11Key, parsePkcs11Uri, releaseIdentityKey } from '../../src/identity/index.ts'
import { openTokenSession, startSoftHsm } from '../fixtures/softhsm.ts'
import { TestNet } from '../fixtures/nodes.ts'
import { eventually } from '../fixtures/wait.ts'
import type { SoftHsm } from '../fixtures/softhsm.ts'
import type { InboxEntry } from '../../src/dtn/store-entries.ts'

const isKeyError = (code: string) => (err: unknown): boolean => {
  assert.ok(err instanceof KeyError, `a KeyError, not ${String(err)}`)
  assert.equal(err.code, code, err.message)
  return true
}

describe('PKCS#11 URIs (RFC 7512, pure)', () => {
  it('parses the token, the key and the module; takes module= and label= as spellings', () => {
    const uri = parsePkcs11Uri('pkcs11:token=My%20Token;object=node-id;id=%01%ff;type=private?module-path=/usr/lib/x.so&pin-source=file:/run/pin')
    assert.deepEqual({ ...uri, id: [...(uri.id ?? [])] }, { modulePath: '/usr/lib/x.so', token: 'My Token', object: 'node-id', id: [1, 255], pinSource: '/run/pin' })
    const alias = parsePkcs11Uri('pkcs11:module=/usr/lib/x.so;token=t;label=k')
    assert.equal(alias.modulePath, '/usr/lib/x.so')
    assert.equal(alias.object, 'k')
    // the canonical form parses back to the same
    const again = parsePkcs11Uri(formatPkcs11Uri(uri))
    assert.deepEqual({ ...again, id: [...(again.id ?? [])] }, { ...uri, id: [...(uri.id ?? [])] })
  })

  it('refuses what is not a key URI, with what to do', () => {
    const cases: Array<[string, RegExp]> = [
      ['pkcs11:token=t;object=k?module-path=/x.so&pin-value=1234', /must not carry the PIN/],
      ['pkcs11:token=t;object=k', /module-path is needed/],
      ['pkcs11:token=t?module-path=/x.so', /name the key/],
      ['pkcs11:object=k?module-path=/x.so', /name the token/],
      ['pkcs11:token=t;object=k;colour=red?module-path=/x.so', /unknown path attribute/],
      ['pkcs11:token=t;object=%zz?module-path=/x.so', /bad percent-encoding/],
      ['pkcs11:token=t;token=u;object=k?module-path=/x.so', /given twice/],
      ['pkcs11:token=t;object=k;type=public?module-path=/x.so', /type must be "private"/],
      ['file:/etc/key', /must start with "pkcs11:"/],
      ['pkcs11:' + 'a'.repeat(3000), /at most 2048/]
    ]
    for (const [text, why] of cases) {
      assert.throws(() => parsePkcs11Uri(text), (err: unknown) => isKeyError('bad-uri')(err) && why.test((err as Error).message), text.slice(0, 60))
    }
  })
})

describe('an Ed25519 identity key in a SoftHSM2 token', () => {
  let hsm: SoftHsm
  // views that shuffle every second: the overlay's descriptor spacing says so too
  const net = new TestNet({ descriptorSpacingMs: { edge: 1000, bridge: 1000, sentinel: 1000 } })
  before(async () => { hsm = await startSoftHsm() })
  after(async () => {
    await net.stop()
    await hsm?.stop()
  })

  it('is generated inside the token, signs Ed25519, and cannot be read out', async () => {
    const dir = await net.tempDir()
    const store = new Pkcs11KeyStore({ path: join(dir, 'identity.key'), uri: hsm.uri('node-a'), env: hsm.env })
    const key = await store.create()
    try {
      // the data directory holds a reference and the public key, nothing secret
      const ref = JSON.parse(await readFile(join(dir, 'identity.key'), 'utf8'))
      assert.equal(ref.backend, 'pkcs11')
      assert.equal(ref.publicKey, Buffer.from(key.publicKey.raw).toString('base64url'))
      assert.match(ref.uri, /;id=%[0-9a-f]{2}/)
      assert.doesNotMatch(JSON.stringify(ref), new RegExp(hsm.pin))
      // libp2p's interface signs through the token
      const data = randomBytes(100)
      const signature = await key.sign(data)
      assert.ok(verify(null, data, publicKeyFromRawBytes(key.publicKey.raw), signature))
      assert.ok(await key.publicKey.verify(data, signature))
      // so do tempus's own signatures
      const sig = signDomain(keyObjectOf(key), 'tempus-test', data)
      assert.ok(verifyDomain(publicKeyFromRawBytes(key.publicKey.raw), sig, 'tempus-test', data))
      // the private key never leaves: not through libp2p's `raw`…
      assert.throws(() => key.raw, isKeyError('not-exportable'))
      // …nor through PKCS#11 itself: the token calls it sensitive and not extractable
      const { lib, session, close } = openTokenSession(hsm, hsm.token)
      lib.C_FindObjectsInit(session, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY }, { type: pkcs11js.CKA_LABEL, value: 'node-a' }])
      const [handle] = lib.C_FindObjects(session, 2)
      lib.C_FindObjectsFinal(session)
      assert.ok(handle != null)
      const attrs = lib.C_GetAttributeValue(session, handle, [{ type: pkcs11js.CKA_EXTRACTABLE }, { type: pkcs11js.CKA_SENSITIVE }, { type: pkcs11js.CKA_NEVER_EXTRACTABLE }])
      assert.deepEqual(attrs.map(a => (a.value as Buffer)[0]), [0, 1, 1])
      assert.throws(() => lib.C_GetAttributeValue(session, handle, [{ type: pkcs11js.CKA_VALUE }]), /CKR_ATTRIBUTE_SENSITIVE|CKR_USER_NOT_LOGGED_IN/)
      close()
    } finally {
      releaseIdentityKey(key)
    }
  })

  it('is found again through the reference; refuses a wrong or missing PIN, a swapped key and a copyable one', async () => {
    const dir = await net.tempDir()
    const path = join(dir, 'identity.key')
    const created = await new Pkcs11KeyStore({ path, uri: hsm.uri('node-b'), env: hsm.env }).create()
    const peerId = peerIdFromPrivateKey(created).toString()
    releaseIdentityKey(created)

    const store = await identityKeyStore(path, { passphrase: async () => assert.fail('a token key needs no passphrase'), env: hsm.env })
    const loaded = await store.load()
    assert.ok(loaded != null)
    assert.equal(peerIdFromPrivateKey(loaded).toString(), peerId)
    releaseIdentityKey(loaded)

    // the PIN: never defaulted, and a wrong one is the token's refusal
    await assert.rejects(store.load.call(await identityKeyStore(path, { passphrase: async () => '', env: { SOFTHSM2_CONF: hsm.env.SOFTHSM2_CONF } })), isKeyError('pin'))
    const wrongPin = join(dir, 'wrong-pin')
    await writeFile(wrongPin, '0000\n')
    await assert.rejects((await identityKeyStore(path, { passphrase: async () => '', env: { TEMPUS_PKCS11_PIN_FILE: wrongPin } })).load(), isKeyError('pin'))

    // a reference whose public key is not the token's key (another token, a reused label)
    const ref = JSON.parse(await readFile(path, 'utf8'))
    await writeFile(path, JSON.stringify({ ...ref, publicKey: Buffer.alloc(32, 7).toString('base64url') }))
    await assert.rejects((await identityKeyStore(path, { passphrase: async () => '', env: hsm.env })).load(), (err: unknown) => isKeyError('unsuitable')(err) && /not the key/.test((err as Error).message))
    // a damaged reference is named, not taken for an encrypted file
    await writeFile(path, '{"format":"tempus-mesh key reference", broken')
    await assert.rejects(identityKeyStore(path, { passphrase: async () => '', env: hsm.env }), isKeyError('bad-uri'))

    // a key someone made exportable is refused: a copyable key is not what a token is for
    const lib = new pkcs11js.PKCS11()
    lib.load(hsm.modulePath)
    try { lib.C_Initialize() } catch {}
    const slot = lib.C_GetSlotList(true).find(s => lib.C_GetTokenInfo(s).label.trim() === hsm.token) as pkcs11js.Handle
    const session = lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION)
    try { lib.C_Login(session, pkcs11js.CKU_USER, hsm.pin) } catch {}
    const oid = Buffer.from('06032b6570', 'hex')
    lib.C_GenerateKeyPair(session, { mechanism: 0x1055 },
      [{ type: pkcs11js.CKA_TOKEN, value: true }, { type: pkcs11js.CKA_EC_PARAMS, value: oid }, { type: pkcs11js.CKA_LABEL, value: 'copyable' }, { type: pkcs11js.CKA_VERIFY, value: true }],
      [{ type: pkcs11js.CKA_TOKEN, value: true }, { type: pkcs11js.CKA_PRIVATE, value: true }, { type: pkcs11js.CKA_SENSITIVE, value: false }, { type: pkcs11js.CKA_EXTRACTABLE, value: true }, { type: pkcs11js.CKA_SIGN, value: true }, { type: pkcs11js.CKA_LABEL, value: 'copyable' }])
    lib.C_CloseSession(session)
    assert.throws(() => openPkcs11Key(hsm.uri('copyable'), { pin: hsm.pin }), (err: unknown) => isKeyError('unsuitable')(err) && /can be read out/.test((err as Error).message))
    // no such key, no such token: said, with what to do
    assert.throws(() => openPkcs11Key(hsm.uri('nobody'), { pin: hsm.pin }), (err: unknown) => isKeyError('not-found')(err) && /tempus init --key/.test((err as Error).message))
    assert.throws(() => openPkcs11Key(hsm.uri('k').replace(`token=${hsm.token}`, 'token=absent'), { pin: hsm.pin }), (err: unknown) => isKeyError('not-found')(err) && new RegExp(hsm.token).test((err as Error).message))
    assert.throws(() => openPkcs11Key(hsm.uri('k').replace(hsm.modulePath, '/nonexistent/lib.so'), { pin: hsm.pin }), isKeyError('module'))
  })

  it('a node whose key is in the token is admitted by file-key nodes and admits them, and calls RPC: Noise, proofs, descriptors, anomalies and bundles signed by the token', async () => {
    const dir = await net.tempDir()
    const key = await new Pkcs11KeyStore({ path: join(dir, 'identity.key'), uri: hsm.uri('node-c'), env: hsm.env }).create()
    const sentinel = await net.node({ type: 'sentinel', sampling: { sentinel: { period: '1s' }, edge: { period: '1s' }, bridge: { period: '1s' } } })
    const hardware = await net.node({ type: 'sentinel', bootstrap: sentinel.getMultiaddrs(), sampling: { sentinel: { period: '1s' }, edge: { period: '1s' }, bridge: { period: '1s' } }, options: { privateKey: key } })
    const edge = await net.node({ type: 'edge', bootstrap: hardware.getMultiaddrs() })
    const h = hardware.peerId.toString()
    await eventually(() => sentinel.admission.admitted.has(h) && edge.admission.admitted.has(h) && hardware.admission.admitted.has(edge.peerId.toString()), 'the token-keyed node admitted both ways')
    // its descriptors (minted and handed on by the token) are in the sentinel's view, and nobody was charged
    await eventually(() => sentinel.sampling.view('sentinel').some(e => e.peerId === h), 'the token-keyed node in the sentinel view', 30_000)
    // it calls RPC, and is called (default deny: granted here by type)
    sentinel.rpc.expose('echo.back', args => args)
    sentinel.rpc.policy.replace([{ type: 'sentinel', allow: ['echo.*'] }])
    assert.equal(await hardware.rpc.call(sentinel.peerId, 'echo.back', 'from the token'), 'from the token')
    hardware.rpc.expose('status.get', () => 'up')
    hardware.rpc.policy.replace([{ type: 'edge', allow: ['status.get'] }])
    assert.equal(await edge.rpc.call(hardware.peerId, 'status.get', null), 'up')
    // an anomaly it signs reaches the others
    const published = await hardware.gossip.publish({ kind: 'hsm-test', digest: randomBytes(32).toString('hex'), severity: 3, metadata: {} })
    await eventually(() => edge.gossip.list().some(a => a.id === published.id) && sentinel.gossip.list().some(a => a.id === published.id), 'the anomaly everywhere', 30_000)
    // bundles: one it signs is delivered; one sent to it unencrypted is delivered to it; one encrypted
    // to its PeerId cannot be opened by a token (no X25519 there): dropped as key-in-token, its source not charged
    await hardware.dtn.send(edge.peerId.toString(), Buffer.from('from the token'), { lifetimeMs: 60_000 })
    await eventually(() => (edge.dtn.list('inbox') as InboxEntry[]).some(b => Buffer.from(b.payload ?? []).toString() === 'from the token'), 'the token-signed bundle delivered')
    await edge.dtn.send(h, Buffer.from('plain to the token node'), { lifetimeMs: 60_000, encrypt: false })
    await eventually(() => (hardware.dtn.list('inbox') as InboxEntry[]).some(b => Buffer.from(b.payload ?? []).toString() === 'plain to the token node'), 'the plain bundle delivered to the token node')
    await edge.dtn.send(h, Buffer.from('sealed'), { lifetimeMs: 60_000 })
    await eventually(() => (hardware.dtn.status().refused['key-in-token'] ?? 0) >= 1, 'the sealed bundle counted as key-in-token')
    for (const n of [sentinel, edge]) {
      assert.equal(n.admission.suspicion.score(h), 0, 'the token-keyed node was never charged')
    }
    assert.equal(hardware.admission.suspicion.score(edge.peerId.toString()), 0, 'the sealed bundle\'s source was not charged')
    releaseIdentityKey(key)
  })
})

/**
 * Issue #18 item 1 (the issuer's half): every key of the issuer made and
 * kept in a PKCS#11 token (a real SoftHSM2 token per test run): init,
 * enrolment, tokens that verify at nodes, rotation (each new signing key a
 * new object in the token), revocation. The database holds references and
 * public keys only; the token refuses to hand any key out. Then the same
 * with an offline root in its own token, as real CLI processes.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import pkcs11js from 'pkcs11js'
import { admissionStateFor } from '../../src/admission/state.ts'
import { verifyRevocationList } from '../../src/admission/revocation.ts'
import { DOMAINS } from '../../src/core/domains.ts'
import { generateEd25519, rawPublicKey, signDomain } from '../../src/core/keys.ts'
import { IssuerClient } from '../../src/issuer-client/client.ts'
import { killAll, spawnTempus, tempus } from '../fixtures/cli.ts'
import { TestNet } from '../fixtures/nodes.ts'
import { openTokenSession, startSoftHsm } from '../fixtures/softhsm.ts'
import { eventually } from '../fixtures/wait.ts'
import type { SoftHsm } from '../fixtures/softhsm.ts'
import type { TempusNode } from '../../src/node/tempus-node.ts'

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url')

interface TokenObject { label: string, id: string, extractable: number, sensitive: number, neverExtractable: number, valueReadable: boolean }

/** Every private key object in the token: its label, CKA_ID and whether it could leave (it must not). */
function privateObjects (hsm: SoftHsm, token: string): TokenObject[] {
  const { lib, session, close } = openTokenSession(hsm, token, { login: true })
  try {
    lib.C_FindObjectsInit(session, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY }])
    const handles = lib.C_FindObjects(session, 64)
    lib.C_FindObjectsFinal(session)
    return handles.map(h => {
      const [label, id, extractable, sensitive, never] = lib.C_GetAttributeValue(session, h, [{ type: pkcs11js.CKA_LABEL }, { type: pkcs11js.CKA_ID }, { type: pkcs11js.CKA_EXTRACTABLE }, { type: pkcs11js.CKA_SENSITIVE }, { type: pkcs11js.CKA_NEVER_EXTRACTABLE }]).map(a => a.value as Buffer)
      let valueReadable = true
      try { lib.C_GetAttributeValue(session, h, [{ type: pkcs11js.CKA_VALUE }]) } catch { valueReadable = false }
      return { label: String(label), id: (id as Buffer).toString('hex'), extractable: (extractable as Buffer)[0] ?? -1, sensitive: (sensitive as Buffer)[0] ?? -1, neverExtractable: (never as Buffer)[0] ?? -1, valueReadable }
    })
  } finally {
    close()
  }
}

function assertNeverLeaves (objects: TokenObject[]): void {
  for (const o of objects) {
    assert.deepEqual({ extractable: o.extractable, sensitive: o.sensitive, neverExtractable: o.neverExtractable, valueReadable: o.valueReadable }, { extractable: 0, sensitive: 1, neverExtractable: 1, valueReadable: false }, o.label)
  }
}

/** Every key the database keeps is a token reference: no sealed box, no PEM, no private key at all. */
function assertNoPrivateKeyIn (rows: Array<{ key: string, value: string }>): number {
  let references = 0
  for (const { key, value } of rows) {
    assert.doesNotMatch(value, /ciphertext|PRIVATE KEY/, `${key} holds no sealed or plain private key`)
    if (value.includes('"backend":"pkcs11"')) {
      const ref = JSON.parse(value)
      assert.match(ref.uri, /^pkcs11:/)
      assert.match(ref.uri, /;id=%/)
      assert.deepEqual(Object.keys(ref).sort(), ['backend', 'publicKey', 'uri'])
      references++
    }
  }
  return references
}

describe('an issuer whose keys are in a PKCS#11 token (SoftHSM2)', () => {
  let hsm: SoftHsm
  let net: TestNet
  let nodes: TempusNode[] = []
  const admins = [generateEd25519(), generateEd25519()]
  before(async () => {
    hsm = await startSoftHsm('issuer-token')
    net = new TestNet({ overlay: 'hsm-overlay', issuer: { keys: hsm.uri('tempus-issuer'), env: hsm.env } })
  })
  after(async () => {
    await net?.stop()
    await killAll()
    await hsm?.stop()
  })

  it('1. makes every key in the token; the database holds references, never a private key', async () => {
    const t = await net.issuer()
    const rows = [
      ...await t.issuer.db.all<{ key: string, value: string }>('SELECT key, value FROM meta'),
      ...(await t.issuer.db.all<{ kid: string, sealed: string }>('SELECT kid, sealed FROM signing_keys')).map(r => ({ key: r.kid, value: r.sealed }))
    ]
    assert.equal(assertNoPrivateKeyIn(rows), 3, 'root, credential, first signing key')
    const objects = privateObjects(hsm, 'issuer-token')
    assert.deepEqual(objects.map(o => o.label).sort(), ['tempus-issuer-credential', 'tempus-issuer-root', 'tempus-issuer-signing-e1'])
    assertNeverLeaves(objects)
  })

  it('2. enrols nodes; the tokens it signs in the token verify at the nodes, which admit each other', async () => {
    nodes = await Promise.all([0, 1, 2].map(async i => await net.node({ type: i === 0 ? 'sentinel' : 'edge', admission: { keysPollInterval: '300ms', crlPollInterval: '300ms' } })))
    for (const n of nodes.slice(1)) {
      await n.libp2p.dial(multiaddr((nodes[0] as TempusNode).getMultiaddrs()[0] ?? ''), { signal: AbortSignal.timeout(10_000) })
    }
    await eventually(() => nodes.slice(1).every(n => (nodes[0] as TempusNode).admission.admitted.has(n.peerId.toString()) && n.admission.admitted.has((nodes[0] as TempusNode).peerId.toString())), 'mutual admission', 20_000)
  })

  it('3. rotates: each announced key is a new object in the token with its own CKA_ID; the nodes follow', async () => {
    const t = await net.issuer()
    const announced = await t.issuer.announceKey()
    const objects = privateObjects(hsm, 'issuer-token')
    const e1 = objects.find(o => o.label === 'tempus-issuer-signing-e1')
    const e2 = objects.find(o => o.label === 'tempus-issuer-signing-e2')
    assert.ok(e1 != null && e2 != null && e1.id !== e2.id && e2.id.length === 32)
    assertNeverLeaves(objects)
    await eventually(() => nodes.every(n => n.admission.verifier.certificateFor(announced.kid) != null), 'every node to learn the announced key', 30_000)
    await t.issuer.activateKey()
    await eventually(() => nodes.every(n => n.admission.verifier.current?.epoch === 2 && n.admission.ownToken?.claims.ep === 2), 'every node on epoch 2', 30_000)
  })

  it('4. revokes: k approvals, a list signed by the root in the token, enforced at the nodes', async () => {
    const t = await net.issuer()
    for (const [i, a] of admins.entries()) { await t.issuer.addAdmin(b64(rawPublicKey(a.publicKey)), `hsm-admin-${i}`) }
    const victim = nodes[2] as TempusNode
    const request = await t.issuer.requestRevocation(victim.peerId.toString(), 'compromised')
    for (const a of admins) {
      await t.issuer.approve(request.id, b64(rawPublicKey(a.publicKey)), b64(signDomain(a.privateKey, DOMAINS.revocationApproval, Buffer.from(request.payload, 'base64url'))))
    }
    const list = await verifyRevocationList((await t.issuer.revocationList()).jws, t.issuer.root.publicKey, 'hsm-overlay', Date.now())
    assert.ok(list.revoked.some(e => e.sub === victim.peerId.toString()))
    await eventually(() => nodes.slice(0, 2).every(n => n.admission.revocations.isRevoked(victim.peerId.toString())), 'the nodes to apply the list', 30_000)
    assert.ok((await t.issuer.audit.verify(t.issuer.auditPublicKey)).ok)
  })

  it('5. an offline root in its own token, the issuer\'s keys in another: the whole ceremony as CLI processes', async () => {
    await hsm.addToken('root-token')
    const dir = await net.tempDir('tempus-issuer-hsm-')
    const data = join(dir, 'issuer')
    const env = { ...hsm.env, TEMPUS_ISSUER_PASSPHRASE: 'unused-by-token-keys' }
    const rootUri = `pkcs11:token=root-token;object=overlay-root?module-path=${hsm.modulePath}`
    const run = async (args: string[], extra: Record<string, string> = {}): Promise<any> => {
      const r = await tempus([...args, '--json'], { ...env, ...extra })
      assert.equal(r.code, 0, `tempus ${args.join(' ')}: ${r.stderr}`)
      return JSON.parse(r.stdout)
    }
    const sign = async (request: string): Promise<string> => (await run(['root', 'sign', request, '--key', rootUri, '--yes'])).answer
    const { rootPublicKey } = await run(['root', 'init', '--key', rootUri])
    const init = await run(['issuer', 'init', '--data', data, '--overlay', 'hsm-offline', '--threshold', '1', '--key', hsm.uri('tempus-issuer'), '--offline-root', rootPublicKey])
    assert.equal(init.offlineRoot, true)
    // without --yes and no terminal: nothing is signed
    const unconfirmed = await tempus(['root', 'sign', init.request, '--key', rootUri], env)
    assert.notEqual(unconfirmed.code, 0)
    assert.match(unconfirmed.stderr, /signing key epoch 1[\s\S]*--yes/)
    await run(['issuer', 'import', await sign(init.request), '--data', data])
    // a wrong PIN is refused, and says where the PIN comes from
    const pinFile = join(dir, 'wrong-pin')
    await writeFile(pinFile, '0000\n')
    const wrong = await tempus(['issuer', 'code', '--data', data, '--type', 'edge'], { ...env, TEMPUS_PKCS11_PIN_FILE: pinFile })
    assert.notEqual(wrong.code, 0)
    assert.match(wrong.stderr, /PIN/)
    assert.doesNotMatch(wrong.stderr + wrong.stdout, new RegExp(hsm.pin))
    // rotate through the root
    const announced = await run(['issuer', 'rotate-key', '--data', data, '--announce'])
    await run(['issuer', 'import', await sign(announced.request), '--data', data])
    assert.equal((await run(['issuer', 'rotate-key', '--data', data, '--activate'])).activated.epoch, 2)
    // an admin through the root, then serve, enrol, and check a token as a node does
    const admin = generateEd25519()
    const added = await run(['issuer', 'admin', 'add', '--data', data, '--name', 'alice', '--key', b64(rawPublicKey(admin.publicKey))])
    await run(['issuer', 'import', await sign(added.request), '--data', data])
    const code = (await run(['issuer', 'code', '--data', data, '--type', 'edge'])).code
    const server = spawnTempus(['issuer', 'start', '--data', data, '--listen', '127.0.0.1:0', '--json'], env)
    const url = JSON.parse(await server.nextLine(l => l.includes('"started"'))).url as string
    const key = await generateKeyPair('Ed25519')
    const client = new IssuerClient({ url })
    const enrolled = await client.enroll(key, code)
    assert.equal(enrolled.rootPublicKey, rootPublicKey)
    const state = await admissionStateFor(enrolled)
    const token = await client.token(key, enrolled.credential)
    assert.equal((await state.verifier.verify(token.token)).ep, 2)
    await state.applyRevocationList((await (await fetch(`${url}/v1/crl`)).json() as { jws: string }).jws, 'http')
    assert.equal(state.revocations.current?.keySerial, 1, 'the list is signed by the certified revocation key')
    server.child.kill('SIGTERM')
    await server.exited
    // the database: references to token keys and public keys only, never a root key
    const db = new DatabaseSync(join(data, 'issuer.db'), { readOnly: true })
    const rows = [
      ...db.prepare('SELECT key, value FROM meta').all() as Array<{ key: string, value: string }>,
      ...(db.prepare('SELECT kid, sealed FROM signing_keys').all() as Array<{ kid: string, sealed: string }>).map(r => ({ key: r.kid, value: r.sealed }))
    ]
    db.close()
    assert.equal(rows.find(r => r.key === 'root_key'), undefined)
    assert.equal(assertNoPrivateKeyIn(rows), 5, 'credential, two signing keys, revocation and audit keys')
    // the root's token appeared after this process loaded the module: ask OpenSC's pkcs11-tool
    const listed = await new Promise<string>((resolve, reject) => {
      execFile('pkcs11-tool', ['--module', hsm.modulePath, '--token-label', 'root-token', '--login', '--pin', hsm.pin, '--list-objects', '--type', 'privkey'], { env: { ...process.env, ...hsm.env } }, (err, stdout) => { err != null ? reject(new Error(`pkcs11-tool (Debian's opensc): ${err.message}`)) : resolve(stdout) })
    })
    assert.deepEqual([...listed.matchAll(/label:\s+(\S+)/g)].map(m => m[1]), ['overlay-root'])
    assert.match(listed, /Access:\s+sensitive, always sensitive, never extractable/)
    assert.ok(!privateObjects(hsm, 'issuer-token').some(o => o.label === 'overlay-root'))
    assert.ok((await readFile(init.request, 'utf8')).includes(rootPublicKey))
  })
})

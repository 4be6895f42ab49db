/**
 * `tempus rekey`: a node moves to a new identity key with both keys'
 * proofs; the old PeerId is revoked once the new one fetched its first
 * token; a second re-key of the old key elsewhere is refused; revoking the
 * old key revokes the keys re-keyed from it; an interrupted re-key is
 * finished, never left half done.
 */
import assert from 'node:assert/strict'
import { copyFile, mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { DOMAINS } from '../../src/core/domains.ts'
import { generateEd25519, rawPublicKey, signDomain } from '../../src/core/keys.ts'
import { completePendingRekey } from '../../src/admission/rekey.ts'
import { EncryptedFileKeyStore } from '../../src/identity/key-store.ts'
import { IssuerClient } from '../../src/issuer-client/client.ts'
import { tempus } from '../fixtures/cli.ts'
import { startTestIssuer } from '../fixtures/issuer.ts'
import type { IssuerClientError } from '../../src/issuer-client/client.ts'
import type { TestIssuer } from '../fixtures/issuer.ts'

const ENV = { TEMPUS_PASSPHRASE: 'rekey-test-passphrase' }
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url')

describe('re-keying a node (tempus rekey)', () => {
  let t: TestIssuer
  let client: IssuerClient
  const dirs: string[] = []
  before(async () => {
    t = await startTestIssuer({ revocationThreshold: 1 })
    client = new IssuerClient({ url: t.url })
  })
  after(async () => {
    await t.stop()
    await Promise.all(dirs.map(async d => { await rm(d, { recursive: true, force: true }) }))
  })

  /** a node made and enrolled with the CLI, as an operator would */
  const enrolledNode = async (): Promise<string> => {
    const dir = await mkdtemp(join(tmpdir(), 'tempus-rekey-'))
    dirs.push(dir)
    assert.equal((await tempus(['init', '--data', dir, '--type', 'edge', '--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns'], ENV)).code, 0)
    const enrolled = await tempus(['enroll', '--data', dir, '--issuer', t.url, '--code', await t.issuer.createCode('edge')], ENV)
    assert.equal(enrolled.code, 0, enrolled.stderr)
    return dir
  }
  const keyOf = async (dir: string, file = 'identity.key') => await new EncryptedFileKeyStore({ path: join(dir, file), passphrase: ENV.TEMPUS_PASSPHRASE }).load()
  const enrollmentOf = async (dir: string): Promise<any> => JSON.parse(await readFile(join(dir, 'enrollment.json'), 'utf8'))

  it('moves the node to a new key of the same type; the old PeerId is revoked when the new one fetches its first token', async () => {
    const dir = await enrolledNode()
    const oldKey = await keyOf(dir)
    const oldEnrollment = await enrollmentOf(dir)
    const r = await tempus(['rekey', '--data', dir, '--json'], ENV)
    assert.equal(r.code, 0, r.stderr)
    const outcome = JSON.parse(r.stdout)
    assert.equal(outcome.from, oldEnrollment.peerId)
    const newKey = await keyOf(dir)
    assert.ok(newKey != null && oldKey != null)
    assert.equal(peerIdFromPrivateKey(newKey).toString(), outcome.to)
    const enrollment = await enrollmentOf(dir)
    assert.equal(enrollment.peerId, outcome.to)
    assert.equal(enrollment.typ, 'edge')
    await assert.rejects(stat(join(dir, 'identity.key.next')), { code: 'ENOENT' })
    await assert.rejects(stat(join(dir, 'enrollment.json.next')), { code: 'ENOENT' })
    // until the new key is in use, the old one still works (a lost answer locks nobody out)
    assert.equal(await t.issuer.isRevoked(outcome.from), false)
    await client.token(oldKey, oldEnrollment.credential)
    // the new key's first token revokes the old key, on a new revocation list
    const before = (await t.issuer.revocationList()).n
    await client.token(newKey, enrollment.credential)
    assert.equal(await t.issuer.isRevoked(outcome.from), true)
    assert.equal((await t.issuer.revocationList()).n, before + 1)
    await assert.rejects(client.token(oldKey, oldEnrollment.credential), (e: IssuerClientError) => e.code === 'revoked')
    await assert.rejects(client.renew(oldKey, oldEnrollment.credential), (e: IssuerClientError) => e.code === 'revoked')
    await client.token(newKey, enrollment.credential)
    const kinds = (await t.issuer.audit.entries(0, 1000)).filter(e => e.kind === 'rekey' || (e.kind === 'revoke' && e.data.peerId === outcome.from))
    assert.deepEqual(kinds.map(e => e.kind), ['rekey', 'revoke'])
  })

  it('a second re-key of the same old key to another key is refused (conflict); the same one again is answered again', async () => {
    const dir = await enrolledNode()
    const oldKey = await keyOf(dir)
    const { credential } = await enrollmentOf(dir)
    const first = await generateKeyPair('Ed25519')
    const a = await client.rekey(oldKey as any, credential, first)
    const again = await client.rekey(oldKey as any, credential, first)
    assert.equal(again.peerId, a.peerId)
    await assert.rejects(client.rekey(oldKey as any, credential, await generateKeyPair('Ed25519')), (e: IssuerClientError) => e.code === 'conflict')
  })

  it('refuses a proof by the new key made for another purpose, or a new key that is not the one proven', async () => {
    const dir = await enrolledNode()
    const oldKey = await keyOf(dir)
    const { credential } = await enrollmentOf(dir)
    const newKey = await generateKeyPair('Ed25519')
    const other = await generateKeyPair('Ed25519')
    const challenge = new Uint8Array(Buffer.from((await (await fetch(`${t.url}/v1/challenge`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).json() as any).challenge, 'base64url'))
    const { challengeMessage } = await import('../../src/issuer/issuer.ts')
    const { domainBytes } = await import('../../src/core/keys.ts')
    const sign = async (k: typeof newKey, purpose: any, bound: Uint8Array): Promise<string> => b64(await k.sign(domainBytes(DOMAINS.issuerChallenge, ...challengeMessage(purpose, challenge, bound))))
    const post = async (body: unknown): Promise<{ status: number, error?: string }> => {
      const res = await fetch(`${t.url}/v1/rekey`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
      return { status: res.status, error: ((await res.json()) as any).error }
    }
    // the new key signed for "rekey" (the old key's purpose) instead of "rekey-new"
    assert.deepEqual(await post({ credential, challenge: b64(challenge), signature: await sign(oldKey as any, 'rekey', newKey.publicKey.raw), publicKey: b64(newKey.publicKey.raw), newSignature: await sign(newKey, 'rekey', newKey.publicKey.raw) }), { status: 403, error: 'invalid-proof' })
    const fresh = new Uint8Array(Buffer.from((await (await fetch(`${t.url}/v1/challenge`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).json() as any).challenge, 'base64url'))
    const signFresh = async (k: typeof newKey, purpose: any, bound: Uint8Array): Promise<string> => b64(await k.sign(domainBytes(DOMAINS.issuerChallenge, ...challengeMessage(purpose, fresh, bound))))
    // the old key bound one new key, the request names another
    assert.deepEqual(await post({ credential, challenge: b64(fresh), signature: await signFresh(oldKey as any, 'rekey', other.publicKey.raw), publicKey: b64(newKey.publicKey.raw), newSignature: await signFresh(newKey, 'rekey-new', newKey.publicKey.raw) }), { status: 403, error: 'invalid-proof' })
  })

  it('revoking the old key revokes the key re-keyed from it (a thief may have moved first)', async () => {
    const dir = await enrolledNode()
    const oldKey = await keyOf(dir)
    const { credential, peerId } = await enrollmentOf(dir)
    const thief = await generateKeyPair('Ed25519')
    const moved = await client.rekey(oldKey as any, credential, thief)
    const admin = generateEd25519()
    await t.issuer.addAdmin(b64(rawPublicKey(admin.publicKey)), 'rekey-admin')
    const request = await t.issuer.requestRevocation(peerId, 'key leaked')
    const done = await t.issuer.approve(request.id, b64(rawPublicKey(admin.publicKey)), b64(signDomain(admin.privateKey, DOMAINS.revocationApproval, Buffer.from(request.payload, 'base64url'))))
    assert.equal(done.state, 'done')
    assert.equal(await t.issuer.isRevoked(moved.peerId), true)
    await assert.rejects(client.token(thief, moved.credential), (e: IssuerClientError) => e.code === 'revoked')
  })

  it('a re-key interrupted after the issuer answered is finished by the next start or rekey; one interrupted before leaves the old pair', async () => {
    const dir = await enrolledNode()
    const oldPeer = (await enrollmentOf(dir)).peerId
    // staged key only (the issuer never answered): nothing changes
    const staged = await generateKeyPair('Ed25519')
    await new EncryptedFileKeyStore({ path: join(dir, 'identity.key.next'), passphrase: ENV.TEMPUS_PASSPHRASE, scryptN: 1 << 10 }).save(staged)
    assert.equal(await completePendingRekey(dir), false)
    assert.equal((await enrollmentOf(dir)).peerId, oldPeer)
    // the rekey command reuses the staged key and completes
    const r = await tempus(['rekey', '--data', dir, '--json'], ENV)
    assert.equal(r.code, 0, r.stderr)
    assert.equal(JSON.parse(r.stdout).to, peerIdFromPrivateKey(staged).toString())
    // a crash between the two renames: the key renamed, the enrolment still staged
    const second = await generateKeyPair('Ed25519')
    await copyFile(join(dir, 'enrollment.json'), join(dir, 'enrollment.json.next'))
    await new EncryptedFileKeyStore({ path: join(dir, 'identity.key'), passphrase: ENV.TEMPUS_PASSPHRASE, scryptN: 1 << 10 }).save(second)
    assert.equal(await completePendingRekey(dir), true)
    await assert.rejects(stat(join(dir, 'enrollment.json.next')), { code: 'ENOENT' })
  })
})

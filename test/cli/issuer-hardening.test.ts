/**
 * Issue #13 item 12 through the real CLI: a command that reads an issuer
 * never creates one; admin keys are sealed and never replaced by accident;
 * `tempus enroll` with a code of another type leaves the code usable.
 */
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { generateEd25519, privateKeyToPem, rawPublicKey } from '../../src/core/keys.ts'
import { startTestIssuer } from '../fixtures/issuer.ts'
import { IssuerClient, IssuerClientError } from '../../src/issuer-client/client.ts'
import { killAll, spawnTempus, tempus } from '../fixtures/cli.ts'
import type { TestIssuer } from '../fixtures/issuer.ts'

const ENV = { TEMPUS_PASSPHRASE: 'cli-admin-passphrase', TEMPUS_ISSUER_PASSPHRASE: 'cli-test-issuer' }
const PEER = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()

describe('tempus: issuer commands, admin keys, enrolment codes', () => {
  const dirs: string[] = []
  const tmp = async (): Promise<string> => { const d = await mkdtemp(join(tmpdir(), 'tempus-cli-i13-')); dirs.push(d); return d }
  let t: TestIssuer
  before(async () => { t = await startTestIssuer() })
  after(async () => {
    await killAll()
    await t.stop()
    await Promise.all(dirs.map(async d => rm(d, { recursive: true, force: true })))
  })

  it('every command that reads an issuer refuses a directory without one and creates nothing there', async () => {
    const root = await tmp()
    const empty = join(root, 'empty')
    await mkdir(empty)
    const commands = (dir: string): string[][] => [
      ['issuer', 'code', '--data', dir, '--typ', 'edge'],
      ['issuer', 'rotate-key', '--data', dir, '--announce'],
      ['issuer', 'revoke', PEER, '--data', dir, '--reason', 'lost'],
      ['issuer', 'revocations', '--data', dir],
      ['issuer', 'bootstrap', '--data', dir],
      ['issuer', 'admin', 'add', '--data', dir, '--name', 'alice', '--key', 'A'.repeat(43)],
      ['issuer', 'audit', 'verify', '--data', dir],
      ['issuer', 'start', '--data', dir, '--listen', '127.0.0.1:0']
    ]
    for (const dir of [join(root, 'mistyped'), empty]) {
      for (const args of commands(dir)) {
        const r = await tempus(args, ENV, 20_000)
        assert.equal(r.code, 2, `${args.slice(0, 3).join(' ')}: ${r.stderr}`)
        assert.ok(r.stderr.includes(`no issuer in ${dir} (create one with: tempus issuer init --data ${dir}`), r.stderr)
      }
    }
    assert.equal(existsSync(join(root, 'mistyped')), false)
    assert.deepEqual(await readdir(empty), [])
  })

  it('admin keygen seals the key (0600), refuses to replace a file without --force, and approve reads it', async () => {
    const root = await tmp()
    const file = join(root, 'alice.key')
    const made = await tempus(['admin', 'keygen', '--out', file, '--json'], ENV)
    assert.equal(made.code, 0, made.stderr)
    const { publicKey } = JSON.parse(made.stdout)
    const text = await readFile(file, 'utf8')
    assert.equal((await stat(file)).mode & 0o777, 0o600)
    assert.ok(!text.includes('PRIVATE KEY'), 'the private key is not stored in clear')
    const sealed = JSON.parse(text)
    assert.equal(sealed.kind, 'tempus-admin-key')
    assert.equal(sealed.publicKey, publicKey)
    assert.equal(sealed.sealed.cipher, 'aes-256-gcm')

    // twice: refused, naming the file, the key untouched
    const again = await tempus(['admin', 'keygen', '--out', file], ENV)
    assert.equal(again.code, 2)
    assert.ok(again.stderr.includes(file) && again.stderr.includes('--force'), again.stderr)
    assert.equal(await readFile(file, 'utf8'), text)
    assert.deepEqual((await readdir(root)).sort(), ['alice.key'], 'no temporary file left behind')

    // approve signs with the sealed key
    await t.issuer.addAdmin(publicKey, 'alice')
    const request = (await t.issuer.requestRevocation(PEER, 'lost device'))
    // the admins find it among the requests awaiting approval
    const listed = await tempus(['issuer', 'revocations', '--data', t.dir, '--json'], { ...ENV, TEMPUS_ISSUER_PASSPHRASE: 'issuer-test' })
    assert.equal(listed.code, 0, listed.stderr)
    assert.ok((JSON.parse(listed.stdout) as Array<{ id: string, reason: string }>).some(r => r.id === request.id && r.reason === 'lost device'), listed.stdout)
    const approved = await tempus(['admin', 'approve', request.id, '--key', file, '--issuer', t.url, '--json'], ENV)
    assert.equal(approved.code, 0, approved.stderr)
    assert.equal(JSON.parse(approved.stdout).approvals, 1)
    // the wrong passphrase opens nothing
    const wrong = await tempus(['admin', 'approve', request.id, '--key', file, '--issuer', t.url], { ...ENV, TEMPUS_PASSPHRASE: 'not-it' })
    assert.equal(wrong.code, 1)
    assert.match(wrong.stderr, /wrong passphrase/)

    // --force replaces it on purpose
    const forced = await tempus(['admin', 'keygen', '--out', file, '--force', '--json'], ENV)
    assert.equal(forced.code, 0, forced.stderr)
    assert.notEqual(JSON.parse(forced.stdout).publicKey, publicKey)
  })

  it('issuer bootstrap sets the bootstrap peers once the first sentinel exists; nodes enrolled after get them; a bad address is refused (exit 2)', async () => {
    const env = { ...ENV, TEMPUS_ISSUER_PASSPHRASE: 'issuer-test' }
    const sentinel = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const addr = `/ip4/127.0.0.1/tcp/4001/p2p/${sentinel}`
    const set = await tempus(['issuer', 'bootstrap', '--data', t.dir, '--set', addr, '--json'], env)
    assert.equal(set.code, 0, set.stderr)
    assert.deepEqual(JSON.parse(set.stdout), { bootstrap: [addr] })
    const key = await generateKeyPair('Ed25519')
    const enrolled = await new IssuerClient({ url: t.url }).enroll(key, await t.issuer.createCode('edge'))
    assert.deepEqual(enrolled.bootstrap, [addr], 'a node enrolled after gets the list')
    for (const bad of ['/ip4/127.0.0.1/tcp/4001', 'sentinel-1:4001', `/ip4/127.0.0.1/tcp/4001/p2p/${peerIdFromString(sentinel).toCID().toString()}`]) {
      const refused = await tempus(['issuer', 'bootstrap', '--data', t.dir, '--set', bad], env)
      assert.equal(refused.code, 2, `${bad}: ${refused.stderr}`)
      assert.match(refused.stderr, /--set: .*(not a multiaddr|does not end in \/p2p\/<PeerId>)/)
    }
    const kept = await tempus(['issuer', 'bootstrap', '--data', t.dir], env)
    assert.equal(kept.stdout.trim(), addr, 'a refused --set changes nothing')
  })

  it('a legacy unencrypted admin key still approves, with a warning that says how to seal it; reseal seals it in place', async () => {
    const root = await tmp()
    const file = join(root, 'bob.pem')
    const pair = generateEd25519()
    await writeFile(file, privateKeyToPem(pair.privateKey), { mode: 0o600 })
    const publicKey = Buffer.from(rawPublicKey(pair.publicKey)).toString('base64url')
    await t.issuer.addAdmin(publicKey, 'bob')
    const first = (await t.issuer.requestRevocation(PEER, 'legacy key'))
    const approved = await tempus(['admin', 'approve', first.id, '--key', file, '--issuer', t.url], ENV)
    assert.equal(approved.code, 0, approved.stderr)
    assert.ok(approved.stderr.includes(`tempus admin reseal --key ${file}`), approved.stderr)
    const resealed = await tempus(['admin', 'reseal', '--key', file], ENV)
    assert.equal(resealed.code, 0, resealed.stderr)
    assert.ok(!(await readFile(file, 'utf8')).includes('PRIVATE KEY'))
    assert.equal((await stat(file)).mode & 0o777, 0o600)
    const second = (await t.issuer.requestRevocation(PEER, 'sealed key'))
    const again = await tempus(['admin', 'approve', second.id, '--key', file, '--issuer', t.url], ENV)
    assert.equal(again.code, 0, again.stderr)
    assert.doesNotMatch(again.stderr, /not encrypted/)
  })

  it('tempus enroll with a code of another type is refused and the code stays good for its type', async () => {
    const root = await tmp()
    const edge = join(root, 'edge')
    const sentinel = join(root, 'sentinel')
    assert.equal((await tempus(['init', '--data', edge, '--type', 'edge'], ENV)).code, 0)
    assert.equal((await tempus(['init', '--data', sentinel, '--type', 'sentinel'], ENV)).code, 0)
    const code = (await t.issuer.createCode('sentinel', 1))
    const refused = await tempus(['enroll', '--data', edge, '--issuer', t.url, '--code', code], ENV)
    assert.equal(refused.code, 2)
    assert.match(refused.stderr, /not for a node of type edge.*the code was not used/)
    assert.equal(existsSync(join(edge, 'enrollment.json')), false)
    const enrolled = await tempus(['enroll', '--data', sentinel, '--issuer', t.url, '--code', code, '--json'], ENV)
    assert.equal(enrolled.code, 0, enrolled.stderr)
    assert.equal(JSON.parse(enrolled.stdout).typ, 'sentinel')
  })

  it('tempus issuer start --refuse-twins: the second process refreshing one credential is refused, and the operator log says so', async () => {
    const data = join(await tmp(), 'issuer')
    assert.equal((await tempus(['issuer', 'init', '--data', data, '--overlay', 'twins'], ENV)).code, 0)
    const code = (await tempus(['issuer', 'code', '--data', data, '--typ', 'edge'], ENV)).stdout.trim()
    const server = spawnTempus(['issuer', 'start', '--data', data, '--listen', '127.0.0.1:0', '--refuse-twins', '--json'], ENV)
    // the operator's log (pino, stderr): the twin report, when it comes
    const reported = new Promise<string>((resolve, reject) => {
      let seen = ''
      const timer = setTimeout(() => { reject(new Error(`no twin report in the issuer log: ${seen.slice(-2000)}`)) }, 30_000)
      server.child.stderr?.on('data', (chunk: Buffer) => {
        seen += chunk.toString()
        const line = seen.split('\n').find(l => l.includes('"stage":"suspected"'))
        if (line != null) {
          clearTimeout(timer)
          resolve(line)
        }
      })
    })
    const { url } = JSON.parse(await server.nextLine(l => l.includes('"started"')))
    const key = await generateKeyPair('Ed25519')
    const { credential } = await new IssuerClient({ url }).enroll(key, code, undefined, 'edge')
    const original = new IssuerClient({ url })
    await original.token(key, credential)
    await assert.rejects(new IssuerClient({ url }).token(key, credential), (e: IssuerClientError) => e.code === 'twin')
    await original.token(key, credential)
    const line = JSON.parse(await reported)
    assert.equal(line.peerId, peerIdFromPrivateKey(key).toString())
    assert.equal(line.newerRefused, true)
    server.child.kill('SIGTERM')
    assert.equal(await server.exited, 0)
  })
})

import assert from 'node:assert/strict'
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { DEV_PASSPHRASE, EncryptedFileKeyStore, IdentityError, loadOrCreateIdentity, resolvePassphrase } from '../../src/identity/index.ts'

const N = 1 << 10

async function dir (): Promise<string> {
  return mkdtemp(join(tmpdir(), 'tempus-key-'))
}

describe('encrypted file key store', () => {
  it('creates an Ed25519 key once and loads the same one after', async () => {
    const path = join(await dir(), 'identity.key')
    const first = await loadOrCreateIdentity(new EncryptedFileKeyStore({ path, passphrase: 'correct horse', scryptN: N }))
    assert.equal(first.created, true)
    assert.equal(first.privateKey.type, 'Ed25519')
    const second = await loadOrCreateIdentity(new EncryptedFileKeyStore({ path, passphrase: 'correct horse', scryptN: N }))
    assert.equal(second.created, false)
    assert.ok(peerIdFromPrivateKey(first.privateKey).equals(peerIdFromPrivateKey(second.privateKey)))
  })

  it('writes the file with mode 0600 and without the key in clear', async () => {
    const path = join(await dir(), 'identity.key')
    const { privateKey } = await loadOrCreateIdentity(new EncryptedFileKeyStore({ path, passphrase: 'pw', scryptN: N }))
    assert.equal((await stat(path)).mode & 0o777, 0o600)
    const text = await readFile(path, 'utf8')
    assert.ok(!text.includes(Buffer.from(privateKey.raw).toString('base64')))
    assert.ok(!text.includes(Buffer.from(privateKey.raw).toString('hex')))
  })

  it('refuses a wrong passphrase with a typed error', async () => {
    const path = join(await dir(), 'identity.key')
    await loadOrCreateIdentity(new EncryptedFileKeyStore({ path, passphrase: 'right', scryptN: N }))
    await assert.rejects(new EncryptedFileKeyStore({ path, passphrase: 'wrong' }).load(), (err: Error) =>
      err instanceof IdentityError && /wrong passphrase/.test(err.message) && !err.message.includes('right'))
  })

  it('refuses tampered, truncated and foreign files', async () => {
    const d = await dir()
    const path = join(d, 'identity.key')
    await loadOrCreateIdentity(new EncryptedFileKeyStore({ path, passphrase: 'pw', scryptN: N }))
    const file = JSON.parse(await readFile(path, 'utf8'))
    const flipped = Buffer.from(file.ciphertext, 'base64')
    flipped[0] = (flipped[0] ?? 0) ^ 1
    const cases: Record<string, string> = {
      tampered: JSON.stringify({ ...file, ciphertext: flipped.toString('base64') }),
      truncated: (await readFile(path, 'utf8')).slice(0, 40),
      foreign: JSON.stringify({ version: 2 }),
      hugeN: JSON.stringify({ ...file, N: 1 << 30 }),
      huge: 'x'.repeat(100_000)
    }
    for (const [name, contents] of Object.entries(cases)) {
      const p = join(d, `${name}.key`)
      await writeFile(p, contents)
      await assert.rejects(new EncryptedFileKeyStore({ path: p, passphrase: 'pw' }).load(), IdentityError, name)
    }
  })

  it('reports no key when the file does not exist', async () => {
    assert.equal(await new EncryptedFileKeyStore({ path: join(await dir(), 'none.key'), passphrase: 'pw' }).load(), undefined)
  })
})

describe('passphrase sources', () => {
  it('prefers a file, then the environment, then the loud dev default', async () => {
    const file = join(await dir(), 'pass')
    await writeFile(file, 'from-file\nignored second line\n')
    assert.deepEqual(await resolvePassphrase({ env: { TEMPUS_PASSPHRASE_FILE: file, TEMPUS_PASSPHRASE: 'env' } }), { value: 'from-file', source: 'file' })
    assert.deepEqual(await resolvePassphrase({ env: { TEMPUS_PASSPHRASE: 'env' } }), { value: 'env', source: 'env' })
    assert.deepEqual(await resolvePassphrase({ env: {} }), { value: DEV_PASSPHRASE, source: 'dev-default' })
  })

  it('refuses a missing or empty passphrase file', async () => {
    const empty = join(await dir(), 'empty')
    await writeFile(empty, '\n')
    await assert.rejects(resolvePassphrase({ file: empty, env: {} }), IdentityError)
    await assert.rejects(resolvePassphrase({ file: '/nonexistent/pass', env: {} }), IdentityError)
  })
})

/**
 * Issue #18 item 1, as an operator runs it: `tempus init --key pkcs11:…`
 * makes the identity key inside a real SoftHSM2 token (the PIN from the
 * environment, never a flag), and `id`, `doctor`, `enroll`, `start` and
 * `rekey` all work through it.
 */
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { killAll, spawnTempus, tempus } from '../fixtures/cli.ts'
import { startSoftHsm } from '../fixtures/softhsm.ts'
import { startTestIssuer } from '../fixtures/issuer.ts'
import type { SoftHsm } from '../fixtures/softhsm.ts'
import type { TestIssuer } from '../fixtures/issuer.ts'

describe('tempus with its identity key in a PKCS#11 token', () => {
  let hsm: SoftHsm
  let t: TestIssuer
  before(async () => {
    hsm = await startSoftHsm()
    t = await startTestIssuer()
  })
  after(async () => {
    await killAll()
    await t?.stop()
    await hsm?.stop()
  })

  it('init --key, id, doctor, enroll, start, rekey', async () => {
    const dir = join(hsm.dir, 'node')
    const env = { ...hsm.env, TEMPUS_PASSPHRASE: '' }
    // no PIN: refused, and nothing is made
    const noPin = await tempus(['init', '--data', dir, '--type', 'edge', '--key', hsm.uri('edge-1'), '--no-mdns'], { SOFTHSM2_CONF: hsm.env.SOFTHSM2_CONF })
    assert.notEqual(noPin.code, 0)
    assert.match(noPin.stderr, /TEMPUS_PKCS11_PIN_FILE/)
    // a PIN in the URI: refused as a usage error before anything is touched
    const inUri = await tempus(['init', '--data', dir, '--type', 'edge', '--key', `${hsm.uri('edge-1')}&pin-value=${hsm.pin}`, '--no-mdns'], env)
    assert.equal(inUri.code, 2)
    assert.match(inUri.stderr, /must not carry the PIN/)
    assert.doesNotMatch(inUri.stderr + inUri.stdout, new RegExp(hsm.pin))

    const init = await tempus(['init', '--data', dir, '--type', 'edge', '--key', hsm.uri('edge-1'), '--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns', '--json'], env)
    assert.equal(init.code, 0, init.stderr)
    const made = JSON.parse(init.stdout)
    assert.equal(made.key, 'pkcs11')
    assert.equal(made.createdKey, true)
    const ref = JSON.parse(await readFile(join(dir, 'identity.key'), 'utf8'))
    assert.equal(ref.backend, 'pkcs11')

    const id = await tempus(['id', '--data', dir, '--json'], env)
    assert.equal(id.code, 0, id.stderr)
    assert.equal(JSON.parse(id.stdout).peerId, made.peerId)
    assert.equal(JSON.parse(id.stdout).key, 'pkcs11')

    const enrolled = await tempus(['enroll', '--data', dir, '--issuer', t.url, '--code', await t.issuer.createCode('edge'), '--json'], env)
    assert.equal(enrolled.code, 0, enrolled.stderr)
    assert.equal(JSON.parse(enrolled.stdout).peerId, made.peerId)

    const doctor = await tempus(['doctor', '--data', dir, '--json'], env)
    const checks = JSON.parse(doctor.stdout).checks as Array<{ check: string, status: string, detail: string }>
    const keyCheck = checks.find(c => c.check === 'identity key')
    assert.equal(keyCheck?.status, 'ok', JSON.stringify(checks))
    assert.match(keyCheck.detail, /PKCS#11 token/)

    // the node runs on the token: it fetches a token from the issuer (signed challenge) and listens
    const node = spawnTempus(['start', '--data', dir, '--json', '--log-level', 'warn'], env)
    const started = JSON.parse(await node.nextLine(l => l.includes('"started"'), 60_000))
    assert.equal(started.peerId, made.peerId)
    node.child.kill('SIGTERM')
    assert.equal(await node.exited, 0)

    // a re-key makes the next key in the same token, and the node starts on it
    const rekey = await tempus(['rekey', '--data', dir, '--issuer', t.url, '--json'], env)
    assert.equal(rekey.code, 0, rekey.stderr)
    const outcome = JSON.parse(rekey.stdout)
    assert.equal(outcome.from, made.peerId)
    assert.notEqual(outcome.to, made.peerId)
    const next = JSON.parse(await readFile(join(dir, 'identity.key'), 'utf8'))
    assert.equal(next.backend, 'pkcs11')
    assert.notEqual(next.uri, ref.uri)
    const again = spawnTempus(['start', '--data', dir, '--json', '--log-level', 'warn'], env)
    assert.equal(JSON.parse(await again.nextLine(l => l.includes('"started"'), 60_000)).peerId, outcome.to)
    again.child.kill('SIGTERM')
    assert.equal(await again.exited, 0)
  })
})

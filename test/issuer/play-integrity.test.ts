/**
 * Issue #18 item 4: Google Play Integrity at enrolment, verified locally
 * with the app's keys (the test's, in place of the Play Console's) on
 * tokens the test makes as Google does. A good verdict enrols through a
 * real issuer; each refusal has its own reason; malformed tokens are
 * refused, never a crash; the settings file is validated naming the field
 * and never echoing a key.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { ConfigError } from '../../src/core/config-error.ts'
import { IssuerClient, IssuerClientError } from '../../src/issuer-client/client.ts'
import { PlayIntegrityRefusal } from '../../src/issuer/play/errors.ts'
import { playIntegrityNonce } from '../../src/issuer/play/nonce.ts'
import { parsePlayIntegritySettings } from '../../src/issuer/play/settings.ts'
import { playIntegrity } from '../../src/issuer/play/verifier.ts'
import { killAll, spawnTempus, tempus } from '../fixtures/cli.ts'
import { startTestIssuer } from '../fixtures/issuer.ts'
import { digestHex, playKeys, SIGNER, token, verdict } from '../fixtures/play-integrity.ts'
import type { PlayIntegrityRefusalReason } from '../../src/issuer/play/errors.ts'
import type { AttestationContext } from '../../src/issuer/attestation.ts'
import type { TestIssuer } from '../fixtures/issuer.ts'
import type { PlayKeys } from '../fixtures/play-integrity.ts'

const NOW = Date.now()

describe('play integrity', () => {
  let keys: PlayKeys
  let context: AttestationContext
  let nonce: string

  before(async () => {
    keys = playKeys()
    context = { publicKey: (await generateKeyPair('Ed25519')).publicKey.raw, challenge: randomBytes(40), typ: 'edge' }
    nonce = playIntegrityNonce(context.challenge, context.publicKey)
  })

  const verifier = (extra: Record<string, unknown> = {}): ReturnType<typeof playIntegrity> =>
    playIntegrity({ settings: parsePlayIntegritySettings(JSON.stringify({ ...keys.settings, ...extra }), 'play.json'), now: () => NOW })
  const evidence = async (payload: unknown, k = keys): Promise<string> => JSON.stringify({ token: await token(k, payload) })

  async function refused (reason: PlayIntegrityRefusalReason, ev: string | undefined, extra: Record<string, unknown> = {}): Promise<void> {
    await assert.rejects(verifier(extra).verify(ev, context), (err: unknown) => {
      assert.ok(err instanceof PlayIntegrityRefusal, `a typed refusal, not ${String(err)}`)
      assert.equal(err.code, reason, err.message)
      return true
    })
  }

  it('accepts a verdict for this enrolment (nonce padded or not, classic or standard request)', async () => {
    assert.equal(await verifier().verify(await evidence(verdict(nonce, NOW)), context), true)
    assert.equal(await verifier().verify(await evidence(verdict(`${nonce}=`, NOW)), context), true)
    assert.equal(await verifier().verify(await evidence(verdict('', NOW, { request: { nonce: undefined, requestHash: nonce } })), context), true)
  })

  describe('through a real issuer', () => {
    let t: TestIssuer
    before(async () => { t = await startTestIssuer({ attestation: playIntegrity({ settings: parsePlayIntegritySettings(JSON.stringify(keys.settings), 'play.json'), now: () => NOW }) }) })
    after(async () => { await t.stop() })

    it('enrols a node with a good verdict; a refusal is audited with its reason and spends no code', async () => {
      const client = new IssuerClient({ url: t.url })
      const key = await generateKeyPair('Ed25519')
      const code = await t.issuer.createCode('edge')
      const before = await t.issuer.audit.size()
      await assert.rejects(client.enroll(key, code, async ch => await evidence(verdict(playIntegrityNonce(ch, key.publicKey.raw), NOW, { device: { deviceRecognitionVerdict: [] } }))),
        (e: IssuerClientError) => e.code === 'attestation-failed')
      const enrolled = await client.enroll(key, code, async ch => await evidence(verdict(playIntegrityNonce(ch, key.publicKey.raw), NOW)))
      assert.equal(enrolled.typ, 'edge')
      const entries = await t.issuer.audit.entries(before)
      assert.deepEqual(entries.map(e => [e.kind, e.data.attestation, e.data.detail]), [['enroll-refused', 'play-integrity', 'device-integrity'], ['enroll', 'play-integrity', undefined]])
    })
  })

  describe('tempus issuer start --attestation play-integrity', () => {
    const ENV = { TEMPUS_ISSUER_PASSPHRASE: 'play-test-issuer', TEMPUS_ISSUER_PASSPHRASE_FILE: '', CREDENTIALS_DIRECTORY: '' }
    let dir: string
    let data: string
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'tempus-play-'))
      data = join(dir, 'issuer')
      const init = await tempus(['issuer', 'init', '--data', data, '--overlay', 'play-test', '--threshold', '1', '--json'], ENV)
      assert.equal(init.code, 0, init.stderr)
      await writeFile(join(dir, 'play.json'), JSON.stringify(keys.settings))
      await chmod(join(dir, 'play.json'), 0o600)
      await writeFile(join(dir, 'bad.json'), JSON.stringify({ ...keys.settings, maxAgeSeconds: 0 }))
    })
    after(async () => {
      await killAll()
      await rm(dir, { recursive: true, force: true })
    })

    it('refuses a missing or bad settings file in one line (exit 2), then serves verified enrolments', async () => {
      const start = ['issuer', 'start', '--data', data, '--listen', '127.0.0.1:0', '--log-level', 'silent']
      const cases: Array<[string[], RegExp]> = [
        [['--attestation', 'play-integrity'], /needs --play-integrity FILE/],
        [['--attestation', 'play-integrity', '--play-integrity', join(dir, 'missing.json')], /--play-integrity .*missing\.json: no such file/],
        [['--attestation', 'play-integrity', '--play-integrity', join(dir, 'bad.json')], /maxAgeSeconds must be a whole number/],
        [['--play-integrity', join(dir, 'play.json')], /goes with --attestation play-integrity/]
      ]
      for (const [args, message] of cases) {
        const res = await tempus([...start, ...args], ENV)
        assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`)
        assert.match(res.stderr, message)
        assert.ok(!res.stderr.includes(keys.settings.decryptionKey))
      }
      const issuer = spawnTempus(['issuer', 'start', '--data', data, '--listen', '127.0.0.1:0', '--json', '--log-level', 'warn', '--attestation', 'play-integrity', '--play-integrity', join(dir, 'play.json')], ENV)
      const url = JSON.parse(await issuer.nextLine(l => l.includes('"started"'))).url as string
      const code = JSON.parse((await tempus(['issuer', 'code', '--data', data, '--type', 'edge', '--json'], ENV)).stdout).code as string
      const key = await generateKeyPair('Ed25519')
      // the CLI issuer's clock is the machine's: a verdict stamped now
      const enrolled = await new IssuerClient({ url }).enroll(key, code, async ch => await evidence(verdict(playIntegrityNonce(ch, key.publicKey.raw), Date.now())))
      assert.equal(enrolled.typ, 'edge')
    })
  })

  it('refuses each wrong part with its reason', async () => {
    await refused('bad-token', await evidence(verdict(nonce, NOW), playKeys()))
    const otherSigner = { ...keys, signing: playKeys().signing }
    await refused('bad-token', await evidence(verdict(nonce, NOW), otherSigner))
    await refused('wrong-package', await evidence(verdict(nonce, NOW, { request: { requestPackageName: 'org.example.other' } })))
    await refused('wrong-package', await evidence(verdict(nonce, NOW, { app: { packageName: 'org.example.other' } })))
    await refused('wrong-nonce', await evidence(verdict(playIntegrityNonce(randomBytes(40), context.publicKey), NOW)))
    await refused('wrong-nonce', await evidence(verdict(playIntegrityNonce(context.challenge, (await generateKeyPair('Ed25519')).publicKey.raw), NOW)))
    await refused('stale-verdict', await evidence(verdict(nonce, NOW, { request: { timestampMillis: String(NOW - 121_000) } })))
    await refused('stale-verdict', await evidence(verdict(nonce, NOW, { request: { timestampMillis: String(NOW + 60_000) } })))
    await refused('stale-verdict', await evidence(verdict(nonce, NOW, { request: { timestampMillis: 'soon' } })))
    await refused('app-not-recognized', await evidence(verdict(nonce, NOW, { app: { appRecognitionVerdict: 'UNRECOGNIZED_VERSION' } })))
    const digests = { certificateDigests: [digestHex(new Uint8Array(0)).replace(/./, 'f'), Buffer.from(SIGNER).toString('hex')] }
    assert.equal(await verifier(digests).verify(await evidence(verdict(nonce, NOW)), context), true)
    await refused('wrong-signer', await evidence(verdict(nonce, NOW, { app: { certificateSha256Digest: [Buffer.alloc(32, 9).toString('base64url')] } })), digests)
    await refused('device-integrity', await evidence(verdict(nonce, NOW, { device: { deviceRecognitionVerdict: ['MEETS_BASIC_INTEGRITY'] } })))
    await refused('device-integrity', await evidence(verdict(nonce, NOW)), { deviceIntegrity: 'MEETS_STRONG_INTEGRITY' })
    await refused('unlicensed', await evidence(verdict(nonce, NOW, { account: { appLicensingVerdict: 'UNLICENSED' } })), { requireLicensed: true })
  })

  it('malformed evidence and tokens are refused with their reason, never a crash', async () => {
    const good = JSON.parse(await evidence(verdict(nonce, NOW))) as { token: string }
    const parts = good.token.split('.')
    const cases: Array<[PlayIntegrityRefusalReason, string | undefined]> = [
      ['malformed-evidence', undefined],
      ['malformed-evidence', 'not json'],
      ['malformed-evidence', JSON.stringify({ token: good.token, extra: 1 })],
      ['malformed-evidence', JSON.stringify({ token: 'a.b.c' })],
      ['malformed-evidence', JSON.stringify({ token: `${good.token}!` })],
      ['malformed-evidence', 'x'.repeat(9000)],
      ['bad-token', JSON.stringify({ token: [parts[0], parts[1], parts[2], 'AAAA', parts[4]].join('.') })],
      ['bad-token', JSON.stringify({ token: ['e30', ...parts.slice(1)].join('.') })],
      ['malformed-evidence', await evidence('not a verdict')],
      ['malformed-evidence', await evidence({ requestDetails: {} })]
    ]
    for (const [reason, input] of cases) {
      await assert.rejects(verifier().verify(input, context), (err: unknown) => err instanceof PlayIntegrityRefusal && err.code === reason, String(input).slice(0, 60))
    }
  })

  it('the settings file is validated, naming the field and never a key', () => {
    const secret = keys.settings.decryptionKey
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ ...keys.settings, packageName: 'tempus' }, /packageName/],
      [{ ...keys.settings, decryptionKey: Buffer.alloc(16).toString('base64') }, /decryptionKey must be a 256-bit AES key/],
      [{ ...keys.settings, decryptionKey: 'not base64!' }, /decryptionKey must be the base64 text/],
      [{ ...keys.settings, verificationKey: secret }, /verificationKey is not a DER public key/],
      [{ ...keys.settings, deviceIntegrity: 'MEETS_BASIC_INTEGRITY' }, /deviceIntegrity/],
      [{ ...keys.settings, certificateDigests: ['abc'] }, /certificateDigests/],
      [{ ...keys.settings, maxAgeSeconds: 3600 }, /maxAgeSeconds/],
      [{ ...keys.settings, extra: true }, /unknown field extra/]
    ]
    for (const [settings, message] of bad) {
      assert.throws(() => parsePlayIntegritySettings(JSON.stringify(settings), 'play.json'), (err: unknown) => err instanceof ConfigError && message.test(err.message) && !err.message.includes(secret), JSON.stringify(Object.keys(settings)))
    }
  })
})

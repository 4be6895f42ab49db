/**
 * Issue #18 item 4: Apple App Attest at enrolment, verified as pure code
 * against attestation objects the test builds (test root → intermediate →
 * credential certificate with the nonce extension; authData; CBOR). A good
 * one enrols through a real issuer; each refusal has its own reason;
 * malformed input (JSON, base64url, CBOR) is refused, never a crash.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { CborError, decodeCbor } from '../../src/issuer/apple/cbor.ts'
import { appAttestClientDataHash } from '../../src/issuer/apple/client-data.ts'
import { AAGUID_DEVELOPMENT } from '../../src/issuer/apple/constants.ts'
import { AppAttestRefusal } from '../../src/issuer/apple/errors.ts'
import { appAttestation } from '../../src/issuer/apple/verifier.ts'
import { parseAndroidRoots } from '../../src/issuer/android/roots.ts'
import { IssuerClient, IssuerClientError } from '../../src/issuer-client/client.ts'
import { newCa, pem } from '../fixtures/android-chain.ts'
import { appAttestEvidence, cbor } from '../fixtures/app-attest.ts'
import { killAll, spawnTempus, tempus } from '../fixtures/cli.ts'
import { startTestIssuer } from '../fixtures/issuer.ts'
import type { AppAttestRefusalReason } from '../../src/issuer/apple/errors.ts'
import type { AppAttestInit } from '../../src/issuer/apple/verifier.ts'
import type { AttestationContext } from '../../src/issuer/attestation.ts'
import type { TestCa } from '../fixtures/android-chain.ts'
import type { AttestOptions } from '../fixtures/app-attest.ts'
import type { TestIssuer } from '../fixtures/issuer.ts'

const NOW = Date.now()
const APP_ID = 'ABCDE12345.org.example.tempus'

describe('apple app attest', () => {
  let root: TestCa
  let intermediate: TestCa
  let roots: ReturnType<typeof parseAndroidRoots>
  let context: AttestationContext

  before(async () => {
    root = newCa('Test App Attestation Root CA', undefined, { now: NOW })
    intermediate = newCa('Test App Attestation CA 1', root, { now: NOW })
    roots = parseAndroidRoots(pem(root.der), 'apple-root.pem')
    context = { publicKey: (await generateKeyPair('Ed25519')).publicKey.raw, challenge: randomBytes(40), typ: 'edge' }
  })

  const verifier = (init: Partial<AppAttestInit> = {}): ReturnType<typeof appAttestation> =>
    appAttestation({ roots, appIds: [APP_ID], now: () => NOW, ...init })
  const evidence = (o: AttestOptions = {}, ctx = context, ca = intermediate): string =>
    appAttestEvidence(ca, appAttestClientDataHash(ctx.challenge, ctx.publicKey), NOW, o)

  async function refused (reason: AppAttestRefusalReason, ev: string | undefined, init: Partial<AppAttestInit> = {}): Promise<void> {
    await assert.rejects(verifier(init).verify(ev, context), (err: unknown) => {
      assert.ok(err instanceof AppAttestRefusal, `a typed refusal, not ${String(err)}`)
      assert.equal(err.code, reason, err.message)
      return true
    })
  }

  it('accepts a genuine attestation object for this enrolment and key', async () => {
    assert.equal(await verifier().verify(evidence(), context), true)
  })

  describe('through a real issuer', () => {
    let t: TestIssuer
    before(async () => { t = await startTestIssuer({ attestation: appAttestation({ roots, appIds: [APP_ID], now: () => NOW }) }) })
    after(async () => { await t.stop() })

    it('enrols an attested node; a refusal is audited with its reason and spends no code', async () => {
      const client = new IssuerClient({ url: t.url })
      const key = await generateKeyPair('Ed25519')
      const code = await t.issuer.createCode('edge')
      const before = await t.issuer.audit.size()
      await assert.rejects(client.enroll(key, code, ch => appAttestEvidence(intermediate, appAttestClientDataHash(ch, key.publicKey.raw), NOW, { appId: 'ABCDE12345.org.example.other' })),
        (e: IssuerClientError) => e.code === 'attestation-failed')
      const enrolled = await client.enroll(key, code, ch => appAttestEvidence(intermediate, appAttestClientDataHash(ch, key.publicKey.raw), NOW))
      assert.equal(enrolled.typ, 'edge')
      const entries = await t.issuer.audit.entries(before)
      assert.deepEqual(entries.map(e => [e.kind, e.data.attestation, e.data.detail]), [['enroll-refused', 'apple-app-attest', 'wrong-app-id'], ['enroll', 'apple-app-attest', undefined]])
    })
  })

  /** the same evidence with its x5c changed (authData, and so the nonce, untouched) */
  function withX5c (ev: string, change: (x5c: unknown[]) => unknown[]): string {
    const { keyId, attestation } = JSON.parse(ev) as { keyId: string, attestation: string }
    const object = decodeCbor(Buffer.from(attestation, 'base64url')) as Map<string, unknown>
    const attStmt = object.get('attStmt') as Map<string, unknown>
    attStmt.set('x5c', change(attStmt.get('x5c') as unknown[]))
    return JSON.stringify({ keyId, attestation: Buffer.from(cbor(object)).toString('base64url') })
  }

  describe('tempus issuer start --attestation apple-app-attest', () => {
    const ENV = { TEMPUS_ISSUER_PASSPHRASE: 'appattest-test-issuer', TEMPUS_ISSUER_PASSPHRASE_FILE: '', CREDENTIALS_DIRECTORY: '' }
    let dir: string
    let data: string
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'tempus-appattest-'))
      data = join(dir, 'issuer')
      const init = await tempus(['issuer', 'init', '--data', data, '--overlay', 'appattest-test', '--threshold', '1', '--json'], ENV)
      assert.equal(init.code, 0, init.stderr)
      await writeFile(join(dir, 'apple-root.pem'), pem(root.der))
    })
    after(async () => {
      await killAll()
      await rm(dir, { recursive: true, force: true })
    })

    it('refuses bad flags in one line (exit 2), then serves attested enrolments', async () => {
      const start = ['issuer', 'start', '--data', data, '--listen', '127.0.0.1:0', '--log-level', 'silent']
      const cases: Array<[string[], RegExp]> = [
        [['--attestation', 'apple-app-attest'], /needs --appattest-root FILE/],
        [['--attestation', 'apple-app-attest', '--appattest-root', join(dir, 'apple-root.pem')], /--appattest-app-id: give 1 to 100 App IDs/],
        [['--attestation', 'apple-app-attest', '--appattest-root', join(dir, 'apple-root.pem'), '--appattest-app-id', 'org.example.tempus'], /not an App ID; expected TEAMID\.bundle\.id/],
        [['--attestation', 'apple-app-attest', '--appattest-root', join(dir, 'missing.pem'), '--appattest-app-id', APP_ID], /--appattest-root .*missing\.pem: no such file/],
        [['--appattest-app-id', APP_ID], /go with --attestation apple-app-attest/]
      ]
      for (const [args, message] of cases) {
        const res = await tempus([...start, ...args], ENV)
        assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`)
        assert.match(res.stderr, message)
      }
      const issuer = spawnTempus(['issuer', 'start', '--data', data, '--listen', '127.0.0.1:0', '--json', '--log-level', 'warn',
        '--attestation', 'apple-app-attest', '--appattest-root', join(dir, 'apple-root.pem'), '--appattest-app-id', APP_ID], ENV)
      const url = JSON.parse(await issuer.nextLine(l => l.includes('"started"'))).url as string
      const code = JSON.parse((await tempus(['issuer', 'code', '--data', data, '--type', 'edge', '--json'], ENV)).stdout).code as string
      const key = await generateKeyPair('Ed25519')
      const enrolled = await new IssuerClient({ url }).enroll(key, code, ch => appAttestEvidence(intermediate, appAttestClientDataHash(ch, key.publicKey.raw), NOW))
      assert.equal(enrolled.typ, 'edge')
    })
  })

  it('refuses each wrong part with its reason', async () => {
    const otherRoot = newCa('Another Root', undefined, { now: NOW })
    await refused('unknown-root', evidence({}, context, newCa('Another CA', otherRoot, { now: NOW })))
    // a credential certificate from another CA of the same name, presented with the real intermediate; a flipped signature bit
    await refused('bad-signature', withX5c(evidence({}, context, newCa('Test App Attestation CA 1', root, { now: NOW })), ([cred]) => [cred, intermediate.der]))
    await refused('bad-signature', withX5c(evidence(), ([cred, ca]) => {
      const broken = new Uint8Array(cred as Uint8Array)
      broken[broken.length - 1] = (broken[broken.length - 1] as number) ^ 1
      return [broken, ca]
    }))
    await refused('not-a-ca', evidence({}, context, newCa('Not a CA', root, { now: NOW, ca: false })))
    await refused('outside-validity', evidence({ notAfter: new Date(NOW - 1000) }))
    // another enrolment's challenge; another node's key; a nonce that is not SHA-256(authData ‖ clientDataHash)
    await refused('wrong-nonce', evidence({}, { ...context, challenge: randomBytes(40) }))
    await refused('wrong-nonce', evidence({}, { ...context, publicKey: (await generateKeyPair('Ed25519')).publicKey.raw }))
    await refused('wrong-nonce', evidence({ nonce: randomBytes(32) }))
    await refused('wrong-key-id', evidence({ keyId: randomBytes(32) }))
    await refused('wrong-key-id', evidence({ credentialId: randomBytes(32) }))
    await refused('wrong-app-id', evidence({ appId: 'ABCDE12345.org.example.other' }))
    await refused('wrong-app-id', evidence({ appId: 'ZZZZZ99999.org.example.tempus' }))
    await refused('wrong-counter', evidence({ counter: 1 }))
    await refused('wrong-environment', evidence({ aaguid: AAGUID_DEVELOPMENT }))
    await refused('wrong-environment', evidence({ aaguid: new Uint8Array(16) }))
    assert.equal(await verifier({ allowDevelopment: true }).verify(evidence({ aaguid: AAGUID_DEVELOPMENT }), context), true)
  })

  it('malformed evidence is refused with its reason, never a crash', async () => {
    const good = JSON.parse(evidence()) as { keyId: string, attestation: string }
    const object = decodeCbor(Buffer.from(good.attestation, 'base64url')) as Map<string, unknown>
    const withObject = (o: unknown): string => JSON.stringify({ keyId: good.keyId, attestation: Buffer.from(cbor(o)).toString('base64url') })
    const attStmt = object.get('attStmt') as Map<string, unknown>
    const inputs: Array<[string, string | undefined]> = [
      ['no evidence', undefined],
      ['not JSON', '{'],
      ['another field', JSON.stringify({ ...good, extra: 1 })],
      ['no keyId', JSON.stringify({ attestation: good.attestation })],
      ['short keyId', JSON.stringify({ ...good, keyId: 'AAAA' })],
      ['padded base64', JSON.stringify({ ...good, attestation: `${good.attestation}=` })],
      ['not CBOR', JSON.stringify({ ...good, attestation: Buffer.from([0xff, 0x00]).toString('base64url') })],
      ['truncated CBOR', JSON.stringify({ ...good, attestation: Buffer.from(good.attestation, 'base64url').subarray(0, 200).toString('base64url') })],
      ['another fmt', withObject(new Map([...object, ['fmt', 'packed']]))],
      ['a fourth field', withObject(new Map([...object, ['extra', 1]]))],
      ['no x5c', withObject(new Map([...object, ['attStmt', new Map([['receipt', new Uint8Array(1)]])]]))],
      ['x5c not certificates', withObject(new Map([...object, ['attStmt', new Map([...attStmt, ['x5c', [new Uint8Array(10)]]])]]))],
      ['x5c too long', withObject(new Map([...object, ['attStmt', new Map([...attStmt, ['x5c', [1, 2, 3, 4, 5]]])]]))],
      ['authData too short', withObject(new Map([...object, ['authData', new Uint8Array(40)]]))],
      ['a credential id past the end', withObject(new Map([...object, ['authData', Buffer.concat([Buffer.alloc(53), Buffer.of(0xff, 0xff)])]]))],
      ['huge', 'x'.repeat(20_000)]
    ]
    for (const [what, input] of inputs) {
      await assert.rejects(verifier().verify(input, context), (err: unknown) => err instanceof AppAttestRefusal && err.code === 'malformed-evidence', what)
    }
  })

  it('never a crash: 400 random corruptions of a good attestation object are each refused with a typed reason', async () => {
    const good = JSON.parse(evidence()) as { keyId: string, attestation: string }
    const bytes = Buffer.from(good.attestation, 'base64url')
    let seed = 0x1d872b41
    const next = (n: number): number => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return (seed >>> 0) % n }
    const reasons = new Set<string>()
    for (let i = 0; i < 400; i++) {
      const copy = Buffer.from(bytes)
      for (let k = 0, flips = 1 + next(4); k < flips; k++) copy[next(copy.length)] = next(256)
      try {
        await verifier().verify(JSON.stringify({ keyId: good.keyId, attestation: copy.toString('base64url') }), context)
      } catch (err) {
        assert.ok(err instanceof AppAttestRefusal, `corruption ${i}: ${String(err)}`)
        reasons.add(err.code)
      }
    }
    assert.ok(reasons.size >= 3, [...reasons].join())
  })

  it('the CBOR decoder refuses what it does not accept, within bounds', () => {
    assert.deepEqual(decodeCbor(cbor(new Map<string, unknown>([['a', [1, -2, 'x', new Uint8Array([9])]]]))), new Map([['a', [1, -2, 'x', new Uint8Array([9])]]]))
    const bad: Array<[string, number[]]> = [
      ['empty', []],
      ['indefinite array', [0x9f, 0x01, 0xff]],
      ['indefinite bytes', [0x5f, 0x41, 0x00, 0xff]],
      ['a tag', [0xc0, 0x61, 0x61]],
      ['a float', [0xf9, 0x3c, 0x00]],
      ['undefined', [0xf7]],
      ['reserved', [0x1c]],
      ['bytes past the end', [0x5a, 0xff, 0xff, 0xff, 0xff, 0x00]],
      ['a count past the end', [0x9b, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00]],
      ['an integer beyond 2^53', [0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]],
      ['a duplicate key', [0xa2, 0x61, 0x61, 0x01, 0x61, 0x61, 0x02]],
      ['a map key that is bytes', [0xa1, 0x41, 0x00, 0x01]],
      ['text that is not UTF-8', [0x62, 0xc3, 0x28]],
      ['bytes after the item', [0x01, 0x02]],
      ['nested too deep', [0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x01]]
    ]
    for (const [what, bytes] of bad) {
      assert.throws(() => decodeCbor(new Uint8Array(bytes)), (err: unknown) => err instanceof CborError && err.name === 'CborError', what)
    }
    assert.throws(() => decodeCbor(cbor(Array.from({ length: 300 }, () => 0))), CborError, 'more items than the limit')
  })
})

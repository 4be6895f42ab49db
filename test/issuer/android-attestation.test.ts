/**
 * Issue #18 item 4: Android key attestation at enrolment. The test is the
 * device: it builds its own chain (test root → intermediate → leaf with a
 * KeyDescription, the leaf's key the node's Ed25519 key). A good chain
 * enrols through a real issuer; each refusal has its own reason, in the
 * audit log too; malformed evidence is refused, never a crash.
 */
import assert from 'node:assert/strict'
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto'
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { SecurityLevel, VerifiedBootState } from '@peculiar/asn1-android'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { AttestationRefusal } from '../../src/issuer/attestation.ts'
import { androidAttestationChallenge } from '../../src/issuer/android/challenge.ts'
import { MAX_EVIDENCE_CHARS } from '../../src/issuer/android/constants.ts'
import { AndroidAttestationRefusal } from '../../src/issuer/android/errors.ts'
import { androidEvidence } from '../../src/issuer/android/evidence.ts'
import { parseAndroidPolicy } from '../../src/issuer/android/policy.ts'
import { revocationListFile } from '../../src/issuer/android/files.ts'
import { parseRevocationStatusList } from '../../src/issuer/android/revocation-list.ts'
import { parseAndroidRoots } from '../../src/issuer/android/roots.ts'
import { androidAttestation } from '../../src/issuer/android/verifier.ts'
import { ConfigError } from '../../src/core/config-error.ts'
import { IssuerClient, IssuerClientError } from '../../src/issuer-client/client.ts'
import { keyDescription, looseKeyDescription, newCa, newLeaf, pem } from '../fixtures/android-chain.ts'
import { killAll, spawnTempus, tempus } from '../fixtures/cli.ts'
import { startTestIssuer } from '../fixtures/issuer.ts'
import type { AndroidRefusalReason } from '../../src/issuer/android/errors.ts'
import type { AndroidAttestationInit } from '../../src/issuer/android/verifier.ts'
import type { AttestationContext } from '../../src/issuer/attestation.ts'
import type { KeyDescriptionOptions, LeafOptions, TestCa } from '../fixtures/android-chain.ts'
import type { TestIssuer } from '../fixtures/issuer.ts'

const NOW = Date.now()
const DAY = 86_400_000

describe('android key attestation', () => {
  let root: TestCa
  let intermediate: TestCa
  let roots: ReturnType<typeof parseAndroidRoots>
  let node: Uint8Array
  let context: AttestationContext

  before(async () => {
    root = newCa('Test Attestation Root', undefined, { now: NOW })
    intermediate = newCa('Test Attestation Intermediate', root, { now: NOW })
    roots = parseAndroidRoots(pem(root.der), 'roots.pem')
    node = (await generateKeyPair('Ed25519')).publicKey.raw
    context = { publicKey: node, challenge: randomBytes(40), typ: 'edge' }
  })

  const verifier = (init: Partial<AndroidAttestationInit> = {}): ReturnType<typeof androidAttestation> =>
    androidAttestation({ roots, now: () => NOW, ...init })

  /** the evidence a device sends for `context`, with any field changed */
  async function evidence (o: { leaf?: Partial<LeafOptions>, description?: Partial<KeyDescriptionOptions>, issuer?: TestCa, chain?: (leaf: Uint8Array) => Uint8Array[] } = {}): Promise<string> {
    const leaf = newLeaf(o.issuer ?? intermediate, {
      publicKey: node,
      description: { challenge: androidAttestationChallenge(context.challenge, 'key'), ...o.description },
      ...o.leaf
    }, NOW)
    return androidEvidence(o.chain?.(leaf) ?? [leaf, intermediate.der, root.der])
  }

  async function refused (reason: AndroidRefusalReason, ev: string | undefined, init: Partial<AndroidAttestationInit> = {}, ctx = context): Promise<void> {
    await assert.rejects(verifier(init).verify(ev, ctx), (err: unknown) => {
      assert.ok(err instanceof AndroidAttestationRefusal, `a typed refusal, not ${String(err)}`)
      assert.ok(err instanceof AttestationRefusal)
      assert.equal(err.name, 'AndroidAttestationRefusal')
      assert.equal(err.code, reason, err.message)
      return true
    })
  }

  it('accepts a good chain, with or without the root in it, and says what it saw', async () => {
    const seen: unknown[] = []
    assert.equal(await verifier({ onAccepted: v => seen.push(v) }).verify(await evidence(), context), true)
    const withoutRoot = await evidence({ chain: leaf => [leaf, intermediate.der] })
    assert.equal(await verifier().verify(withoutRoot, context), true)
    assert.deepEqual(seen, [{ binding: 'key', securityLevel: 'TrustedEnvironment', osPatchLevel: 202509 }])
  })

  describe('through a real issuer', () => {
    let t: TestIssuer
    let client: IssuerClient
    before(async () => {
      t = await startTestIssuer({ attestation: androidAttestation({ roots, now: () => NOW }) })
      client = new IssuerClient({ url: t.url })
    })
    after(async () => { await t.stop() })

    async function deviceChain (publicKey: Uint8Array, challenge: Uint8Array): Promise<string> {
      const leaf = newLeaf(intermediate, { publicKey, description: { challenge } }, NOW)
      return androidEvidence([leaf, intermediate.der, root.der])
    }

    it('a node whose key the keystore attests enrols; the audit log says android', async () => {
      const key = await generateKeyPair('Ed25519')
      const code = await t.issuer.createCode('edge')
      const before = await t.issuer.audit.size()
      const enrolled = await client.enroll(key, code, async ch => await deviceChain(key.publicKey.raw, androidAttestationChallenge(ch, 'key')))
      assert.equal(enrolled.typ, 'edge')
      const entries = await t.issuer.audit.entries(before)
      assert.deepEqual(entries.map(e => [e.kind, e.data.attestation]), [['enroll', 'android']])
      await client.token(key, enrolled.credential)
    })

    it('a refusal: the node hears only attestation-failed, the audit log has the reason, the code is not spent', async () => {
      const key = await generateKeyPair('Ed25519')
      const code = await t.issuer.createCode('edge')
      const before = await t.issuer.audit.size()
      // a chain made for another enrolment's challenge (a replay)
      await assert.rejects(client.enroll(key, code, async () => await deviceChain(key.publicKey.raw, androidAttestationChallenge(randomBytes(40), 'key'))),
        (e: IssuerClientError) => e.code === 'attestation-failed' && !JSON.stringify(e).includes('wrong-challenge'))
      // the chain for another key
      const other = await generateKeyPair('Ed25519')
      await assert.rejects(client.enroll(key, code, async ch => await deviceChain(other.publicKey.raw, androidAttestationChallenge(ch, 'key'))), (e: IssuerClientError) => e.code === 'attestation-failed')
      // no evidence at all
      await assert.rejects(client.enroll(key, code), (e: IssuerClientError) => e.code === 'attestation-failed')
      const entries = await t.issuer.audit.entries(before)
      assert.deepEqual(entries.map(e => [e.kind, e.data.reason, e.data.attestation, e.data.detail]), [
        ['enroll-refused', 'attestation', 'android', 'wrong-challenge'],
        ['enroll-refused', 'attestation', 'android', 'wrong-key'],
        ['enroll-refused', 'attestation', 'android', 'malformed-evidence']
      ])
      assert.deepEqual({ ...await t.issuer.db.one('SELECT uses_left FROM codes WHERE code_hash = $1', [createHash('sha256').update(code).digest('hex')]) }, { uses_left: 1 })
      // the same code then enrols the node with a good chain
      await client.enroll(key, code, async ch => await deviceChain(key.publicKey.raw, androidAttestationChallenge(ch, 'key')))
    })
  })

  describe('refusals, each with its reason', () => {
    it('unknown root', async () => {
      const otherRoot = newCa('Another Root', undefined, { now: NOW })
      const otherIntermediate = newCa('Another Intermediate', otherRoot, { now: NOW })
      await refused('unknown-root', await evidence({ issuer: otherIntermediate, chain: leaf => [leaf, otherIntermediate.der, otherRoot.der] }))
      // a chain that claims the configured root's name but is signed by another key
      const impostor = newCa('Test Attestation Root', undefined, { now: NOW })
      const impostorIntermediate = newCa('Test Attestation Intermediate', impostor, { now: NOW })
      await refused('unknown-root', await evidence({ issuer: impostorIntermediate, chain: leaf => [leaf, impostorIntermediate.der] }))
    })

    it('broken signature: a flipped bit in the leaf\'s signature, or a leaf from another intermediate', async () => {
      await refused('bad-signature', await evidence({
        chain: leaf => {
          const broken = new Uint8Array(leaf)
          broken[broken.length - 1] = (broken[broken.length - 1] as number) ^ 1
          return [broken, intermediate.der, root.der]
        }
      }))
      const sibling = newCa('Test Attestation Intermediate', root, { now: NOW })
      await refused('bad-signature', await evidence({ issuer: sibling }))
    })

    it('a signer that is not a CA', async () => {
      const notCa = newCa('Not a CA', root, { now: NOW, ca: false })
      await refused('not-a-ca', await evidence({ issuer: notCa, chain: leaf => [leaf, notCa.der, root.der] }))
    })

    it('an attested key posing as a CA (a genuine device\'s key signing a leaf of the attacker\'s choosing)', async () => {
      const posing = newCa('Android Keystore Key', intermediate, { now: NOW, keyDescription: keyDescription({ challenge: androidAttestationChallenge(context.challenge, 'key') }) })
      await refused('not-a-ca', await evidence({ issuer: posing, chain: leaf => [leaf, posing.der, intermediate.der, root.der] }))
    })

    it('expired or not yet valid certificates, at the injected clock', async () => {
      await refused('outside-validity', await evidence({ leaf: { notBefore: new Date(NOW - 10 * DAY), notAfter: new Date(NOW - DAY) } }))
      await refused('outside-validity', await evidence({ leaf: { notBefore: new Date(NOW + DAY), notAfter: new Date(NOW + 10 * DAY) } }))
      // the same chain is good a day later only if it was valid then: the clock is the verifier's, not the machine's
      assert.equal(await verifier({ now: () => NOW + 2 * DAY }).verify(await evidence(), context), true)
      await refused('outside-validity', await evidence(), { now: () => NOW + 400 * DAY })
    })

    it('wrong challenge', async () => {
      await refused('wrong-challenge', await evidence({ description: { challenge: androidAttestationChallenge(randomBytes(40), 'key') } }))
      // the raw issuer challenge, without the domain
      await refused('wrong-challenge', await evidence({ description: { challenge: context.challenge } }))
      // the challenge-binding form, while the leaf is the node's key
      await refused('wrong-challenge', await evidence({ description: { challenge: androidAttestationChallenge(context.challenge, 'challenge', node) } }))
    })

    it('wrong key: another Ed25519 key, or a P-256 keystore key while the policy does not accept the challenge binding', async () => {
      await refused('wrong-key', await evidence({ leaf: { publicKey: (await generateKeyPair('Ed25519')).publicKey.raw } }))
      const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      await refused('wrong-key', await evidence({ leaf: { publicKey: p256.publicKey }, description: { challenge: androidAttestationChallenge(context.challenge, 'challenge', node) } }))
    })

    it('challenge binding, when the policy accepts it: the challenge must carry the node\'s key', async () => {
      const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      const policy = parseAndroidPolicy('{"challengeBinding": true}', 'policy.json')
      const seen: unknown[] = []
      const bound = await evidence({ leaf: { publicKey: p256.publicKey }, description: { challenge: androidAttestationChallenge(context.challenge, 'challenge', node) } })
      assert.equal(await verifier({ policy, onAccepted: v => seen.push(v) }).verify(bound, context), true)
      assert.equal((seen[0] as { binding: string }).binding, 'challenge')
      // the same chain for another node's key
      await refused('wrong-challenge', bound, { policy }, { ...context, publicKey: (await generateKeyPair('Ed25519')).publicKey.raw })
      // the key-binding challenge does not bind another key
      await refused('wrong-challenge', await evidence({ leaf: { publicKey: p256.publicKey } }), { policy })
    })

    it('software security level (attestation or key)', async () => {
      await refused('software-security-level', await evidence({ description: { attestationSecurityLevel: SecurityLevel.software } }))
      await refused('software-security-level', await evidence({ description: { keymasterSecurityLevel: SecurityLevel.software } }))
      // StrongBox is hardware
      const seen: unknown[] = []
      assert.equal(await verifier({ onAccepted: v => seen.push(v) }).verify(await evidence({ description: { attestationSecurityLevel: SecurityLevel.strongBox, keymasterSecurityLevel: SecurityLevel.strongBox } }), context), true)
      assert.equal((seen[0] as { securityLevel: string }).securityLevel, 'StrongBox')
    })

    it('an imported key (a copy may exist outside the device)', async () => {
      await refused('imported-key', await evidence({ description: { origin: 2 } }))
    })

    it('unverified boot, no root of trust, unlocked device', async () => {
      await refused('boot-not-verified', await evidence({ description: { verifiedBootState: VerifiedBootState.unverified } }))
      await refused('boot-not-verified', await evidence({ description: { verifiedBootState: VerifiedBootState.selfSigned } }))
      await refused('no-root-of-trust', await evidence({ description: { rootOfTrust: false } }))
      await refused('device-unlocked', await evidence({ description: { deviceLocked: false } }))
    })

    it('package not allowed: another package name, a shared UID with one unknown package, an unknown signer', async () => {
      const policy = parseAndroidPolicy(JSON.stringify({ applications: { packageNames: ['org.example.tempus'], signatureDigests: [Buffer.alloc(32, 7).toString('hex')] } }), 'policy.json')
      assert.equal(await verifier({ policy }).verify(await evidence(), context), true)
      await refused('package-not-allowed', await evidence({ description: { packageNames: ['org.example.other'] } }), { policy })
      await refused('package-not-allowed', await evidence({ description: { packageNames: ['org.example.tempus', 'org.example.other'] } }), { policy })
      await refused('package-not-allowed', await evidence({ description: { signatureDigests: [new Uint8Array(32).fill(9)] } }), { policy })
      await refused('package-not-allowed', await evidence({ description: { signatureDigests: [new Uint8Array(32).fill(7), new Uint8Array(32).fill(9)] } }), { policy })
    })

    it('patch level too old, or not attested', async () => {
      const policy = parseAndroidPolicy('{"minOsPatchLevel": 202601}', 'policy.json')
      await refused('patch-level-too-old', await evidence({ description: { osPatchLevel: 202509 } }), { policy })
      await refused('patch-level-too-old', await evidence({ description: { osPatchLevel: 0 } }), { policy })
      assert.equal(await verifier({ policy }).verify(await evidence({ description: { osPatchLevel: 202601 } }), context), true)
    })

    it('revoked serial (Google\'s status list shape, read from a local string), the leaf\'s or an intermediate\'s', async () => {
      const serial = intermediate.serial
      const list = parseRevocationStatusList(JSON.stringify({ entries: { [serial.toLowerCase()]: { status: 'REVOKED', reason: 'KEY_COMPROMISE' }, '8350192447815228107': { status: 'SUSPENDED', reason: 'SOFTWARE_FLAW' } } }), 'status.json')
      await refused('revoked-certificate', await evidence(), { revoked: () => list })
      const leafList = parseRevocationStatusList(JSON.stringify({ entries: { '00ab': { status: 'SUSPENDED' } } }), 'status.json')
      await refused('revoked-certificate', await evidence({ leaf: { serial: 'ab' } }), { revoked: () => leafList })
      assert.equal(await verifier({ revoked: () => leafList }).verify(await evidence({ leaf: { serial: 'ac' } }), context), true)
    })

    it('a key description with its tags out of order is read; one with a tag given twice is refused', async () => {
      const challenge = androidAttestationChallenge(context.challenge, 'key')
      assert.equal(await verifier().verify(await evidence({ leaf: { description: looseKeyDescription(challenge) } }), context), true)
      await refused('no-key-description', await evidence({ leaf: { description: looseKeyDescription(challenge, true) } }))
    })

    it('a leaf without a key description, or with one that does not parse', async () => {
      await refused('no-key-description', await evidence({ leaf: { description: 'none' } }))
      await refused('no-key-description', await evidence({ leaf: { description: new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x07]) } }))
      await refused('no-key-description', await evidence({ leaf: { description: randomBytes(64) } }))
    })
  })

  it('malformed evidence is refused with its reason, never a crash', async () => {
    const good = JSON.parse(await evidence()) as { chain: string[] }
    const [leaf = '', mid = '', top = ''] = good.chain
    const huge = 'A'.repeat(MAX_EVIDENCE_CHARS + 1)
    const bigCert = Buffer.from(randomBytes(5000)).toString('base64url')
    const inputs: Array<[string, string | undefined]> = [
      ['no evidence', undefined],
      ['empty', ''],
      ['not JSON', 'not json'],
      ['an array', JSON.stringify([leaf])],
      ['no chain', '{}'],
      ['another field too', JSON.stringify({ chain: good.chain, extra: 1 })],
      ['chain not an array', JSON.stringify({ chain: leaf })],
      ['empty chain', JSON.stringify({ chain: [] })],
      ['chain too long', JSON.stringify({ chain: [leaf, mid, mid, mid, mid, mid, top] })],
      ['a number', JSON.stringify({ chain: [7] })],
      ['bad base64', JSON.stringify({ chain: ['!!!!', mid] })],
      ['padded base64', JSON.stringify({ chain: [`${leaf}=`, mid] })],
      ['stray bits', JSON.stringify({ chain: ['AB'] })],
      ['not DER', JSON.stringify({ chain: [Buffer.from('hello, certificate').toString('base64url')] })],
      ['truncated DER', JSON.stringify({ chain: [Buffer.from(leaf, 'base64url').subarray(0, 100).toString('base64url'), mid] })],
      ['bytes after the certificate', JSON.stringify({ chain: [Buffer.concat([Buffer.from(leaf, 'base64url'), Buffer.of(0)]).toString('base64url'), mid] })],
      ['a huge certificate', JSON.stringify({ chain: [bigCert] })],
      ['huge evidence', huge]
    ]
    for (const [what, input] of inputs) {
      await assert.rejects(verifier().verify(input, context), (err: unknown) => err instanceof AndroidAttestationRefusal && err.code === 'malformed-evidence', what)
    }
  })

  describe('tempus issuer start --attestation android', () => {
    const ENV = { TEMPUS_ISSUER_PASSPHRASE: 'android-test-issuer', TEMPUS_ISSUER_PASSPHRASE_FILE: '', CREDENTIALS_DIRECTORY: '' }
    let dir: string
    let data: string
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'tempus-android-'))
      data = join(dir, 'issuer')
      const init = await tempus(['issuer', 'init', '--data', data, '--overlay', 'android-test', '--threshold', '1', '--json'], ENV)
      assert.equal(init.code, 0, init.stderr)
      await writeFile(join(dir, 'roots.pem'), pem(root.der))
      await writeFile(join(dir, 'policy.json'), JSON.stringify({ applications: { packageNames: ['org.example.tempus'] }, minOsPatchLevel: 202501 }))
      await writeFile(join(dir, 'bad-policy.json'), JSON.stringify({ minOsPatchLevel: 2025 }))
      await writeFile(join(dir, 'status.json'), JSON.stringify({ entries: { '2c8cdddfd5e03bfc': { status: 'REVOKED', reason: 'KEY_COMPROMISE' } } }))
    })
    after(async () => {
      await killAll()
      await rm(dir, { recursive: true, force: true })
    })

    it('the revocation list file is read again when it changes; a broken replacement keeps the last good list', async () => {
      const file = join(dir, 'changing.json')
      const write = async (text: string, second: number): Promise<void> => {
        await writeFile(file, text)
        await utimes(file, 1_700_000_000 + second, 1_700_000_000 + second)
      }
      await write(JSON.stringify({ entries: { ab: { status: 'REVOKED' } } }), 1)
      const errors: Error[] = []
      const current = await revocationListFile(file, err => errors.push(err))
      assert.deepEqual([...(await current()).keys()], ['ab'])
      await write(JSON.stringify({ entries: { ab: { status: 'REVOKED' }, cd: { status: 'SUSPENDED' } } }), 2)
      assert.deepEqual([...(await current()).keys()], ['ab', 'cd'])
      await write('{"entries": ', 3)
      assert.deepEqual([...(await current()).keys()], ['ab', 'cd'])
      assert.equal(errors.length, 1)
      assert.ok(errors[0] instanceof ConfigError)
      await rm(file)
      assert.deepEqual([...(await current()).keys()], ['ab', 'cd'])
      assert.equal(errors.length, 2)
    })

    it('refuses to start on a missing or bad file, in one line naming it (exit 2)', async () => {
      const start = ['issuer', 'start', '--data', data, '--listen', '127.0.0.1:0', '--log-level', 'silent']
      const cases: Array<[string[], RegExp]> = [
        [['--attestation', 'android'], /--attestation android needs --android-roots FILE/],
        [['--attestation', 'android', '--android-roots', join(dir, 'missing.pem')], /--android-roots .*missing\.pem: no such file/],
        [['--attestation', 'android', '--android-roots', join(dir, 'policy.json')], /--android-roots .*: expected 1 to 32 PEM certificates/],
        [['--attestation', 'android', '--android-roots', join(dir, 'roots.pem'), '--android-policy', join(dir, 'bad-policy.json')], /--android-policy .*: minOsPatchLevel must be a year and month as YYYYMM/],
        [['--android-roots', join(dir, 'roots.pem')], /go with --attestation android/]
      ]
      for (const [args, message] of cases) {
        const res = await tempus([...start, ...args], ENV)
        assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`)
        assert.match(res.stderr, message)
        assert.doesNotMatch(res.stderr, /^\s+at /m)
      }
    })

    it('serves enrolments that a device attests, with the policy and the revocation list in force', async () => {
      const issuer = spawnTempus(['issuer', 'start', '--data', data, '--listen', '127.0.0.1:0', '--json', '--log-level', 'warn',
        '--attestation', 'android', '--android-roots', join(dir, 'roots.pem'), '--android-policy', join(dir, 'policy.json'), '--android-revocations', join(dir, 'status.json')], ENV)
      const url = JSON.parse(await issuer.nextLine(l => l.includes('"started"'))).url as string
      const client = new IssuerClient({ url })
      const newCode = async (): Promise<string> => JSON.parse((await tempus(['issuer', 'code', '--data', data, '--type', 'edge', '--json'], ENV)).stdout).code as string
      const key = await generateKeyPair('Ed25519')
      const chain = (o: Partial<KeyDescriptionOptions> = {}) => (ch: Uint8Array): string =>
        androidEvidence([newLeaf(intermediate, { publicKey: key.publicKey.raw, description: { challenge: androidAttestationChallenge(ch, 'key'), ...o } }, NOW), intermediate.der, root.der])
      await assert.rejects(client.enroll(key, await newCode(), chain({ packageNames: ['org.example.other'] })), (e: IssuerClientError) => e.code === 'attestation-failed')
      const enrolled = await client.enroll(key, await newCode(), chain())
      assert.equal(enrolled.typ, 'edge')
    })
  })

  it('never a crash: 400 random corruptions of a good chain are each refused with a typed reason', async () => {
    const good = JSON.parse(await evidence()) as { chain: string[] }
    const ders = good.chain.map(c => Buffer.from(c, 'base64url'))
    // a seeded generator: the same corruptions on every run
    let seed = 0x2545f491
    const next = (n: number): number => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return (seed >>> 0) % n }
    const reasons = new Set<string>()
    for (let i = 0; i < 400; i++) {
      const which = next(ders.length)
      const copy = ders.map(d => Buffer.from(d))
      const target = copy[which] as Buffer
      for (let k = 0, flips = 1 + next(4); k < flips; k++) target[next(target.length)] = next(256)
      try {
        await verifier().verify(androidEvidence(copy), context)
      } catch (err) {
        assert.ok(err instanceof AndroidAttestationRefusal, `corruption ${i}: ${String(err)}`)
        reasons.add(err.code)
      }
    }
    assert.ok(reasons.size >= 3, [...reasons].join())
  })

  it('the policy, roots and revocation files are validated with errors that name the field', () => {
    const bad: Array<[string, RegExp]> = [
      ['not json', /not JSON/],
      ['[]', /JSON object/],
      ['{"minOsPatchLevel": 202513}', /minOsPatchLevel/],
      ['{"minOsPatchLevel": "202501"}', /minOsPatchLevel/],
      ['{"challengeBinding": "yes"}', /challengeBinding/],
      ['{"applications": {"packageNames": []}}', /packageNames/],
      ['{"applications": {"packageNames": ["not a package"]}}', /packageNames\[0\]/],
      ['{"applications": {"packageNames": ["a.b"], "signatureDigests": ["abc"]}}', /signatureDigests\[0\]/],
      ['{"applications": {"packageNames": ["a.b"], "signers": []}}', /unknown field applications\.signers/],
      ['{"minPatch": 1}', /unknown field minPatch/]
    ]
    for (const [text, message] of bad) {
      assert.throws(() => parseAndroidPolicy(text, 'policy.json'), (err: unknown) => err instanceof ConfigError && message.test(err.message) && err.message.startsWith('policy.json'), text)
    }
    assert.deepEqual(parseAndroidPolicy('{}', 'p'), { challengeBinding: false })
    for (const text of ['not json', '{}', '{"entries": []}', '{"entries": {"xyz": {"status": "REVOKED"}}}', '{"entries": {"ab": {}}}']) {
      assert.throws(() => parseRevocationStatusList(text, 'status.json'), (err: unknown) => err instanceof ConfigError && err.message.startsWith('status.json'), text)
    }
    assert.throws(() => parseAndroidRoots('no certificates here', 'roots.pem'), (err: unknown) => err instanceof ConfigError && /found 0/.test(err.message))
  })
})

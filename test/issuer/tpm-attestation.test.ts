/**
 * TPM 2.0 attestation at enrolment (issue #18 item 3) against real software
 * TPMs (swtpm, manufactured under local endorsement CAs the test creates)
 * and a real issuer: a good quote enrols; every refusal is refused with its
 * own reason in the audit log.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { DOMAINS } from '../../src/core/domains.ts'
import { domainBytes } from '../../src/core/keys.ts'
import { challengeMessage } from '../../src/issuer-client/wire.ts'
import { IssuerClient, IssuerClientError } from '../../src/issuer-client/client.ts'
import { credentialFile, TpmAttestor, TpmToolError } from '../../src/cli/tpm-evidence.ts'
import { tpmAttestation, quoteExtraData } from '../../src/issuer/tpm/verifier.ts'
import { parseEndorsementCAs } from '../../src/issuer/tpm/endorsement.ts'
import { parsePcrPolicy } from '../../src/issuer/tpm/pcr-policy.ts'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { promisify } from 'node:util'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { killAll, spawnTempus, tempus } from '../fixtures/cli.ts'
import { startTestIssuer } from '../fixtures/issuer.ts'
import { createLocalCa, startSwtpm } from '../fixtures/swtpm.ts'
import type { EnrolmentAttestor } from '../../src/issuer-client/client.ts'
import type { TpmEvidence } from '../../src/issuer-client/tpm-wire.ts'
import type { TestIssuer } from '../fixtures/issuer.ts'
import type { LocalCa, TestTpm } from '../fixtures/swtpm.ts'
import type { PrivateKey } from '@libp2p/interface'

const ZERO = '00'.repeat(32)
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url')

describe('TPM 2.0 attestation at enrolment (swtpm)', () => {
  let ca: LocalCa
  let otherCa: LocalCa
  let tpm: TestTpm
  let sibling: TestTpm
  let stranger: TestTpm
  let t: TestIssuer
  let client: IssuerClient
  // the issuer's clock: real time plus what a test adds to age a challenge
  let skew = 0
  const attestors: TpmAttestor[] = []

  before(async () => {
    ca = await createLocalCa()
    otherCa = await createLocalCa()
    tpm = await startSwtpm(ca)
    // another TPM of the same maker: a genuine AK, but not in `tpm`
    sibling = await startSwtpm(ca)
    // a TPM under a CA the issuer was not given
    stranger = await startSwtpm(otherCa)
    t = await startTestIssuer({
      now: () => Date.now() + skew,
      attestation: tpmAttestation({
        endorsementCAs: parseEndorsementCAs(await ca.caPem()),
        // swtpm's PCRs start at zero; 16 is the debug PCR, resettable between tests
        pcrPolicy: parsePcrPolicy(JSON.stringify({ sha256: { 0: ZERO, 7: ZERO, 16: ZERO } })),
        now: () => Date.now() + skew
      })
    })
    client = new IssuerClient({ url: t.url })
  })

  after(async () => {
    for (const a of attestors) await a.close()
    await t?.stop()
    for (const x of [tpm, sibling, stranger]) await x?.stop()
    await ca?.remove()
    await otherCa?.remove()
  })

  const open = async (on: TestTpm, ak: 'ecc' | 'rsa' | 'rsapss' = 'ecc'): Promise<TpmAttestor> => {
    const a = await TpmAttestor.open({ tcti: on.tcti, ak })
    attestors.push(a)
    return a
  }

  /** the audit log's reason for the last refused enrolment */
  const lastRefusal = async (): Promise<unknown> => {
    const entries = await t.issuer.audit.entries(0, 1000)
    const refused = entries.filter(e => e.kind === 'enroll-refused')
    return refused[refused.length - 1]?.data.detail ?? refused[refused.length - 1]?.data.reason
  }

  /** enrolment refused as `code`, audited with `reason` */
  const refused = async (attempt: Promise<unknown>, code: string, reason: string): Promise<void> => {
    await assert.rejects(attempt, (e: IssuerClientError) => { assert.equal(e.code, code); return true })
    assert.equal(await lastRefusal(), reason)
  }

  /** an attestor whose evidence the test rewrites */
  const tampered = (a: TpmAttestor, change: (e: TpmEvidence, challenge: Uint8Array, publicKey: Uint8Array) => Promise<TpmEvidence> | TpmEvidence): EnrolmentAttestor => ({
    challenge: async c => await a.challenge(c),
    evidence: async (challenge, publicKey) => JSON.stringify(await change(JSON.parse(await a.evidence(challenge, publicKey)), challenge, publicKey))
  })

  const code = async (): Promise<string> => await t.issuer.createCode('edge')

  it('enrols a node whose quote (ECDSA, RSASSA and RSAPSS attestation keys) binds the challenge and its key', async () => {
    for (const ak of ['ecc', 'rsa', 'rsapss'] as const) {
      const key = await generateKeyPair('Ed25519')
      const enrolled = await client.enroll(key, await code(), await open(tpm, ak), 'edge')
      assert.equal(enrolled.typ, 'edge')
      const entries = await t.issuer.audit.entries(0, 1000)
      const last = entries[entries.length - 1]
      assert.equal(last?.kind, 'enroll')
      assert.equal(last?.data.attestation, 'tpm')
    }
  })

  it('our MakeCredential opens with tpm2_activatecredential, and only in the TPM that holds the EK and the AK', async () => {
    const mine = await open(tpm)
    const theirs = await open(sibling)
    // sealed for this TPM's EK and its AK: it opens
    const sealed = await client.sealedChallenge({ ekCertificate: mine.ekCertificate, akPublic: mine.akPublic })
    assert.equal((await mine.activate(sealed)).length, 40)
    // sealed for this TPM's EK but another TPM's AK: this TPM refuses (no loaded object has that Name)
    const elsewhere = await client.sealedChallenge({ ekCertificate: mine.ekCertificate, akPublic: theirs.akPublic })
    await assert.rejects(mine.activate(elsewhere), TpmToolError)
    // and the TPM that holds that AK has another EK: it refuses too
    await assert.rejects(theirs.activate(elsewhere), TpmToolError)
    // an AK public area loaded without its private part (what a software key claiming TPM attributes
    // could do) has the right Name, but the TPM grants no ADMIN authorisation to a public-only object
    const pub = Buffer.from(theirs.akPublic, 'base64url')
    await writeFile(join(tpm.dir, 'foreign-ak.pub'), Buffer.concat([Buffer.from([pub.length >> 8, pub.length & 0xff]), pub]))
    await writeFile(join(tpm.dir, 'foreign.cred'), credentialFile(elsewhere))
    await tpm.tool('tpm2_flushcontext', ['-t'])
    // (no resource manager on swtpm: each tool's loaded objects stay until flushed, and the TPM holds three)
    await tpm.tool('tpm2_loadexternal', ['-C', 'n', '-u', 'foreign-ak.pub', '-c', 'foreign-ak.ctx'])
    await tpm.tool('tpm2_flushcontext', ['-t'])
    await tpm.tool('tpm2_createek', ['-c', 'ek.ctx', '-G', 'rsa'])
    await tpm.tool('tpm2_flushcontext', ['-t'])
    await tpm.tool('tpm2_startauthsession', ['--policy-session', '-S', 'session.ctx'])
    await tpm.tool('tpm2_policysecret', ['-S', 'session.ctx', '-c', 'e'])
    await assert.rejects(tpm.tool('tpm2_activatecredential', ['-c', 'foreign-ak.ctx', '-C', 'ek.ctx', '-i', 'foreign.cred', '-o', 'out.bin', '-P', 'session:session.ctx']), /authValue or authPolicy is not available/)
    await tpm.tool('tpm2_flushcontext', ['-s'])
    await tpm.tool('tpm2_flushcontext', ['-t'])
  })

  it('refuses an AK that is not in the EK\'s TPM: a challenge opened by another TPM does not redeem for this EK', async () => {
    const mine = await open(tpm)
    const theirs = await open(sibling)
    // the sibling opens a challenge sealed for itself and quotes; the evidence then names this TPM's EK certificate
    await refused(client.enroll(await generateKeyPair('Ed25519'), await code(), tampered(theirs, e => ({ ...e, ekCertificate: mine.ekCertificate }))), 'invalid-challenge', 'challenge-unknown')
  })

  it('refuses a bad signature', async () => {
    await refused(client.enroll(await generateKeyPair('Ed25519'), await code(), tampered(await open(tpm), e => {
      const sig = Buffer.from(e.signature, 'base64url')
      sig.writeUInt8(sig.readUInt8(sig.length - 1) ^ 1, sig.length - 1)
      return { ...e, signature: b64(sig) }
    })), 'attestation-failed', 'tpm-signature')
  })

  it('refuses an EK certificate from an endorsement CA the issuer was not given', async () => {
    await refused(client.enroll(await generateKeyPair('Ed25519'), await code(), await open(stranger)), 'attestation-failed', 'tpm-ek-untrusted')
  })

  it('refuses a wrong challenge: a plain one (never sealed for this TPM), or a quote over another challenge', async () => {
    const a = await open(tpm)
    // the node skips the activation: a plain challenge, quoted correctly
    const plain: EnrolmentAttestor = {
      challenge: async c => await c.challenge(),
      evidence: async (c, k) => JSON.stringify({ v: 1, ekCertificate: a.ekCertificate, akPublic: a.akPublic, ...await a.quote(quoteExtraData(c, k), { sha256: [0, 7, 16] }) })
    }
    await refused(client.enroll(await generateKeyPair('Ed25519'), await code(), plain), 'invalid-challenge', 'challenge-unsealed')
    // the quote answers an earlier sealed challenge, the request a new one
    const earlier = await a.challenge(client)
    await refused(client.enroll(await generateKeyPair('Ed25519'), await code(), tampered(a, async (e, _c, k) => ({ ...e, ...await a.quote(quoteExtraData(earlier, k), { sha256: [0, 7, 16] }) }))), 'attestation-failed', 'tpm-binding')
  })

  it('refuses a quote bound to another Ed25519 key', async () => {
    const a = await open(tpm)
    const other = await generateKeyPair('Ed25519')
    await refused(client.enroll(await generateKeyPair('Ed25519'), await code(), tampered(a, async (e, c) => ({ ...e, ...await a.quote(quoteExtraData(c, other.publicKey.raw), { sha256: [0, 7, 16] }) }))), 'attestation-failed', 'tpm-binding')
  })

  it('refuses PCRs that differ from the policy, a selection that misses one, and values that are not the quoted ones', async () => {
    const a = await open(tpm)
    await tpm.tool('tpm2_pcrextend', [`16:sha256=${'ab'.repeat(32)}`])
    try {
      await refused(client.enroll(await generateKeyPair('Ed25519'), await code(), a), 'attestation-failed', 'tpm-pcr-policy')
    } finally {
      await tpm.tool('tpm2_pcrreset', ['16'])
    }
    await refused(client.enroll(await generateKeyPair('Ed25519'), await code(), tampered(a, async (e, c, k) => ({ ...e, ...await a.quote(quoteExtraData(c, k), { sha256: [0, 7] }) }))), 'attestation-failed', 'tpm-pcr-selection')
    await refused(client.enroll(await generateKeyPair('Ed25519'), await code(), tampered(a, e => ({ ...e, pcrs: { sha256: { ...e.pcrs.sha256, 16: 'cd'.repeat(32) } } }))), 'attestation-failed', 'tpm-pcr-digest')
  })

  it('refuses a replayed enrolment (its challenge was used) and a stale challenge', async () => {
    const a = await open(tpm)
    const key = await generateKeyPair('Ed25519')
    const body = await enrolBody(client, a, key, await code())
    const post = async (): Promise<Response> => await fetch(`${t.url}/v1/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    assert.equal((await post()).status, 200)
    const replay = await post()
    assert.equal(replay.status, 403)
    assert.deepEqual(await replay.json(), { error: 'invalid-challenge' })
    assert.equal(await lastRefusal(), 'challenge-used')
    // the same quote with another key's code: still the used challenge
    const stale = await enrolBody(client, a, await generateKeyPair('Ed25519'), await code())
    skew = 120_000
    try {
      const res = await fetch(`${t.url}/v1/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(stale) })
      assert.equal(res.status, 403)
      assert.equal(await lastRefusal(), 'challenge-stale')
    } finally {
      skew = 0
    }
  })

  it('refuses an AK without the attributes of a TPM-resident restricted signing key', async () => {
    await refused(client.enroll(await generateKeyPair('Ed25519'), await code(), tampered(await open(tpm), e => {
      const pub = Buffer.from(e.akPublic, 'base64url')
      // objectAttributes (bytes 4–7): clear `restricted` (bit 16)
      pub.writeUInt32BE(pub.readUInt32BE(4) & ~(1 << 16), 4)
      return { ...e, akPublic: b64(pub) }
    })), 'attestation-failed', 'tpm-ak-attributes')
  })

  it('refuses malformed evidence with a reason, never a crash', async () => {
    const a = await open(tpm)
    const cases: Array<(e: TpmEvidence) => unknown> = [
      e => ({ ...e, quote: b64(Buffer.from(e.quote, 'base64url').subarray(0, 40)) }),
      e => { const q = Buffer.from(e.quote, 'base64url'); q[0] = 0; return { ...e, quote: b64(q) } },
      e => ({ ...e, akPublic: b64(Buffer.from(e.akPublic, 'base64url').subarray(0, 10)) }),
      e => ({ ...e, signature: b64(Buffer.concat([Buffer.from(e.signature, 'base64url'), Buffer.from([0])])) }),
      e => ({ ...e, ekCertificate: b64(Buffer.from('not a certificate')) }),
      e => ({ ...e, pcrs: { sha256: { 99: ZERO } } }),
      e => ({ ...e, v: 2 }),
      e => ({ ...e, extra: 1 })
    ]
    for (const change of cases) {
      await refused(client.enroll(await generateKeyPair('Ed25519'), await code(), tampered(a, e => change(e) as TpmEvidence)), 'attestation-failed', 'tpm-malformed')
    }
    const notJson: EnrolmentAttestor = { challenge: async c => await a.challenge(c), evidence: async () => '{not json' }
    await refused(client.enroll(await generateKeyPair('Ed25519'), await code(), notJson), 'attestation-failed', 'tpm-malformed')
  })

  it('tempus issuer start --attestation tpm and tempus enroll --attest tpm --tcti: a node enrols with its TPM; a bad policy file is one line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tempus-cli-tpm-'))
    const env = { TEMPUS_PASSPHRASE: 'tpm-node-passphrase', TEMPUS_ISSUER_PASSPHRASE: 'tpm-issuer-passphrase' }
    try {
      const issuerDir = join(dir, 'issuer')
      const nodeDir = join(dir, 'node')
      await writeFile(join(dir, 'ek-ca.pem'), await ca.caPem())
      await writeFile(join(dir, 'pcr.json'), JSON.stringify({ sha256: { 0: ZERO, 7: ZERO } }))
      await writeFile(join(dir, 'bad-pcr.json'), JSON.stringify({ sha256: { 7: 'xyz' } }))
      assert.equal((await tempus(['issuer', 'init', '--data', issuerDir, '--overlay', 'tpm-cli'], env)).code, 0)
      const bad = await tempus(['issuer', 'start', '--data', issuerDir, '--listen', '127.0.0.1:0', '--attestation', 'tpm', '--tpm-ek-ca', join(dir, 'ek-ca.pem'), '--tpm-pcr-policy', join(dir, 'bad-pcr.json')], env)
      assert.equal(bad.code, 2, bad.stderr)
      assert.match(bad.stderr, /sha256\.7 must be 64 hex digits/)
      const noCa = await tempus(['issuer', 'start', '--data', issuerDir, '--listen', '127.0.0.1:0', '--attestation', 'tpm'], env)
      assert.equal(noCa.code, 2, noCa.stderr)
      assert.match(noCa.stderr, /--tpm-ek-ca/)
      const server = spawnTempus(['issuer', 'start', '--data', issuerDir, '--listen', '127.0.0.1:0', '--attestation', 'tpm', '--tpm-ek-ca', join(dir, 'ek-ca.pem'), '--tpm-pcr-policy', join(dir, 'pcr.json'), '--json'], env)
      const { url } = JSON.parse(await server.nextLine(l => l.includes('"started"')))
      const code = (await tempus(['issuer', 'code', '--data', issuerDir, '--typ', 'edge'], env)).stdout.trim()
      assert.equal((await tempus(['init', '--data', nodeDir, '--type', 'edge', '--no-mdns', '--listen', '/ip4/127.0.0.1/tcp/0'], env)).code, 0)
      const badTcti = await tempus(['enroll', '--data', nodeDir, '--issuer', url, '--code', code, '--attest', 'tpm', '--tcti', 'swtpm:host=127.0.0.1;rm -rf /'], env)
      assert.equal(badTcti.code, 2, badTcti.stderr)
      const enrolled = await tempus(['enroll', '--data', nodeDir, '--issuer', url, '--code', code, '--attest', 'tpm', '--tcti', tpm.tcti, '--json'], env)
      assert.equal(enrolled.code, 0, enrolled.stderr)
      assert.equal(JSON.parse(enrolled.stdout).typ, 'edge')
      server.child.kill('SIGTERM')
      assert.equal(await server.exited, 0)
    } finally {
      await killAll()
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('answers a malformed sealed-challenge request with bad-request, and a plain issuer refuses one', async () => {
    const a = await open(tpm)
    // swtpm's ECC EK certificate (NV 0x01c00016): only RSA EKs are sealed for
    await tpm.tool('tpm2_nvread', ['0x01c00016', '-o', 'ecc-ek.der'])
    const eccEk = b64(await readFile(join(tpm.dir, 'ecc-ek.der')))
    // an RSA key with exponent 3: no EK template makes one (and a huge exponent would cost the issuer)
    await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-pkeyopt', 'rsa_keygen_pubexp:3', '-nodes', '-subj', '/CN=e3', '-keyout', join(tpm.dir, 'e3.key'), '-out', join(tpm.dir, 'e3.der'), '-outform', 'DER', '-days', '1'])
    const exponent3 = b64(await readFile(join(tpm.dir, 'e3.der')))
    for (const tpmRequest of [{ ekCertificate: a.ekCertificate, akPublic: b64(Buffer.from([0, 1, 2])) }, { ekCertificate: b64(Buffer.from('x')), akPublic: a.akPublic }, { ekCertificate: a.ekCertificate }, { ekCertificate: eccEk, akPublic: a.akPublic }, { ekCertificate: exponent3, akPublic: a.akPublic }]) {
      const res = await fetch(`${t.url}/v1/challenge`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tpm: tpmRequest }) })
      assert.equal(res.status, 400)
      assert.equal((await res.json() as { error: string }).error, 'bad-request')
    }
    const plain = await startTestIssuer()
    try {
      await assert.rejects(new IssuerClient({ url: plain.url }).sealedChallenge({ ekCertificate: a.ekCertificate, akPublic: a.akPublic }), (e: IssuerClientError) => e.code === 'bad-request')
    } finally {
      await plain.stop()
    }
  })
})

/** the enrolment request a TPM node sends, built by hand so that it can be sent twice */
async function enrolBody (client: IssuerClient, a: TpmAttestor, key: PrivateKey, code: string): Promise<Record<string, string>> {
  const challenge = await a.challenge(client)
  const signature = await key.sign(domainBytes(DOMAINS.issuerChallenge, ...challengeMessage('enroll', challenge)))
  return { code, publicKey: b64(key.publicKey.raw), challenge: b64(challenge), signature: b64(signature), attestation: await a.evidence(challenge, key.publicKey.raw) }
}

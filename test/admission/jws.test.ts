/**
 * The compact JWS check every token, credential, key certificate and
 * revocation list goes through: the one form this project signs is taken,
 * a standard EdDSA JWS from jose is taken, everything else is refused with
 * the reason it earns; and a token seen for the first time is checked on
 * the spot, without a turn of the event loop (the gossip live path pays
 * that turn at every hop otherwise).
 */
import assert from 'node:assert/strict'
import { generateKeyPairSync, sign } from 'node:crypto'
import { describe, it } from 'node:test'
import { CompactSign } from 'jose'
import { MAX_TOKEN_BYTES } from '../../src/admission/constants.ts'
import { AdmissionError } from '../../src/admission/errors.ts'
import { verifyJws } from '../../src/admission/jws.ts'
import { signCompactJws } from '../../src/admission/jws-sign.ts'
import { signKeyCertificate } from '../../src/admission/key-certificate.ts'
import { signToken } from '../../src/admission/token.ts'
import { TokenVerifier } from '../../src/admission/verifier.ts'
import type { SigningKey } from '../../src/admission/token.ts'

const TYP = 'test+jwt'
const { privateKey, publicKey } = generateKeyPairSync('ed25519')
const other = generateKeyPairSync('ed25519')
const b64 = (v: unknown): string => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url')

function refusedAs (jws: string, reason: string, key = publicKey): void {
  assert.throws(() => verifyJws(jws, key, TYP, 4096, 'thing'), (err: unknown) => {
    assert.ok(err instanceof AdmissionError, String(err))
    assert.equal(err.reason, reason, err.message)
    return true
  })
}

/** a JWS over `payload` with `header`, signed with the good key */
function resigned (header: Record<string, unknown>, payload = { a: 1 }): string {
  return signCompactJws(privateKey, header, payload)
}

describe('compact JWS verification', () => {
  const good = signCompactJws(privateKey, { typ: TYP, kid: 'k1' }, { a: 1 })

  it('takes what this project signs, and what jose signs as a standard EdDSA JWS', async () => {
    assert.deepEqual(verifyJws(good, publicKey, TYP, 4096, 'thing'), { kid: 'k1', payload: { a: 1 } })
    const byJose = await new CompactSign(new TextEncoder().encode(JSON.stringify({ b: 2 })))
      .setProtectedHeader({ alg: 'EdDSA', typ: TYP })
      .sign(privateKey)
    assert.deepEqual(verifyJws(byJose, publicKey, TYP, 4096, 'thing'), { kid: undefined, payload: { b: 2 } })
  })

  it('refuses another key, a changed payload or header, and a changed signature as bad signatures', () => {
    refusedAs(good, 'bad-signature', other.publicKey)
    const [h, , s] = good.split('.')
    refusedAs(`${h}.${b64({ a: 2 })}.${s}`, 'bad-signature')
    refusedAs(`${b64({ alg: 'EdDSA', typ: TYP, kid: 'k2' })}.${good.split('.')[1]}.${s}`, 'bad-signature')
    const flipped = Buffer.from(s ?? '', 'base64url')
    flipped[10] = (flipped[10] ?? 0) ^ 1
    refusedAs(`${h}.${good.split('.')[1]}.${flipped.toString('base64url')}`, 'bad-signature')
  })

  it('refuses every other shape as malformed, before any signature check', () => {
    const [h, p, s] = good.split('.') as [string, string, string]
    refusedAs('', 'malformed')
    refusedAs(`${h}.${p}`, 'malformed')
    refusedAs(`${h}.${p}.${s}.${s}`, 'malformed')
    refusedAs(`${h}.${p}.${s}=`, 'malformed') // padding
    refusedAs(`${h}.${p}.${s.slice(0, -1)}+`, 'malformed') // plain base64, not base64url
    refusedAs(`${h}.${p}.${s.slice(0, 40)}`, 'malformed') // too short for Ed25519
    refusedAs(`${h}..${s}`, 'malformed') // no payload
    refusedAs(`${b64('not json')}.${p}.${s}`, 'malformed')
    refusedAs(`${b64([1, 2])}.${p}.${s}`, 'malformed')
    // the spare bits of the signature's last character set: the same bytes, another spelling
    const last = s.at(-1) ?? ''
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const respelt = alphabet[alphabet.indexOf(last) | 3] ?? ''
    assert.notEqual(respelt, last)
    assert.deepEqual(Buffer.from(`${s.slice(0, -1)}${respelt}`, 'base64url'), Buffer.from(s, 'base64url'))
    refusedAs(`${h}.${p}.${s.slice(0, -1)}${respelt}`, 'malformed')
    // signed, but not in the one form taken
    refusedAs(resigned({ alg: 'none', typ: TYP }), 'malformed') // signCompactJws puts alg first; this overrides it
    refusedAs(resigned({ typ: TYP, crit: ['exp'], exp: 1 }), 'malformed')
    refusedAs(resigned({ typ: TYP, b64: true }), 'malformed')
    refusedAs(resigned({ typ: 'other+jwt' }), 'malformed')
    assert.throws(() => verifyJws(good, publicKey, TYP, good.length - 1, 'thing'), /too large/)
  })

  it('refuses a payload that is not JSON', () => {
    const input = `${b64({ alg: 'EdDSA', typ: TYP })}.${b64('{not json')}`
    const signature = sign(null, Buffer.from(input), privateKey).toString('base64url')
    refusedAs(`${input}.${signature}`, 'malformed')
  })

  it("blames the caller, not the sender, for a key that is not an Ed25519 public key", () => {
    assert.throws(() => verifyJws(good, privateKey, TYP, 4096, 'thing'), TypeError)
  })

  it('checks a token it has never seen without giving up a turn of the event loop', async () => {
    const root = generateKeyPairSync('ed25519')
    const signing = generateKeyPairSync('ed25519')
    const now = Date.now()
    const key: SigningKey = { kid: 'k1', epoch: 1, privateKey: signing.privateKey, publicKey: signing.publicKey }
    const verifier = new TokenVerifier({ overlay: 'o', issuer: 'i', root: root.publicKey, now: () => now })
    await verifier.setCurrent(await signKeyCertificate(root.privateKey, 'o', 'k1', 1, signing.publicKey, now))
    const s = Math.floor(now / 1000)
    const tokens = await Promise.all(Array.from({ length: 20 }, async (_, i) =>
      await signToken(key, { iss: 'i', aud: 'o', sub: `peer-${i}`, typ: 'edge', iat: s, nbf: s, exp: s + 180, jti: `j${i}` })))
    assert.ok(tokens.every(t => t.length <= MAX_TOKEN_BYTES))
    let turned = false
    setImmediate(() => { turned = true })
    for (const token of tokens) {
      const claims = await verifier.verify(token)
      assert.equal(claims.typ, 'edge')
    }
    assert.equal(turned, false, 'a fresh token waited for a later turn of the event loop')
    const [h, , sig] = (tokens[0] ?? '').split('.')
    const forged = `${h}.${b64({ iss: 'i', aud: 'o', sub: 'peer-0', typ: 'sentinel', iat: s, nbf: s, exp: s + 180, jti: 'j0', ep: 1 })}.${sig}`
    await assert.rejects(verifier.verify(forged), (err: unknown) => err instanceof AdmissionError && err.reason === 'bad-signature')
  })
})

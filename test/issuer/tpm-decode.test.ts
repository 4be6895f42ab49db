/**
 * The TPM structure decoders, the PCR policy and the sealed challenges,
 * pure: every malformed input is a typed refusal naming its field, never a
 * crash or a partial result.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ConfigError } from '../../src/core/config-error.ts'
import { ChallengeBook } from '../../src/issuer/challenge.ts'
import { decodeAttestQuote, decodePublic, decodeSignature, TpmDecodeError } from '../../src/issuer/tpm/decode.ts'
import { parseEvidence } from '../../src/issuer/tpm/evidence.ts'
import { parsePcrPolicy } from '../../src/issuer/tpm/pcr-policy.ts'
import { akProblem, objectName } from '../../src/issuer/tpm/quote.ts'

const u16 = (n: number): Buffer => { const b = Buffer.alloc(2); b.writeUInt16BE(n); return b }
const u32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b }
const sized = (b: Uint8Array): Buffer => Buffer.concat([u16(b.length), b])

/** a TPMS_ATTEST of a quote, as a TPM lays it out */
function attest (over: { magic?: number, type?: number, extraData?: Uint8Array, selectCount?: number, sizeofSelect?: number } = {}): Buffer {
  return Buffer.concat([
    u32(over.magic ?? 0xff544347), u16(over.type ?? 0x8018),
    sized(Buffer.concat([u16(0x000b), Buffer.alloc(32, 1)])), // qualifiedSigner
    sized(over.extraData ?? Buffer.alloc(32, 2)), // extraData
    Buffer.alloc(8, 0), u32(1), u32(0), Buffer.from([1]), // clockInfo
    Buffer.alloc(8, 3), // firmwareVersion
    u32(over.selectCount ?? 1), u16(0x000b), Buffer.from([over.sizeofSelect ?? 3, 0x81, 0x00, 0x01]), // sha256: 0, 7, 16
    sized(Buffer.alloc(32, 4)) // pcrDigest
  ])
}

/** a TPMT_PUBLIC of an ECC P-256 AK with tpm2_createak's attributes */
function eccPublic (attributes = 0x00050072): Buffer {
  return Buffer.concat([
    u16(0x0023), u16(0x000b), u32(attributes), sized(Buffer.alloc(0)),
    u16(0x0010), u16(0x0018), u16(0x000b), u16(0x0003), u16(0x0010),
    sized(Buffer.alloc(32, 5)), sized(Buffer.alloc(32, 6))
  ])
}

function rsaPublic (bits = 2048): Buffer {
  return Buffer.concat([
    u16(0x0001), u16(0x000b), u32(0x00050072), sized(Buffer.alloc(0)),
    u16(0x0010), u16(0x0014), u16(0x000b), u16(bits), u32(0), sized(Buffer.alloc(bits / 8, 7))
  ])
}

const ecdsaSignature = (): Buffer => Buffer.concat([u16(0x0018), u16(0x000b), sized(Buffer.alloc(32, 8)), sized(Buffer.alloc(32, 9))])
const rsaSignature = (): Buffer => Buffer.concat([u16(0x0014), u16(0x000b), sized(Buffer.alloc(256, 10))])

const DECODERS: Array<[string, (b: Uint8Array) => unknown, () => Buffer]> = [
  ['TPMS_ATTEST', decodeAttestQuote, () => attest()],
  ['TPMT_PUBLIC (ECC)', decodePublic, eccPublic],
  ['TPMT_PUBLIC (RSA)', decodePublic, () => rsaPublic()],
  ['TPMT_SIGNATURE (ECDSA)', decodeSignature, ecdsaSignature],
  ['TPMT_SIGNATURE (RSASSA)', decodeSignature, rsaSignature]
]

/** refused with a TpmDecodeError whose field starts with `field` */
function refusesAt (decode: () => unknown, field: string): void {
  assert.throws(decode, (e: unknown) => {
    assert.ok(e instanceof TpmDecodeError, `not a TpmDecodeError: ${String(e)}`)
    assert.equal(e.name, 'TpmDecodeError')
    assert.ok(e.field.startsWith(field), `${e.field} is not ${field}`)
    return true
  })
}

describe('TPM structure decoders', () => {
  it('decode well-formed structures', () => {
    const q = decodeAttestQuote(attest())
    assert.deepEqual(q.pcrSelect, [{ hashAlg: 0x000b, pcrs: [0, 7, 16] }])
    assert.equal(q.extraData.length, 32)
    assert.equal(q.clockInfo.safe, true)
    const ecc = decodePublic(eccPublic())
    assert.equal(ecc.type, 'ecc')
    assert.equal(akProblem(ecc), undefined)
    assert.equal(objectName(ecc).length, 34)
    assert.equal(decodePublic(rsaPublic()).type, 'rsa')
    assert.equal(decodeSignature(ecdsaSignature()).sigAlg, 0x0018)
    assert.equal(decodeSignature(rsaSignature()).sigAlg, 0x0014)
  })

  for (const [name, decode, make] of DECODERS) {
    it(`${name}: every truncation and every trailing byte is refused`, () => {
      const good = make()
      for (let n = 0; n < good.length; n++) {
        refusesAt(() => decode(good.subarray(0, n)), name.split(' ')[0] ?? '')
      }
      refusesAt(() => decode(Buffer.concat([good, Buffer.from([0])])), name.split(' ')[0] ?? '')
    })

    it(`${name}: every size field pointing past the end is refused`, () => {
      const good = make()
      // set each 2-byte window to 0xffff: any size there now runs past the end (or past its maximum)
      for (let at = 0; at + 1 < good.length; at++) {
        const bad = Buffer.from(good)
        bad.writeUInt16BE(0xffff, at)
        try {
          decode(bad)
        } catch (e) {
          assert.ok(e instanceof TpmDecodeError, `offset ${at}: ${String(e)}`)
        }
      }
    })

    it(`${name}: 2000 seeded random mutations give a result or a TpmDecodeError, nothing else`, () => {
      const good = make()
      let seed = 0x12345678
      const next = (): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed }
      for (let i = 0; i < 2000; i++) {
        const bad = Buffer.from(good)
        for (let k = 0; k < 1 + (next() % 4); k++) {
          bad[next() % bad.length] = next() & 0xff
        }
        const cut = next() % 3 === 0 ? bad.subarray(0, next() % bad.length) : bad
        try {
          decode(cut)
        } catch (e) {
          assert.ok(e instanceof TpmDecodeError, String(e))
        }
      }
    })
  }

  it('refuses a wrong magic, a wrong type, oversize fields and selections, and input that is too large', () => {
    refusesAt(() => decodeAttestQuote(attest({ magic: 0xff544348 })), 'TPMS_ATTEST.magic')
    refusesAt(() => decodeAttestQuote(attest({ type: 0x8017 })), 'TPMS_ATTEST.type')
    refusesAt(() => decodeAttestQuote(attest({ extraData: Buffer.alloc(67) })), 'TPMS_ATTEST.extraData.size')
    refusesAt(() => decodeAttestQuote(attest({ selectCount: 17 })), 'TPMS_ATTEST.attested.quote.pcrSelect.count')
    refusesAt(() => decodeAttestQuote(attest({ selectCount: 0xffffffff })), 'TPMS_ATTEST.attested.quote.pcrSelect.count')
    refusesAt(() => decodeAttestQuote(attest({ sizeofSelect: 200 })), 'TPMS_ATTEST.attested.quote.pcrSelect[0].sizeofSelect')
    refusesAt(() => decodeAttestQuote(Buffer.alloc(5000)), 'TPMS_ATTEST')
    refusesAt(() => decodePublic(Buffer.concat([u16(0x0008), eccPublic().subarray(2)])), 'TPMT_PUBLIC.type')
    refusesAt(() => decodePublic(Buffer.concat([u16(0x0023), u16(0x0099), eccPublic().subarray(4)])), 'TPMT_PUBLIC.nameAlg')
    refusesAt(() => decodeSignature(Buffer.concat([u16(0x0017), ecdsaSignature().subarray(2)])), 'TPMT_SIGNATURE.sigAlg')
    refusesAt(() => decodeSignature(Buffer.concat([u16(0x0018), u16(0x000b), sized(Buffer.alloc(67)), sized(Buffer.alloc(1))])), 'TPMT_SIGNATURE.signature.ecdsa.signatureR.size')
    refusesAt(() => decodeSignature('not bytes' as unknown as Uint8Array), 'TPMT_SIGNATURE')
  })

  it('tells an attestation key from other keys', () => {
    assert.match(akProblem(decodePublic(eccPublic(0x00050072 & ~(1 << 16)))) ?? '', /restricted/)
    assert.match(akProblem(decodePublic(eccPublic(0x00050072 & ~(1 << 1)))) ?? '', /fixedTPM/)
    assert.match(akProblem(decodePublic(eccPublic(0x00050072 | (1 << 17)))) ?? '', /decrypt/)
    assert.match(akProblem(decodePublic(rsaPublic(1024))) ?? '', /too weak/)
    assert.equal(akProblem(decodePublic(rsaPublic(2048))), undefined)
  })

  it('refuses evidence that is not JSON, too large, of another version, or with bad fields', () => {
    const ok = { v: 1, ekCertificate: 'AA', akPublic: 'AA', quote: 'AA', signature: 'AA', pcrs: {} }
    for (const [evidence, field] of [
      [undefined, 'evidence'], ['x'.repeat(20_000), 'evidence'], ['{', 'evidence'], ['[]', 'evidence.v'],
      [JSON.stringify({ ...ok, v: 2 }), 'evidence.v'], [JSON.stringify({ ...ok, more: 1 }), 'evidence.more'],
      [JSON.stringify({ ...ok, quote: '!!' }), 'evidence.quote'], [JSON.stringify({ ...ok, quote: 'A'.repeat(2000) }), 'evidence.quote'],
      [JSON.stringify({ ...ok, pcrs: { md5: {} } }), 'evidence.pcrs.md5'], [JSON.stringify({ ...ok, pcrs: { sha256: { 24: '00'.repeat(32) } } }), 'evidence.pcrs.sha256.24'],
      [JSON.stringify({ ...ok, pcrs: { sha256: { '07': '00'.repeat(32) } } }), 'evidence.pcrs.sha256.07'], [JSON.stringify({ ...ok, pcrs: { sha256: { 7: '00' } } }), 'evidence.pcrs.sha256.7']
    ] as const) {
      refusesAt(() => parseEvidence(evidence), field)
    }
    assert.equal(parseEvidence(JSON.stringify(ok)).quote.length, 1)
  })
})

describe('PCR policy', () => {
  it('reads banks of PCR values and refuses anything else with the field named', () => {
    const policy = parsePcrPolicy(JSON.stringify({ sha256: { 0: '00'.repeat(32), 7: 'ab'.repeat(32) } }))
    assert.deepEqual([...policy.get(0x000b)?.keys() ?? []], [0, 7])
    for (const text of ['not json', '[]', '{"md5":{}}', '{"sha256":[]}', '{"sha256":{"24":"00"}}', '{"sha256":{"7":"zz"}}', `{"sha256":{"7":"${'00'.repeat(20)}"}}`, '{"sha256":{"-1":"00"}}']) {
      assert.throws(() => parsePcrPolicy(text), ConfigError, text)
    }
  })
})

describe('sealed challenges', () => {
  it('redeem only with their binding, once, while fresh; a plain challenge never passes for a sealed one', () => {
    let now = 1_000_000
    const book = new ChallengeBook(() => now)
    const binding = new Uint8Array(32).fill(1)
    const other = new Uint8Array(32).fill(2)
    const sealed = book.issue(binding)
    assert.equal(book.redeemFor(sealed, other), 'unknown')
    assert.equal(book.redeemFor(sealed, undefined), 'unknown')
    assert.equal(book.redeem(sealed), false)
    assert.equal(book.redeemFor(sealed, binding), 'ok')
    assert.equal(book.redeemFor(sealed, binding), 'used')
    const plain = book.issue()
    assert.equal(book.redeemFor(plain, binding), 'unsealed')
    assert.equal(book.redeemFor(plain, undefined), 'ok')
    const late = book.issue(binding)
    now += 61_000
    assert.equal(book.redeemFor(late, binding), 'stale')
    const forged = Buffer.from(book.issue(binding))
    forged.writeUInt8(forged.readUInt8(39) ^ 1, 39)
    assert.equal(book.redeemFor(forged, binding), 'unknown')
    assert.equal(book.redeemFor(new Uint8Array(7), binding), 'unknown')
  })
})

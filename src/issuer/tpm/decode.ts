/**
 * Bounded decoders of the three TPM 2.0 structures a quote is checked with
 * (TPM 2.0 Library, Part 2: Structures): `TPMS_ATTEST` (what the TPM
 * signed), `TPMT_PUBLIC` (the attestation key's public area) and
 * `TPMT_SIGNATURE`. No maintained npm library decodes them, so they are
 * decoded here: big-endian, every size read is checked against both the
 * structure's own maximum and the bytes that remain, the whole input must be
 * consumed, and any defect is a `TpmDecodeError` naming the field — never an
 * exception from a Buffer read, never a partial result.
 *
 * Pure: no I/O, no keys built here (see `quote.ts`).
 */
import { TempusError } from '../../core/tempus-error.ts'

export class TpmDecodeError extends TempusError {
  override readonly name = 'TpmDecodeError'
  readonly code = 'malformed'
  /** the structure field that was wrong, e.g. `TPMS_ATTEST.magic` */
  readonly field: string

  constructor (field: string, message: string) {
    super(`${field}: ${message}`)
    this.field = field
  }
}

/** TPM_GENERATED_VALUE: only the TPM itself signs a structure that starts with it */
export const TPM_GENERATED_VALUE = 0xff544347
export const TPM_ST_ATTEST_QUOTE = 0x8018

export const TPM_ALG = {
  RSA: 0x0001,
  SHA1: 0x0004,
  NULL: 0x0010,
  SHA256: 0x000b,
  SHA384: 0x000c,
  SHA512: 0x000d,
  RSASSA: 0x0014,
  RSAPSS: 0x0016,
  ECDSA: 0x0018,
  ECDAA: 0x001a,
  ECC: 0x0023
} as const

/** digest sizes of the hash algorithms accepted anywhere in a quote */
export const HASH_SIZES: ReadonlyMap<number, { name: string, size: number }> = new Map([
  [TPM_ALG.SHA1, { name: 'sha1', size: 20 }],
  [TPM_ALG.SHA256, { name: 'sha256', size: 32 }],
  [TPM_ALG.SHA384, { name: 'sha384', size: 48 }],
  [TPM_ALG.SHA512, { name: 'sha512', size: 64 }]
])

export const TPM_ECC_CURVE: ReadonlyMap<number, { name: string, jwk: string, size: number }> = new Map([
  [0x0003, { name: 'P-256', jwk: 'P-256', size: 32 }],
  [0x0004, { name: 'P-384', jwk: 'P-384', size: 48 }],
  [0x0005, { name: 'P-521', jwk: 'P-521', size: 66 }]
])

/** TPMA_OBJECT bits an attestation key is checked for */
export const TPMA_OBJECT = {
  fixedTPM: 1 << 1,
  fixedParent: 1 << 4,
  sensitiveDataOrigin: 1 << 5,
  userWithAuth: 1 << 6,
  restricted: 1 << 16,
  decrypt: 1 << 17,
  sign: 1 << 18
} as const

// largest sizes the structures allow (Part 2, with every algorithm a TPM may implement)
/** TPMU_HA: the largest digest (SHA-512) */
const MAX_DIGEST = 64
/** TPMU_NAME: an algorithm id and a digest */
const MAX_NAME = 2 + MAX_DIGEST
/** TPM2B_DATA holds a TPMT_HA */
const MAX_DATA = 2 + MAX_DIGEST
/** RSA keys and signatures up to 4096 bits */
const MAX_RSA_BYTES = 512
/** coordinates and ECDSA halves up to P-521 */
const MAX_ECC_BYTES = 66
/** a TPML_PCR_SELECTION has at most one selection per bank (HASH_COUNT) */
const MAX_PCR_BANKS = 16
/** PCR_SELECT_MAX: 24 PCRs need 3 bytes; 4 leaves room for 32 */
const MAX_PCR_SELECT = 4
/** the largest input any decoder here accepts */
export const MAX_TPM_STRUCTURE = 2048

/** A cursor over bytes that refuses to read past the end. */
class Reader {
  private readonly bytes: Uint8Array
  private offset = 0
  private readonly structure: string

  constructor (bytes: Uint8Array, structure: string) {
    if (!(bytes instanceof Uint8Array)) {
      throw new TpmDecodeError(structure, 'not bytes')
    }
    if (bytes.length > MAX_TPM_STRUCTURE) {
      throw new TpmDecodeError(structure, `${bytes.length} bytes, more than the ${MAX_TPM_STRUCTURE} any such structure needs`)
    }
    this.bytes = bytes
    this.structure = structure
  }

  private take (n: number, field: string): Uint8Array {
    if (n > this.bytes.length - this.offset) {
      throw new TpmDecodeError(`${this.structure}.${field}`, `needs ${n} bytes, ${this.bytes.length - this.offset} remain`)
    }
    const out = this.bytes.subarray(this.offset, this.offset + n)
    this.offset += n
    return out
  }

  u8 (field: string): number {
    return Buffer.from(this.take(1, field)).readUInt8(0)
  }

  u16 (field: string): number {
    return Buffer.from(this.take(2, field)).readUInt16BE(0)
  }

  u32 (field: string): number {
    return Buffer.from(this.take(4, field)).readUInt32BE(0)
  }

  u64 (field: string): bigint {
    const hi = BigInt(this.u32(field))
    return (hi << 32n) | BigInt(this.u32(field))
  }

  /** exactly `n` bytes (a size the caller already bounded) */
  fixed (field: string, n: number): Uint8Array {
    return new Uint8Array(this.take(n, field))
  }

  /** a TPM2B: a u16 size, then that many bytes, at most `max` */
  sized (field: string, max: number): Uint8Array {
    const size = this.u16(`${field}.size`)
    if (size > max) {
      throw new TpmDecodeError(`${this.structure}.${field}.size`, `${size} bytes, more than its maximum of ${max}`)
    }
    return new Uint8Array(this.take(size, field))
  }

  /** the structure must be consumed exactly: trailing bytes are a different structure */
  end (): void {
    if (this.offset !== this.bytes.length) {
      throw new TpmDecodeError(this.structure, `${this.bytes.length - this.offset} bytes after its end`)
    }
  }

  fail (field: string, message: string): never {
    throw new TpmDecodeError(`${this.structure}.${field}`, message)
  }
}

export interface PcrSelection {
  /** TPM_ALG_ID of the bank */
  hashAlg: number
  /** selected PCR indexes, ascending */
  pcrs: number[]
}

export interface TpmsAttestQuote {
  magic: number
  type: number
  qualifiedSigner: Uint8Array
  extraData: Uint8Array
  clockInfo: { clock: bigint, resetCount: number, restartCount: number, safe: boolean }
  firmwareVersion: bigint
  pcrSelect: PcrSelection[]
  pcrDigest: Uint8Array
}

/** `TPMS_ATTEST` of a quote (type `TPM_ST_ATTEST_QUOTE`); any other type is refused. */
export function decodeAttestQuote (bytes: Uint8Array): TpmsAttestQuote {
  const r: Reader = new Reader(bytes, 'TPMS_ATTEST')
  const magic = r.u32('magic')
  if (magic !== TPM_GENERATED_VALUE) {
    r.fail('magic', `0x${magic.toString(16)} is not TPM_GENERATED_VALUE (0xff544347): not a structure the TPM made`)
  }
  const type = r.u16('type')
  if (type !== TPM_ST_ATTEST_QUOTE) {
    r.fail('type', `0x${type.toString(16)} is not TPM_ST_ATTEST_QUOTE (0x8018)`)
  }
  const qualifiedSigner = r.sized('qualifiedSigner', MAX_NAME)
  const extraData = r.sized('extraData', MAX_DATA)
  const clock = r.u64('clockInfo.clock')
  const resetCount = r.u32('clockInfo.resetCount')
  const restartCount = r.u32('clockInfo.restartCount')
  const safe = r.u8('clockInfo.safe')
  if (safe > 1) {
    r.fail('clockInfo.safe', `${safe} is not a TPMI_YES_NO`)
  }
  const firmwareVersion = r.u64('firmwareVersion')
  const pcrSelect = decodePcrSelection(r, 'attested.quote.pcrSelect')
  const pcrDigest = r.sized('attested.quote.pcrDigest', MAX_DIGEST)
  r.end()
  return { magic, type, qualifiedSigner, extraData, clockInfo: { clock, resetCount, restartCount, safe: safe === 1 }, firmwareVersion, pcrSelect, pcrDigest }
}

function decodePcrSelection (r: Reader, field: string): PcrSelection[] {
  const count = r.u32(`${field}.count`)
  if (count > MAX_PCR_BANKS) {
    r.fail(`${field}.count`, `${count} selections, more than the ${MAX_PCR_BANKS} banks a TPM can have`)
  }
  const out: PcrSelection[] = []
  for (let i = 0; i < count; i++) {
    const hashAlg = r.u16(`${field}[${i}].hash`)
    const sizeofSelect = r.u8(`${field}[${i}].sizeofSelect`)
    if (sizeofSelect > MAX_PCR_SELECT) {
      r.fail(`${field}[${i}].sizeofSelect`, `${sizeofSelect} bytes, more than ${MAX_PCR_SELECT}`)
    }
    const bitmap = r.fixed(`${field}[${i}].pcrSelect`, sizeofSelect)
    const pcrs: number[] = []
    for (const [byte, bits] of bitmap.entries()) {
      for (let bit = 0; bit < 8; bit++) {
        if ((bits & (1 << bit)) !== 0) {
          pcrs.push(byte * 8 + bit)
        }
      }
    }
    if (out.some(s => s.hashAlg === hashAlg)) {
      r.fail(`${field}[${i}].hash`, `bank 0x${hashAlg.toString(16)} selected twice`)
    }
    out.push({ hashAlg, pcrs })
  }
  return out
}

export type TpmtPublic = {
  /** the exact bytes decoded: the Name is a digest of them */
  bytes: Uint8Array
  nameAlg: number
  objectAttributes: number
  authPolicy: Uint8Array
  /** TPMT_SYM_DEF_OBJECT.algorithm (TPM_ALG_NULL for a signing key) */
  symmetric: number
  /** the signing scheme and its hash, or TPM_ALG_NULL (0x0010) for "any" */
  scheme: { alg: number, hashAlg?: number }
} & ({
  type: 'rsa'
  keyBits: number
  /** 0 means the default, 65537 */
  exponent: number
  modulus: Uint8Array
} | {
  type: 'ecc'
  curveId: number
  x: Uint8Array
  y: Uint8Array
})

/** `TPMT_PUBLIC` of an RSA or ECC key; other object types are refused. */
export function decodePublic (bytes: Uint8Array): TpmtPublic {
  const r: Reader = new Reader(bytes, 'TPMT_PUBLIC')
  const type = r.u16('type')
  if (type !== TPM_ALG.RSA && type !== TPM_ALG.ECC) {
    r.fail('type', `0x${type.toString(16)} is neither TPM_ALG_RSA nor TPM_ALG_ECC`)
  }
  const nameAlg = r.u16('nameAlg')
  if (!HASH_SIZES.has(nameAlg)) {
    r.fail('nameAlg', `0x${nameAlg.toString(16)} is not a hash algorithm this verifier knows`)
  }
  const objectAttributes = r.u32('objectAttributes')
  const authPolicy = r.sized('authPolicy', MAX_DIGEST)
  const symmetric = r.u16('parameters.symmetric.algorithm')
  if (symmetric !== TPM_ALG.NULL) {
    r.u16('parameters.symmetric.keyBits')
    r.u16('parameters.symmetric.mode')
  }
  const schemeAlg = r.u16('parameters.scheme.scheme')
  const scheme: { alg: number, hashAlg?: number } = { alg: schemeAlg }
  if (schemeAlg !== TPM_ALG.NULL) {
    scheme.hashAlg = r.u16('parameters.scheme.details.hashAlg')
    if (schemeAlg === TPM_ALG.ECDAA) {
      r.u16('parameters.scheme.details.count')
    }
  }
  if (type === TPM_ALG.RSA) {
    const keyBits = r.u16('parameters.keyBits')
    if (keyBits < 1024 || keyBits > 8 * MAX_RSA_BYTES || keyBits % 8 !== 0) {
      r.fail('parameters.keyBits', `${keyBits} is not an RSA key size from 1024 to ${8 * MAX_RSA_BYTES} bits`)
    }
    const exponent = r.u32('parameters.exponent')
    const modulus = r.sized('unique.rsa', MAX_RSA_BYTES)
    if (modulus.length !== keyBits / 8) {
      r.fail('unique.rsa', `${modulus.length} bytes for a ${keyBits}-bit key`)
    }
    r.end()
    return { bytes: new Uint8Array(bytes), nameAlg, objectAttributes, authPolicy, symmetric, scheme, type: 'rsa', keyBits, exponent, modulus }
  }
  const curveId = r.u16('parameters.curveID')
  const kdf = r.u16('parameters.kdf.scheme')
  if (kdf !== TPM_ALG.NULL) {
    r.u16('parameters.kdf.details.hashAlg')
  }
  const x = r.sized('unique.ecc.x', MAX_ECC_BYTES)
  const y = r.sized('unique.ecc.y', MAX_ECC_BYTES)
  r.end()
  return { bytes: new Uint8Array(bytes), nameAlg, objectAttributes, authPolicy, symmetric, scheme, type: 'ecc', curveId, x, y }
}

export type TpmtSignature =
  | { sigAlg: typeof TPM_ALG.RSASSA | typeof TPM_ALG.RSAPSS, hashAlg: number, sig: Uint8Array }
  | { sigAlg: typeof TPM_ALG.ECDSA, hashAlg: number, r: Uint8Array, s: Uint8Array }

function isSignatureAlg (alg: number): alg is typeof TPM_ALG.RSASSA | typeof TPM_ALG.RSAPSS | typeof TPM_ALG.ECDSA {
  return alg === TPM_ALG.RSASSA || alg === TPM_ALG.RSAPSS || alg === TPM_ALG.ECDSA
}

/** `TPMT_SIGNATURE` by RSASSA, RSAPSS or ECDSA; other schemes are refused. */
export function decodeSignature (bytes: Uint8Array): TpmtSignature {
  const r: Reader = new Reader(bytes, 'TPMT_SIGNATURE')
  const sigAlg = r.u16('sigAlg')
  if (!isSignatureAlg(sigAlg)) {
    r.fail('sigAlg', `0x${sigAlg.toString(16)} is not RSASSA, RSAPSS or ECDSA`)
  }
  const hashAlg = r.u16('signature.hash')
  if (!HASH_SIZES.has(hashAlg)) {
    r.fail('signature.hash', `0x${hashAlg.toString(16)} is not a hash algorithm this verifier knows`)
  }
  if (sigAlg === TPM_ALG.ECDSA) {
    const sr = r.sized('signature.ecdsa.signatureR', MAX_ECC_BYTES)
    const ss = r.sized('signature.ecdsa.signatureS', MAX_ECC_BYTES)
    r.end()
    return { sigAlg, hashAlg, r: sr, s: ss }
  }
  const sig = r.sized('signature.rsa.sig', MAX_RSA_BYTES)
  r.end()
  return { sigAlg, hashAlg, sig }
}

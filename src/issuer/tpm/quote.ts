/**
 * What a decoded quote proves, checked piece by piece (pure; the verifier in
 * `verifier.ts` turns each failed check into its refusal reason):
 * - the attestation key is a TPM-resident restricted signing key
 *   (`akProblem`): fixedTPM and fixedParent (it cannot leave its TPM),
 *   sensitiveDataOrigin (the TPM made it), restricted + sign, not decrypt.
 *   A restricted key signs a digest only if the TPM computed it, so it never
 *   signs a forged structure starting with TPM_GENERATED_VALUE;
 * - its Name, nameAlg ‖ H_nameAlg(TPMT_PUBLIC): what the activation binds;
 * - the signature over the TPMS_ATTEST bytes (`verifyQuoteSignature`);
 * - the PCR values the evidence carries hash to the quote's pcrDigest
 *   (`pcrDigestOf`).
 */
import { createHash, createPublicKey, verify, constants } from 'node:crypto'
import { HASH_SIZES, TPM_ALG, TPM_ECC_CURVE, TPMA_OBJECT } from './decode.ts'
import type { PcrSelection, TpmtPublic, TpmtSignature } from './decode.ts'
import type { KeyObject } from 'node:crypto'

/** nameAlg ‖ H_nameAlg(TPMT_PUBLIC): the object's Name */
export function objectName (pub: TpmtPublic): Uint8Array {
  const hash = HASH_SIZES.get(pub.nameAlg)
  if (hash == null) {
    throw new RangeError('unknown name algorithm')
  }
  const alg = Buffer.alloc(2)
  alg.writeUInt16BE(pub.nameAlg)
  return new Uint8Array(Buffer.concat([alg, createHash(hash.name).update(pub.bytes).digest()]))
}

const REQUIRED = TPMA_OBJECT.fixedTPM | TPMA_OBJECT.fixedParent | TPMA_OBJECT.sensitiveDataOrigin | TPMA_OBJECT.restricted | TPMA_OBJECT.sign

/** why this public area is no attestation key, or undefined when it is one */
export function akProblem (pub: TpmtPublic): string | undefined {
  if ((pub.objectAttributes & REQUIRED) !== REQUIRED) {
    return 'the key must be fixedTPM, fixedParent, sensitiveDataOrigin, restricted and sign'
  }
  if ((pub.objectAttributes & TPMA_OBJECT.decrypt) !== 0) {
    return 'an attestation key must not decrypt'
  }
  if (pub.nameAlg === TPM_ALG.SHA1) {
    return 'a SHA-1 Name is not collision resistant'
  }
  if (pub.type === 'rsa' && pub.keyBits < 2048) {
    return `a ${pub.keyBits}-bit RSA key is too weak; 2048 bits at least`
  }
  if (pub.type === 'ecc' && !TPM_ECC_CURVE.has(pub.curveId)) {
    return `curve 0x${pub.curveId.toString(16)} is not P-256, P-384 or P-521`
  }
  return undefined
}

/** the AK as a node:crypto key; throws a TypeError on a key node cannot use */
export function akKey (pub: TpmtPublic): KeyObject {
  const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url')
  if (pub.type === 'rsa') {
    const e = Buffer.alloc(4)
    e.writeUInt32BE(pub.exponent === 0 ? 65537 : pub.exponent)
    let start = 0
    while (start < 3 && e[start] === 0) start++
    return createPublicKey({ key: { kty: 'RSA', n: b64(pub.modulus), e: b64(e.subarray(start)) }, format: 'jwk' })
  }
  const curve = TPM_ECC_CURVE.get(pub.curveId)
  if (curve == null || pub.x.length > curve.size || pub.y.length > curve.size) {
    throw new TypeError('the ECC point does not fit its curve')
  }
  return createPublicKey({ key: { kty: 'EC', crv: curve.jwk, x: b64(leftPad(pub.x, curve.size)), y: b64(leftPad(pub.y, curve.size)) }, format: 'jwk' })
}

function leftPad (b: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size)
  out.set(b, size - b.length)
  return out
}

/**
 * true when `signature` by the AK covers `attest` (the TPMS_ATTEST bytes),
 * with a scheme that fits the key (and the key's own scheme, if it fixes one).
 * SHA-1 is refused.
 */
export function verifyQuoteSignature (pub: TpmtPublic, key: KeyObject, attest: Uint8Array, signature: TpmtSignature): boolean {
  const hash = HASH_SIZES.get(signature.hashAlg)
  if (hash == null || signature.hashAlg === TPM_ALG.SHA1) {
    return false
  }
  if (pub.scheme.alg !== TPM_ALG.NULL && (pub.scheme.alg !== signature.sigAlg || pub.scheme.hashAlg !== signature.hashAlg)) {
    return false
  }
  try {
    if (signature.sigAlg === TPM_ALG.ECDSA) {
      if (pub.type !== 'ecc') {
        return false
      }
      const size = TPM_ECC_CURVE.get(pub.curveId)?.size ?? 0
      if (signature.r.length > size || signature.s.length > size) {
        return false
      }
      const sig = Buffer.concat([leftPad(signature.r, size), leftPad(signature.s, size)])
      return verify(hash.name, attest, { key, dsaEncoding: 'ieee-p1363' }, sig)
    }
    if (pub.type !== 'rsa' || signature.sig.length !== pub.modulus.length) {
      return false
    }
    if (signature.sigAlg === TPM_ALG.RSAPSS) {
      return verify(hash.name, attest, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO }, signature.sig)
    }
    return verify(hash.name, attest, { key, padding: constants.RSA_PKCS1_PADDING }, signature.sig)
  } catch {
    // a key and a signature node refuses to combine: not a valid signature
    return false
  }
}

/**
 * The pcrDigest a TPM computes over `values` for `selection`: the hash of the
 * signing scheme over every selected PCR's value, bank by bank in the
 * selection's order, PCRs ascending. Undefined when a selected PCR has no
 * value or a value has the wrong size for its bank.
 */
export function pcrDigestOf (selection: PcrSelection[], values: ReadonlyMap<number, ReadonlyMap<number, Uint8Array>>, hashAlg: number): Uint8Array | undefined {
  const hash = HASH_SIZES.get(hashAlg)
  if (hash == null) {
    return undefined
  }
  const h = createHash(hash.name)
  for (const bank of selection) {
    const size = HASH_SIZES.get(bank.hashAlg)?.size
    const bankValues = values.get(bank.hashAlg)
    for (const pcr of bank.pcrs) {
      const value = bankValues?.get(pcr)
      if (value == null || value.length !== size) {
        return undefined
      }
      h.update(value)
    }
  }
  return new Uint8Array(h.digest())
}

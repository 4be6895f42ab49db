/**
 * TPM2_MakeCredential in software (TPM 2.0 Library Part 1, §24 "Credential
 * Protection"; Part 3, MakeCredential): wrap a secret so that only a TPM
 * holding both the endorsement key (EK) and a loaded object with the given
 * Name recovers it with TPM2_ActivateCredential. The issuer wraps its
 * enrolment challenge for the node's EK and attestation key (AK): a node
 * that answers with that challenge proved the AK lives in the TPM the EK
 * certificate names.
 *
 * For an RSA EK (the default template, RSA-2048 with AES-128-CFB and
 * SHA-256 as its name algorithm):
 *   seed            = random, the size of a SHA-256 digest
 *   encryptedSecret = RSA-OAEP(SHA-256, label "IDENTITY\0") of the seed under the EK
 *   symKey          = KDFa(SHA-256, seed, "STORAGE", Name(AK), ∅, 128)
 *   hmacKey         = KDFa(SHA-256, seed, "INTEGRITY", ∅, ∅, 256)
 *   encIdentity     = AES-128-CFB(symKey, IV = 0, TPM2B_DIGEST(secret))
 *   integrity       = HMAC-SHA256(hmacKey, encIdentity ‖ Name(AK))
 *   credentialBlob  = TPM2B_DIGEST(integrity) ‖ encIdentity     (a TPM2B_ID_OBJECT's contents)
 */
import { constants, createCipheriv, createHmac, publicEncrypt, randomBytes } from 'node:crypto'
import type { KeyObject } from 'node:crypto'

export interface WrappedCredential {
  /** TPM2B_ID_OBJECT's contents (without its own size) */
  credentialBlob: Uint8Array
  /** TPM2B_ENCRYPTED_SECRET's contents: the seed under the EK */
  encryptedSecret: Uint8Array
}

/** largest secret: TPM2B_DIGEST holds at most a SHA-512 digest */
export const MAX_CREDENTIAL_SECRET = 64

/** SP 800-108 counter-mode KDF with HMAC, as TPM 2.0 Part 1 §11.4.10.2 defines KDFa. */
export function kdfa (hash: string, key: Uint8Array, label: string, contextU: Uint8Array, contextV: Uint8Array, bits: number): Uint8Array {
  const bytes = Math.ceil(bits / 8)
  const labelBytes = Buffer.concat([Buffer.from(label, 'latin1'), Buffer.from([0])])
  const size = Buffer.alloc(4)
  size.writeUInt32BE(bits)
  const out: Buffer[] = []
  let produced = 0
  for (let counter = 1; produced < bytes; counter++) {
    const i = Buffer.alloc(4)
    i.writeUInt32BE(counter)
    const block = createHmac(hash, key).update(i).update(labelBytes).update(contextU).update(contextV).update(size).digest()
    out.push(block)
    produced += block.length
  }
  return new Uint8Array(Buffer.concat(out).subarray(0, bytes))
}

/**
 * Wrap `secret` for the TPM whose RSA endorsement key is `ekPublicKey`, to
 * the object named `objectName` (nameAlg ‖ H(TPMT_PUBLIC)).
 */
export function makeCredential (ekPublicKey: KeyObject, objectName: Uint8Array, secret: Uint8Array, random: (n: number) => Uint8Array = n => new Uint8Array(randomBytes(n))): WrappedCredential {
  if (ekPublicKey.asymmetricKeyType !== 'rsa') {
    throw new TypeError('only an RSA endorsement key is supported')
  }
  if (secret.length === 0 || secret.length > MAX_CREDENTIAL_SECRET) {
    throw new RangeError(`a credential secret has 1 to ${MAX_CREDENTIAL_SECRET} bytes`)
  }
  const seed = random(32)
  const encryptedSecret = publicEncrypt({ key: ekPublicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: Buffer.from('IDENTITY\0', 'latin1') }, seed)
  const symKey = kdfa('sha256', seed, 'STORAGE', objectName, new Uint8Array(), 128)
  const hmacKey = kdfa('sha256', seed, 'INTEGRITY', new Uint8Array(), new Uint8Array(), 256)
  const plain = Buffer.alloc(2 + secret.length)
  plain.writeUInt16BE(secret.length)
  plain.set(secret, 2)
  const cipher = createCipheriv('aes-128-cfb', symKey, Buffer.alloc(16))
  const encIdentity = Buffer.concat([cipher.update(plain), cipher.final()])
  const integrity = createHmac('sha256', hmacKey).update(encIdentity).update(objectName).digest()
  const integritySize = Buffer.alloc(2)
  integritySize.writeUInt16BE(integrity.length)
  return {
    credentialBlob: new Uint8Array(Buffer.concat([integritySize, integrity, encIdentity])),
    encryptedSecret: new Uint8Array(encryptedSecret)
  }
}

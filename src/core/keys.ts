/**
 * Ed25519 keys as node:crypto KeyObjects (what jose signs with), and the
 * bridges to libp2p keys and PeerIds.
 */
import { KeyObject, createPrivateKey, createPublicKey, generateKeyPairSync, sign as edSign, verify as edVerify } from 'node:crypto'
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { setBounded } from './bounded-map.ts'

/**
 * What a key that cannot be read (a PKCS#11 token's) offers in place of a
 * KeyObject: its public key and signatures made where it lives.
 */
export interface Ed25519Signer {
  /** where the private key lives */
  readonly backend: 'memory' | 'pkcs11'
  /** the 32 raw bytes of the public key */
  readonly publicKey: Uint8Array
  /**
   * A plain Ed25519 signature (RFC 8032) over `data`. Synchronous, so every
   * signing site stays as it is: a local token (SoftHSM, a USB HSM, a TPM's
   * PKCS#11 layer) answers in well under a millisecond.
   */
  sign(data: Uint8Array): Uint8Array<ArrayBuffer>
}

/** A key to sign with: an in-memory private key, or a signer whose key stays where it is. */
export type SignerKey = KeyObject | Ed25519Signer

/** A signer over an in-memory Ed25519 private key (what file-held keys are once opened). */
export function memorySigner (privateKey: KeyObject): Ed25519Signer {
  if (privateKey.asymmetricKeyType !== 'ed25519' || privateKey.type !== 'private') {
    throw new TypeError('an Ed25519 private key is needed')
  }
  return { backend: 'memory', publicKey: rawPublicKey(privateKey), sign: (data) => new Uint8Array(edSign(null, data, privateKey)) }
}

export interface Ed25519KeyPair {
  privateKey: KeyObject
  publicKey: KeyObject
}

export function generateEd25519 (): Ed25519KeyPair {
  return generateKeyPairSync('ed25519')
}

/** the 32 raw public key bytes */
export function rawPublicKey (key: KeyObject): Uint8Array {
  const jwk = key.export({ format: 'jwk' })
  return new Uint8Array(Buffer.from(jwk.x ?? '', 'base64url'))
}

/** DER SubjectPublicKeyInfo header of an Ed25519 key; the 32 raw bytes follow */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')
const publicKeyCache = new Map<string, KeyObject>()
const PUBLIC_KEY_CACHE_SIZE = 4096

/** A KeyObject for a raw Ed25519 public key (cached: peers reconnect). */
export function publicKeyFromRawBytes (raw: Uint8Array): KeyObject {
  if (raw.length !== 32) {
    throw new RangeError('an Ed25519 public key is 32 bytes')
  }
  const id = Buffer.from(raw).toString('base64')
  let key = publicKeyCache.get(id)
  if (key == null) {
    key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' })
    setBounded(publicKeyCache, id, key, PUBLIC_KEY_CACHE_SIZE)
  }
  return key
}

/** PKCS#8 PEM, for storage (the issuer encrypts it at rest) */
export function privateKeyToPem (key: KeyObject): string {
  return key.export({ format: 'pem', type: 'pkcs8' }).toString()
}

export function privateKeyFromPem (pem: string): Ed25519KeyPair {
  const privateKey = createPrivateKey(pem)
  return { privateKey, publicKey: createPublicKey(privateKey) }
}

/** The PeerId whose identity key is this raw Ed25519 public key. */
export function peerIdOfRaw (raw: Uint8Array): string {
  return peerIdFromPublicKey(publicKeyFromRaw(raw)).toString()
}

/** domain ‖ 0x00 ‖ parts…: what every tempus signature covers */
export function domainBytes (domain: string, ...parts: Uint8Array[]): Uint8Array {
  const d = Buffer.from(domain, 'utf8')
  return Buffer.concat([d, Buffer.of(0), ...parts])
}

export function signDomain (key: SignerKey, domain: string, ...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const data = domainBytes(domain, ...parts)
  return key instanceof KeyObject ? new Uint8Array(edSign(null, data, key)) : key.sign(data)
}

export function verifyDomain (key: KeyObject, signature: Uint8Array, domain: string, ...parts: Uint8Array[]): boolean {
  if (signature.length !== 64) {
    return false
  }
  try {
    return edVerify(null, domainBytes(domain, ...parts), key, signature)
  } catch {
    return false
  }
}

const libp2pKeyObjects = new WeakMap<object, KeyObject>()
const externalSigners = new WeakMap<object, Ed25519Signer>()

/** Say that a libp2p private key object signs through `signer` (its `raw` cannot be read). */
export function registerExternalSigner (libp2pKey: object, signer: Ed25519Signer): void {
  externalSigners.set(libp2pKey, signer)
}

/** The signer behind a libp2p private key made by `registerExternalSigner`, if any. */
export function externalSignerOf (libp2pKey: object): Ed25519Signer | undefined {
  return externalSigners.get(libp2pKey)
}

/**
 * What signs for a libp2p Ed25519 private key: the signer of a key held in
 * a token, or a node:crypto KeyObject made once and
 * cached: @libp2p/crypto rebuilds one on every signature, which costs more
 * than the signature itself on the connection path.
 */
export function keyObjectOf (key: { type: string, raw: Uint8Array }): SignerKey {
  const external = externalSigners.get(key)
  if (external != null) {
    return external
  }
  let obj = libp2pKeyObjects.get(key)
  if (obj == null) {
    if (key.type !== 'Ed25519' || key.raw.length !== 64) {
      throw new TypeError('an Ed25519 private key is needed')
    }
    obj = createPrivateKey({
      key: { kty: 'OKP', crv: 'Ed25519', d: Buffer.from(key.raw.subarray(0, 32)).toString('base64url'), x: Buffer.from(key.raw.subarray(32)).toString('base64url') },
      format: 'jwk'
    })
    libp2pKeyObjects.set(key, obj)
  }
  return obj
}

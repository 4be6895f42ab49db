/**
 * Optional encryption of a bundle's payload to its destination's key.
 *
 * Every tempus PeerId is an Ed25519 key; its Montgomery form is an X25519
 * key (RFC 7748 birational map), so a source can encrypt to a destination
 * it has never met, with nothing but its PeerId. An ephemeral X25519 key
 * per bundle gives forward secrecy against a later leak of the source's key.
 *
 *   shared = X25519(ephemeral, montgomery(destination))
 *   key ‖ nonce = HKDF-SHA256(shared, salt = ephemeralPub ‖ destinationPub, info = domain ‖ id)
 *   ciphertext = AES-256-GCM(key, nonce, payload, aad = id) ‖ tag
 */
import { createCipheriv, createDecipheriv, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync } from 'node:crypto'
import { ed25519 } from '@noble/curves/ed25519.js'
import { DOMAINS } from '../core/domains.ts'
import { externalSignerOf } from '../core/keys.ts'
import { DtnError } from './errors.ts'
import type { KeyObject } from 'node:crypto'

const TAG_BYTES = 16

function x25519Public (raw: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' })
}

function x25519PublicRaw (key: KeyObject): Uint8Array {
  return Buffer.from(key.export({ format: 'jwk' }).x as string, 'base64url')
}

function derive (shared: Uint8Array, ephemeralPub: Uint8Array, destinationPub: Uint8Array, id: Uint8Array): { key: Buffer, nonce: Buffer } {
  const okm = Buffer.from(hkdfSync('sha256', shared, Buffer.concat([ephemeralPub, destinationPub]), Buffer.concat([Buffer.from(DOMAINS.dtnPayload), id]), 44))
  return { key: okm.subarray(0, 32), nonce: okm.subarray(32) }
}

/** Encrypt to the Ed25519 public key (32 raw bytes) of the destination. */
export function encryptPayload (destinationEd25519: Uint8Array, id: Uint8Array, payload: Uint8Array): { ephemeralKey: Uint8Array, ciphertext: Uint8Array } {
  const destinationPub = ed25519.utils.toMontgomery(destinationEd25519)
  const ephemeral = generateKeyPairSync('x25519')
  const ephemeralPub = x25519PublicRaw(ephemeral.publicKey)
  const shared = diffieHellman({ privateKey: ephemeral.privateKey, publicKey: x25519Public(destinationPub) })
  const { key, nonce } = derive(shared, ephemeralPub, destinationPub, id)
  const cipher = createCipheriv('aes-256-gcm', key, nonce)
  cipher.setAAD(id)
  const ciphertext = Buffer.concat([cipher.update(payload), cipher.final(), cipher.getAuthTag()])
  return { ephemeralKey: ephemeralPub, ciphertext }
}

/** Decrypt with this node's Ed25519 private key (libp2p's 64-byte seed ‖ public form). */
export function decryptPayload (ownEd25519: { raw: Uint8Array } & object, id: Uint8Array, ephemeralKey: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  if (ephemeralKey.length !== 32 || ciphertext.length < TAG_BYTES) {
    throw new DtnError('malformed', 'the encrypted payload is too short')
  }
  if (externalSignerOf(ownEd25519) != null) {
    // the payload is sealed to the X25519 form of the identity key, which a token cannot compute
    throw new DtnError('key-in-token', 'this node\'s identity key is in a PKCS#11 token, which cannot open payloads encrypted to it; senders must send to it unencrypted (encrypt: false) or through a node with a file key')
  }
  const seed = ownEd25519.raw.subarray(0, 32)
  const ownPub = ed25519.utils.toMontgomery(ownEd25519.raw.subarray(32))
  const secret = ed25519.utils.toMontgomerySecret(seed)
  // PKCS#8 wrapping of a raw X25519 private key (RFC 8410)
  const privateKey = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b656e04220420', 'hex'), secret]), format: 'der', type: 'pkcs8' })
  const shared = diffieHellman({ privateKey, publicKey: x25519Public(ephemeralKey) })
  const { key, nonce } = derive(shared, ephemeralKey, ownPub, id)
  const decipher = createDecipheriv('aes-256-gcm', key, nonce)
  decipher.setAAD(id)
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - TAG_BYTES))
  try {
    return Buffer.concat([decipher.update(ciphertext.subarray(0, ciphertext.length - TAG_BYTES)), decipher.final()])
  } catch {
    throw new DtnError('bad-digest', 'the payload does not decrypt')
  }
}

/** bytes added by encryption */
export const ENCRYPTION_OVERHEAD = TAG_BYTES

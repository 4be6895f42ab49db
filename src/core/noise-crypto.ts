/**
 * Noise's cryptography with each X25519 key made a KeyObject once.
 *
 * @chainsafe/libp2p-noise's Node crypto exports every key it generates as
 * DER and, for each of a handshake's three agreements, imports both keys
 * again from DER: in a CPU profile of reconnects between two tempus nodes
 * (issue #19), making KeyObjects (`createPrivateKey`, `createPublicKey` and
 * their slot checks) was 16 % of the busy samples, the agreements
 * themselves 2.6 %. This is its `defaultCrypto` with the two X25519
 * operations replaced: a key pair this module generates keeps its private
 * KeyObject (looked up by the very array Noise holds), the public half is
 * exported as JWK (a twentieth of DER's cost), and a remote key is
 * imported once however many agreements use it. Everything else (hashing,
 * HKDF, ChaCha20-Poly1305) is Noise's own; the bytes on the wire are the
 * same, so it interoperates with any Noise peer
 * (`test/core/noise-crypto.test.ts`).
 */
import { KeyObject, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, webcrypto } from 'node:crypto'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import type { ICryptoInterface } from '@chainsafe/libp2p-noise'

/** a key as Noise hands it over: an array, or a list (its own uint8arraylist's) */
type NoiseKey = Parameters<ICryptoInterface['generateX25519SharedKey']>[0]

const KEY_BYTES = 32
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex')

/** a KeyObject and the bytes it was made from */
interface Made {
  bytes: Buffer
  key: KeyObject
}

/** KeyObjects by the array (or list) Noise holds the key in: gone with it */
const privateKeys = new WeakMap<object, Made>()
const publicKeys = new WeakMap<object, Made>()

/** how often a key was found made already (tests read it: a handshake must hit) */
export const noiseKeyReuse = { hits: 0, imports: 0 }

/**
 * A key's bytes as they are now, in memory of their own: always a copy
 * (Noise may rewrite the key's array in place, so even an array that owns
 * its memory is copied), and not cut from the Buffer pool, since it lives
 * as long as the connection (own-bytes.ts).
 */
function keptCopy (raw: Uint8Array): Buffer {
  return Buffer.from(new Uint8Array(raw).buffer)
}

function bytesOf (key: NoiseKey): Buffer {
  const b = key instanceof Uint8Array ? key : key.subarray()
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength)
}

/** the KeyObject made for `key` before, or made now and kept */
function cached (made: WeakMap<object, Made>, key: NoiseKey, make: (raw: Buffer) => KeyObject): KeyObject {
  const raw = bytesOf(key)
  const found = made.get(key)
  // the same array holding other bytes (Noise rewrote it in place) is a new key
  if (found?.bytes.equals(raw) === true) {
    noiseKeyReuse.hits++
    return found.key
  }
  noiseKeyReuse.imports++
  const k = make(raw)
  made.set(key, { bytes: keptCopy(raw), key: k })
  return k
}

function privateKeyOf (key: NoiseKey): KeyObject {
  return cached(privateKeys, key, raw => createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, raw]), format: 'der', type: 'pkcs8' }))
}

function publicKeyOf (key: NoiseKey): KeyObject {
  // from JWK: two thirds of DER's cost (21 vs 33 µs here), the same key
  return cached(publicKeys, key, raw => createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: raw.toString('base64url') }, format: 'jwk' }))
}

function rawOf (jwkField: string | undefined): Uint8Array {
  const raw = new Uint8Array(Buffer.from(jwkField ?? '', 'base64url'))
  if (raw.length !== KEY_BYTES) {
    throw new RangeError(`an X25519 key exported as ${raw.length} bytes, not ${KEY_BYTES}`)
  }
  return raw
}

/**
 * The agreement of a private key made here (`generateX25519KeyPair`) with a
 * remote public key given as its 32 bytes, the remote imported through
 * WebCrypto's raw format: Node builds that key from the bytes themselves,
 * at a fifth of `createPublicKey`'s cost (7 vs 33 µs here), which parses a
 * DER or JWK wrapper first. Asynchronous, so Noise's synchronous interface
 * cannot use it; the resumption's one agreement a side does (issue #19).
 * Throws as `diffieHellman` does where OpenSSL refuses the agreement.
 */
export async function agreeX25519 (privateKey: Uint8Array, remoteRaw: Uint8Array): Promise<Uint8Array> {
  const remote = KeyObject.from(await webcrypto.subtle.importKey('raw', remoteRaw, { name: 'X25519' }, true, []))
  return diffieHellman({ privateKey: privateKeyOf(privateKey), publicKey: remote })
}

export const noiseCrypto: ICryptoInterface = {
  ...defaultCrypto,
  generateX25519KeyPair () {
    const pair = generateKeyPairSync('x25519')
    const privateKey = rawOf(pair.privateKey.export({ format: 'jwk' }).d)
    privateKeys.set(privateKey, { bytes: keptCopy(privateKey), key: pair.privateKey })
    return { publicKey: rawOf(pair.publicKey.export({ format: 'jwk' }).x), privateKey }
  },
  generateX25519KeyPairFromSeed (seed: Uint8Array) {
    const pair = defaultCrypto.generateX25519KeyPairFromSeed(seed)
    privateKeyOf(pair.privateKey)
    return pair
  },
  generateX25519SharedKey (privateKey: NoiseKey, publicKey: NoiseKey): Uint8Array {
    return diffieHellman({ privateKey: privateKeyOf(privateKey), publicKey: publicKeyOf(publicKey) })
  }
}

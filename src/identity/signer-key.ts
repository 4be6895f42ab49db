/**
 * The seam between a key that cannot be read and libp2p. libp2p v3 takes
 * any object with the `PrivateKey` shape (`@libp2p/interface`'s
 * `Ed25519PrivateKey`): it reads `publicKey` (the PeerId, identify, Noise's
 * identity payload, gossipsub's author key) and calls `sign(data)`, whose
 * result may be a promise (Noise's handshake signature, signed peer
 * records, gossipsub messages). It never reads `raw`. So the node's
 * identity is an object whose `sign` goes to the token and whose `raw`
 * refuses, and tempus's own signatures (admission proofs, descriptors,
 * frames, bundles) find the token through `keyObjectOf`, which returns the
 * registered signer for it.
 */
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import { registerExternalSigner } from '../core/keys.ts'
import { KeyError } from './key-error.ts'
import type { Ed25519Signer } from '../core/keys.ts'
import type { Ed25519PrivateKey, Ed25519PublicKey } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'

/** An identity key libp2p can use, signing through `signer` (which also answers `close`). */
export function libp2pKeyOf (signer: Ed25519Signer & { close?: () => void }): Ed25519PrivateKey & { close: () => void } {
  const publicKey = publicKeyFromRaw(signer.publicKey) as Ed25519PublicKey
  const key = {
    type: 'Ed25519' as const,
    publicKey,
    get raw (): Uint8Array {
      throw new KeyError('not-exportable', 'the identity key is held in a PKCS#11 token and cannot be read out')
    },
    equals (other?: any): boolean {
      return other === key || (other?.type === 'Ed25519' && other.publicKey?.equals?.(publicKey) === true)
    },
    sign (data: Uint8Array | Uint8ArrayList): Uint8Array {
      return signer.sign(data instanceof Uint8Array ? data : data.subarray())
    },
    close (): void {
      signer.close?.()
    }
  }
  registerExternalSigner(key, signer)
  return key
}

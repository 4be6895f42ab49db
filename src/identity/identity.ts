import { generateKeyPair } from '@libp2p/crypto/keys'
import type { KeyStore } from './key-store.ts'
import type { PrivateKey } from '@libp2p/interface'

export interface LoadedIdentity {
  privateKey: PrivateKey
  /** true when the key was created by this call */
  created: boolean
}

/** Load the node's Ed25519 key, or create and store one on first run. */
export async function loadOrCreateIdentity (store: KeyStore): Promise<LoadedIdentity> {
  const existing = await store.load()
  if (existing != null) {
    return { privateKey: existing, created: false }
  }
  const privateKey = await generateKeyPair('Ed25519')
  await store.save(privateKey)
  return { privateKey, created: true }
}

import { EncryptedFileKeyStore } from './key-store.ts'
import { Pkcs11KeyStore, readKeyReference } from './pkcs11-key-store.ts'
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
  return { privateKey: await store.create(), created: true }
}

export interface IdentityKeyStoreOptions {
  /** the passphrase of an encrypted key file (asked for only when the key is one) */
  passphrase: () => Promise<string>
  scryptN?: number
  env?: NodeJS.ProcessEnv
}

/**
 * The store of the identity key file at `path`: a PKCS#11 token when the
 * file is a key reference (`tempus init --key pkcs11:…`), else the
 * encrypted file (also when none exists yet).
 */
export async function identityKeyStore (path: string, options: IdentityKeyStoreOptions): Promise<KeyStore> {
  const ref = await readKeyReference(path)
  if (ref != null) {
    return new Pkcs11KeyStore({ path, uri: ref.uri, env: options.env })
  }
  return new EncryptedFileKeyStore({ path, passphrase: await options.passphrase(), scryptN: options.scryptN })
}

/** Release what an identity key holds (a token session); nothing for an in-memory key. */
export function releaseIdentityKey (key: PrivateKey): void {
  (key as { close?: () => void }).close?.()
}

/**
 * @packageDocumentation
 *
 * A node's identity is its libp2p Ed25519 key. It is created on first run and
 * stored encrypted at rest behind the `KeyStore` interface.
 *
 * @example
 *
 * ```ts
 * const passphrase = await resolvePassphrase()
 * const store = new EncryptedFileKeyStore({ path: 'data/identity.key', passphrase: passphrase.value })
 * const { privateKey, created } = await loadOrCreateIdentity(store)
 * ```
 */
export { EncryptedFileKeyStore, writeFileDurably } from './key-store.ts'
export type { KeyStore, EncryptedFileKeyStoreInit } from './key-store.ts'
export { loadOrCreateIdentity } from './identity.ts'
export type { LoadedIdentity } from './identity.ts'
export { resolvePassphrase, DEV_PASSPHRASE, PASSPHRASE_ENV, PASSPHRASE_FILE_ENV, PASSPHRASE_CREDENTIAL } from './passphrase.ts'
export type { Passphrase, PassphraseOptions } from './passphrase.ts'
export { IdentityError } from './errors.ts'

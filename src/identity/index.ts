/**
 * @packageDocumentation
 *
 * A node's identity is its libp2p Ed25519 key. It is created on first run
 * behind the `KeyStore` interface: sealed in a file with a passphrase
 * (`EncryptedFileKeyStore`), or generated inside a PKCS#11 token and never
 * exported (`Pkcs11KeyStore`; the data directory keeps a reference).
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
export { loadOrCreateIdentity, identityKeyStore, releaseIdentityKey } from './identity.ts'
export type { LoadedIdentity, IdentityKeyStoreOptions } from './identity.ts'
export { Pkcs11KeyStore, readKeyReference, KEY_REFERENCE_FORMAT } from './pkcs11-key-store.ts'
export type { KeyReference, Pkcs11KeyStoreInit } from './pkcs11-key-store.ts'
export { openPkcs11Key, Pkcs11Ed25519Key, CKK_EC_EDWARDS, CKM_EC_EDWARDS_KEY_PAIR_GEN, CKM_EDDSA } from './pkcs11-key.ts'
export type { OpenPkcs11KeyOptions } from './pkcs11-key.ts'
export { parsePkcs11Uri, formatPkcs11Uri } from './pkcs11-uri.ts'
export type { Pkcs11Uri } from './pkcs11-uri.ts'
export { resolvePin, PIN_ENV, PIN_FILE_ENV, PIN_CREDENTIAL } from './pkcs11-pin.ts'
export { libp2pKeyOf } from './signer-key.ts'
export { KeyError } from './key-error.ts'
export type { KeyErrorCode } from './key-error.ts'
export { resolvePassphrase, DEV_PASSPHRASE, PASSPHRASE_ENV, PASSPHRASE_FILE_ENV, PASSPHRASE_CREDENTIAL } from './passphrase.ts'
export type { Passphrase, PassphraseOptions } from './passphrase.ts'
export { IdentityError } from './errors.ts'

/**
 * An administrator's key file. An admin key approves revocations, so it is
 * kept like every other key here: sealed with a passphrase (AES-256-GCM
 * under scrypt, `identity/seal.ts`), mode 0600, written atomically, and
 * never replaced by accident — losing it silently would lose a vote in the
 * k-of-n revocation quorum.
 *
 * File: `{ "kind": "tempus-admin-key", "version": 1, "publicKey": b64url, "sealed": … }`;
 * the public key is in clear so an operator can read it without the
 * passphrase, and is checked against the unsealed key on every load.
 * Older versions wrote a bare PKCS#8 PEM: it still loads, with a warning.
 */
import { readFile } from 'node:fs/promises'
import { privateKeyFromPem, privateKeyToPem, rawPublicKey } from '../core/keys.ts'
import { IdentityError } from '../identity/errors.ts'
import { writeFileDurably } from '../identity/key-store.ts'
import { DEFAULT_SCRYPT_N, seal, unseal } from '../identity/seal.ts'
import { UsageError } from './errors.ts'
import type { Ed25519KeyPair } from '../core/keys.ts'

const LABEL = 'tempus-mesh admin key v1'
const KIND = 'tempus-admin-key'
/** a key file is well under 1 KiB */
const MAX_FILE_BYTES = 16 * 1024

export interface LoadedAdminKey {
  pair: Ed25519KeyPair
  /** base64url raw Ed25519 public key, as `tempus issuer admin add` takes it */
  publicKey: string
  /** the file is a legacy unencrypted PEM */
  legacy: boolean
}

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url')

/** The sealed file's contents for `pair`. */
export async function sealAdminKey (pair: Ed25519KeyPair, passphrase: string, scryptN = DEFAULT_SCRYPT_N): Promise<string> {
  const sealed = await seal(passphrase, LABEL, Buffer.from(privateKeyToPem(pair.privateKey)), scryptN)
  return JSON.stringify({ kind: KIND, version: 1, publicKey: b64(rawPublicKey(pair.publicKey)), sealed }, null, 2) + '\n'
}

export async function loadAdminKey (path: string, passphrase: string): Promise<LoadedAdminKey> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err: any) {
    throw new IdentityError(`cannot read admin key ${path}: ${err.code ?? 'unreadable'}`)
  }
  if (text.length > MAX_FILE_BYTES) {
    throw new IdentityError(`${path} is not an admin key (too large)`)
  }
  if (text.trimStart().startsWith('-----BEGIN PRIVATE KEY-----')) {
    const pair = ed25519FromPem(text, path)
    return { pair, publicKey: b64(rawPublicKey(pair.publicKey)), legacy: true }
  }
  let file: any
  try {
    file = JSON.parse(text)
  } catch {
    throw new IdentityError(`${path} is not an admin key (made by: tempus admin keygen)`)
  }
  if (file?.kind !== KIND || file.version !== 1 || typeof file.publicKey !== 'string') {
    throw new IdentityError(`${path} is not an admin key (made by: tempus admin keygen)`)
  }
  let plaintext: Uint8Array
  try {
    plaintext = await unseal(passphrase, LABEL, file.sealed)
  } catch (err: any) {
    throw new IdentityError(/passphrase/.test(err.message)
      ? `cannot decrypt admin key ${path}: wrong passphrase (TEMPUS_PASSPHRASE or --passphrase-file) or corrupted file`
      : `${path} is not an admin key (version 1)`)
  }
  const pair = ed25519FromPem(Buffer.from(plaintext).toString(), path)
  const publicKey = b64(rawPublicKey(pair.publicKey))
  if (publicKey !== file.publicKey) {
    throw new IdentityError(`admin key ${path}: the public key written in the file is not the sealed key's; the file was altered`)
  }
  return { pair, publicKey, legacy: false }
}

function ed25519FromPem (pem: string, path: string): Ed25519KeyPair {
  try {
    const pair = privateKeyFromPem(pem)
    if (pair.privateKey.asymmetricKeyType === 'ed25519') {
      return pair
    }
  } catch {}
  throw new IdentityError(`${path} is not an Ed25519 admin key`)
}

/**
 * Write an admin key file, 0600, atomically; without `replace` an existing
 * file is never lost, not even to a concurrent writer (writeFileDurably).
 */
export async function writeKeyFile (path: string, contents: string, replace: boolean): Promise<void> {
  try {
    await writeFileDurably(path, contents, 0o600, { replace })
  } catch (err: any) {
    if (err.code === 'EEXIST') {
      throw new UsageError(`${path} exists and may hold an admin key; not replaced (use --force to replace it, which loses that key, or choose another --out)`)
    }
    throw new IdentityError(`cannot write admin key ${path}: ${err.code ?? 'unwritable'}`)
  }
}

/**
 * The offline root's key on its own machine: a file sealed with the root
 * passphrase (scrypt + AEAD, `identity/seal.ts`), or a key generated in a
 * PKCS#11 token. Never on the issuer: the issuer knows the root's public
 * key only (`tempus issuer init --offline-root`).
 */
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { generateEd25519, memorySigner, privateKeyFromPem, privateKeyToPem } from '../core/keys.ts'
import { writeFileDurably } from '../identity/key-store.ts'
import { openPkcs11Key } from '../identity/pkcs11-key.ts'
import { resolvePin } from '../identity/pkcs11-pin.ts'
import { parsePkcs11Uri } from '../identity/pkcs11-uri.ts'
import { seal, unseal } from '../identity/seal.ts'
import { IssuerError } from './errors.ts'
import type { Ed25519Signer } from '../core/keys.ts'

const FORMAT = 'tempus-mesh root key'
const SEAL_LABEL = 'tempus-mesh root key v1'

export interface RootKey {
  signer: Ed25519Signer
  /** the 32 raw public key bytes */
  publicKey: Uint8Array
  close(): void
}

/** `--key`: a `pkcs11:` URI, or the path of a sealed root key file */
export function isTokenKey (key: string): boolean {
  return key.startsWith('pkcs11:')
}

/** Make a new root key: in the token the URI names, or a new sealed file at `key`. */
export async function createRootKey (key: string, passphrase: string, env: NodeJS.ProcessEnv = process.env, scryptN?: number): Promise<RootKey> {
  if (isTokenKey(key)) {
    const uri = parsePkcs11Uri(key)
    const token = openPkcs11Key(uri, { pin: await resolvePin({ pinSource: uri.pinSource, env }), generate: true })
    if (!token.created) {
      token.close()
      throw new IssuerError('conflict', 'the token already holds a key under that URI; a root is made once (use tempus root sign with it, or name another object=)')
    }
    return { signer: token, publicKey: token.publicKey, close: () => { token.close() } }
  }
  if (existsSync(key)) {
    throw new IssuerError('conflict', `${key} exists: a root key file is never overwritten`)
  }
  const pair = generateEd25519()
  const signer = memorySigner(pair.privateKey)
  const sealed = await seal(passphrase, SEAL_LABEL, Buffer.from(privateKeyToPem(pair.privateKey)), scryptN)
  await writeFileDurably(key, JSON.stringify({ format: FORMAT, version: 1, publicKey: Buffer.from(signer.publicKey).toString('base64url'), sealed }, null, 2) + '\n', 0o600)
  return { signer, publicKey: signer.publicKey, close: () => {} }
}

/** Open an existing root key (file or token). */
export async function openRootKey (key: string, passphrase: string, env: NodeJS.ProcessEnv = process.env): Promise<RootKey> {
  if (isTokenKey(key)) {
    const uri = parsePkcs11Uri(key)
    const token = openPkcs11Key(uri, { pin: await resolvePin({ pinSource: uri.pinSource, env }) })
    return { signer: token, publicKey: token.publicKey, close: () => { token.close() } }
  }
  let file: any
  try {
    file = JSON.parse(await readFile(key, 'utf8'))
  } catch (err: any) {
    throw new IssuerError('bad-request', `${key}: ${err.code === 'ENOENT' ? 'no such file' : 'not a root key file'} (make one with tempus root init --key FILE)`)
  }
  if (file?.format !== FORMAT || file.version !== 1) {
    throw new IssuerError('bad-request', `${key} is not a tempus root key file`)
  }
  let signer: Ed25519Signer
  try {
    signer = memorySigner(privateKeyFromPem(Buffer.from(await unseal(passphrase, SEAL_LABEL, file.sealed)).toString()).privateKey)
  } catch {
    throw new IssuerError('bad-request', `cannot open ${key}: wrong root passphrase (TEMPUS_ROOT_PASSPHRASE_FILE / TEMPUS_ROOT_PASSPHRASE) or a damaged file`)
  }
  return { signer, publicKey: signer.publicKey, close: () => {} }
}

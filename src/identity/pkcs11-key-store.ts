/**
 * A node's identity in a PKCS#11 token. The data directory keeps only a
 * reference to it (the `identity.key` file holds the key's URI and its
 * public key, no secret): the token keeps the private key, and signs.
 * Loading checks that the token's key is still the one the reference was
 * written for, so a swapped token or a reused label is refused, never
 * silently a new identity.
 */
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { KeyError } from './key-error.ts'
import { writeFileDurably } from './key-store.ts'
import { resolvePin } from './pkcs11-pin.ts'
import { parsePkcs11Uri } from './pkcs11-uri.ts'
import { libp2pKeyOf } from './signer-key.ts'
import type { KeyStore } from './key-store.ts'
import type { Pkcs11Uri } from './pkcs11-uri.ts'
import type { PrivateKey } from '@libp2p/interface'

/**
 * The PKCS#11 binding (a native addon, about 3 MB of RSS) is loaded when a
 * token key is opened, not with this module: every node process reads its
 * key file through here, and most keys are encrypted files.
 */
const loadPkcs11Key = async (): Promise<typeof import('./pkcs11-key.ts')> => await import('./pkcs11-key.ts')

/** what the first line of a reference file says it is */
export const KEY_REFERENCE_FORMAT = 'tempus-mesh key reference'
const MAX_REFERENCE_BYTES = 4096

export interface KeyReference {
  format: typeof KEY_REFERENCE_FORMAT
  version: 1
  backend: 'pkcs11'
  /** RFC 7512 URI of the private key, with its CKA_ID (never a PIN) */
  uri: string
  /** base64url of the raw Ed25519 public key */
  publicKey: string
}

export interface Pkcs11KeyStoreInit {
  /** the reference file (the data directory's identity key file) */
  path: string
  /** where new keys are made: the token and label (an id is chosen per key) */
  uri: string | Pkcs11Uri
  env?: NodeJS.ProcessEnv
}

/** The reference in `text`, or undefined when `text` is not one (an encrypted key file, say). */
export function parseKeyReference (text: string, path: string): KeyReference | undefined {
  if (text.length > MAX_REFERENCE_BYTES || !text.includes(KEY_REFERENCE_FORMAT)) {
    return undefined
  }
  let value: any
  try {
    value = JSON.parse(text)
  } catch {
    throw new KeyError('bad-uri', `${path} is a damaged key reference (not JSON); restore it from a backup or run tempus init --key URI again`)
  }
  if (value?.format !== KEY_REFERENCE_FORMAT || value.version !== 1 || value.backend !== 'pkcs11' || typeof value.uri !== 'string' || typeof value.publicKey !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(value.publicKey)) {
    throw new KeyError('bad-uri', `${path} is not a valid key reference (version 1, backend pkcs11, uri, publicKey); restore it from a backup`)
  }
  parsePkcs11Uri(value.uri)
  return value as KeyReference
}

/** The key reference at `path`, or undefined when the file is missing or holds something else. */
export async function readKeyReference (path: string): Promise<KeyReference | undefined> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err: any) {
    if (err.code === 'ENOENT') {
      return undefined
    }
    throw new KeyError('not-found', `cannot read ${path}: ${err.code ?? 'unreadable'}`)
  }
  return parseKeyReference(text, path)
}

export class Pkcs11KeyStore implements KeyStore {
  private readonly path: string
  private readonly base: Pkcs11Uri
  private readonly env?: NodeJS.ProcessEnv

  constructor (init: Pkcs11KeyStoreInit) {
    this.path = init.path
    this.base = typeof init.uri === 'string' ? parsePkcs11Uri(init.uri) : init.uri
    this.env = init.env
  }

  /** A store for another reference file that makes its keys in the same token (a re-key's next key). */
  beside (path: string): Pkcs11KeyStore {
    const { id: _id, ...base } = this.base
    return new Pkcs11KeyStore({ path, uri: base, env: this.env })
  }

  async load (): Promise<PrivateKey | undefined> {
    const ref = await readKeyReference(this.path)
    if (ref == null) {
      return undefined
    }
    const uri = parsePkcs11Uri(ref.uri)
    const key = (await loadPkcs11Key()).openPkcs11Key(uri, { pin: await resolvePin({ pinSource: uri.pinSource, env: this.env }) })
    if (Buffer.from(key.publicKey).toString('base64url') !== ref.publicKey) {
      key.close()
      throw new KeyError('unsuitable', `the token's key at ${ref.uri} is not the key ${this.path} was made for (another token, or the label reused); put the right token in, or restore the data directory`)
    }
    return libp2pKeyOf(key)
  }

  async save (): Promise<void> {
    throw new KeyError('not-exportable', 'a key in a PKCS#11 token is made in the token (create), never written from outside')
  }

  /** Generate a new Ed25519 key pair inside the token (never extractable) and write its reference. */
  async create (): Promise<PrivateKey> {
    const uri: Pkcs11Uri = { ...this.base, id: this.base.id ?? new Uint8Array(randomBytes(16)) }
    const key = (await loadPkcs11Key()).openPkcs11Key(uri, { pin: await resolvePin({ pinSource: uri.pinSource, env: this.env }), generate: true })
    const ref: KeyReference = { format: KEY_REFERENCE_FORMAT, version: 1, backend: 'pkcs11', uri: key.uri, publicKey: Buffer.from(key.publicKey).toString('base64url') }
    try {
      await writeFileDurably(this.path, JSON.stringify(ref, null, 2) + '\n', 0o600)
    } catch (err) {
      key.close()
      throw err
    }
    return libp2pKeyOf(key)
  }
}

/**
 * Where a node's identity key lives. The interface is small so a
 * hardware-backed store replaces the default encrypted file without
 * touching the node: `Pkcs11KeyStore` keeps the key in a PKCS#11 token.
 */
import { randomBytes } from 'node:crypto'
import { link, open, readFile, rename, mkdir, unlink } from 'node:fs/promises'
import { dirname } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { IdentityError } from './errors.ts'
import { DEFAULT_SCRYPT_N, seal, unseal } from './seal.ts'
import type { PrivateKey } from '@libp2p/interface'

export interface KeyStore {
  /** the stored key, or `undefined` when none was stored yet */
  load(): Promise<PrivateKey | undefined>
  /** make a new key where this store keeps keys, and keep it durably */
  create(): Promise<PrivateKey>
  /** a store of the same kind at another path (a re-key keeps its next key beside the current one) */
  beside(path: string): KeyStore
}

export interface EncryptedFileKeyStoreInit {
  path: string
  passphrase: string
  /** scrypt cost parameter N (a power of two); stored in the file */
  scryptN?: number
}

/** largest key file we read: a key file is a few hundred bytes */
const MAX_KEY_FILE_BYTES = 16 * 1024
/** the file's contents are authenticated together with this label */
const LABEL = 'tempus-mesh identity key v1'

/**
 * The private key, protobuf-encoded as libp2p does, encrypted with
 * AES-256-GCM under a key derived from the passphrase with scrypt, written
 * atomically with mode 0600.
 */
export class EncryptedFileKeyStore implements KeyStore {
  private readonly path: string
  private readonly passphrase: string
  private readonly scryptN: number

  constructor (init: EncryptedFileKeyStoreInit) {
    this.path = init.path
    this.passphrase = init.passphrase
    this.scryptN = init.scryptN ?? DEFAULT_SCRYPT_N
  }

  async load (): Promise<PrivateKey | undefined> {
    let text: string
    try {
      text = await readFile(this.path, 'utf8')
    } catch (err: any) {
      if (err.code === 'ENOENT') {
        return undefined
      }
      throw new IdentityError(`cannot read identity key ${this.path}: ${err.code ?? 'unreadable'}`)
    }
    if (text.length > MAX_KEY_FILE_BYTES) {
      throw new IdentityError(`identity key ${this.path} is not a tempus key file (too large)`)
    }
    let box: unknown
    try {
      box = JSON.parse(text)
    } catch {
      throw new IdentityError(`identity key ${this.path} is not a tempus key file`)
    }
    let plaintext: Uint8Array
    try {
      plaintext = await unseal(this.passphrase, LABEL, box)
    } catch (err: any) {
      throw new IdentityError(/passphrase/.test(err.message)
        ? `cannot decrypt identity key ${this.path}: wrong passphrase or corrupted file`
        : `identity key ${this.path} is not a tempus key file (version 1)`)
    }
    try {
      return privateKeyFromProtobuf(plaintext)
    } catch {
      throw new IdentityError(`identity key ${this.path} does not hold a valid private key`)
    }
  }

  async create (): Promise<PrivateKey> {
    const key = await generateKeyPair('Ed25519')
    await this.save(key)
    return key
  }

  beside (path: string): EncryptedFileKeyStore {
    return new EncryptedFileKeyStore({ path, passphrase: this.passphrase, scryptN: this.scryptN })
  }

  async save (privateKey: PrivateKey): Promise<void> {
    const box = await seal(this.passphrase, LABEL, privateKeyToProtobuf(privateKey), this.scryptN)
    await writeFileDurably(this.path, JSON.stringify(box, null, 2) + '\n', 0o600)
  }
}

/**
 * Write a file so that either the old or the new contents survive a crash:
 * write a temporary file with the final mode, fsync it, rename it over the
 * target (or, with `replace: false`, link it to a name that must not exist
 * yet), fsync the directory.
 */
export async function writeFileDurably (path: string, contents: string, mode: number, options: { replace?: boolean } = {}): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`
  const handle = await open(tmp, 'wx', mode)
  try {
    await handle.writeFile(contents)
    await handle.sync()
  } finally {
    await handle.close()
  }
  try {
    if (options.replace === false) {
      // `link` fails with EEXIST if `path` exists: an existing file is never
      // lost, not even to a concurrent writer
      await link(tmp, path)
      await unlink(tmp)
    } else {
      await rename(tmp, path)
    }
  } catch (err) {
    await unlink(tmp).catch(() => {})
    throw err
  }
  const dir = await open(dirname(path), 'r')
  try {
    await dir.sync()
  } finally {
    await dir.close()
  }
}

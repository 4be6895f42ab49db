/**
 * Where a node's identity key lives. The interface is small so a
 * hardware-backed store (TPM, secure enclave, HSM) can replace the default
 * encrypted file later without touching the node.
 */
import { randomBytes, scrypt as scryptCb, createCipheriv, createDecipheriv } from 'node:crypto'
import { open, readFile, rename, mkdir, unlink } from 'node:fs/promises'
import { dirname } from 'node:path'
import { promisify } from 'node:util'
import { privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { IdentityError } from './errors.ts'
import type { PrivateKey } from '@libp2p/interface'

const scrypt = promisify(scryptCb) as (password: string, salt: Buffer, keylen: number, options: { N: number, r: number, p: number, maxmem: number }) => Promise<Buffer>

export interface KeyStore {
  /** the stored key, or `undefined` when none was stored yet */
  load(): Promise<PrivateKey | undefined>
  /** store the key durably */
  save(key: PrivateKey): Promise<void>
}

export interface EncryptedFileKeyStoreInit {
  path: string
  passphrase: string
  /** scrypt cost parameter N (a power of two); stored in the file */
  scryptN?: number
}

/** Stored as JSON; every binary field is base64. */
interface KeyFile {
  version: 1
  kdf: 'scrypt'
  N: number
  r: number
  p: number
  salt: string
  cipher: 'aes-256-gcm'
  iv: string
  tag: string
  ciphertext: string
}

const DEFAULT_SCRYPT_N = 1 << 15
const SCRYPT_R = 8
const SCRYPT_P = 1
/** largest key file we read: a key file is a few hundred bytes */
const MAX_KEY_FILE_BYTES = 16 * 1024
/** the file's contents are authenticated together with this label */
const AAD = Buffer.from('tempus-mesh identity key v1')

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
    const file = parseKeyFile(text, this.path)
    const key = await deriveKey(this.passphrase, Buffer.from(file.salt, 'base64'), file.N, file.r, file.p)
    let plaintext: Buffer
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(file.iv, 'base64'))
      decipher.setAAD(AAD)
      decipher.setAuthTag(Buffer.from(file.tag, 'base64'))
      plaintext = Buffer.concat([decipher.update(Buffer.from(file.ciphertext, 'base64')), decipher.final()])
    } catch {
      throw new IdentityError(`cannot decrypt identity key ${this.path}: wrong passphrase or corrupted file`)
    }
    try {
      return privateKeyFromProtobuf(plaintext)
    } catch {
      throw new IdentityError(`identity key ${this.path} does not hold a valid private key`)
    }
  }

  async save (privateKey: PrivateKey): Promise<void> {
    const salt = randomBytes(16)
    const iv = randomBytes(12)
    const key = await deriveKey(this.passphrase, salt, this.scryptN, SCRYPT_R, SCRYPT_P)
    const cipher = createCipheriv('aes-256-gcm', key, iv)
    cipher.setAAD(AAD)
    const ciphertext = Buffer.concat([cipher.update(privateKeyToProtobuf(privateKey)), cipher.final()])
    const file: KeyFile = {
      version: 1,
      kdf: 'scrypt',
      N: this.scryptN,
      r: SCRYPT_R,
      p: SCRYPT_P,
      salt: salt.toString('base64'),
      cipher: 'aes-256-gcm',
      iv: iv.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
      ciphertext: ciphertext.toString('base64')
    }
    await writeFileDurably(this.path, JSON.stringify(file, null, 2) + '\n', 0o600)
  }
}

/**
 * Write a file so that either the old or the new contents survive a crash:
 * write a temporary file with the final mode, fsync it, rename it over the
 * target, fsync the directory.
 */
export async function writeFileDurably (path: string, contents: string, mode: number): Promise<void> {
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
    await rename(tmp, path)
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

async function deriveKey (passphrase: string, salt: Buffer, N: number, r: number, p: number): Promise<Buffer> {
  return scrypt(passphrase, salt, 32, { N, r, p, maxmem: 256 * N * r })
}

function parseKeyFile (text: string, path: string): KeyFile {
  let file: any
  try {
    file = JSON.parse(text)
  } catch {
    throw new IdentityError(`identity key ${path} is not a tempus key file`)
  }
  const isString = (v: unknown): v is string => typeof v === 'string' && v.length < 4096
  const isPow2 = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 2 && (v as number) <= (1 << 20) && ((v as number) & ((v as number) - 1)) === 0
  if (file == null || file.version !== 1 || file.kdf !== 'scrypt' || file.cipher !== 'aes-256-gcm' ||
    !isPow2(file.N) || file.r !== SCRYPT_R || file.p !== SCRYPT_P ||
    !isString(file.salt) || !isString(file.iv) || !isString(file.tag) || !isString(file.ciphertext)) {
    throw new IdentityError(`identity key ${path} is not a tempus key file (version 1)`)
  }
  return file as KeyFile
}

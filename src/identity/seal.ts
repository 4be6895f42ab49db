/**
 * Secrets at rest: AES-256-GCM under a key derived from a passphrase with
 * scrypt. The sealed form is a small JSON object; `label` is authenticated
 * with it, so a secret sealed for one purpose does not open as another.
 */
import { TempusError } from '../core/tempus-error.ts'
import { createCipheriv, createDecipheriv, randomBytes, scrypt as scryptCb } from 'node:crypto'
import { promisify } from 'node:util'

const scrypt = promisify(scryptCb) as (password: string, salt: Buffer, keylen: number, options: { N: number, r: number, p: number, maxmem: number }) => Promise<Buffer>

export const DEFAULT_SCRYPT_N = 1 << 15
const SCRYPT_R = 8
const SCRYPT_P = 1

export interface Sealed {
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

export class SealError extends TempusError {
  readonly code = 'sealed-box'
  override readonly name = 'SealError'
}

export async function seal (passphrase: string, label: string, plaintext: Uint8Array, N = DEFAULT_SCRYPT_N): Promise<Sealed> {
  const salt = randomBytes(16)
  const iv = randomBytes(12)
  const key = await deriveKey(passphrase, salt, N, SCRYPT_R, SCRYPT_P)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  cipher.setAAD(Buffer.from(label))
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()])
  return {
    version: 1,
    kdf: 'scrypt',
    N,
    r: SCRYPT_R,
    p: SCRYPT_P,
    salt: salt.toString('base64'),
    cipher: 'aes-256-gcm',
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    ciphertext: ciphertext.toString('base64')
  }
}

/** Throws a `SealError` for a wrong passphrase, a tampered box or a foreign object. */
export async function unseal (passphrase: string, label: string, box: unknown): Promise<Uint8Array> {
  const sealed = checkSealed(box)
  const key = await deriveKey(passphrase, Buffer.from(sealed.salt, 'base64'), sealed.N, sealed.r, sealed.p)
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64'))
    decipher.setAAD(Buffer.from(label))
    decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'))
    return new Uint8Array(Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, 'base64')), decipher.final()]))
  } catch {
    throw new SealError('wrong passphrase or corrupted secret')
  }
}

async function deriveKey (passphrase: string, salt: Buffer, N: number, r: number, p: number): Promise<Buffer> {
  return scrypt(passphrase, salt, 32, { N, r, p, maxmem: 256 * N * r })
}

function checkSealed (box: any): Sealed {
  const isString = (v: unknown): v is string => typeof v === 'string' && v.length < 65536
  const isPow2 = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 2 && (v as number) <= (1 << 20) && ((v as number) & ((v as number) - 1)) === 0
  if (box == null || box.version !== 1 || box.kdf !== 'scrypt' || box.cipher !== 'aes-256-gcm' ||
    !isPow2(box.N) || box.r !== SCRYPT_R || box.p !== SCRYPT_P ||
    !isString(box.salt) || !isString(box.iv) || !isString(box.tag) || !isString(box.ciphertext)) {
    throw new SealError('not a sealed secret (version 1)')
  }
  return box as Sealed
}

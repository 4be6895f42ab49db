/**
 * Where the passphrase that encrypts the identity key comes from: an
 * environment variable, a file, or — for development only — a built-in
 * default that is announced loudly.
 */
import { readFile } from 'node:fs/promises'
import { IdentityError } from './errors.ts'

export const PASSPHRASE_ENV = 'TEMPUS_PASSPHRASE'
export const PASSPHRASE_FILE_ENV = 'TEMPUS_PASSPHRASE_FILE'

/** Known to everybody: it only keeps a copied key file from being read at a glance. */
export const DEV_PASSPHRASE = 'tempus-dev-passphrase-NOT-FOR-PRODUCTION'

export interface Passphrase {
  value: string
  source: 'env' | 'file' | 'dev-default'
}

export interface PassphraseOptions {
  /** a file holding the passphrase (first line); overrides the environment */
  file?: string
  env?: NodeJS.ProcessEnv
  /** the variables to read (default TEMPUS_PASSPHRASE / TEMPUS_PASSPHRASE_FILE) */
  names?: { value: string, file: string }
}

export async function resolvePassphrase (options: PassphraseOptions = {}): Promise<Passphrase> {
  const env = options.env ?? process.env
  const names = options.names ?? { value: PASSPHRASE_ENV, file: PASSPHRASE_FILE_ENV }
  const file = options.file ?? env[names.file]
  if (file != null && file !== '') {
    let text: string
    try {
      text = await readFile(file, 'utf8')
    } catch (err: any) {
      throw new IdentityError(`cannot read passphrase file ${file}: ${err.code ?? 'unreadable'}`)
    }
    const value = text.split(/\r?\n/)[0] ?? ''
    if (value.length === 0) {
      throw new IdentityError(`passphrase file ${file} is empty`)
    }
    return { value, source: 'file' }
  }
  const value = env[names.value]
  if (value != null && value !== '') {
    return { value, source: 'env' }
  }
  return { value: DEV_PASSPHRASE, source: 'dev-default' }
}

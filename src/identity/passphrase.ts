/**
 * Where the passphrase that encrypts the identity key comes from: a file
 * (`--passphrase-file`, then `TEMPUS_PASSPHRASE_FILE`), an environment
 * variable, a systemd credential (`$CREDENTIALS_DIRECTORY/tempus-passphrase`,
 * from the unit's `LoadCredential=`; deploy/systemd/), or — for development
 * only — a built-in default that is announced loudly.
 */
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { IdentityError } from './errors.ts'

export const PASSPHRASE_ENV = 'TEMPUS_PASSPHRASE'
export const PASSPHRASE_FILE_ENV = 'TEMPUS_PASSPHRASE_FILE'
/** the credential's name in a systemd unit: `LoadCredential=tempus-passphrase:/etc/credstore/…` */
export const PASSPHRASE_CREDENTIAL = 'tempus-passphrase'

/** Known to everybody: it only keeps a copied key file from being read at a glance. */
export const DEV_PASSPHRASE = 'tempus-dev-passphrase-NOT-FOR-PRODUCTION'

export interface Passphrase {
  value: string
  source: 'env' | 'file' | 'credential' | 'dev-default'
}

export interface PassphraseOptions {
  /** a file holding the passphrase (first line); overrides the environment */
  file?: string
  env?: NodeJS.ProcessEnv
  /**
   * the variables to read (default TEMPUS_PASSPHRASE / TEMPUS_PASSPHRASE_FILE)
   * and the systemd credential's name (default tempus-passphrase)
   */
  names?: { value: string, file: string, credential?: string }
}

/**
 * The passphrase's first line from `file`; `what` names it in errors (a
 * path, never the passphrase).
 */
async function firstLine (file: string, what: string): Promise<string> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err: any) {
    throw new IdentityError(`cannot read ${what} ${file}: ${err.code ?? 'unreadable'}`)
  }
  const value = text.split(/\r?\n/)[0] ?? ''
  if (value.length === 0) {
    throw new IdentityError(`${what} ${file} is empty`)
  }
  return value
}

export async function resolvePassphrase (options: PassphraseOptions = {}): Promise<Passphrase> {
  const env = options.env ?? process.env
  const names = options.names ?? { value: PASSPHRASE_ENV, file: PASSPHRASE_FILE_ENV }
  const file = options.file ?? env[names.file]
  if (file != null && file !== '') {
    return { value: await firstLine(file, 'passphrase file'), source: 'file' }
  }
  const value = env[names.value]
  if (value != null && value !== '') {
    return { value, source: 'env' }
  }
  // under systemd: the unit's LoadCredential= put it where only this service reads it
  const credentials = env.CREDENTIALS_DIRECTORY
  if (credentials != null && credentials !== '') {
    const path = join(credentials, names.credential ?? PASSPHRASE_CREDENTIAL)
    if (existsSync(path)) {
      return { value: await firstLine(path, 'systemd credential (LoadCredential=)'), source: 'credential' }
    }
  }
  return { value: DEV_PASSPHRASE, source: 'dev-default' }
}

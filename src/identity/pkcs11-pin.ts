/**
 * Where a token's user PIN comes from: the URI's `pin-source` file, then
 * `TEMPUS_PKCS11_PIN_FILE`, `TEMPUS_PKCS11_PIN`, or a systemd credential
 * `tempus-pkcs11-pin`. Never a command-line flag (process lists show
 * those), never a URI's `pin-value`. There is no default PIN.
 */
import { resolvePassphrase } from './passphrase.ts'
import { KeyError } from './key-error.ts'

export const PIN_ENV = 'TEMPUS_PKCS11_PIN'
export const PIN_FILE_ENV = 'TEMPUS_PKCS11_PIN_FILE'
export const PIN_CREDENTIAL = 'tempus-pkcs11-pin'

export async function resolvePin (options: { pinSource?: string, env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const found = await resolvePassphrase({ file: options.pinSource, env: options.env, names: { value: PIN_ENV, file: PIN_FILE_ENV, credential: PIN_CREDENTIAL } })
  if (found.source === 'dev-default') {
    throw new KeyError('pin', `the key is in a PKCS#11 token and no PIN was given: set ${PIN_FILE_ENV} (a file holding the PIN) or ${PIN_ENV}, or add pin-source=FILE to the URI`)
  }
  return found.value
}

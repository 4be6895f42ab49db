/**
 * The CLI's one way to a passphrase: `resolvePassphrase`, remembering where
 * each came from, so that a "wrong passphrase" error can say when none was
 * given and the public development default was tried instead.
 */
import { resolvePassphrase } from '../identity/passphrase.ts'
import type { Passphrase, PassphraseOptions } from '../identity/passphrase.ts'

const tried: Array<{ source: Passphrase['source'], names: string }> = []

export async function cliPassphrase (options: PassphraseOptions = {}): Promise<Passphrase> {
  const p = await resolvePassphrase(options)
  const names = options.names ?? { value: 'TEMPUS_PASSPHRASE', file: 'TEMPUS_PASSPHRASE_FILE' }
  tried.push({ source: p.source, names: `${names.value}, ${names.file} or --passphrase-file` })
  return p
}

/** What to add to a wrong-passphrase message: which passphrase was tried. */
export function passphraseHint (): string {
  const dev = tried.find(t => t.source === 'dev-default')
  if (dev != null) {
    return `; no passphrase was given (${dev.names}), so the public development default was tried: give the passphrase this directory was created with`
  }
  const last = tried.at(-1)
  return last == null ? '' : `; the passphrase came from ${last.source === 'env' ? 'the environment' : last.source === 'file' ? 'a passphrase file' : 'the systemd credential'}`
}

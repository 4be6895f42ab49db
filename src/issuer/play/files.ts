/** The Play Integrity verifier from its settings file (`--play-integrity FILE`), validated at start. */
import { readFile, stat } from 'node:fs/promises'
import { ConfigError } from '../../core/config-error.ts'
import { parsePlayIntegritySettings } from './settings.ts'
import { playIntegrity } from './verifier.ts'
import type { AttestationVerifier } from '../attestation.ts'

export async function playIntegrityFromFile (file: string, now: () => number): Promise<AttestationVerifier> {
  let text: string
  try {
    if ((await stat(file)).size > 64 * 1024) {
      throw new ConfigError(`--play-integrity ${file}: larger than 64 KiB; expected the settings JSON`, '--play-integrity')
    }
    text = await readFile(file, 'utf8')
  } catch (err: any) {
    if (err instanceof ConfigError) throw err
    throw new ConfigError(err.code === 'ENOENT' ? `--play-integrity ${file}: no such file` : `--play-integrity ${file}: cannot read it (${String(err.code ?? err.message)})`, '--play-integrity')
  }
  return playIntegrity({ settings: parsePlayIntegritySettings(text, `--play-integrity ${file}`), now })
}

/**
 * The App Attest verifier's configuration as `tempus issuer start
 * --attestation apple-app-attest` gives it: Apple's App Attestation Root CA
 * (PEM, from https://www.apple.com/certificateauthority/private/), the
 * allowed App IDs, and whether development builds count. Validated at
 * start: a bad value stops the issuer with one line naming it.
 */
import { readFile, stat } from 'node:fs/promises'
import { ConfigError } from '../../core/config-error.ts'
import { parseRootCertificates } from '../attestation-chain.ts'
import { appAttestation } from './verifier.ts'
import type { AttestationVerifier } from '../attestation.ts'

export interface AppAttestSettings {
  root: string
  appIds: readonly string[]
  development?: boolean
  now: () => number
}

// a 10-character team id, a dot, a bundle id
const APP_ID = /^[A-Z0-9]{10}\.[A-Za-z0-9][A-Za-z0-9.-]{0,154}$/

export function checkAppIds (appIds: readonly string[], flag: string): void {
  if (appIds.length === 0 || appIds.length > 100) {
    throw new ConfigError(`${flag}: give 1 to 100 App IDs (TEAMID.bundle.id)`, flag)
  }
  for (const id of appIds) {
    if (!APP_ID.test(id)) {
      throw new ConfigError(`${flag} ${id.slice(0, 80)}: not an App ID; expected TEAMID.bundle.id, e.g. ABCDE12345.org.example.tempus`, flag)
    }
  }
}

export async function appAttestationFromFiles (settings: AppAttestSettings): Promise<AttestationVerifier> {
  checkAppIds(settings.appIds, '--appattest-app-id')
  let pem: string
  try {
    if ((await stat(settings.root)).size > 1024 * 1024) {
      throw new ConfigError(`--appattest-root ${settings.root}: larger than 1 MiB; expected a PEM certificate`, '--appattest-root')
    }
    pem = await readFile(settings.root, 'utf8')
  } catch (err: any) {
    if (err instanceof ConfigError) throw err
    throw new ConfigError(err.code === 'ENOENT' ? `--appattest-root ${settings.root}: no such file` : `--appattest-root ${settings.root}: cannot read it (${String(err.code ?? err.message)})`, '--appattest-root')
  }
  return appAttestation({
    roots: parseRootCertificates(pem, `--appattest-root ${settings.root}`),
    appIds: settings.appIds,
    allowDevelopment: settings.development === true,
    now: settings.now
  })
}

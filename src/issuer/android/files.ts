/**
 * The Android verifier's configuration from files, as `tempus issuer start
 * --attestation android` names them: roots (PEM), a policy (JSON) and
 * Google's revocation status list (JSON). Each is read and validated at
 * start, so a bad file stops the issuer with one line naming it. The status
 * list changes (the operator fetches Google's now and then): it is read
 * again when its modification time or size changes; a replacement that
 * does not parse keeps the last good list and is reported.
 */
import { readFile, stat } from 'node:fs/promises'
import { ConfigError } from '../../core/config-error.ts'
import { MAX_CONFIG_FILE_BYTES } from './constants.ts'
import { parseAndroidPolicy } from './policy.ts'
import { parseRevocationStatusList } from './revocation-list.ts'
import { parseAndroidRoots } from './roots.ts'
import { androidAttestation } from './verifier.ts'
import type { AttestationVerifier } from '../attestation.ts'
import type { RevocationStatusList } from './revocation-list.ts'
import type { AndroidVerdict } from './verifier.ts'

export interface AndroidAttestationFiles {
  roots: string
  policy?: string
  revocations?: string
  now: () => number
  onAccepted?: (verdict: AndroidVerdict) => void
  /** a changed revocation list that could not be used (the last good one stays in force) */
  onRevocationsError?: (err: Error) => void
}

async function readBounded (file: string, flag: string): Promise<string> {
  let size: number
  try {
    size = (await stat(file)).size
  } catch (err: any) {
    throw new ConfigError(err.code === 'ENOENT' ? `${flag} ${file}: no such file` : `${flag} ${file}: cannot read it (${String(err.code ?? err.message)})`, flag)
  }
  if (size > MAX_CONFIG_FILE_BYTES) {
    throw new ConfigError(`${flag} ${file}: ${size} bytes; at most ${MAX_CONFIG_FILE_BYTES}`, flag)
  }
  try {
    return await readFile(file, 'utf8')
  } catch (err: any) {
    throw new ConfigError(`${flag} ${file}: cannot read it (${String(err.code ?? err.message)})`, flag)
  }
}

/** the revocation status list in `file`, read again whenever the file changes */
export async function revocationListFile (file: string, onError?: (err: Error) => void): Promise<() => Promise<RevocationStatusList>> {
  const version = async (): Promise<string> => { const s = await stat(file); return `${s.mtimeMs}:${s.size}` }
  let seen = await version().catch(() => '')
  let list = parseRevocationStatusList(await readBounded(file, '--android-revocations'), `--android-revocations ${file}`)
  return async () => {
    try {
      const now = await version()
      if (now !== seen) {
        seen = now
        list = parseRevocationStatusList(await readBounded(file, '--android-revocations'), `--android-revocations ${file}`)
      }
    } catch (err: any) {
      onError?.(err)
    }
    return list
  }
}

export async function androidAttestationFromFiles (files: AndroidAttestationFiles): Promise<AttestationVerifier> {
  const roots = parseAndroidRoots(await readBounded(files.roots, '--android-roots'), `--android-roots ${files.roots}`)
  const policy = files.policy == null ? undefined : parseAndroidPolicy(await readBounded(files.policy, '--android-policy'), `--android-policy ${files.policy}`)
  const revoked = files.revocations == null ? undefined : await revocationListFile(files.revocations, files.onRevocationsError)
  return androidAttestation({
    roots,
    now: files.now,
    ...(policy != null ? { policy } : {}),
    ...(revoked != null ? { revoked } : {}),
    ...(files.onAccepted != null ? { onAccepted: files.onAccepted } : {})
  })
}

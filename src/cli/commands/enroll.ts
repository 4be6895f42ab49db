/** `tempus enroll`: trade a one-time code for a membership credential. */
import { readFile } from 'node:fs/promises'
import { saveEnrollment } from '../../admission/enrollment.ts'
import { privateKeyFromPem } from '../../core/keys.ts'
import { attest } from '../../issuer/attestation.ts'
import { releaseIdentityKey } from '../../identity/index.ts'
import { loadNodeKey } from '../node-key.ts'
import { IssuerClient, IssuerClientError } from '../../issuer-client/client.ts'
import { loadConfigFile } from '../../node/config.ts'
import { dataPath } from '../../node/data-dir.ts'
import { DataDirError } from '../../core/data-dir-error.ts'
import { UsageError } from '../errors.ts'
import { printJson } from '../output.ts'
import { parseTcti, TpmAttestor } from '../tpm-evidence.ts'
import { withProgress } from '../progress.ts'

export async function enrollCommand (opts: { data: string, issuer: string, code: string, attestorKey?: string, attest?: string, tcti?: string, passphraseFile?: string, json?: boolean }): Promise<void> {
  if (opts.attest != null && opts.attest !== 'tpm') {
    throw new UsageError('--attest must be tpm')
  }
  if (opts.attest === 'tpm' && opts.attestorKey != null) {
    throw new UsageError('--attest tpm and --attestor-key are two kinds of evidence: give one')
  }
  if (opts.tcti != null && opts.attest !== 'tpm') {
    throw new UsageError('--tcti names the TPM for --attest tpm')
  }
  const config = await loadConfigFile(dataPath(opts.data, 'config'))
  const { key } = await loadNodeKey(opts.data, opts)
  if (key == null) {
    throw new DataDirError(`${opts.data} holds no identity key; run tempus init first`)
  }
  const client = new IssuerClient({ url: opts.issuer })
  let result
  try {
    // a test platform's attestor key stands in for App Attest / Play Integrity / a TPM
    const attestor = opts.attestorKey == null ? undefined : privateKeyFromPem(await readFile(opts.attestorKey, 'utf8')).privateKey
    // a TPM: its EK certificate and a fresh AK, then a challenge sealed for them (src/cli/tpm-evidence.ts)
    const tpm = opts.attest === 'tpm'
      ? await withProgress('reading the TPM\'s EK certificate and creating an attestation key', async () => await TpmAttestor.open({ tcti: opts.tcti == null ? undefined : usableTcti(opts.tcti) }), opts)
      : undefined
    // the node asks for its configured type: a code of another type is refused
    // by the issuer before it counts a use, so the code stays good for its type
    result = await withProgress(`enrolling with ${client.url}`, async () => await client.enroll(key, opts.code, tpm ?? (attestor == null ? undefined : challenge => attest(attestor, key.publicKey.raw, challenge)), config.type)
      .catch((err: unknown) => {
        if (err instanceof IssuerClientError && err.code === 'wrong-type' && err.status !== 200) {
          throw new UsageError(`this code is not for a node of type ${config.type} (${opts.data} was initialised as ${config.type}); the code was not used; ask for a code of type ${config.type}`)
        }
        throw err
      })
      .finally(async () => { await tpm?.close() }), opts)
  } finally {
    releaseIdentityKey(key)
  }
  await saveEnrollment(opts.data, { ...result, issuerUrl: client.url })
  if (opts.json === true) {
    printJson({ peerId: result.peerId, typ: result.typ, overlay: result.overlay, issuer: result.issuer })
  } else {
    process.stdout.write(`enrolled ${result.peerId} as ${result.typ} in overlay ${result.overlay}\n`)
  }
}

/** `--tcti`, checked before any tool runs: a bad one is bad input */
function usableTcti (tcti: string): string {
  try {
    return parseTcti(tcti)
  } catch (err: any) {
    throw new UsageError(String(err.message))
  }
}

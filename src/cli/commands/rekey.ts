/** `tempus rekey`: move a stopped node to a new identity key (a leaked key's remedy). */
import { rekeyNode } from '../../admission/rekey.ts'
import { enrolledIssuers, loadEnrollment } from '../../admission/enrollment.ts'
import { cliPassphrase as resolvePassphrase } from '../passphrase.ts'
import { IssuerClient, IssuerClientError } from '../../issuer-client/client.ts'
import { acquireDataLock } from '../../storage/index.ts'
import { UsageError } from '../errors.ts'
import { printJson } from '../output.ts'
import type { PrivateKey } from '@libp2p/interface'

export async function rekeyCommand (opts: { data: string, issuer?: string, passphraseFile?: string, json?: boolean }): Promise<void> {
  const enrollment = await loadEnrollment(opts.data)
  if (enrollment == null) {
    throw new UsageError(`${opts.data} is not enrolled; run tempus enroll first`)
  }
  // the node must be stopped: it holds the directory's lock while it runs
  const lock = acquireDataLock(opts.data)
  try {
    const urls = opts.issuer != null ? [opts.issuer] : enrolledIssuers(enrollment)
    // every replica the node knows, in turn, until one answers (a refusal is an answer)
    const client = {
      rekey: async (oldKey: PrivateKey, credential: string, newKey: PrivateKey) => {
        let last: unknown
        for (const url of urls) {
          try {
            return await new IssuerClient({ url }).rekey(oldKey, credential, newKey)
          } catch (err) {
            last = err
            if (err instanceof IssuerClientError && err.code !== 'unreachable' && err.status < 500 && err.status !== 429) {
              throw err
            }
          }
        }
        throw last
      }
    }
    const outcome = await rekeyNode({ dataDir: opts.data, passphrase: async () => (await resolvePassphrase({ file: opts.passphraseFile })).value, client })
    if (opts.json === true) {
      printJson(outcome)
    } else {
      process.stdout.write(`re-keyed ${outcome.from} → ${outcome.to}\nstart the node: the old PeerId is revoked once the new one has fetched its first token\n`)
    }
  } finally {
    lock.release()
  }
}

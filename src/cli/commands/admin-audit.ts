/**
 * `tempus admin audit`: read the issuer's audit log entries with an admin
 * key. The issuer serves entries only to a request signed by a registered
 * admin key (they name every member and its type); the key never leaves
 * this process, only its signature over this one request does.
 */
import { IssuerClient } from '../../issuer-client/client.ts'
import { UsageError } from '../errors.ts'
import { adminKey } from './admin.ts'
import { formatTable, printJson } from '../output.ts'

const count = (value: string | undefined, what: string, min: number, max: number): number | undefined => {
  if (value == null) {
    return undefined
  }
  if (!/^\d{1,15}$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UsageError(`--${what} is a whole number from ${min} to ${max}`)
  }
  return Number(value)
}

export async function adminAuditCommand (opts: { key: string, issuer: string, passphraseFile?: string, from?: string, limit?: string, json?: boolean }): Promise<void> {
  const { pair: key } = await adminKey(opts.key, opts.passphraseFile)
  const entries = await new IssuerClient({ url: opts.issuer }).auditEntries(key, {
    from: count(opts.from, 'from', 0, Number.MAX_SAFE_INTEGER),
    limit: count(opts.limit, 'limit', 1, 1000)
  })
  if (opts.json === true) {
    printJson({ entries })
    return
  }
  process.stdout.write(formatTable(['#', 'at', 'kind', 'data'], entries.map(e => [e.i, new Date(e.at).toISOString(), e.kind, JSON.stringify(e.data)])))
}

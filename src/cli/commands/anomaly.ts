/** `tempus anomaly publish|list`: through the running node's admin API. */
import { apiGet, apiPost } from '../api-client.ts'
import { UsageError } from '../errors.ts'
import { formatTable, printJson, shortId } from '../output.ts'
import type { DeliveredAnomaly, StoredAnomaly } from '../../gossip/index.ts'

export interface PublishOptions {
  data: string
  kind: string
  digest: string
  severity: string
  meta: string[]
  lifetime?: string
  json?: boolean
}

export async function anomalyPublishCommand (options: PublishOptions): Promise<void> {
  const severity = Number(options.severity)
  if (!Number.isInteger(severity)) {
    throw new UsageError('--severity must be an integer from 0 to 10')
  }
  const metadata: Record<string, string> = {}
  for (const m of options.meta) {
    const eq = m.indexOf('=')
    if (eq <= 0) {
      throw new UsageError(`--meta expects key=value, got ${JSON.stringify(m)}`)
    }
    metadata[m.slice(0, eq)] = m.slice(eq + 1)
  }
  const { anomaly } = await apiPost<{ anomaly: DeliveredAnomaly }>(options.data, '/v1/mesh/gossip', {
    kind: options.kind,
    digest: options.digest,
    severity,
    metadata,
    ...(options.lifetime != null ? { lifetime: options.lifetime } : {})
  })
  if (options.json === true) {
    printJson({ anomaly })
  } else {
    process.stdout.write(`published ${anomaly.id} (${anomaly.kind}, severity ${anomaly.severity}), expires ${new Date(anomaly.expires).toISOString()}\n`)
  }
}

export async function anomalyListCommand (options: { data: string, kind?: string, since?: string, limit?: string, json?: boolean }): Promise<void> {
  const query = new URLSearchParams()
  if (options.kind != null) query.set('kind', options.kind)
  if (options.since != null) query.set('since', options.since)
  if (options.limit != null) query.set('limit', options.limit)
  const qs = query.toString()
  const { anomalies } = await apiGet<{ anomalies: StoredAnomaly[] }>(options.data, `/v1/anomalies${qs === '' ? '' : `?${qs}`}`)
  if (options.json === true) {
    printJson({ anomalies })
    return
  }
  process.stdout.write(formatTable(
    ['ID', 'KIND', 'SEVERITY', 'ORIGIN', 'PUBLISHED', 'EXPIRES', 'DIGEST'],
    anomalies.map(a => [a.id, a.kind, a.severity, shortId(a.origin), new Date(a.timestamp).toISOString(), new Date(a.expires).toISOString(), a.digest.length > 16 ? `${a.digest.slice(0, 16)}…` : a.digest])
  ))
}

/** `tempus bundle send|list`: through the running node's admin API. */
import { readFile } from 'node:fs/promises'
import { apiGet, apiPost } from '../api-client.ts'
import { UsageError } from '../errors.ts'
import { formatTable, printJson, shortId } from '../output.ts'

export interface BundleSendOptions {
  data: string
  to: string
  text?: string
  file?: string
  lifetime?: string
  copies?: string
  encrypt: boolean
  epidemic?: boolean
  json?: boolean
}

export async function bundleSendCommand (options: BundleSendOptions): Promise<void> {
  if ((options.text == null) === (options.file == null)) {
    throw new UsageError('give the payload with exactly one of --text and --file')
  }
  let copies: number | undefined
  if (options.copies != null) {
    copies = Number(options.copies)
    if (!Number.isInteger(copies) || copies < 1) {
      throw new UsageError('--copies must be a positive integer')
    }
  }
  let payload: string | undefined
  if (options.file != null) {
    try {
      payload = (await readFile(options.file)).toString('base64')
    } catch (err: any) {
      throw new UsageError(`cannot read ${options.file}: ${err.code ?? err.message}`)
    }
  }
  const result = await apiPost<{ id: string, size: number }>(options.data, '/v1/bundles', {
    destination: options.to,
    ...(options.text != null ? { text: options.text } : { payload }),
    ...(options.lifetime != null ? { lifetime: options.lifetime } : {}),
    ...(copies != null ? { copies } : {}),
    ...(options.encrypt ? {} : { encrypt: false }),
    ...(options.epidemic === true ? { routing: 'epidemic' } : {})
  })
  if (options.json === true) {
    printJson(result)
  } else {
    process.stdout.write(`stored ${result.id} (${result.size} bytes) for ${options.to}; it is handed over when a peer that should take it is reachable\n`)
  }
}

interface Listed {
  id: string
  source?: string
  destination: string
  createdAt?: number
  expiresAt: number
  receivedAt?: number
  deliveredAt?: number
  size?: number
  bytes?: number
  fragments?: number
  copies?: number
  payload?: string
}

export async function bundleListCommand (options: { data: string, box: string, limit?: string, json?: boolean }): Promise<void> {
  if (!['inbox', 'outbox', 'carried'].includes(options.box)) {
    throw new UsageError('--box is inbox, outbox or carried')
  }
  const query = new URLSearchParams({ box: options.box })
  if (options.limit != null) query.set('limit', options.limit)
  const { bundles } = await apiGet<{ bundles: Listed[] }>(options.data, `/v1/bundles?${query.toString()}`)
  if (options.json === true) {
    printJson({ box: options.box, bundles })
    return
  }
  const iso = (t?: number): string => t == null ? '-' : new Date(t).toISOString()
  if (options.box === 'inbox') {
    const preview = (b64?: string): string => {
      if (b64 == null) return '(large)'
      const text = Buffer.from(b64, 'base64').toString('utf8')
      const printable = /^[\P{C}\n\t]*$/u.test(text)
      return printable ? JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text) : `(${Buffer.from(b64, 'base64').length} bytes binary)`
    }
    process.stdout.write(formatTable(['ID', 'SOURCE', 'TO', 'SIZE', 'RECEIVED', 'PAYLOAD'],
      bundles.map(b => [b.id, shortId(b.source ?? ''), b.destination.length > 20 ? shortId(b.destination) : b.destination, b.size ?? 0, iso(b.receivedAt), preview(b.payload)])))
  } else if (options.box === 'outbox') {
    process.stdout.write(formatTable(['ID', 'TO', 'SIZE', 'FRAGMENTS', 'CREATED', 'EXPIRES', 'DELIVERED'],
      bundles.map(b => [b.id, b.destination.length > 20 ? shortId(b.destination) : b.destination, b.size ?? 0, b.fragments ?? 0, iso(b.createdAt), iso(b.expiresAt), iso(b.deliveredAt)])))
  } else {
    process.stdout.write(formatTable(['ID', 'SOURCE', 'TO', 'FRAGMENTS', 'BYTES', 'COPIES', 'EXPIRES'],
      bundles.map(b => [b.id, shortId(b.source ?? ''), b.destination.length > 20 ? shortId(b.destination) : b.destination, b.fragments ?? 0, b.bytes ?? 0, b.copies ?? 0, iso(b.expiresAt)])))
  }
}

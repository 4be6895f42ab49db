/**
 * An issuer replica's base URL, as a node is given it (its config's
 * `issuers`, or the list enrolment returned): `http(s)://host[:port][/path]`,
 * nothing else. Credentials, a query or a fragment in it are refused rather
 * than dropped: they would be sent with every request, and they land in logs
 * and `tempus status`. An error never repeats the refused text, since that
 * text may hold a secret; it names the entry by its index.
 */
import { TempusError } from '../core/tempus-error.ts'

/** a node knows at most this many replicas (each costs at most one attempt per operation) */
export const MAX_ISSUER_REPLICAS = 16

export class IssuerUrlError extends TempusError {
  readonly code = 'bad-issuer-url'
  override readonly name = 'IssuerUrlError'
  /** the index of the offending entry in its list, when it came from one */
  readonly index?: number

  constructor (message: string, index?: number) {
    super(message)
    this.index = index
  }
}

/** What is wrong with `value` as an issuer base URL, or undefined when it is good. */
function problem (value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > 2048) {
    return 'expected an http(s) URL such as https://issuer.example:8443'
  }
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return 'not a URL; expected one such as https://issuer.example:8443'
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return `the scheme must be http or https, not ${url.protocol.replace(/:$/, '').slice(0, 16)}`
  }
  if (url.username !== '' || url.password !== '') {
    return 'an issuer URL must not carry credentials (user:password@); nodes authenticate with their credential'
  }
  if (url.search !== '' || value.includes('?')) {
    return 'an issuer URL must not carry a query (?…); give the base URL only'
  }
  if (url.hash !== '' || value.includes('#')) {
    return 'an issuer URL must not carry a fragment (#…); give the base URL only'
  }
  return undefined
}

/** One issuer base URL, without a trailing slash; `IssuerUrlError` when it is not one. */
export function parseIssuerUrl (value: unknown, index?: number): string {
  const why = problem(value)
  if (why != null) {
    throw new IssuerUrlError(index == null ? `issuer URL: ${why}` : `issuer URL ${index}: ${why}`, index)
  }
  return (value as string).replace(/\/+$/, '')
}

/**
 * A replica list: 1 to 16 issuer base URLs, none twice. The error names the
 * first bad entry by its index.
 */
export function parseIssuerUrls (value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_ISSUER_REPLICAS) {
    throw new IssuerUrlError(`expected a list of 1 to ${MAX_ISSUER_REPLICAS} issuer URLs`)
  }
  const urls: string[] = []
  value.forEach((entry, index) => {
    const url = parseIssuerUrl(entry, index)
    if (urls.includes(url)) {
      throw new IssuerUrlError(`issuer URL ${index}: listed twice`, index)
    }
    urls.push(url)
  })
  return urls
}

/**
 * PKCS#11 URIs (RFC 7512) naming a token and a key in it:
 *
 *   pkcs11:token=tempus;object=node-identity?module-path=/usr/lib/softhsm/libsofthsm2.so
 *
 * Path attributes (`;`-separated): `token`, `serial`, `manufacturer`,
 * `model`, `object` (the key's CKA_LABEL), `id` (its CKA_ID, percent-encoded
 * bytes), `slot-id`, `type` (must be `private` if given). Query attributes
 * (`&`-separated): `module-path`, `pin-source` (a file holding the PIN).
 * `module=` and `label=` are taken as spellings of `module-path` and
 * `object`. A URI never carries the PIN itself: `pin-value` is refused,
 * since URIs end up in logs, shell histories and process lists.
 */
import { KeyError } from './key-error.ts'

export interface Pkcs11Uri {
  modulePath: string
  token?: string
  serial?: string
  manufacturer?: string
  model?: string
  slotId?: number
  /** the key's label (CKA_LABEL) */
  object?: string
  /** the key's CKA_ID */
  id?: Uint8Array
  /** a file holding the PIN */
  pinSource?: string
}

const MAX_URI_LENGTH = 2048
const PATH_ATTRIBUTES = new Set(['token', 'serial', 'manufacturer', 'model', 'object', 'label', 'id', 'slot-id', 'type', 'module', 'module-path', 'library-manufacturer', 'library-description', 'library-version', 'slot-description', 'slot-manufacturer'])
const QUERY_ATTRIBUTES = new Set(['module-path', 'module', 'pin-source', 'pin-value', 'module-name'])

function bad (message: string): KeyError {
  return new KeyError('bad-uri', `PKCS#11 URI: ${message}`)
}

function decode (value: string, name: string): string {
  try {
    return decodeURIComponent(value)
  } catch {
    throw bad(`${name} has a bad percent-encoding`)
  }
}

function decodeBytes (value: string): Uint8Array {
  const out: number[] = []
  for (let i = 0; i < value.length;) {
    if (value[i] === '%') {
      const hex = value.slice(i + 1, i + 3)
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) {
        throw bad('id has a bad percent-encoding')
      }
      out.push(parseInt(hex, 16))
      i += 3
    } else {
      out.push(...Buffer.from(value[i] ?? '', 'utf8'))
      i++
    }
  }
  return new Uint8Array(out)
}

export function parsePkcs11Uri (text: string): Pkcs11Uri {
  if (typeof text !== 'string' || text.length > MAX_URI_LENGTH) {
    throw bad(`at most ${MAX_URI_LENGTH} characters`)
  }
  if (!text.startsWith('pkcs11:')) {
    throw bad('it must start with "pkcs11:"')
  }
  const body = text.slice('pkcs11:'.length)
  const q = body.indexOf('?')
  const path = q < 0 ? body : body.slice(0, q)
  const query = q < 0 ? '' : body.slice(q + 1)
  const seen = new Map<string, string>()
  const take = (pair: string, allowed: Set<string>, where: string): void => {
    if (pair === '') {
      return
    }
    const eq = pair.indexOf('=')
    if (eq <= 0) {
      throw bad(`"${pair.slice(0, 40)}" is not name=value`)
    }
    let name = pair.slice(0, eq).toLowerCase()
    if (!allowed.has(name)) {
      throw bad(`unknown ${where} attribute "${name.slice(0, 40)}"`)
    }
    if (name === 'pin-value') {
      throw bad('pin-value is refused: a URI must not carry the PIN; use TEMPUS_PKCS11_PIN, TEMPUS_PKCS11_PIN_FILE or pin-source=FILE')
    }
    name = name === 'module' ? 'module-path' : name === 'label' ? 'object' : name
    if (seen.has(name)) {
      throw bad(`${name} is given twice`)
    }
    seen.set(name, pair.slice(eq + 1))
  }
  for (const pair of path.split(';')) take(pair, PATH_ATTRIBUTES, 'path')
  for (const pair of query.split('&')) take(pair, QUERY_ATTRIBUTES, 'query')

  const modulePath = seen.get('module-path')
  if (modulePath == null || modulePath === '') {
    throw bad('module-path is needed: the PKCS#11 library to load, e.g. ?module-path=/usr/lib/softhsm/libsofthsm2.so')
  }
  const type = seen.get('type')
  if (type != null && type !== 'private') {
    throw bad('type must be "private" (the key that signs)')
  }
  const uri: Pkcs11Uri = { modulePath: decode(modulePath, 'module-path') }
  for (const name of ['token', 'serial', 'manufacturer', 'model', 'object'] as const) {
    const v = seen.get(name)
    if (v != null) {
      uri[name] = decode(v, name)
    }
  }
  const slot = seen.get('slot-id')
  if (slot != null) {
    if (!/^\d{1,10}$/.test(slot)) {
      throw bad('slot-id must be a decimal number')
    }
    uri.slotId = Number(slot)
  }
  const id = seen.get('id')
  if (id != null) {
    uri.id = decodeBytes(id)
  }
  const pinSource = seen.get('pin-source')
  if (pinSource != null) {
    const p = decode(pinSource, 'pin-source')
    uri.pinSource = p.startsWith('file:') ? p.slice('file:'.length) : p
  }
  if (uri.object == null && uri.id == null) {
    throw bad('name the key: object=LABEL (or id=…)')
  }
  if (uri.token == null && uri.serial == null && uri.slotId == null) {
    throw bad('name the token: token=LABEL (or serial=… or slot-id=…)')
  }
  return uri
}

function enc (value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, c => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
}

/** The canonical RFC 7512 text of a URI (what is stored and printed; it never holds a PIN). */
export function formatPkcs11Uri (uri: Pkcs11Uri): string {
  const path: string[] = []
  if (uri.token != null) path.push(`token=${enc(uri.token)}`)
  if (uri.serial != null) path.push(`serial=${enc(uri.serial)}`)
  if (uri.manufacturer != null) path.push(`manufacturer=${enc(uri.manufacturer)}`)
  if (uri.model != null) path.push(`model=${enc(uri.model)}`)
  if (uri.slotId != null) path.push(`slot-id=${uri.slotId}`)
  if (uri.object != null) path.push(`object=${enc(uri.object)}`)
  if (uri.id != null) path.push(`id=${[...uri.id].map(b => `%${b.toString(16).padStart(2, '0')}`).join('')}`)
  path.push('type=private')
  const query = [`module-path=${enc(uri.modulePath).replace(/%2F/g, '/')}`]
  if (uri.pinSource != null) query.push(`pin-source=${enc(`file:${uri.pinSource}`).replace(/%2F/g, '/').replace(/%3A/g, ':')}`)
  return `pkcs11:${path.join(';')}?${query.join('&')}`
}

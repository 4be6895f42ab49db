/**
 * Google's attestation certificate revocation status list, read from a
 * local file the operator refreshes (https://android.googleapis.com/attestation/status;
 * the issuer never fetches it):
 *
 *   { "entries": { "<serial, lowercase hex>": { "status": "REVOKED" | "SUSPENDED", "reason": "…", … }, … } }
 *
 * Every listed certificate is refused, whatever its status (a suspended one
 * while it is listed; a status Google adds later, too: fail closed).
 */
import { ConfigError } from '../../core/config-error.ts'

/** serial key (lowercase hex, no leading zeros) → status */
export type RevocationStatusList = ReadonlyMap<string, string>

const SERIAL = /^[0-9a-fA-F]{1,80}$/

/** a serial as the list spells it: lowercase hex without leading zeros (node:crypto prints uppercase, padded) */
export function serialKey (hex: string): string {
  return hex.toLowerCase().replace(/^0+(?=.)/, '')
}

export function parseRevocationStatusList (text: string, source: string): RevocationStatusList {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch (err: any) {
    throw new ConfigError(`${source}: not JSON (${String(err.message)}); expected Google's status list shape {"entries": {"<serial>": {"status": "REVOKED"}}}`, 'entries')
  }
  const entries = (body as { entries?: unknown } | null)?.entries
  if (body == null || typeof body !== 'object' || Array.isArray(body) || entries == null || typeof entries !== 'object' || Array.isArray(entries)) {
    throw new ConfigError(`${source}: expected an object with "entries": {"<serial>": {"status": "REVOKED"}}`, 'entries')
  }
  const list = new Map<string, string>()
  for (const [serial, entry] of Object.entries(entries)) {
    if (!SERIAL.test(serial)) {
      throw new ConfigError(`${source}: entries."${serial.slice(0, 40)}" is not a hexadecimal serial number`, `entries.${serial.slice(0, 40)}`)
    }
    const status = (entry as { status?: unknown } | null)?.status
    if (typeof status !== 'string' || !/^[A-Z_]{1,32}$/.test(status)) {
      throw new ConfigError(`${source}: entries.${serial}.status must be a status such as REVOKED or SUSPENDED`, `entries.${serial}.status`)
    }
    list.set(serialKey(serial), status)
  }
  return list
}

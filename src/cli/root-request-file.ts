/** A request for the offline root, written where the operator can carry it, and what to do next. */
import { writeFile } from 'node:fs/promises'
import type { PendingRootRequest } from '../issuer/offline-root.ts'

/** Write a pending request to a file beside the issuer's data (or `out`); returns the path. */
export async function writeRootRequest (pending: PendingRootRequest, dir: string, out?: string): Promise<string> {
  const path = out ?? `${dir}/root-request-${pending.purpose}-${pending.request.nonce}.json`
  await writeFile(path, pending.text, { mode: 0o644 })
  return path
}

export function sayRootRequest (path: string, pending: PendingRootRequest): string {
  return `request for the offline root (${pending.purpose}) written to ${path}\ncarry it to the root machine and run: tempus root sign ${path} --key FILE|pkcs11:URI\nthen here: tempus issuer import ANSWER --data DIR\n`
}

/**
 * What enrolment gave a node: the overlay's configuration (id, issuer, root
 * public key, bootstrap list) and a membership credential. Kept in
 * `<data>/enrollment.json`, mode 0600.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { writeFileDurably } from '../identity/key-store.ts'
import { DataDirError } from '../core/data-dir-error.ts'
import { isPeerType } from '../core/peer-type.ts'
import { MAX_ISSUER_REPLICAS, parseIssuerUrl, parseIssuerUrls } from '../issuer-client/issuer-url.ts'
import type { EnrollResult } from '../issuer-client/wire.ts'

export const ENROLLMENT_FILE = 'enrollment.json'

export interface Enrollment extends EnrollResult {
  /** where the node enrolled: the primary issuer replica (the only one files from before replicas know) */
  issuerUrl: string
  /** every issuer replica's base URL, when enrolment named them */
  issuers?: string[]
}

export function isEnrollment (value: any): value is Enrollment {
  return value != null && typeof value.overlay === 'string' && typeof value.issuer === 'string' &&
    typeof value.issuerUrl === 'string' && typeof value.rootPublicKey === 'string' && Array.isArray(value.bootstrap) &&
    typeof value.peerId === 'string' && isPeerType(value.typ) && typeof value.credential === 'string' &&
    typeof value.keys?.current === 'string'
}

export async function loadEnrollment (dataDir: string): Promise<Enrollment | undefined> {
  const path = join(dataDir, ENROLLMENT_FILE)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err: any) {
    if (err.code === 'ENOENT') {
      return undefined
    }
    throw new DataDirError(`cannot read ${path}: ${err.code ?? 'unreadable'}`)
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new DataDirError(`${path} is not JSON; enrol again with: tempus enroll`)
  }
  if (!isEnrollment(value)) {
    throw new DataDirError(`${path} is incomplete; enrol again with: tempus enroll`)
  }
  try {
    parseIssuerUrl(value.issuerUrl)
    if (value.issuers != null) {
      parseIssuerUrls(value.issuers)
    }
  } catch (err: any) {
    throw new DataDirError(`${path}: ${String(err.message)}; enrol again with: tempus enroll`)
  }
  return value
}

/**
 * The issuer replicas an enrollment names: the one the node enrolled with
 * first, then the others enrolment listed (at most 16 in all).
 */
export function enrolledIssuers (enrollment: Enrollment): string[] {
  const primary = parseIssuerUrl(enrollment.issuerUrl)
  const others = enrollment.issuers == null ? [] : parseIssuerUrls(enrollment.issuers)
  return [...new Set([primary, ...others])].slice(0, MAX_ISSUER_REPLICAS)
}

export async function saveEnrollment (dataDir: string, enrollment: Enrollment): Promise<void> {
  await writeFileDurably(join(dataDir, ENROLLMENT_FILE), JSON.stringify(enrollment, null, 2) + '\n', 0o600)
}

/**
 * Keep a renewed credential: the enrollment is updated in place (so what
 * the node shows stays true) and, when it came from `dataDir`, rewritten
 * there durably, mode 0600, so a restart starts from the renewed one.
 */
export async function saveRenewedCredential (dataDir: string | undefined, enrollment: Enrollment, credential: string): Promise<void> {
  enrollment.credential = credential
  if (dataDir != null) {
    await saveEnrollment(dataDir, enrollment)
  }
}

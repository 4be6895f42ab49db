/**
 * What an issuer with an offline root asks the root to sign, and the
 * root's answer: files carried between the two machines (a USB stick, a
 * QR code, a ticket), so both are plain JSON with a fixed shape.
 *
 * A request names the overlay, the root it is for, a fresh nonce, and the
 * items to certify: a signing key (its key certificate), a revocation or
 * audit key (a role certificate with a serial and a validity), an admin (a
 * role certificate with the admin's name). The root answers with one
 * certificate per item, in order, and a signature over the request's digest
 * and the certificates (domain `tempus-root-answer-v1`).
 *
 * Why an answer cannot be replayed or bent: the issuer keeps every request
 * it made (its exact bytes) and imports an answer only against a request
 * still pending, whose digest the answer signs; a request edited on its
 * way to the root (another key swapped in) has another digest and its
 * answer is refused; each certificate is checked against the item the
 * issuer itself recorded, and the request is done once imported.
 */
import { createHash } from 'node:crypto'
import { verifyKeyCertificate, signKeyCertificate } from '../admission/key-certificate.ts'
import { signRoleCertificate, verifyRoleCertificate } from '../admission/role-certificate.ts'
import { DOMAINS } from '../core/domains.ts'
import { publicKeyFromRawBytes, rawPublicKey, signDomain, verifyDomain } from '../core/keys.ts'
import { IssuerError } from './errors.ts'
import type { Role } from '../admission/role-certificate.ts'
import type { SignerKey } from '../core/keys.ts'
import type { KeyObject } from 'node:crypto'

export const ROOT_REQUEST_FORMAT = 'tempus-root-request'
export const ROOT_ANSWER_FORMAT = 'tempus-root-answer'
export const MAX_ROOT_FILE_BYTES = 64 * 1024
const MAX_ITEMS = 8

export type RootRequestItem =
  | { kind: 'signing-key', kid: string, epoch: number, publicKey: string }
  | { kind: 'revocation-key' | 'audit-key', serial: number, publicKey: string, notBefore: number, notAfter: number }
  | { kind: 'admin', serial: number, publicKey: string, name: string, notBefore: number, notAfter: number }

export interface RootRequest {
  format: typeof ROOT_REQUEST_FORMAT
  version: 1
  overlay: string
  issuer: string
  /** base64url raw Ed25519 public key of the root that must sign */
  root: string
  /** base64url, 16 random bytes: names this request, never reused */
  nonce: string
  /** ms since the epoch, when the issuer made it */
  createdAt: number
  items: RootRequestItem[]
}

export interface RootAnswer {
  format: typeof ROOT_ANSWER_FORMAT
  version: 1
  overlay: string
  nonce: string
  /** hex SHA-256 of the request's canonical bytes */
  request: string
  /** one per item, in order */
  certificates: string[]
  /** base64url: the root's signature over (request digest, certificates) */
  signature: string
}

const ROLE_OF: Record<string, Role> = { 'revocation-key': 'revocation', 'audit-key': 'audit', admin: 'admin' }

function bad (what: string): IssuerError {
  return new IssuerError('bad-request', `not a valid root request: ${what}`)
}

const isB64Key = (v: unknown): v is string => typeof v === 'string' && /^[A-Za-z0-9_-]{43}$/.test(v)
const isInt = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0

/** The request's canonical bytes (fixed key order): what its digest covers. */
export function requestBytes (r: RootRequest): string {
  return JSON.stringify({
    format: r.format,
    version: r.version,
    overlay: r.overlay,
    issuer: r.issuer,
    root: r.root,
    nonce: r.nonce,
    createdAt: r.createdAt,
    items: r.items.map(item => item.kind === 'signing-key'
      ? { kind: item.kind, kid: item.kid, epoch: item.epoch, publicKey: item.publicKey }
      : item.kind === 'admin'
        ? { kind: item.kind, serial: item.serial, publicKey: item.publicKey, name: item.name, notBefore: item.notBefore, notAfter: item.notAfter }
        : { kind: item.kind, serial: item.serial, publicKey: item.publicKey, notBefore: item.notBefore, notAfter: item.notAfter })
  }, null, 2) + '\n'
}

export function requestDigest (r: RootRequest): string {
  return createHash('sha256').update(requestBytes(r)).digest('hex')
}

/** Parse and check a request file's text (bounded, every field typed). */
export function parseRootRequest (text: string): RootRequest {
  if (typeof text !== 'string' || text.length > MAX_ROOT_FILE_BYTES) {
    throw bad(`larger than ${MAX_ROOT_FILE_BYTES} bytes`)
  }
  let v: any
  try {
    v = JSON.parse(text)
  } catch {
    throw bad('not JSON')
  }
  if (v?.format !== ROOT_REQUEST_FORMAT || v.version !== 1) {
    throw bad(`format must be "${ROOT_REQUEST_FORMAT}" version 1`)
  }
  if (typeof v.overlay !== 'string' || !/^[a-z0-9][a-z0-9.-]{0,62}$/.test(v.overlay) || typeof v.issuer !== 'string' || v.issuer.length > 128 ||
    !isB64Key(v.root) || typeof v.nonce !== 'string' || !/^[A-Za-z0-9_-]{22}$/.test(v.nonce) || !isInt(v.createdAt)) {
    throw bad('overlay, issuer, root, nonce or createdAt missing or malformed')
  }
  if (!Array.isArray(v.items) || v.items.length === 0 || v.items.length > MAX_ITEMS) {
    throw bad(`1 to ${MAX_ITEMS} items`)
  }
  const items: RootRequestItem[] = v.items.map((i: any): RootRequestItem => {
    if (!isB64Key(i?.publicKey)) {
      throw bad('an item without a valid public key')
    }
    if (i.kind === 'signing-key') {
      if (typeof i.kid !== 'string' || !/^[A-Za-z0-9-]{1,64}$/.test(i.kid) || !isInt(i.epoch) || i.epoch < 1) {
        throw bad('a signing key needs a kid and an epoch')
      }
      return { kind: 'signing-key', kid: i.kid, epoch: i.epoch, publicKey: i.publicKey }
    }
    if (ROLE_OF[i.kind] == null || !isInt(i.serial) || i.serial < 1 || !isInt(i.notBefore) || !isInt(i.notAfter) || i.notAfter <= i.notBefore) {
      throw bad(`unknown item kind, or one without a serial and a validity (${String(i.kind).slice(0, 32)})`)
    }
    if (i.kind === 'admin') {
      if (typeof i.name !== 'string' || i.name.length === 0 || i.name.length > 64) {
        throw bad('an admin needs a name of 1–64 characters')
      }
      return { kind: 'admin', serial: i.serial, publicKey: i.publicKey, name: i.name, notBefore: i.notBefore, notAfter: i.notAfter }
    }
    return { kind: i.kind, serial: i.serial, publicKey: i.publicKey, notBefore: i.notBefore, notAfter: i.notAfter }
  })
  return { format: ROOT_REQUEST_FORMAT, version: 1, overlay: v.overlay, issuer: v.issuer, root: v.root, nonce: v.nonce, createdAt: v.createdAt, items }
}

/** One line per item: what the root operator is asked to vouch for. */
export function describeRootRequest (r: RootRequest): string[] {
  const day = (s: number): string => new Date(s * 1000).toISOString().slice(0, 16).replace('T', ' ')
  return [
    `overlay ${r.overlay} (issuer ${r.issuer}), request ${r.nonce} made ${new Date(r.createdAt).toISOString()}`,
    ...r.items.map(i => i.kind === 'signing-key'
      ? `  signing key epoch ${i.epoch} (kid ${i.kid}): ${i.publicKey}`
      : i.kind === 'admin'
        ? `  admin "${i.name}" (serial ${i.serial}, ${day(i.notBefore)} to ${day(i.notAfter)} UTC): ${i.publicKey}`
        : `  ${i.kind} serial ${i.serial}, valid ${day(i.notBefore)} to ${day(i.notAfter)} UTC: ${i.publicKey}`)
  ]
}

function answerMessage (digest: string, nonce: string, certificates: string[]): Uint8Array[] {
  return [Buffer.from(digest, 'hex'), Buffer.from(nonce, 'utf8'), createHash('sha256').update(certificates.join('\n')).digest()]
}

/** The offline root's side: certify every item of `request` and sign the answer. */
export async function answerRootRequest (root: SignerKey, rootPublic: Uint8Array, request: RootRequest, nowMs: number): Promise<RootAnswer> {
  if (Buffer.from(rootPublic).toString('base64url') !== request.root) {
    throw new IssuerError('invalid-proof', `this request is for the root ${request.root}, not for this key (${Buffer.from(rootPublic).toString('base64url')})`)
  }
  const iat = Math.floor(nowMs / 1000)
  const certificates: string[] = []
  for (const item of request.items) {
    const raw = new Uint8Array(Buffer.from(item.publicKey, 'base64url'))
    if (item.kind === 'signing-key') {
      certificates.push(await signKeyCertificate(root, request.overlay, item.kid, item.epoch, raw, nowMs))
    } else {
      certificates.push(signRoleCertificate(root, {
        aud: request.overlay,
        use: ROLE_OF[item.kind] as Role,
        x: item.publicKey,
        sn: item.serial,
        nbf: item.notBefore,
        exp: item.notAfter,
        iat,
        ...(item.kind === 'admin' ? { name: item.name } : {})
      }))
    }
  }
  const digest = requestDigest(request)
  const signature = signDomain(root, DOMAINS.rootAnswer, ...answerMessage(digest, request.nonce, certificates))
  return { format: ROOT_ANSWER_FORMAT, version: 1, overlay: request.overlay, nonce: request.nonce, request: digest, certificates, signature: Buffer.from(signature).toString('base64url') }
}

/** Parse an answer file's text (bounded, typed); checked against its request by `checkRootAnswer`. */
export function parseRootAnswer (text: string): RootAnswer {
  const refuse = (what: string): IssuerError => new IssuerError('bad-request', `not a valid root answer: ${what}`)
  if (typeof text !== 'string' || text.length > MAX_ROOT_FILE_BYTES) {
    throw refuse(`larger than ${MAX_ROOT_FILE_BYTES} bytes`)
  }
  let v: any
  try {
    v = JSON.parse(text)
  } catch {
    throw refuse('not JSON')
  }
  if (v?.format !== ROOT_ANSWER_FORMAT || v.version !== 1 || typeof v.overlay !== 'string' || typeof v.nonce !== 'string' || v.nonce.length > 64 ||
    typeof v.request !== 'string' || !/^[0-9a-f]{64}$/.test(v.request) || typeof v.signature !== 'string' || !/^[A-Za-z0-9_-]{86}$/.test(v.signature) ||
    !Array.isArray(v.certificates) || v.certificates.length > MAX_ITEMS || !v.certificates.every((c: unknown) => typeof c === 'string' && c.length <= 4096)) {
    throw refuse(`format must be "${ROOT_ANSWER_FORMAT}" version 1 with overlay, nonce, request digest, certificates and signature`)
  }
  return { format: ROOT_ANSWER_FORMAT, version: 1, overlay: v.overlay, nonce: v.nonce, request: v.request, certificates: v.certificates, signature: v.signature }
}

/**
 * The issuer's side: is `answer` the root's answer to exactly `request`
 * (the request as the issuer recorded it)? Every certificate must verify
 * under the root and certify exactly its item. Throws `invalid-proof`.
 */
export async function checkRootAnswer (answer: RootAnswer, request: RootRequest, root: KeyObject): Promise<void> {
  const refuse = (what: string): IssuerError => new IssuerError('invalid-proof', `the root's answer is refused: ${what}`)
  const digest = requestDigest(request)
  if (answer.overlay !== request.overlay || answer.nonce !== request.nonce || answer.request !== digest) {
    throw refuse('it answers another request (or the request was changed on its way to the root)')
  }
  if (!verifyDomain(root, Buffer.from(answer.signature, 'base64url'), DOMAINS.rootAnswer, ...answerMessage(digest, answer.nonce, answer.certificates))) {
    throw refuse('it is not signed by this overlay\'s root key')
  }
  if (answer.certificates.length !== request.items.length) {
    throw refuse(`it holds ${answer.certificates.length} certificates for ${request.items.length} items`)
  }
  for (const [i, item] of request.items.entries()) {
    const jws = answer.certificates[i] as string
    try {
      if (item.kind === 'signing-key') {
        const cert = await verifyKeyCertificate(jws, root, request.overlay)
        if (cert.kid !== item.kid || cert.epoch !== item.epoch || Buffer.from(rawPublicKey(cert.publicKey)).toString('base64url') !== item.publicKey) {
          throw new Error('another key')
        }
      } else {
        const cert = await verifyRoleCertificate(jws, root, request.overlay, ROLE_OF[item.kind] as Role)
        if (cert.x !== item.publicKey || cert.sn !== item.serial || cert.nbf !== item.notBefore || cert.exp !== item.notAfter || (item.kind === 'admin' && cert.name !== item.name)) {
          throw new Error('another key')
        }
      }
    } catch {
      throw refuse(`certificate ${i + 1} does not certify the ${item.kind} the issuer asked for under this root`)
    }
  }
}

/** the raw public key a request item names, as a KeyObject */
export function itemPublicKey (item: RootRequestItem): KeyObject {
  return publicKeyFromRawBytes(new Uint8Array(Buffer.from(item.publicKey, 'base64url')))
}

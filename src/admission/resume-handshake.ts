/**
 * Resuming before Noise (admission.md, "Resuming without Noise's
 * handshake"): the messages of `/tempus/resume/1.0.0` and the keys they
 * derive. A peer that holds a ticket of ours, and the secret we handed it
 * beside the ticket inside an earlier Noise session, comes back with one
 * X25519 exchange and symmetric crypto only, like TLS 1.3's PSK-DHE
 * resumption: no identity signature, no token verification.
 *
 *   initiator → responder   hello:   0x01 ‖ e_i(32) ‖ binder(32) ‖ len(2) ‖ ticket ‖ muxers
 *                           or full: 0x00 (Noise and the full exchange follow)
 *   responder → initiator   accept:  0x02 ‖ e_r(32) ‖ AEAD(k_r, 0, muxer ‖ token tag ‖ grant ‖ grant secret)
 *                           or refuse: 0x03 ‖ reason(1) (Noise and the full exchange follow)
 *   initiator → responder   confirm: 0x04 ‖ AEAD(k_i, 0, token tag)
 *
 * The binder (HMAC keyed by the ticket's secret over the rest of the hello)
 * proves the initiator holds the secret, which only the ticket's subject
 * was given; the accept's AEAD proves the responder opened the ticket,
 * which only its sealer can; the confirm proves the initiator holds e_i's
 * private key, so a recorded hello replayed gets no further than the
 * confirm. Both directions' keys come from HKDF over the ephemeral
 * exchange, salted with the secret and bound to the transcript: forward
 * secret, and useless to whoever holds the secret without an ephemeral key.
 *
 * Pure: node:crypto, no libp2p, no I/O.
 */
import { createDecipheriv, createHash, createHmac, createSecretKey, hkdfSync, timingSafeEqual } from 'node:crypto'
import { DOMAINS } from '../core/domains.ts'
import { agreeX25519, noiseCrypto } from '../core/noise-crypto.ts'
import { TempusError } from '../core/tempus-error.ts'
import { MAX_TICKET_BYTES, TICKET_SECRET_BYTES } from './ticket.ts'
import type { KeyObject } from 'node:crypto'

export const RESUME_PROTOCOL = '/tempus/resume/1.0.0'
/** no handshake message is longer (a hello: a ticket of at most 3 KiB, a few muxer names) */
export const MAX_RESUME_MESSAGE_BYTES = 4096
const KEY_BYTES = 32
const TAG_BYTES = 16
const MAX_MUXERS = 8
const MAX_MUXER_NAME_BYTES = 64

export const RESUME_MESSAGE = { full: 0, hello: 1, accept: 2, refuse: 3, confirm: 4 } as const

/** Why a responder would not resume (sent in `refuse`; the full exchange follows either way). */
export const RESUME_REFUSALS = ['malformed', 'unknown-key', 'forged', 'expired', 'epoch', 'not-for-this-link', 'replayed', 'no-ticket-secret', 'bad-binder', 'denied', 'no-token', 'no-muxer'] as const
export type ResumeRefusal = typeof RESUME_REFUSALS[number]

/** A resumption message that is malformed, or a frame that does not open: the connection ends, nobody is charged. */
export class ResumeWireError extends TempusError {
  readonly code = 'resume-wire'
  override readonly name = 'ResumeWireError'
  constructor (message: string) {
    super(`resumption handshake: ${message}`)
  }
}

/** A hello's fields; its binder is checked on its bytes (`helloBinds`) */
export interface ResumeHello { ephemeral: Uint8Array, ticket: Uint8Array, muxers: string[] }
export type FirstMessage = { type: 'full' } | ({ type: 'hello' } & ResumeHello)
export type Answer = { type: 'accept', ephemeral: Uint8Array, sealed: Uint8Array } | { type: 'refuse', reason: ResumeRefusal }
export interface AcceptBody {
  muxer: string
  /** which token of the initiator's the responder recorded (`tokenTag`): the initiator re-presents its own if it is newer */
  yourToken: Uint8Array
  grant?: Uint8Array
  grantSecret?: Uint8Array
}

/** the first 8 bytes of a token's SHA-256: enough to tell whether the other side holds the token we hold, and nothing to replay */
export const TOKEN_TAG_BYTES = 8

export function tokenTag (token: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(token).digest().subarray(0, TOKEN_TAG_BYTES))
}

// ---- codecs (every length checked before it is read) ----

export function encodeFull (): Uint8Array {
  return Uint8Array.of(RESUME_MESSAGE.full)
}

/** where a hello's binder sits: after its type and ephemeral key */
const BINDER_AT = 1 + KEY_BYTES

/** A hello, its binder made with `secret` over every other byte of it (as TLS 1.3's binder covers its ClientHello). */
export function encodeHello (hello: ResumeHello, secret: Uint8Array): Uint8Array {
  const out = encodeHelloFields(hello)
  out.set(binderOf(secret, out), BINDER_AT)
  return out
}

/** Does this hello's binder check with `secret`? Constant time. */
export function helloBinds (secret: Uint8Array, hello: Uint8Array): boolean {
  if (hello.length < BINDER_AT + KEY_BYTES) {
    return false
  }
  const zeroed = Buffer.from(hello)
  zeroed.fill(0, BINDER_AT, BINDER_AT + KEY_BYTES)
  return timingSafeEqual(binderOf(secret, zeroed), hello.subarray(BINDER_AT, BINDER_AT + KEY_BYTES))
}

function encodeHelloFields (hello: ResumeHello): Buffer {
  const names = hello.muxers.slice(0, MAX_MUXERS).map(m => Buffer.from(m, 'utf8')).filter(n => n.length > 0 && n.length <= MAX_MUXER_NAME_BYTES)
  const out = Buffer.alloc(1 + KEY_BYTES * 2 + 2 + hello.ticket.length + 1 + names.reduce((n, b) => n + 1 + b.length, 0))
  let at = out.writeUInt8(RESUME_MESSAGE.hello, 0)
  out.set(hello.ephemeral, at); at += KEY_BYTES
  at += KEY_BYTES // the binder, zero until `encodeHello` sets it
  at = out.writeUInt16BE(hello.ticket.length, at)
  out.set(hello.ticket, at); at += hello.ticket.length
  at = out.writeUInt8(names.length, at)
  for (const n of names) { at = out.writeUInt8(n.length, at); out.set(n, at); at += n.length }
  return out
}

export function decodeFirst (bytes: Uint8Array): FirstMessage {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (b.length === 1 && b[0] === RESUME_MESSAGE.full) {
    return { type: 'full' }
  }
  if (b.length < 1 + KEY_BYTES * 2 + 2 + 1 || b.length > MAX_RESUME_MESSAGE_BYTES || b[0] !== RESUME_MESSAGE.hello) {
    throw new ResumeWireError('the first message is neither `full` nor a well-formed hello')
  }
  let at = 1
  const ephemeral = b.subarray(at, at += KEY_BYTES)
  at += KEY_BYTES // the binder: checked on the bytes (`helloBinds`)
  const ticketLength = b.readUInt16BE(at); at += 2
  if (ticketLength === 0 || ticketLength > MAX_TICKET_BYTES || at + ticketLength + 1 > b.length) {
    throw new ResumeWireError(`a hello's ticket must be 1 to ${MAX_TICKET_BYTES} bytes, inside the message`)
  }
  const ticket = b.subarray(at, at += ticketLength)
  const count = b.readUInt8(at++)
  if (count > MAX_MUXERS) {
    throw new ResumeWireError(`a hello names at most ${MAX_MUXERS} muxers`)
  }
  const muxers: string[] = []
  for (let i = 0; i < count; i++) {
    const n = at < b.length ? b.readUInt8(at++) : 0
    if (n === 0 || n > MAX_MUXER_NAME_BYTES || at + n > b.length) {
      throw new ResumeWireError('a hello\'s muxer name is cut short or empty')
    }
    muxers.push(b.toString('utf8', at, at += n))
  }
  if (at !== b.length) {
    throw new ResumeWireError('bytes after a hello\'s last field')
  }
  return { type: 'hello', ephemeral, ticket, muxers }
}

export function encodeAccept (ephemeral: Uint8Array, sealed: Uint8Array): Uint8Array {
  return Buffer.concat([Uint8Array.of(RESUME_MESSAGE.accept), ephemeral, sealed])
}

export function encodeRefuse (reason: ResumeRefusal): Uint8Array {
  return Uint8Array.of(RESUME_MESSAGE.refuse, RESUME_REFUSALS.indexOf(reason))
}

export function decodeAnswer (bytes: Uint8Array): Answer {
  if (bytes.length === 2 && bytes[0] === RESUME_MESSAGE.refuse) {
    const reason = RESUME_REFUSALS[bytes[1] ?? 255]
    if (reason == null) throw new ResumeWireError('a refusal of an unknown reason')
    return { type: 'refuse', reason }
  }
  if (bytes[0] !== RESUME_MESSAGE.accept || bytes.length < 1 + KEY_BYTES + TAG_BYTES || bytes.length > MAX_RESUME_MESSAGE_BYTES) {
    throw new ResumeWireError('an answer is neither a refusal nor a well-formed accept')
  }
  return { type: 'accept', ephemeral: bytes.subarray(1, 1 + KEY_BYTES), sealed: bytes.subarray(1 + KEY_BYTES) }
}

export function encodeAcceptBody (body: AcceptBody): Uint8Array {
  const muxer = Buffer.from(body.muxer, 'utf8')
  const grant = body.grant ?? new Uint8Array(0)
  const secret = grant.length > 0 ? body.grantSecret ?? new Uint8Array(0) : new Uint8Array(0)
  return Buffer.concat([Uint8Array.of(muxer.length), muxer, tagOf(body.yourToken), u16(grant.length), grant, secret])
}

export function decodeAcceptBody (bytes: Uint8Array): AcceptBody {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const n = b.length > 0 ? b.readUInt8(0) : 0
  if (n === 0 || n > MAX_MUXER_NAME_BYTES || 1 + n + TOKEN_TAG_BYTES + 2 > b.length) {
    throw new ResumeWireError('an accept names no muxer, or is cut short')
  }
  const muxer = b.toString('utf8', 1, 1 + n)
  const yourToken = new Uint8Array(b.subarray(1 + n, 1 + n + TOKEN_TAG_BYTES))
  const grantLength = b.readUInt16BE(1 + n + TOKEN_TAG_BYTES)
  const rest = b.subarray(1 + n + TOKEN_TAG_BYTES + 2)
  if (grantLength === 0) {
    if (rest.length !== 0) throw new ResumeWireError('bytes after an accept without a grant')
    return { muxer, yourToken }
  }
  if (grantLength > MAX_TICKET_BYTES || rest.length !== grantLength + TICKET_SECRET_BYTES) {
    throw new ResumeWireError('an accept\'s grant is cut short or followed by other than its secret')
  }
  return { muxer, yourToken, grant: new Uint8Array(rest.subarray(0, grantLength)), grantSecret: new Uint8Array(rest.subarray(grantLength)) }
}

export function encodeConfirm (sealed: Uint8Array): Uint8Array {
  return Buffer.concat([Uint8Array.of(RESUME_MESSAGE.confirm), sealed])
}

export function decodeConfirm (bytes: Uint8Array): Uint8Array {
  if (bytes[0] !== RESUME_MESSAGE.confirm || bytes.length !== 1 + TOKEN_TAG_BYTES + TAG_BYTES) {
    throw new ResumeWireError('the initiator\'s confirm is malformed')
  }
  return bytes.subarray(1)
}

function tagOf (tag: Uint8Array): Uint8Array {
  if (tag.length !== TOKEN_TAG_BYTES) {
    throw new ResumeWireError(`a token tag is ${TOKEN_TAG_BYTES} bytes`)
  }
  return tag
}

/** The confirm's plaintext: the tag of the responder's token the initiator recorded. */
export function confirmBody (yourToken: Uint8Array): Uint8Array {
  return tagOf(yourToken)
}

function u16 (n: number): Uint8Array {
  const b = Buffer.alloc(2)
  b.writeUInt16BE(n)
  return b
}

// ---- keys ----

const label = (what: string): Buffer => Buffer.from(`${DOMAINS.admitResume}\u0000${what}`)

const BINDER_LABEL = label('binder')
const TRANSCRIPT_LABEL = label('transcript')
const KEYS_LABEL = label('keys')

/**
 * The initiator's proof that it holds the ticket's secret, over the whole
 * hello with its binder zeroed (the ticket, the ephemeral key, the muxers):
 * HMAC-SHA256 keyed by the secret (32 random bytes, used for nothing else
 * unlabelled), over a label of its own.
 */
function binderOf (secret: Uint8Array, helloWithoutBinder: Uint8Array): Buffer {
  // a KeyObject: Node prepares a raw key anew for every use, at several times the HMAC's cost
  return createHmac('sha256', createSecretKey(secret)).update(BINDER_LABEL).update(helloWithoutBinder).digest()
}

/**
 * An ephemeral X25519 key: its raw public half, and the agreement with the
 * other side's. Made and agreed by the node's Noise crypto (noise-crypto.ts:
 * the private half a KeyObject once, the public exported as JWK).
 */
export class Ephemeral {
  private readonly privateKey: Uint8Array
  readonly publicRaw: Uint8Array

  constructor () {
    const pair = noiseCrypto.generateX25519KeyPair()
    this.privateKey = pair.privateKey
    this.publicRaw = pair.publicKey
  }

  async agree (remoteRaw: Uint8Array): Promise<Buffer> {
    if (remoteRaw.length !== KEY_BYTES) {
      throw new ResumeWireError('an ephemeral key is 32 bytes')
    }
    let shared: Uint8Array | undefined
    try {
      shared = await agreeX25519(this.privateKey, remoteRaw)
    } catch {
      // OpenSSL refuses an all-zero agreement
    }
    if (shared == null || shared.every(x => x === 0)) {
      // a low-order point: the "agreement" would be public
      throw new ResumeWireError('the other side\'s ephemeral key is of low order')
    }
    return Buffer.from(shared)
  }
}

/** Each direction's key: HKDF over the ephemeral agreement, salted with the ticket's secret, bound to the transcript. */
export interface SessionKeys {
  /** initiator → responder */
  outbound: Uint8Array
  /** responder → initiator */
  inbound: Uint8Array
}

export function sessionKeys (secret: Uint8Array, shared: Uint8Array, hello: Uint8Array, responderEphemeral: Uint8Array): SessionKeys {
  const transcript = createHash('sha256').update(TRANSCRIPT_LABEL).update(hello).update(responderEphemeral).digest()
  const okm = new Uint8Array(hkdfSync('sha256', createSecretKey(shared), secret, Buffer.concat([KEYS_LABEL, transcript]), KEY_BYTES * 2))
  return { outbound: okm.slice(0, KEY_BYTES), inbound: okm.slice(KEY_BYTES) }
}

/**
 * One direction of ChaCha20-Poly1305 with a counter nonce (Noise's: four
 * zero bytes, the counter little-endian), from 0: the handshake's accept
 * or confirm takes nonce 0, the connection's frames the rest.
 *
 * Sealing is Noise's own (noise-crypto.ts): below 1,200 bytes its
 * WebAssembly ChaCha20-Poly1305, a third of Node's cost for a Yamux frame
 * (Node builds a cipher object per record), above it Node's. Opening is
 * always Node's, with the key a KeyObject made once: its tag check is
 * OpenSSL's constant-time one, where the WebAssembly one stops at the
 * first byte that differs.
 */
/** resumed records carry no associated data */
const NO_AD = new Uint8Array(0)

export class CipherState {
  private counter = 0
  private readonly nonce = Buffer.alloc(12)
  private readonly raw: Uint8Array
  private readonly key: KeyObject

  constructor (key: Uint8Array) {
    if (key.length !== KEY_BYTES) {
      throw new RangeError(`a session key is ${KEY_BYTES} bytes`)
    }
    this.raw = Uint8Array.from(key)
    this.key = createSecretKey(this.raw)
  }

  private next (): Buffer {
    if (this.counter >= 2 ** 48) {
      throw new ResumeWireError('the nonce counter is spent: reconnect')
    }
    this.nonce.writeUIntLE(this.counter++, 4, 6)
    return this.nonce
  }

  seal (plaintext: Uint8Array): Uint8Array {
    return noiseCrypto.chaCha20Poly1305Encrypt(plaintext, this.next(), NO_AD, this.raw) as Uint8Array
  }

  /** Throws when the frame was not sealed by the other side's key at this counter. */
  open (sealed: Uint8Array): Buffer {
    if (sealed.length < TAG_BYTES) {
      throw new ResumeWireError('a sealed frame is shorter than its tag')
    }
    const decipher = createDecipheriv('chacha20-poly1305', this.key, this.next(), { authTagLength: TAG_BYTES })
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES))
    const body = decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES))
    decipher.final()
    return body
  }
}

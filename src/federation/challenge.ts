/**
 * The federation handshake, pure: a bridge's signed, fresh challenge
 * addressed to one remote bridge, and its checks. No libp2p service, no I/O.
 *
 * A bridge builds {schema version, its overlay and id, the id it expects
 * the remote to have, a nonce, a timestamp}, signs the encoded bytes, and
 * sends {challenge, declared public key, signature, token, key certificate}.
 * The receiver fails closed, each check with its own reason, in this order:
 * the schema is supported; the signature verifies with the declared key;
 * the challenge is addressed to the receiver; the declared id is the remote
 * it expected (and is the declared key's PeerId); the timestamp is within
 * the allowed skew; the nonce was not seen before; the declared key is
 * vouched for by a configured trust anchor of that overlay (the remote's
 * token, under that overlay's root key, names it as a bridge) or is the key
 * already pinned for that remote.
 */
import { randomBytes } from 'node:crypto'
import { peerIdFromMultihash, peerIdFromString } from '@libp2p/peer-id'
import * as Digest from 'multiformats/hashes/digest'
import { DOMAINS } from '../core/domains.ts'
import { keyObjectOf, peerIdOfRaw, publicKeyFromRawBytes, signDomain, verifyDomain } from '../core/keys.ts'
import { DEFAULT_FEDERATION_SKEW_MS, FEDERATION_SCHEMA_VERSION, MAX_OVERLAY_ID_BYTES, NONCE_BYTES } from './constants.ts'
import { FederationError } from './errors.ts'
import { Challenge, Envelope } from './pb/federation.ts'
import type { PrivateKey } from '@libp2p/interface'

export interface LocalBridge {
  overlay: string
  peerId: string
  privateKey: PrivateKey
  /** this bridge's token from its own issuer, and its signing key's certificate */
  evidence: { token: string, keyCertificate: string }
}

export interface VerifiedRemote {
  remoteId: string
  overlay: string
  /** the remote's Ed25519 public key, 32 raw bytes */
  publicKey: Uint8Array
  timestamp: number
}

export interface TrustPolicy {
  /** Does a trust anchor of `overlay` vouch for this bridge key (its token, checked under the anchor)? */
  vouches: (overlay: string, remoteId: string, evidence: { token: string, keyCertificate: string }) => Promise<boolean>
  /** the key pinned for this remote, stale or not */
  pinnedKey: (remoteId: string) => Uint8Array | undefined
}

export interface VerifyContext {
  self: { overlay: string, peerId: string }
  /** the remote this bridge expects (the Noise-authenticated peer of the connection) */
  expectedRemote: string
  now: number
  skewMs?: number
  trust: TrustPolicy
  /** remembers nonces for the skew window: a replayed envelope is refused */
  nonces?: NonceCache
}

const bytesOf = (peerId: string): Uint8Array<ArrayBuffer> => peerIdFromString(peerId).toMultihash().bytes as Uint8Array<ArrayBuffer>

/** Build and sign this bridge's envelope for `expectedRemote`. */
export function buildEnvelope (local: LocalBridge, expectedRemote: string, now: number, nonce: Uint8Array = randomBytes(NONCE_BYTES)): Envelope {
  const challenge = Challenge.encode({
    schemaVersion: FEDERATION_SCHEMA_VERSION,
    overlay: local.overlay,
    bridge: bytesOf(local.peerId),
    expectedRemote: bytesOf(expectedRemote),
    nonce: nonce as Uint8Array<ArrayBuffer>,
    timestamp: BigInt(now)
  })
  const key = peerIdFromString(local.peerId).publicKey
  if (key == null) {
    throw new TypeError('the local PeerId carries no public key')
  }
  return {
    challenge,
    publicKey: key.raw as Uint8Array<ArrayBuffer>,
    signature: signDomain(keyObjectOf(local.privateKey), DOMAINS.federation, challenge),
    token: local.evidence.token,
    keyCertificate: local.evidence.keyCertificate
  }
}

function peerOf (bytes: Uint8Array): string {
  try {
    return peerIdFromMultihash(Digest.decode(bytes)).toString()
  } catch {
    throw new FederationError('malformed', 'a PeerId does not decode')
  }
}

/** Check a remote bridge's envelope; throws a `FederationError` naming the first failed check. */
export async function verifyEnvelope (env: Envelope, ctx: VerifyContext): Promise<VerifiedRemote> {
  let c: Challenge
  try {
    c = Challenge.decode(env.challenge)
  } catch {
    throw new FederationError('malformed', 'the challenge does not decode')
  }
  if (c.schemaVersion !== FEDERATION_SCHEMA_VERSION) {
    throw new FederationError('unsupported-schema', `schema ${c.schemaVersion} is not supported (this bridge speaks ${FEDERATION_SCHEMA_VERSION})`)
  }
  if (env.publicKey.length !== 32 || env.signature.length !== 64 || c.nonce.length !== NONCE_BYTES || Buffer.byteLength(c.overlay) > MAX_OVERLAY_ID_BYTES || c.overlay === '') {
    throw new FederationError('malformed', 'a field is out of bounds')
  }
  let declaredKey
  try {
    declaredKey = publicKeyFromRawBytes(env.publicKey)
  } catch {
    throw new FederationError('malformed', 'the declared key is not an Ed25519 key')
  }
  if (!verifyDomain(declaredKey, env.signature, DOMAINS.federation, env.challenge)) {
    throw new FederationError('bad-signature')
  }
  if (peerOf(c.expectedRemote) !== ctx.self.peerId) {
    throw new FederationError('wrong-recipient', 'the challenge is addressed to another bridge')
  }
  const declaredId = peerOf(c.bridge)
  if (declaredId !== ctx.expectedRemote || peerIdOfRaw(env.publicKey) !== declaredId) {
    throw new FederationError('unexpected-sender', 'the declared bridge is not the expected remote')
  }
  const timestamp = c.timestamp > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(c.timestamp)
  const skew = ctx.skewMs ?? DEFAULT_FEDERATION_SKEW_MS
  if (Math.abs(timestamp - ctx.now) > skew) {
    throw new FederationError('clock-skew', `the challenge is ${Math.round((timestamp - ctx.now) / 1000)} s off this bridge's clock (allowed ±${skew / 1000} s)`)
  }
  if (c.overlay === ctx.self.overlay) {
    throw new FederationError('same-overlay', 'a bridge of this overlay is admitted, not federated')
  }
  if (ctx.nonces != null && !ctx.nonces.add(declaredId, c.nonce, ctx.now, skew)) {
    throw new FederationError('replayed', 'this challenge was seen before')
  }
  const pinned = ctx.trust.pinnedKey(declaredId)
  const pinnedMatches = pinned != null && Buffer.from(pinned).equals(env.publicKey)
  if (!pinnedMatches && !(await ctx.trust.vouches(c.overlay, declaredId, { token: env.token, keyCertificate: env.keyCertificate }))) {
    throw new FederationError('untrusted-key', `no trust anchor of overlay ${JSON.stringify(c.overlay)} vouches for this key, and it is not pinned`)
  }
  return { remoteId: declaredId, overlay: c.overlay, publicKey: env.publicKey, timestamp }
}

/** Nonces seen within the skew window, per remote: bounded, oldest evicted first. */
export class NonceCache {
  private readonly seen = new Map<string, number>()
  private readonly max: number

  constructor (max = 65_536) {
    this.max = max
  }

  /** false if this nonce of this remote was seen within the window */
  add (remote: string, nonce: Uint8Array, now: number, windowMs: number): boolean {
    for (const [k, at] of this.seen) {
      if (at > now - 2 * windowMs && this.seen.size < this.max) {
        break
      }
      this.seen.delete(k)
    }
    const key = `${remote}/${Buffer.from(nonce).toString('hex')}`
    if (this.seen.has(key)) {
      return false
    }
    this.seen.set(key, now)
    return true
  }
}

export { Envelope }

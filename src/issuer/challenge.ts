/**
 * Fresh challenges without server state: 8 bytes of time, a kind byte, 15
 * random bytes and an HMAC over them. A challenge is good for `ttlMs` and
 * once: used ones are remembered until they would have expired anyway.
 *
 * A *sealed* challenge (kind 1) is one the issuer hid for one device (TPM
 * credential activation: `src/issuer/tpm/`): its HMAC also covers a binding
 * (a digest of the device's endorsement key and attestation key), so it
 * redeems only together with that same binding, and a plain challenge
 * (kind 0) never passes for a sealed one.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

const MAC_BYTES = 16
export const CHALLENGE_BYTES = 8 + 16 + MAC_BYTES
/** a sealed challenge's binding: a SHA-256 digest */
export const BINDING_BYTES = 32
const PLAIN = 0
const SEALED = 1

export type ChallengeVerdict = 'ok' | 'unknown' | 'unsealed' | 'stale' | 'used'

export class ChallengeBook {
  private readonly secret = randomBytes(32)
  private readonly used = new Map<string, number>()
  private readonly now: () => number
  private readonly ttlMs: number

  constructor (now: () => number, ttlMs = 60_000) {
    this.now = now
    this.ttlMs = ttlMs
  }

  /** a fresh challenge; with `binding` (32 bytes), one sealed for the device it names */
  issue (binding?: Uint8Array): Uint8Array {
    if (binding != null && binding.length !== BINDING_BYTES) {
      throw new RangeError(`a challenge binding has ${BINDING_BYTES} bytes`)
    }
    const body = Buffer.alloc(24)
    body.writeBigUInt64BE(BigInt(this.now()))
    body[8] = binding == null ? PLAIN : SEALED
    randomBytes(15).copy(body, 9)
    return new Uint8Array(Buffer.concat([body, this.mac(body, binding)]))
  }

  /** true once for a genuine, fresh plain challenge; false for anything else */
  redeem (challenge: Uint8Array): boolean {
    return this.redeemFor(challenge, undefined) === 'ok'
  }

  /**
   * `ok` once for a genuine, fresh challenge issued with this `binding` (or
   * none); else why not: `unknown` (not issued here, or sealed for another
   * binding), `unsealed` (a plain challenge where a sealed one was needed),
   * `stale` (expired or from the future), `used` (already redeemed: a replay).
   */
  redeemFor (challenge: Uint8Array, binding: Uint8Array | undefined): ChallengeVerdict {
    if (challenge.length !== CHALLENGE_BYTES) {
      return 'unknown'
    }
    const body = Buffer.from(challenge.subarray(0, 24))
    const mac = Buffer.from(challenge.subarray(24))
    const kind = body[8]
    if (binding != null && kind === PLAIN) {
      return timingSafeEqual(mac, this.mac(body, undefined)) ? 'unsealed' : 'unknown'
    }
    if ((kind !== PLAIN && kind !== SEALED) || (binding == null) !== (kind === PLAIN) || (binding != null && binding.length !== BINDING_BYTES)) {
      return 'unknown'
    }
    if (!timingSafeEqual(mac, this.mac(body, binding))) {
      return 'unknown'
    }
    const issuedAt = Number(body.readBigUInt64BE(0))
    const now = this.now()
    if (issuedAt > now + 1_000 || now - issuedAt > this.ttlMs) {
      return 'stale'
    }
    const id = body.toString('base64')
    if (this.used.has(id)) {
      return 'used'
    }
    this.sweep(now)
    this.used.set(id, issuedAt + this.ttlMs)
    return 'ok'
  }

  private mac (body: Buffer, binding: Uint8Array | undefined): Buffer {
    const hmac = createHmac('sha256', this.secret).update(body)
    if (binding != null) {
      hmac.update(binding)
    }
    return hmac.digest().subarray(0, MAC_BYTES)
  }

  private sweep (now: number): void {
    if (this.used.size < 10_000) {
      return
    }
    for (const [id, until] of this.used) {
      if (until < now) {
        this.used.delete(id)
      }
    }
  }
}

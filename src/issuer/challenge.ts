/**
 * Fresh challenges without server state: 8 bytes of time, 16 random bytes
 * and an HMAC over both. A challenge is good for `ttlMs` and once: used ones
 * are remembered until they would have expired anyway.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

const MAC_BYTES = 16
export const CHALLENGE_BYTES = 8 + 16 + MAC_BYTES

export class ChallengeBook {
  private readonly secret = randomBytes(32)
  private readonly used = new Map<string, number>()
  private readonly now: () => number
  private readonly ttlMs: number

  constructor (now: () => number, ttlMs = 60_000) {
    this.now = now
    this.ttlMs = ttlMs
  }

  issue (): Uint8Array {
    const body = Buffer.alloc(24)
    body.writeBigUInt64BE(BigInt(this.now()))
    randomBytes(16).copy(body, 8)
    return new Uint8Array(Buffer.concat([body, this.mac(body)]))
  }

  /** true once for a genuine, fresh challenge; false for anything else */
  redeem (challenge: Uint8Array): boolean {
    if (challenge.length !== CHALLENGE_BYTES) {
      return false
    }
    const body = Buffer.from(challenge.subarray(0, 24))
    const mac = Buffer.from(challenge.subarray(24))
    if (!timingSafeEqual(mac, this.mac(body))) {
      return false
    }
    const issuedAt = Number(body.readBigUInt64BE(0))
    const now = this.now()
    if (issuedAt > now + 1_000 || now - issuedAt > this.ttlMs) {
      return false
    }
    const id = body.toString('base64')
    if (this.used.has(id)) {
      return false
    }
    this.sweep(now)
    this.used.set(id, issuedAt + this.ttlMs)
    return true
  }

  private mac (body: Buffer): Buffer {
    return createHmac('sha256', this.secret).update(body).digest().subarray(0, MAC_BYTES)
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

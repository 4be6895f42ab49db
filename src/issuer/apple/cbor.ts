/**
 * A bounded CBOR (RFC 8949) decoder for the subset an App Attest
 * attestation object uses: unsigned and negative integers, byte and text
 * strings, arrays and maps with definite lengths, false/true/null. Anything
 * else (indefinite lengths, tags, floats, reserved values, duplicate map
 * keys, bytes after the item) is refused with a `CborError` naming the
 * offset, as is any length past the end of the input, a nesting deeper
 * than `maxDepth` or more than `maxItems` items: a hostile input costs at
 * most its own length to refuse.
 *
 * Written here because no CBOR package is a dependency of this project
 * (`cborg` is in node_modules only for @libp2p/utils).
 */
import { TempusError } from '../../core/tempus-error.ts'

export type CborValue = number | string | boolean | null | Uint8Array | CborValue[] | CborMap
export type CborMap = Map<string | number, CborValue>

export class CborError extends TempusError {
  override readonly name = 'CborError'
  readonly code = 'malformed-cbor'
}

export interface CborLimits {
  /** deepest nesting of arrays and maps @default 8 */
  maxDepth?: number
  /** most items (every value, key and element) @default 256 */
  maxItems?: number
}

class Reader {
  private offset = 0
  private items = 0
  private readonly bytes: Uint8Array
  private readonly maxDepth: number
  private readonly maxItems: number
  private readonly utf8 = new TextDecoder('utf-8', { fatal: true })

  constructor (bytes: Uint8Array, limits: CborLimits) {
    this.bytes = bytes
    this.maxDepth = limits.maxDepth ?? 8
    this.maxItems = limits.maxItems ?? 256
  }

  get done (): boolean {
    return this.offset === this.bytes.length
  }

  private fail (what: string): never {
    throw new CborError(`CBOR at byte ${this.offset}: ${what}`)
  }

  private take (n: number): Uint8Array {
    if (n > this.bytes.length - this.offset) {
      this.fail(`${n} bytes announced, ${this.bytes.length - this.offset} left`)
    }
    const out = this.bytes.subarray(this.offset, this.offset + n)
    this.offset += n
    return out
  }

  /** the argument of an initial byte: its value, or the 1/2/4/8 bytes that follow */
  private argument (info: number): number {
    if (info < 24) {
      return info
    }
    if (info > 27) {
      this.fail(info === 31 ? 'indefinite lengths are not accepted' : 'reserved additional information')
    }
    const size = 1 << (info - 24)
    let value = 0n
    for (const b of this.take(size)) {
      value = (value << 8n) | BigInt(b)
    }
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
      this.fail('an integer or length beyond 2^53')
    }
    return Number(value)
  }

  read (depth: number): CborValue {
    if (++this.items > this.maxItems) {
      this.fail(`more than ${this.maxItems} items`)
    }
    const initial = this.take(1)[0] as number
    const major = initial >> 5
    const info = initial & 0x1f
    if (major === 7) {
      if (info === 20) return false
      if (info === 21) return true
      if (info === 22) return null
      this.fail('only false, true and null of the simple values are accepted')
    }
    if (major === 6) {
      this.fail('tags are not accepted')
    }
    const n = this.argument(info)
    switch (major) {
      case 0: return n
      case 1: return -1 - n
      case 2: return new Uint8Array(this.take(n))
      case 3:
        try {
          return this.utf8.decode(this.take(n))
        } catch (err) {
          if (err instanceof CborError) throw err
          return this.fail('a text string that is not UTF-8')
        }
      case 4: {
        if (depth >= this.maxDepth) this.fail(`nested deeper than ${this.maxDepth}`)
        // each element is at least one byte: a count beyond what is left is refused before any allocation
        if (n > this.bytes.length - this.offset) this.fail(`${n} elements announced, ${this.bytes.length - this.offset} bytes left`)
        const out: CborValue[] = []
        for (let i = 0; i < n; i++) out.push(this.read(depth + 1))
        return out
      }
      default: {
        if (depth >= this.maxDepth) this.fail(`nested deeper than ${this.maxDepth}`)
        if (2 * n > this.bytes.length - this.offset) this.fail(`${n} map entries announced, ${this.bytes.length - this.offset} bytes left`)
        const out: CborMap = new Map()
        for (let i = 0; i < n; i++) {
          const key = this.read(depth + 1)
          if (typeof key !== 'string' && typeof key !== 'number') this.fail('a map key that is not a text string or an integer')
          if (out.has(key)) this.fail('a duplicate map key')
          out.set(key, this.read(depth + 1))
        }
        return out
      }
    }
  }
}

/** exactly one CBOR item, the whole of `bytes` */
export function decodeCbor (bytes: Uint8Array, limits: CborLimits = {}): CborValue {
  const reader = new Reader(bytes, limits)
  const value = reader.read(0)
  if (!reader.done) {
    throw new CborError('CBOR: bytes after the item')
  }
  return value
}

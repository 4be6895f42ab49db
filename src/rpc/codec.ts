/**
 * Arguments and results: JSON data only (null, booleans, finite numbers,
 * strings, arrays, plain objects) — no types that execute, no undefined, no
 * cycles — with hard caps on size, depth and element count, and keys that
 * could pollute a prototype refused. Both directions are checked.
 */
import { EncodingError } from './errors.ts'

export interface CodecLimits {
  /** encoded bytes */
  maxBytes: number
  maxDepth: number
  /** values in total (every array element, object member and scalar) */
  maxItems: number
  /** characters of one string or key */
  maxString: number
}

export const DEFAULT_LIMITS: CodecLimits = { maxBytes: 64 * 1024, maxDepth: 16, maxItems: 10_000, maxString: 16 * 1024 }

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype'])

export type RpcValue = null | boolean | number | string | RpcValue[] | { [key: string]: RpcValue }

/** Check a value against the limits; throws `EncodingError` naming the problem. */
export function checkValue (value: unknown, limits: CodecLimits = DEFAULT_LIMITS): asserts value is RpcValue {
  let items = 0
  const walk = (v: unknown, depth: number): void => {
    if (++items > limits.maxItems) {
      throw new EncodingError(`more than ${limits.maxItems} values`)
    }
    if (depth > limits.maxDepth) {
      throw new EncodingError(`nested deeper than ${limits.maxDepth}`)
    }
    if (v === null || typeof v === 'boolean') {
      return
    }
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new EncodingError('numbers must be finite')
      return
    }
    if (typeof v === 'string') {
      if (v.length > limits.maxString) throw new EncodingError(`a string longer than ${limits.maxString}`)
      return
    }
    if (Array.isArray(v)) {
      for (const x of v) walk(x, depth + 1)
      return
    }
    if (typeof v === 'object') {
      const proto = Object.getPrototypeOf(v)
      if (proto !== Object.prototype && proto !== null) {
        throw new EncodingError('only plain objects')
      }
      for (const key of Object.keys(v as object)) {
        if (FORBIDDEN_KEYS.has(key)) throw new EncodingError(`forbidden key ${JSON.stringify(key)}`)
        if (key.length > limits.maxString) throw new EncodingError('a key too long')
        walk((v as Record<string, unknown>)[key], depth + 1)
      }
      return
    }
    throw new EncodingError(`${typeof v} is not allowed`)
  }
  walk(value, 0)
}

export function encodeValue (value: unknown, limits: CodecLimits = DEFAULT_LIMITS): Uint8Array<ArrayBuffer> {
  checkValue(value, limits)
  const bytes = new TextEncoder().encode(JSON.stringify(value))
  if (bytes.length > limits.maxBytes) {
    throw new EncodingError(`encoded size ${bytes.length} above ${limits.maxBytes}`)
  }
  return bytes
}

export function decodeValue (bytes: Uint8Array, limits: CodecLimits = DEFAULT_LIMITS): RpcValue {
  if (bytes.length > limits.maxBytes) {
    throw new EncodingError(`encoded size ${bytes.length} above ${limits.maxBytes}`)
  }
  let value: unknown
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch {
    throw new EncodingError('not a JSON value')
  }
  checkValue(value, limits)
  return value
}

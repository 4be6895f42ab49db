import { ConfigError } from './config-error.ts'

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/

/**
 * Parse `"500ms"`, `"20s"`, `"3m"`, `"1h"`, `"2d"` or a number of
 * milliseconds. Throws a `ConfigError` naming `field` for anything else.
 */
export function parseDuration (value: unknown, field: string): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) {
      return value
    }
    throw new ConfigError(`${prefix(field)}expected a duration ≥ 0, got ${value}`, field)
  }
  if (typeof value === 'string') {
    const match = DURATION.exec(value.trim())
    if (match != null) {
      return Math.round(Number(match[1]) * (UNITS[match[2] ?? 'ms'] ?? 1))
    }
  }
  throw new ConfigError(`${prefix(field)}expected a duration such as "500ms", "20s", "3m" or "1h", got ${JSON.stringify(value)}`, field)
}

function prefix (field: string): string {
  return field === '' ? '' : `${field}: `
}

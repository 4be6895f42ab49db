/** Benchmark and simulator flags: `--name value`, `--flag`; numbers checked. */
import { parseArgs } from 'node:util'

export function benchArgs<T extends Record<string, { type: 'string' | 'boolean', default?: string | boolean }>> (options: T): Record<keyof T, string | boolean | undefined> {
  try {
    const { values } = parseArgs({ options: options as any, strict: true, allowPositionals: false })
    return values as any
  } catch (err: any) {
    process.stderr.write(`${err.message}\n`)
    process.exit(2)
  }
}

export function intArg (value: unknown, name: string, min: number, max: number): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < min || n > max) {
    process.stderr.write(`--${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}\n`)
    process.exit(2)
  }
  return n
}

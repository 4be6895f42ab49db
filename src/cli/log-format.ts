/**
 * `--log-format json|pretty` for the long-running commands. JSON lines (the
 * default) are for journald and log shippers; `pretty` is for a person at a
 * terminal: `12:00:01.234 WARN  message  key=value …`, one line per entry,
 * made from the same JSON lines (no extra dependency).
 */
import type { DestinationStream } from 'pino'

export type LevelName = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' }
const SKIP = new Set(['level', 'time', 'msg', 'pid', 'hostname'])

function value (v: unknown): string {
  if (typeof v === 'string') {
    return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v)
  }
  return JSON.stringify(v) ?? String(v)
}

/** One pino JSON line as a line for a person; a line that is not JSON passes as it is. */
export function prettyLine (line: string): string {
  let entry: Record<string, unknown>
  try {
    entry = JSON.parse(line)
  } catch {
    return line.endsWith('\n') ? line : line + '\n'
  }
  const time = typeof entry.time === 'number' ? new Date(entry.time).toISOString().slice(11, 23) : ''
  const level = (LEVELS[Number(entry.level)] ?? String(entry.level)).padEnd(5)
  const fields = Object.entries(entry).filter(([k]) => !SKIP.has(k)).map(([k, v]) => `${k}=${value(v)}`)
  return `${time} ${level} ${String(entry.msg ?? '')}${fields.length > 0 ? '  ' + fields.join(' ') : ''}\n`
}

/** The destination for `createLogger`: undefined (pino's own, JSON to stderr) unless pretty. */
export function logDestination (format: string | undefined): DestinationStream | undefined {
  if (format !== 'pretty') {
    return undefined
  }
  return { write: (chunk: string) => { for (const line of chunk.split('\n')) { if (line !== '') process.stderr.write(prettyLine(line)) } } }
}

/**
 * A census of one node process, loaded with `node --import` before the CLI
 * (scripts/bench-process.ts puts it on one node of its mesh): which module
 * files the process loads (every URL the module loader loads, ESM and
 * CommonJS), and, over a window, how many timer callbacks fire per second by
 * where they were set. At `TEMPUS_CENSUS_TO_MS` after load it writes
 * `{ modules, timers, memory }` to `TEMPUS_CENSUS_FILE`.
 *
 * Wrapping the timers costs a little CPU: the process that carries the census
 * is not the one whose CPU share is quoted.
 */
import { registerHooks } from 'node:module'
import { writeFileSync } from 'node:fs'

const file = process.env.TEMPUS_CENSUS_FILE
const fromMs = Number(process.env.TEMPUS_CENSUS_FROM_MS ?? '60000')
const toMs = Number(process.env.TEMPUS_CENSUS_TO_MS ?? '120000')

const modules: string[] = []
registerHooks({
  load (url, context, next) {
    modules.push(url)
    return next(url, context)
  }
})

const plainSetTimeout = globalThis.setTimeout
const counts = new Map<string, number>()
let counting = false
const origin = (): string => {
  const lines = (new Error().stack ?? '').split('\n').slice(3)
  const frame = lines.find(l => !l.includes('node:internal') && !l.includes('process-census') && !l.includes('/@libp2p/utils/') && !l.includes('/p-') && !l.includes('/delay/') && !l.includes('/retimer/')) ?? lines[0] ?? '?'
  return frame.trim().replace(/^at /, '').replace(/\(?file:\/\/.*node_modules\//, '').replace(/\(?file:\/\/.*\/dist\//, '').replace(/:\d+\)?$/, '')
}
const wrap = <F extends (...a: any[]) => any>(original: F): F => (function (this: unknown, fn: unknown, ...rest: unknown[]) {
  if (typeof fn !== 'function') {
    return original.call(this, fn, ...rest)
  }
  const where = origin()
  return original.call(this, function (this: unknown, ...a: unknown[]) {
    if (counting) {
      counts.set(where, (counts.get(where) ?? 0) + 1)
    }
    return (fn as (...x: unknown[]) => unknown).apply(this, a)
  }, ...rest)
}) as unknown as F
globalThis.setTimeout = wrap(globalThis.setTimeout)
globalThis.setInterval = wrap(globalThis.setInterval)
globalThis.setImmediate = wrap(globalThis.setImmediate)

if (file != null) {
  let started = 0
  plainSetTimeout(() => { counting = true; started = performance.now() }, fromMs).unref()
  plainSetTimeout(() => {
    counting = false
    const seconds = (performance.now() - started) / 1000
    const timers = [...counts].sort((a, b) => b[1] - a[1]).map(([where, n]) => ({ origin: where, perSecond: Math.round(n / seconds * 100) / 100 }))
    writeFileSync(file, JSON.stringify({ modules, timers, timersPerSecond: Math.round([...counts.values()].reduce((a, b) => a + b, 0) / seconds * 100) / 100, memory: process.memoryUsage(), heap: process.memoryUsage().heapUsed }))
  }, toMs).unref()
}

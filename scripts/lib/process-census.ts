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
import { countTimers } from './timer-census.ts'

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
const census = countTimers('process-census')

if (file != null) {
  let started = 0
  plainSetTimeout(() => { census.start(); started = performance.now() }, fromMs).unref()
  plainSetTimeout(() => {
    const counts = census.stop()
    const seconds = (performance.now() - started) / 1000
    const timers = [...counts].sort((a, b) => b[1] - a[1]).map(([where, n]) => ({ origin: where, perSecond: Math.round(n / seconds * 100) / 100 }))
    writeFileSync(file, JSON.stringify({ modules, timers, timersPerSecond: Math.round([...counts.values()].reduce((a, b) => a + b, 0) / seconds * 100) / 100, memory: process.memoryUsage(), heap: process.memoryUsage().heapUsed }))
  }, toMs).unref()
}

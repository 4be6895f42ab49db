/**
 * A census of one node process, loaded with `node --import` before the CLI
 * (scripts/bench-process.ts puts it on one node of its mesh): which module
 * files the process loads (every URL the module loader loads, ESM and
 * CommonJS), and, over a window, how many timer callbacks fire per second by
 * where they were set. At `TEMPUS_CENSUS_TO_MS` after load it writes
 * `{ modules, timers, memory }` to `TEMPUS_CENSUS_FILE`.
 *
 * Over the same window it also counts garbage collections (how many, and
 * their pause time, by kind) and samples allocations (V8's sampling heap
 * profiler, counting what later collections freed too): where an idle
 * node's garbage is made, which is what its collections cost.
 *
 * Wrapping the timers costs a little CPU: the process that carries the census
 * is not the one whose CPU share is quoted.
 */
import { registerHooks } from 'node:module'
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { PerformanceObserver } from 'node:perf_hooks'
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

/** V8's names for `PerformanceEntry.detail.kind` of a gc entry */
const GC_KINDS: Record<number, string> = { 1: 'scavenge', 2: 'mark-compact', 4: 'incremental', 8: 'weak-callbacks' }

interface SamplingNode { callFrame: { functionName: string, url: string, lineNumber: number }, selfSize: number, children: SamplingNode[] }

/** bytes allocated per call site over the sampling, largest first (the site: function, file and line of its frame) */
function allocationSites (head: SamplingNode): Map<string, number> {
  const sites = new Map<string, number>()
  const walk = (n: SamplingNode): void => {
    if (n.selfSize > 0) {
      const f = n.callFrame
      const where = `${f.functionName === '' ? '(anonymous)' : f.functionName} ${f.url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${f.lineNumber + 1}`
      sites.set(where, (sites.get(where) ?? 0) + n.selfSize)
    }
    for (const c of n.children) walk(c)
  }
  walk(head)
  return sites
}

if (file != null) {
  let started = 0
  const gc = new Map<string, { count: number, ms: number }>()
  const observer = new PerformanceObserver(list => {
    for (const e of list.getEntries()) {
      const kind = GC_KINDS[((e as unknown as { detail?: { kind?: number } }).detail)?.kind ?? 0] ?? 'other'
      const k = gc.get(kind) ?? { count: 0, ms: 0 }
      k.count++
      k.ms += e.duration
      gc.set(kind, k)
    }
  })
  const session = new Session()
  session.connect()
  plainSetTimeout(() => {
    census.start()
    observer.observe({ entryTypes: ['gc'] })
    void session.post('HeapProfiler.startSampling', { samplingInterval: 16_384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })
    started = performance.now()
  }, fromMs).unref()
  plainSetTimeout(() => {
    const counts = census.stop()
    observer.disconnect()
    const seconds = (performance.now() - started) / 1000
    const perSecond = (n: number): number => Math.round(n / seconds * 100) / 100
    const timers = [...counts].sort((a, b) => b[1] - a[1]).map(([where, n]) => ({ origin: where, perSecond: perSecond(n) }))
    const gcs = [...gc].map(([kind, { count, ms }]) => ({ kind, perSecond: perSecond(count), msPerSecond: perSecond(ms) }))
    void session.post('HeapProfiler.stopSampling').then(({ profile }) => {
      const sites = allocationSites(profile.head as SamplingNode)
      const total = [...sites.values()].reduce((a, b) => a + b, 0)
      const allocations = { bytesPerSecond: Math.round(total / seconds), sites: [...sites].sort((a, b) => b[1] - a[1]).slice(0, 40).map(([site, bytes]) => ({ site, bytesPerSecond: Math.round(bytes / seconds) })) }
      writeFileSync(file, JSON.stringify({ modules, timers, timersPerSecond: perSecond([...counts.values()].reduce((a, b) => a + b, 0)), gc: gcs, allocations, memory: process.memoryUsage(), heap: process.memoryUsage().heapUsed }))
    }).finally(() => { session.disconnect() })
  }, toMs).unref()
}

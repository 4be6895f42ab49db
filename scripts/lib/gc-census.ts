/**
 * The garbage collector's pauses over a window, by kind, from Node's
 * `gc` performance entries: how many young-generation collections
 * (scavenges), how many full ones (mark-compact), and how long each kind
 * held the main thread. A CPU profile shows the collector as one line and
 * the thread census shows V8's helpers apart, but neither says whether the
 * time is many small scavenges (a young generation too small for what the
 * process allocates, promoting what would have died young) or a few full
 * collections (an old generation grown and swept): the two ask for
 * opposite settings.
 */
import { PerformanceObserver, constants } from 'node:perf_hooks'

export interface GcKindFigures {
  /** collections per second */
  perSecond: number
  /** main-thread pause per second of wall time, in ms */
  pauseMsPerSecond: number
}

export interface GcFigures {
  minor: GcKindFigures
  major: GcKindFigures
  /** incremental marking steps and weak-callback processing, together */
  other: GcKindFigures
}

const KINDS: Record<number, keyof GcFigures> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'other',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'other'
}

/** Start counting; `stop()` gives the figures per second of the window. */
export function countGc (): { stop: () => GcFigures } {
  const count = { minor: 0, major: 0, other: 0 }
  const pause = { minor: 0, major: 0, other: 0 }
  const observer = new PerformanceObserver(list => {
    for (const entry of list.getEntries()) {
      const kind = KINDS[(entry as unknown as { detail?: { kind?: number } }).detail?.kind ?? -1] ?? 'other'
      count[kind]++
      pause[kind] += entry.duration
    }
  })
  observer.observe({ entryTypes: ['gc'] })
  const t0 = performance.now()
  return {
    stop () {
      // entries are delivered asynchronously: those already queued are taken now
      for (const entry of observer.takeRecords()) {
        const kind = KINDS[(entry as unknown as { detail?: { kind?: number } }).detail?.kind ?? -1] ?? 'other'
        count[kind]++
        pause[kind] += entry.duration
      }
      observer.disconnect()
      const s = (performance.now() - t0) / 1000
      const figures = (kind: keyof GcFigures): GcKindFigures => ({
        perSecond: Math.round(count[kind] / s * 100) / 100,
        pauseMsPerSecond: Math.round(pause[kind] / s * 100) / 100
      })
      return { minor: figures('minor'), major: figures('major'), other: figures('other') }
    }
  }
}

/** One line: `minor 12.3/s 4.5 ms/s, major 0.1/s 2.0 ms/s, other …`. */
export function formatGc (gc: GcFigures): string {
  const one = (name: string, f: GcKindFigures): string => `${name} ${f.perSecond}/s ${f.pauseMsPerSecond} ms/s`
  return [one('minor', gc.minor), one('major', gc.major), one('incremental+weak', gc.other)].join(', ')
}

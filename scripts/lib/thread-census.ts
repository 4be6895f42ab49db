/**
 * CPU time per thread of this process over a window, from Linux's
 * /proc/self/task: the main thread (JavaScript, and its own system calls)
 * apart from V8's helper threads (garbage collection, compilation) and
 * libuv's pool (file system, some crypto, DNS). `process.cpuUsage()` gives
 * their sum only, and a CPU profile sees the main thread only, so a busy
 * share that a profile does not show is found here. Empty where /proc is
 * not there.
 */
import { readdirSync, readFileSync } from 'node:fs'

/** user and system ticks of one thread, and its name */
interface ThreadTicks { name: string, user: number, system: number }

/** Linux's clock ticks per second for /proc times (USER_HZ: 100 on every architecture Node runs on) */
const TICKS_PER_S = 100

function readThreads (): Map<string, ThreadTicks> {
  const out = new Map<string, ThreadTicks>()
  let tids: string[]
  try {
    tids = readdirSync('/proc/self/task')
  } catch {
    return out
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
      // the name sits in parentheses and may hold spaces: the fields after it are counted from its end
      const close = stat.lastIndexOf(')')
      const name = stat.slice(stat.indexOf('(') + 1, close)
      const fields = stat.slice(close + 2).split(' ')
      // fields[0] is field 3 (state): utime is field 14, stime field 15
      out.set(tid, { name, user: Number(fields[11]), system: Number(fields[12]) })
    } catch {} // a thread that ended between the listing and the read
  }
  return out
}

export interface ThreadShare {
  /** a group of threads: `main`, or a thread name as Linux gives it (V8's and libuv's helpers carry theirs) */
  group: string
  threads: number
  /** CPU over the window as a share of one core */
  user: number
  system: number
}

/** Start counting; `stop()` gives each group's share of one core since, largest first. */
export function countThreadCpu (): { stop: () => ThreadShare[] } {
  const before = readThreads()
  const t0 = performance.now()
  return {
    stop: () => {
      const after = readThreads()
      const seconds = (performance.now() - t0) / 1000
      const groups = new Map<string, ThreadShare>()
      for (const [tid, t] of after) {
        const b = before.get(tid)
        const group = tid === String(process.pid) ? 'main' : t.name
        const g = groups.get(group) ?? { group, threads: 0, user: 0, system: 0 }
        g.threads++
        g.user += (t.user - (b?.user ?? 0)) / TICKS_PER_S / seconds
        g.system += (t.system - (b?.system ?? 0)) / TICKS_PER_S / seconds
        groups.set(group, g)
      }
      const round = (x: number): number => Math.round(x * 1000) / 1000
      return [...groups.values()]
        .map(g => ({ ...g, user: round(g.user), system: round(g.system) }))
        .sort((a, b) => (b.user + b.system) - (a.user + a.system))
    }
  }
}

/**
 * The chaos harness's stand-in for "the issuer has hosts of its own": its
 * replicas and their PostgreSQL share this machine's two cores with a
 * hundred node processes, and a fleet's would not. Their processes are
 * scheduled ahead of the nodes (`chrt`'s round-robin class, every thread
 * of each; a thread or process made later by one inherits it), as their
 * own cores would serve them: whenever they have work, at once. They use a
 * few per cent of a core between them, so the nodes lose little; the
 * kernel keeps 5 % of each second for everything else in any case.
 *
 * How long their threads waited for a core is read from /proc
 * (`schedstat`: time on a CPU, time runnable but waiting), so a run says
 * whether the issuer was served as a host of its own would serve it.
 *
 * Linux only (root for the round-robin class); what cannot be read or set
 * is skipped, never fatal: the harness still runs, the issuer at the
 * default class, and says so.
 */
import { execFile } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'

/** The threads of `pid` (its tasks), or none if it is gone. */
function tasksOf (pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).map(Number).filter(Number.isInteger)
  } catch {
    return []
  }
}

/** `pid`'s children (one level), read from /proc: a PostgreSQL server's backends and workers. */
export function childrenOf (pid: number): number[] {
  const out: number[] = []
  for (const task of tasksOf(pid)) {
    try {
      out.push(...readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(s => s !== '').map(Number))
    } catch {}
  }
  return out
}

/**
 * Put every thread of each process in the round-robin real-time class at
 * priority 1 (the lowest: above every ordinary process, below the
 * kernel's own). Undefined when done; else why not (no `chrt`, no right).
 */
export async function scheduleFirst (pids: number[]): Promise<string | undefined> {
  for (const pid of pids) {
    const failed = await new Promise<string | undefined>(resolve => {
      execFile('chrt', ['--all-tasks', '--rr', '--pid', '1', String(pid)], { timeout: 10_000 }, (err, _out, stderr) => {
        resolve(err == null ? undefined : `chrt for pid ${pid}: ${(stderr.trim() || err.message).slice(0, 200)}`)
      })
    })
    // a process that ended meanwhile (a PostgreSQL worker) is no failure of the rest
    if (failed != null && tasksOf(pid).length > 0) {
      return failed
    }
  }
  return undefined
}

/** Time on a CPU and time runnable but waiting for one, summed over every thread of each process, ns. */
export interface Schedstat { cpuNs: number, waitNs: number }

export function schedstat (pids: number[]): Schedstat {
  const total = { cpuNs: 0, waitNs: 0 }
  for (const pid of pids) {
    for (const task of tasksOf(pid)) {
      try {
        const [cpu, wait] = readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').trim().split(/\s+/).map(Number)
        total.cpuNs += cpu ?? 0
        total.waitNs += wait ?? 0
      } catch {}
    }
  }
  return total
}

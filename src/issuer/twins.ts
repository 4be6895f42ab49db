/**
 * Twin detection: one credential refreshed by two processes at once (a
 * copied data directory, a cloned VM). Pure: no I/O, an injected clock.
 *
 * Every token request names the client's *instance*: a random id that a
 * node's issuer client draws once per process and keeps only in memory, so
 * copying a data directory does not copy it. An honest node refreshes from
 * one instance every half token lifetime; its record here is refreshed
 * before it ages out. So, per subject, the instances seen within one token
 * lifetime are:
 *
 *   1. one          → a single process: nothing to report;
 *   2. a newcomer   → `suspected`: either a twin or a restart of a process
 *                     that was killed less than one token lifetime ago (a
 *                     killed process cannot say goodbye, so the two look the
 *                     same at this point);
 *   3. the older one again after a newcomer appeared → `confirmed`: both
 *                     processes are alive, which no restart produces.
 *
 * The newer instance of a pair is the one to refuse when refusal is on: the
 * older one held the credential first. Each pair is reported once per stage.
 */

export interface TwinWatchInit {
  /** how long an instance counts as alive after its last request: one token lifetime, ms */
  windowMs: number
  now: () => number
  /** instances remembered per subject; a holder of the key can mint ids, so this bounds its memory */
  maxInstancesPerSubject?: number
}

export interface TwinObservation {
  /** the instance that made this request is not the oldest alive one: refuse it when refusal is on */
  newer: boolean
  /** a pair to report now (each pair once per stage), or undefined */
  report?: TwinReport
}

export interface TwinReport {
  stage: 'suspected' | 'confirmed'
  subject: string
  older: string
  newer: string
  /** ms since the older instance was last seen (at `suspected`: how plausible a restart is) */
  olderSeenMsAgo: number
}

interface Sighting {
  lastSeen: number
  /** this (newer) instance was reported, per stage */
  suspected: boolean
  confirmed: boolean
}

const DEFAULT_MAX_INSTANCES = 8

export class TwinWatch {
  private readonly windowMs: number
  private readonly now: () => number
  private readonly maxInstances: number
  /** subject → instance → sighting, instances in the order first seen */
  private readonly subjects = new Map<string, Map<string, Sighting>>()
  /** subject → when a newcomer was last reported: one report per window, however many ids are minted */
  private readonly reported = new Map<string, number>()
  private lastSweep = 0

  constructor (init: TwinWatchInit) {
    if (!(init.windowMs > 0)) {
      throw new RangeError('the twin window must be positive')
    }
    this.windowMs = init.windowMs
    this.now = init.now
    this.maxInstances = init.maxInstancesPerSubject ?? DEFAULT_MAX_INSTANCES
  }

  /** Record a proven request of `subject` from `instance` and say what it means. */
  observe (subject: string, instance: string): TwinObservation {
    const now = this.now()
    this.sweep(now)
    let instances = this.subjects.get(subject)
    if (instances == null) {
      instances = new Map()
      this.subjects.set(subject, instances)
    }
    this.prune(instances, now)
    const previous = instances.get(instance)
    const me: Sighting = previous ?? { lastSeen: now, suspected: false, confirmed: false }
    if (previous == null) {
      while (instances.size >= Math.max(2, this.maxInstances)) {
        // forget the stalest newer one, never the oldest: minting instance
        // ids must not push the process that held the credential first out
        const [, ...newer] = instances.entries()
        const stalest = newer.reduce((x, y) => (y[1].lastSeen < x[1].lastSeen ? y : x))
        instances.delete(stalest[0])
      }
      instances.set(instance, me)
    }
    const [oldestId, oldest] = instances.entries().next().value as [string, Sighting]
    let report: TwinReport | undefined
    if (oldestId !== instance) {
      // a newcomer beside an instance that was alive within the window
      if (!me.suspected) {
        me.suspected = true
        // each report is a permanent audit row: a member minting instance ids
        // gets one per window, not one per request
        const last = this.reported.get(subject)
        if (last == null || now - last >= this.windowMs) {
          this.reported.set(subject, now)
          report = { stage: 'suspected', subject, older: oldestId, newer: instance, olderSeenMsAgo: now - oldest.lastSeen }
        }
      }
    } else {
      // the oldest is back while a newer one is alive: two live processes,
      // which no restart produces (a killed process never comes back)
      for (const [id, other] of instances) {
        if (id !== instance && !other.confirmed) {
          other.confirmed = true
          report = { stage: 'confirmed', subject, older: instance, newer: id, olderSeenMsAgo: now - oldest.lastSeen }
          break
        }
      }
    }
    me.lastSeen = now
    return { newer: oldestId !== instance, report }
  }

  /** subjects currently remembered (for tests and metrics) */
  get size (): number {
    return this.subjects.size
  }

  private prune (instances: Map<string, Sighting>, now: number): void {
    for (const [id, s] of instances) {
      if (now - s.lastSeen > this.windowMs) {
        instances.delete(id)
      }
    }
  }

  /** at most once per window: forget subjects whose instances all aged out */
  private sweep (now: number): void {
    if (now - this.lastSweep < this.windowMs) {
      return
    }
    this.lastSweep = now
    for (const [subject, at] of this.reported) {
      if (now - at >= this.windowMs) {
        this.reported.delete(subject)
      }
    }
    for (const [subject, instances] of this.subjects) {
      this.prune(instances, now)
      if (instances.size === 0) {
        this.subjects.delete(subject)
      }
    }
  }
}

/**
 * `events.log`: an append-only, local audit of what storage decided on the
 * operator's behalf (a store reset, a stale lock taken over), one JSON line
 * each, 0600, fsynced. It outlives the stores it talks about.
 */
import { join } from 'node:path'
import { EVENTS_FILE } from './constants.ts'
import { appendLineDurablySync } from './durable.ts'

export interface StorageEvent {
  event: string
  [key: string]: unknown
}

export function eventsPath (dir: string): string {
  return join(dir, EVENTS_FILE)
}

export function appendEvent (dir: string, event: StorageEvent, now: () => number = Date.now): void {
  appendLineDurablySync(eventsPath(dir), JSON.stringify({ at: new Date(now()).toISOString(), pid: process.pid, ...event }))
}

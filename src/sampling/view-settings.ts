/**
 * One view's size and pace, and the defaults a sampler fills in for what it
 * was not given. Pure.
 */
import { PEER_TYPES } from '../core/peer-type.ts'
import { OBSERVER_PERIOD_FACTOR, VIEW_DEFAULTS } from './constants.ts'
import type { PeerType } from '../core/peer-type.ts'

export interface ViewSettings {
  capacity: number
  shuffleLength: number
  /** a member's time between two shuffles (ms) */
  periodMs: number
  /** an observer's time between two pulls (ms; the default is OBSERVER_PERIOD_FACTOR × periodMs) */
  observerPeriodMs: number
}

/** Every view's settings: what was given, else VIEW_DEFAULTS; an observer pulls at OBSERVER_PERIOD_FACTOR × the period. */
export function viewSettingsOf (given: Partial<Record<PeerType, Partial<ViewSettings>>> = {}): Record<PeerType, ViewSettings> {
  const out = {} as Record<PeerType, ViewSettings>
  for (const type of PEER_TYPES) {
    const g = given[type] ?? {}
    const d = VIEW_DEFAULTS[type]
    const periodMs = g.periodMs ?? d.periodMs
    out[type] = {
      capacity: g.capacity ?? d.capacity,
      shuffleLength: g.shuffleLength ?? d.shuffleLength,
      periodMs,
      observerPeriodMs: g.observerPeriodMs ?? OBSERVER_PERIOD_FACTOR * periodMs
    }
  }
  return out
}

/**
 * When a view ticks next. Pure: the sampling service asks it after every
 * tick.
 */
export interface TickSchedule {
  /** this node is a member of the view (its own type), not an observer */
  member: boolean
  /** entries the view holds now */
  size: number
  /** the members' period (ms) */
  periodMs: number
  /** the observers' period (ms) */
  observerPeriodMs: number
}

/**
 * A member shuffles every period. An observer pulls every observer period,
 * or every period while its view is empty (a node that just started has a
 * sample soon). Not "until it holds l entries": a population smaller than
 * l would then be pulled at the members' rate by every observer for good.
 */
export function nextTickDelay (s: TickSchedule): number {
  if (s.member || s.size === 0) {
    return s.periodMs
  }
  return s.observerPeriodMs
}

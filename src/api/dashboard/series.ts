/**
 * The figures the dashboard plots over time, one point a tick, in a ring
 * of fixed length: the three Cyclon views' sizes, their samplers' sizes,
 * and admission refusals by reason (cumulative counts; the page plots
 * them as they rise). Pure: the feed gives it points.
 */
import type { PeerType } from '../../core/peer-type.ts'

export interface SeriesPoint {
  /** ms since the epoch */
  t: number
  views: Record<PeerType, number>
  sampler: Record<PeerType, number>
  /** refusals since start, by reason */
  refusals: Record<string, number>
}

export class Series {
  private readonly points: SeriesPoint[] = []
  private readonly capacity: number

  constructor (capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError('capacity: a positive integer')
    }
    this.capacity = capacity
  }

  add (point: SeriesPoint): void {
    const last = this.points.at(-1)
    if (last != null && point.t <= last.t) {
      // a clock step back, or two points in one ms: keep the newest figures at the last time
      this.points[this.points.length - 1] = { ...point, t: last.t }
      return
    }
    this.points.push(point)
    if (this.points.length > this.capacity) {
      this.points.shift()
    }
  }

  get length (): number {
    return this.points.length
  }

  latest (): SeriesPoint | undefined {
    return this.points.at(-1)
  }

  /**
   * Column form for plotting (uPlot takes `[xs, ...ys]`): times in seconds,
   * and every refusal reason seen in the window, 0 before it first appeared.
   */
  columns (): SeriesColumns {
    const reasons = [...new Set(this.points.flatMap(p => Object.keys(p.refusals)))].sort()
    const types: PeerType[] = ['edge', 'bridge', 'sentinel']
    return {
      t: this.points.map(p => p.t / 1000),
      views: Object.fromEntries(types.map(type => [type, this.points.map(p => p.views[type])])) as Record<PeerType, number[]>,
      sampler: Object.fromEntries(types.map(type => [type, this.points.map(p => p.sampler[type])])) as Record<PeerType, number[]>,
      refusals: Object.fromEntries(reasons.map(r => [r, this.points.map(p => p.refusals[r] ?? 0)]))
    }
  }
}

export interface SeriesColumns {
  /** seconds since the epoch */
  t: number[]
  views: Record<PeerType, number[]>
  sampler: Record<PeerType, number[]>
  refusals: Record<string, number[]>
}

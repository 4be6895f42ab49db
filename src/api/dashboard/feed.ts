/**
 * The dashboard's live feed: server-sent events, one stream per open page.
 * One producer for all of them: a timer gathers the node's figures once a
 * tick, adds a point to the history, and (only while a page is open)
 * shapes one snapshot that every stream gets. An anomaly or an admission
 * refusal brings the next snapshot forward; no snapshot, early or
 * regular, goes out closer than `minGapMs` to the last (a regular tick
 * that comes too soon still adds its point and sends its snapshot once the
 * gap allows), so a flood of either costs at most a few snapshots a
 * second. A stream whose socket is backed up skips snapshots until it
 * drains; streams are capped in all and per session, and end with their
 * session.
 */
import { HISTORY_POINTS, MAX_ANOMALY_ROWS, MAX_BUNDLE_ROWS, MAX_QUEUED_BYTES, MAX_REFUSED_PEERS, MAX_STREAMS, MAX_STREAMS_PER_SESSION, MIN_GAP_MS, TICK_MS } from './constants.ts'
import { RefusedPeers } from './refused-peers.ts'
import { Series } from './series.ts'
import { seriesPoint, shapeSnapshot } from './snapshot.ts'
import type { DashboardNode } from './port.ts'
import type { BundlesInput, DashboardInput, MetricSample } from './snapshot.ts'
import type { PeerType } from '../../core/peer-type.ts'
import type { PinoLogger } from '../../logging/logger.ts'
import type { ServerResponse } from 'node:http'

export interface FeedInit {
  node: DashboardNode
  log: PinoLogger
  now: () => number
  /** the session's expiry, or undefined once it ended */
  sessionExpiry: (session: string) => number | undefined
  tickMs?: number
  minGapMs?: number
  maxStreams?: number
}

interface Stream {
  res: ServerResponse
  session: string
  /** the socket is backed up: skip snapshots until it drains */
  blocked: boolean
  /** the history went out (first message) */
  primed: boolean
}

const TYPES: PeerType[] = ['edge', 'bridge', 'sentinel']

/** headers of the event stream (the page's CSP does not apply to it; no-store and nosniff do) */
const STREAM_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  connection: 'keep-alive'
}

export class DashboardFeed {
  private readonly init: FeedInit
  private readonly streams = new Set<Stream>()
  private readonly series = new Series(HISTORY_POINTS)
  readonly refused = new RefusedPeers(MAX_REFUSED_PEERS)
  private timer?: NodeJS.Timeout
  private early?: NodeJS.Timeout
  private lastSentAt = 0
  private running = false
  private gathering = false
  /** an early snapshot was asked for while a tick was gathering: ask again when it ends */
  private earlyPending = false
  private stopped = false
  /** snapshots sent, for tests */
  sent = 0

  constructor (init: FeedInit) {
    this.init = init
    this.onRefused = this.onRefused.bind(this)
    this.onAnomaly = this.onAnomaly.bind(this)
  }

  start (): void {
    this.init.node.admission.addEventListener('refused', this.onRefused)
    this.init.node.gossip.addEventListener('anomaly', this.onAnomaly)
    this.running = true
    this.schedule(0)
  }

  stop (): void {
    this.stopped = true
    this.running = false
    this.init.node.admission.removeEventListener('refused', this.onRefused)
    this.init.node.gossip.removeEventListener('anomaly', this.onAnomaly)
    clearTimeout(this.timer)
    clearTimeout(this.early)
    for (const s of this.streams) s.res.end()
    this.streams.clear()
  }

  /** how many streams are open, in all and for a session */
  count (session?: string): number {
    return session == null ? this.streams.size : [...this.streams].filter(s => s.session === session).length
  }

  /** Whether one more stream may open for `session` (else the route answers 503). */
  admits (session: string): boolean {
    return !this.stopped && this.streams.size < (this.init.maxStreams ?? MAX_STREAMS) && this.count(session) < MAX_STREAMS_PER_SESSION
  }

  /** Take over a hijacked response as an event stream; the first snapshot goes out at once. */
  open (res: ServerResponse, session: string): void {
    res.writeHead(200, STREAM_HEADERS)
    // tell EventSource how long to wait before reconnecting
    res.write('retry: 2000\n\n')
    const stream: Stream = { res, session, blocked: false, primed: false }
    this.streams.add(stream)
    res.on('close', () => { this.streams.delete(stream) })
    res.on('drain', () => { stream.blocked = false })
    this.bringForward()
  }

  private onRefused (evt: CustomEvent<{ peer?: string, reason: string, direction: 'inbound' | 'outbound' }>): void {
    this.refused.add(evt.detail.peer, evt.detail.reason, evt.detail.direction, this.init.now())
    this.bringForward()
  }

  private onAnomaly (): void {
    this.bringForward()
  }

  /** the next snapshot now, or as soon as the gap since the last allows */
  private bringForward (): void {
    if (this.streams.size === 0 || this.early != null || !this.running) return
    const wait = Math.max(0, this.lastSentAt + (this.init.minGapMs ?? MIN_GAP_MS) - this.init.now())
    this.early = setTimeout(() => {
      this.early = undefined
      void this.tick(false)
    }, wait)
    this.early.unref()
  }

  private schedule (delayMs: number): void {
    if (!this.running) return
    clearTimeout(this.timer)
    this.timer = setTimeout(() => { void this.tick(true) }, delayMs)
    this.timer.unref()
  }

  private async tick (regular: boolean): Promise<void> {
    if (this.gathering) {
      // a tick still gathering: the regular one reschedules itself, an early
      // one is asked for again once it ends (what brought it forward may
      // have come after the gathering read the node)
      if (regular) this.schedule(this.init.tickMs ?? TICK_MS)
      else this.earlyPending = true
      return
    }
    this.gathering = true
    try {
      const now = this.init.now()
      const views = this.views()
      const admissions = await this.samples('tempus_admissions_total')
      if (regular) {
        this.series.add(seriesPoint({ now, views, admissions }))
      }
      this.expireSessions()
      if (this.streams.size > 0 && !this.stopped) {
        if (this.init.now() - this.lastSentAt < (this.init.minGapMs ?? MIN_GAP_MS)) {
          // too soon after the last snapshot (an early one, or a slow
          // gathering): this one goes out as soon as the gap allows
          this.earlyPending = true
          return
        }
        const input = await this.gather(now, views, admissions)
        this.broadcast(shapeSnapshot(input))
        this.lastSentAt = this.init.now()
      }
    } catch (err: any) {
      this.init.log.warn({ err: err?.message }, 'dashboard: gathering a snapshot failed')
    } finally {
      this.gathering = false
      if (regular) this.schedule(this.init.tickMs ?? TICK_MS)
      if (this.earlyPending) {
        this.earlyPending = false
        this.bringForward()
      }
    }
  }

  private views (): DashboardInput['views'] {
    const { sampling } = this.init.node
    return Object.fromEntries(TYPES.map(t => [t, { member: false, size: sampling.view(t).length, capacity: sampling.capacity(t), sampled: sampling.sampled(t) }])) as DashboardInput['views']
  }

  private async samples (name: string): Promise<MetricSample[]> {
    const metric = this.init.node.metricsRegistry.getSingleMetric(name)
    if (metric == null) return []
    const got = await metric.get()
    return got.values.map(v => ({ labels: { ...v.labels } as Record<string, string | number>, value: v.value }))
  }

  private async gather (now: number, views: DashboardInput['views'], admissions: MetricSample[]): Promise<DashboardInput> {
    const { node } = this.init
    const status = node.status()
    for (const t of TYPES) views[t].member = t === status.type
    const dtn = node.dtn.status()
    const bundles: BundlesInput = {
      inbox: node.dtn.list('inbox', MAX_BUNDLE_ROWS) as BundlesInput['inbox'],
      outbox: node.dtn.list('outbox', MAX_BUNDLE_ROWS) as BundlesInput['outbox'],
      carried: node.dtn.list('carried', MAX_BUNDLE_ROWS) as BundlesInput['carried'],
      quotaBytes: dtn.quota.totalBytes
    }
    return {
      now,
      status,
      peers: await node.peers(),
      views,
      admissions,
      rpcServed: await this.samples('tempus_rpc_served_by_method_total'),
      anomalies: node.gossip.list({ limit: MAX_ANOMALY_ROWS }),
      bundles,
      federation: node.federation?.status(),
      refusedPeers: this.refused.list()
    }
  }

  private broadcast (snapshot: ReturnType<typeof shapeSnapshot>): void {
    const body = `event: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`
    let history: string | undefined
    for (const s of this.streams) {
      if (s.res.destroyed || s.res.writableEnded) {
        this.streams.delete(s)
        continue
      }
      if (s.blocked || s.res.writableLength > MAX_QUEUED_BYTES) {
        continue
      }
      if (!s.primed) {
        history ??= `event: history\ndata: ${JSON.stringify(this.series.columns())}\n\n`
        s.res.write(history)
        s.primed = true
      } else if (this.series.latest() != null) {
        s.res.write(`event: point\ndata: ${JSON.stringify(this.series.latest())}\n\n`)
      }
      if (!s.res.write(body)) {
        s.blocked = true
      }
    }
    this.sent++
  }

  /** End the streams of a session that ended (logout). */
  endSession (session: string): void {
    for (const s of this.streams) {
      if (s.session === session) {
        s.res.end()
        this.streams.delete(s)
      }
    }
  }

  /** a stream ends with its session (logout, expiry, or the oldest session ended by a newer one) */
  private expireSessions (): void {
    for (const s of this.streams) {
      if (this.init.sessionExpiry(s.session) == null) {
        s.res.end()
        this.streams.delete(s)
      }
    }
  }
}

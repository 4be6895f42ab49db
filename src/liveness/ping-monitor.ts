/**
 * Liveness of every connection: a ping on it every interval (the muxer's
 * ping where it has one, a ping stream otherwise: probe.ts); a connection
 * whose peer leaves `failuresToDrop` pings in a row unanswered (timeout,
 * reset) is aborted, and the peer keeper redials what is worth keeping.
 *
 * It replaces libp2p's connection monitor, which aborts a connection at the
 * first failed heartbeat, including one that failed only because the last
 * heartbeat's stream was still open (a slow answer under load: libp2p
 * refuses a second outbound ping stream). Here a ping still running is
 * waited for, not doubled (probe.ts), and one lost ping is not a dead peer:
 * during an issuer outage a dropped connection cannot be admitted again, so
 * a false verdict costs a kept link.
 *
 * Nor is a ping that went unanswered while this node's own event loop ran
 * late, in all, by a whole ping timeout or more (`core/loop-lag.ts`): the
 * answer may have sat unread in the socket. In the 100-process chaos run (issue
 * #20) starved sentinels answered pings in 4–7 s and aborted their own
 * healthy links by the dozen, every peer then redialled them at once, and
 * the handshakes kept them starved: sentinel-to-sentinel links stayed down
 * for minutes. A failure seen so gives no verdict, either way.
 */
import { repeatingTask } from '@libp2p/utils'
import { Counter } from 'prom-client'
import { TypedEventEmitter } from 'main-event'
import { loopLag, starvedWithin } from '../core/loop-lag.ts'
import { LIVENESS_DEFAULTS } from './constants.ts'
import { isOwnPingStillOpen, probeConnection } from './probe.ts'
import { pingedWithin } from './heard-pings.ts'
import { PeerUnresponsiveError } from './lost-peers.ts'
import type { ComponentLogger, Connection, Logger, Startable } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import type { RepeatingTask } from '@libp2p/utils'
import type { Registry } from 'prom-client'

/** Every field optional; the defaults are LIVENESS_DEFAULTS (constants.ts), the same the node's config schema fills in. */
export interface PingMonitorInit {
  /** time between two pings on a connection, ms; @default LIVENESS_DEFAULTS.pingIntervalMs (10 s) */
  intervalMs?: number
  /** how long a ping may take, ms; @default LIVENESS_DEFAULTS.pingTimeoutMs (5 s) */
  timeoutMs?: number
  /** failed pings in a row that end a connection; @default LIVENESS_DEFAULTS.pingFailuresToDrop (2) */
  failuresToDrop?: number
  /** the node's Prometheus registry: `tempus_pings_total` by outcome goes there; none without it */
  registry?: Registry
}

type PingOutcome = 'pong' | 'heard' | 'missed' | 'starved' | 'dropped'

export interface PingMonitorComponents {
  connectionManager: ConnectionManager
  logger: ComponentLogger
}

export interface PingMonitorEvents {
  /** a connection answered: its round trip */
  pong: CustomEvent<{ connection: string, rttMs: number }>
  /** a connection was not pinged: its peer pinged this node on it within half an interval (heard-pings.ts) */
  heard: CustomEvent<{ connection: string }>
  /** a ping went unanswered, counted against the connection (`failures` in a row) */
  missed: CustomEvent<{ connection: string, peer: string, failures: number }>
  /** a connection was aborted: its peer left pings unanswered */
  dropped: CustomEvent<{ connection: string, peer: string, failures: number }>
  /** a ping failed while this node's own loop ran late: no verdict on the peer */
  starved: CustomEvent<{ connection: string, peer: string, lateMs: number }>
}

export class PingMonitor extends TypedEventEmitter<PingMonitorEvents> implements Startable {
  private readonly components: PingMonitorComponents
  private readonly log: Logger
  private readonly timeoutMs: number
  private readonly failuresToDrop: number
  private readonly intervalMs: number
  /** failed pings in a row, per connection id */
  private readonly failures = new Map<string, number>()
  private task?: RepeatingTask
  private readonly outcomes: Record<PingOutcome, number> = { pong: 0, heard: 0, missed: 0, starved: 0, dropped: 0 }

  constructor (components: PingMonitorComponents, init: PingMonitorInit = {}) {
    super()
    this.components = components
    this.log = components.logger.forComponent('tempus:ping-monitor')
    this.intervalMs = init.intervalMs ?? LIVENESS_DEFAULTS.pingIntervalMs
    this.timeoutMs = init.timeoutMs ?? LIVENESS_DEFAULTS.pingTimeoutMs
    this.failuresToDrop = init.failuresToDrop ?? LIVENESS_DEFAULTS.pingFailuresToDrop
    if (init.registry != null) {
      const outcomes = this.outcomes
      new Counter({
        name: 'tempus_pings_total',
        help: 'liveness pings by outcome: answered, heard (not sent: the peer pinged this node on the connection within half an interval), missed (counted against the connection), starved (unanswered while this node ran late: no verdict), dropped (the connection aborted)',
        labelNames: ['outcome'],
        registers: [init.registry],
        collect () {
          this.reset()
          for (const [outcome, n] of Object.entries(outcomes)) this.inc({ outcome }, n)
        }
      })
    }
    for (const outcome of Object.keys(this.outcomes) as PingOutcome[]) {
      this.addEventListener(outcome, () => { this.outcomes[outcome]++ })
    }
  }

  readonly [Symbol.toStringTag] = 'tempus/ping-monitor'

  start (): void {
    this.task = repeatingTask(() => { this.beat() }, this.intervalMs)
    this.task.start()
  }

  stop (): void {
    this.task?.stop()
    this.failures.clear()
  }

  /**
   * One heartbeat: ping every open connection (one that is still being
   * pinged shares that ping) but those whose peer pinged this node on them
   * within half an interval: alive, and pinged from that end (heard-pings.ts).
   */
  beat (): void {
    const open = new Set<string>()
    for (const connection of this.components.connectionManager.getConnections()) {
      open.add(connection.id)
      if (pingedWithin(connection, this.intervalMs / 2)) {
        this.failures.delete(connection.id)
        this.safeDispatchEvent('heard', { detail: { connection: connection.id } })
        continue
      }
      void this.ping(connection)
    }
    for (const id of this.failures.keys()) {
      if (!open.has(id)) this.failures.delete(id)
    }
  }

  private async ping (connection: Connection): Promise<void> {
    const lag = loopLag.watch()
    try {
      const rttMs = await probeConnection(connection, this.timeoutMs)
      connection.rtt = rttMs
      this.failures.delete(connection.id)
      // at debug, an operator sees each connection's round trips (the muxer's ping opens no stream that would log)
      this.log('pong on %s from %p in %d ms', connection.id, connection.remotePeer, rttMs)
      this.safeDispatchEvent('pong', { detail: { connection: connection.id, rttMs } })
    } catch (err: any) {
      if (connection.status !== 'open') {
        return // it ended meanwhile: nothing to judge
      }
      if (isOwnPingStillOpen(err)) {
        return // our last ping's stream is still being torn down: no verdict
      }
      if (err?.name === 'UnsupportedProtocolError') {
        this.failures.delete(connection.id) // it answered multistream-select: alive
        return
      }
      // starved: late in all by a whole timeout or more while it waited. A
      // quarter (admission's rule) is too little here: a probe may wait two
      // timeouts (muxer, then stream), and a busy but healthy loop's small
      // delays add up to that over a partition's dead connection
      if (starvedWithin(lag, this.timeoutMs, 1)) {
        // this node was too late to judge: the count stays where it was
        const lateMs = Math.round(lag.lateMs())
        this.log('ping on %s to %p failed while this node ran %d ms late: no verdict', connection.id, connection.remotePeer, lateMs)
        this.safeDispatchEvent('starved', { detail: { connection: connection.id, peer: connection.remotePeer.toString(), lateMs } })
        return
      }
      const failures = (this.failures.get(connection.id) ?? 0) + 1
      this.failures.set(connection.id, failures)
      this.log('ping on %s to %p failed (%d in a row) - %s', connection.id, connection.remotePeer, failures, err?.name)
      this.safeDispatchEvent('missed', { detail: { connection: connection.id, peer: connection.remotePeer.toString(), failures } })
      if (failures >= this.failuresToDrop) {
        this.failures.delete(connection.id)
        connection.abort(new PeerUnresponsiveError(`no answer to ${failures} pings in a row`))
        this.safeDispatchEvent('dropped', { detail: { connection: connection.id, peer: connection.remotePeer.toString(), failures } })
      }
    } finally {
      lag.close()
    }
  }
}

export function pingMonitor (init: PingMonitorInit = {}): (components: PingMonitorComponents) => PingMonitor {
  return (components) => new PingMonitor(components, init)
}

/**
 * Watches the host's interface addresses. When they change (a Wi-Fi switch,
 * a DHCP renewal, a VPN coming up) connections may be left half-dead: each
 * is probed on itself, the ones that do not answer are closed, and the peers
 * worth keeping are redialled at once rather than after a ping interval.
 */
import { LIVENESS_DEFAULTS } from './constants.ts'
import { networkInterfaces } from 'node:os'
import { TypedEventEmitter } from 'main-event'
import { addressSnapshot, diffSnapshots, isChange } from './network-change.ts'
import { isOwnPingStillOpen, probeConnection } from './probe.ts'
import { PeerUnresponsiveError } from './lost-peers.ts'
import type { AddressChange, InterfaceTable } from './network-change.ts'
import type { PeerKeeper } from './peer-keeper.ts'
import type { ComponentLogger, Libp2pEvents, Logger, Startable } from '@libp2p/interface'
import type { TypedEventTarget } from 'main-event'
import type { ConnectionManager } from '@libp2p/interface-internal'

/** Every field optional; the defaults are LIVENESS_DEFAULTS (constants.ts). */
export interface NetworkWatcherInit {
  /** how often to read the interface table, in ms; @default LIVENESS_DEFAULTS.networkPollIntervalMs (2 s) */
  pollIntervalMs?: number
  /**
   * how often while the node has no connection (its link is down, or every
   * peer is gone), in ms; never slower than `pollIntervalMs`;
   * @default LIVENESS_DEFAULTS.isolatedNetworkPollIntervalMs (250 ms)
   */
  isolatedPollIntervalMs?: number
  /** how long a probe may take before the connection is judged stale, in ms; @default LIVENESS_DEFAULTS.pingTimeoutMs (5 s) */
  probeTimeoutMs?: number
  /** the interface table source; `os.networkInterfaces` by default */
  readInterfaces?: () => InterfaceTable
}

export interface NetworkWatcherComponents {
  connectionManager: ConnectionManager
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
  keeper: PeerKeeper
}

export interface NetworkChangeEvent extends AddressChange {
  /** connections closed because they no longer answered */
  closed: number
}

export interface NetworkWatcherEvents {
  /** the interface addresses changed: dispatched at once, before the connections are probed */
  'network:addresses': CustomEvent<AddressChange>
  /** ... and after: the stale connections closed, the lost peers redialled */
  'network:change': CustomEvent<NetworkChangeEvent>
}

export class NetworkWatcher extends TypedEventEmitter<NetworkWatcherEvents> implements Startable {
  private readonly components: NetworkWatcherComponents
  private readonly init: NetworkWatcherInit
  private readonly log: Logger
  private readonly readInterfaces: () => InterfaceTable
  private snapshot = new Set<string>()
  /** the next read of the interface table (its own timer: the cadence follows the connection count, see `pollIntervalMs`) */
  private timer?: ReturnType<typeof setTimeout>
  private nextAt = 0
  private running = false
  private checking = false

  constructor (components: NetworkWatcherComponents, init: NetworkWatcherInit = {}) {
    super()
    this.components = components
    this.init = init
    this.log = components.logger.forComponent('tempus:network-watcher')
    this.readInterfaces = init.readInterfaces ?? networkInterfaces
  }

  readonly [Symbol.toStringTag] = 'tempus/network-watcher'

  start (): void {
    this.snapshot = this.read()
    this.running = true
    this.components.events.addEventListener('peer:disconnect', this.onClose)
    this.schedule()
  }

  /**
   * The wait before the next read of the interface table: short while the
   * node has no connection (only this poll can tell it its link is back),
   * the usual one otherwise.
   */
  get pollIntervalMs (): number {
    const usual = this.init.pollIntervalMs ?? LIVENESS_DEFAULTS.networkPollIntervalMs
    if (this.components.connectionManager.getConnections().length > 0) {
      return usual
    }
    return Math.min(usual, this.init.isolatedPollIntervalMs ?? LIVENESS_DEFAULTS.isolatedNetworkPollIntervalMs)
  }

  stop (): void {
    this.running = false
    this.components.events.removeEventListener('peer:disconnect', this.onClose)
    clearTimeout(this.timer)
  }

  /** The next read after `pollIntervalMs`; a read under way schedules its successor when it ends. */
  private schedule (): void {
    clearTimeout(this.timer)
    const delay = this.pollIntervalMs
    this.nextAt = Date.now() + delay
    this.timer = setTimeout(() => {
      this.timer = undefined
      void this.check().catch(err => { this.log.error('interface check failed - %e', err) }).finally(() => {
        if (this.running) this.schedule()
      })
    }, delay)
  }

  /** A peer's last connection closed (the event comes once it is out of the count): read sooner if it was the node's last, since only this read can tell the node its link is back. */
  private readonly onClose = (): void => {
    if (!this.running || this.checking || this.timer == null) {
      return // a read under way schedules the next at the cadence it then finds
    }
    if (this.nextAt - Date.now() > this.pollIntervalMs) {
      this.schedule()
    }
  }

  /** Compare the interface table with the last one; act on a change. */
  async check (): Promise<AddressChange | undefined> {
    if (this.checking) {
      return undefined
    }
    this.checking = true
    try {
      const next = this.read()
      const change = diffSnapshots(this.snapshot, next)
      this.snapshot = next
      if (!isChange(change)) {
        return undefined
      }
      this.log('interface addresses changed: +%s -%s', change.added.join(','), change.removed.join(','))
      this.safeDispatchEvent('network:addresses', { detail: change })
      const closed = await this.closeStale()
      if (change.added.length > 0) {
        // a way back: the backoffs grew while this node's own link was
        // down, which was the cause of the failures, so they are forgotten
        await this.components.keeper.reconnectNow()
      } else {
        await this.components.keeper.redialKept()
      }
      this.safeDispatchEvent('network:change', { detail: { ...change, closed } })
      return change
    } finally {
      this.checking = false
    }
  }

  private read (): Set<string> {
    try {
      return addressSnapshot(this.readInterfaces())
    } catch (err) {
      this.log.error('cannot read interfaces - %e', err)
      return this.snapshot
    }
  }

  private async closeStale (): Promise<number> {
    const connections = this.components.connectionManager.getConnections()
    // a connection is stale when two probes in a row fail on it; one lost
    // probe on a live connection is not enough to drop it
    const stale = await Promise.all(connections.map(async c => {
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          await probeConnection(c, this.init.probeTimeoutMs ?? LIVENESS_DEFAULTS.pingTimeoutMs)
          return false
        } catch (err) {
          if (c.status !== 'open' || isOwnPingStillOpen(err)) {
            return false // gone already, or a ping of ours still open on it: not stale
          }
        }
      }
      return true
    }))
    let closed = 0
    stale.forEach((isStale, i) => {
      const connection = connections[i]
      if (isStale && connection != null && connection.status === 'open') {
        closed++
        connection.abort(new PeerUnresponsiveError('stale after network change: no answer to a probe'))
      }
    })
    return closed
  }
}

export function networkWatcher (init: NetworkWatcherInit = {}): (components: NetworkWatcherComponents) => NetworkWatcher {
  return (components) => new NetworkWatcher(components, init)
}

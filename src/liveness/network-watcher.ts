/**
 * Watches the host's interface addresses. When they change (a Wi-Fi switch,
 * a DHCP renewal, a VPN coming up) connections may be left half-dead: each
 * is probed on itself, the ones that do not answer are closed, and the peers
 * worth keeping are redialled at once rather than after a ping interval.
 */
import { LIVENESS_DEFAULTS } from './constants.ts'
import { repeatingTask } from '@libp2p/utils'
import { networkInterfaces } from 'node:os'
import { TypedEventEmitter } from 'main-event'
import { addressSnapshot, diffSnapshots, isChange } from './network-change.ts'
import { isOwnPingStillOpen, probeConnection } from './probe.ts'
import { PeerUnresponsiveError } from './lost-peers.ts'
import type { RepeatingTask } from '@libp2p/utils'
import type { AddressChange, InterfaceTable } from './network-change.ts'
import type { PeerKeeper } from './peer-keeper.ts'
import type { ComponentLogger, Logger, Startable } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'

/** Every field optional; the defaults are LIVENESS_DEFAULTS (constants.ts). */
export interface NetworkWatcherInit {
  /** how often to read the interface table, in ms; @default LIVENESS_DEFAULTS.networkPollIntervalMs (2 s) */
  pollIntervalMs?: number
  /** how long a probe may take before the connection is judged stale, in ms; @default LIVENESS_DEFAULTS.pingTimeoutMs (5 s) */
  probeTimeoutMs?: number
  /** the interface table source; `os.networkInterfaces` by default */
  readInterfaces?: () => InterfaceTable
}

export interface NetworkWatcherComponents {
  connectionManager: ConnectionManager
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
  private task?: RepeatingTask
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
    this.task = repeatingTask(async () => { await this.check() }, this.init.pollIntervalMs ?? LIVENESS_DEFAULTS.networkPollIntervalMs)
    this.task.start()
  }

  stop (): void {
    this.task?.stop()
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

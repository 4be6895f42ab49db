/**
 * The node's bootstrap list as peer discovery: each listed peer goes into
 * the peer store with its addresses and the `bootstrap` tag, and is
 * announced as discovered. It is not dialled here.
 *
 * libp2p's `@libp2p/bootstrap` dials every listed peer at start. In a
 * fleet whose bootstrap list is its sentinels, that is every node to every
 * sentinel (issue #20: at 100 nodes each sentinel held 60–95 connections
 * and starved first). Whom to dial is the peer keeper's decision: a few
 * of the listed peers, chosen by rendezvous hashing
 * (src/liveness/sentinel-choice.ts), others standing in for ones that
 * cannot be reached.
 */
import { peerDiscoverySymbol, serviceCapabilities } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { CODE_P2P, multiaddr } from '@multiformats/multiaddr'
import { TypedEventEmitter } from 'main-event'
import { BOOTSTRAP_TAG } from '../core/peer-tags.ts'
import type { ComponentLogger, Logger, PeerDiscovery, PeerDiscoveryEvents, PeerId, PeerStore, Startable } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface BootstrapListInit {
  /** multiaddrs ending in `/p2p/<peer id>` (the node's config checks that) */
  list: string[]
}

export interface BootstrapListComponents {
  peerStore: PeerStore
  logger: ComponentLogger
}

export class BootstrapList extends TypedEventEmitter<PeerDiscoveryEvents> implements PeerDiscovery, Startable {
  private readonly components: BootstrapListComponents
  private readonly log: Logger
  private readonly peers: Array<{ id: PeerId, multiaddrs: Multiaddr[] }>
  private started = false
  private recorded: Array<{ id: PeerId, multiaddrs: Multiaddr[] }> = []

  constructor (components: BootstrapListComponents, init: BootstrapListInit) {
    super()
    this.components = components
    this.log = components.logger.forComponent('tempus:bootstrap-list')
    const byId = new Map<string, { id: PeerId, multiaddrs: Multiaddr[] }>()
    for (const text of init.list) {
      const ma = multiaddr(text)
      const id = ma.getComponents().findLast(c => c.code === CODE_P2P)?.value
      if (id == null) {
        throw new TypeError(`bootstrap address ${JSON.stringify(text)} does not end in /p2p/<peer id>`)
      }
      const entry = byId.get(id) ?? { id: peerIdFromString(id), multiaddrs: [] }
      entry.multiaddrs.push(ma)
      byId.set(id, entry)
    }
    this.peers = [...byId.values()]
  }

  readonly [peerDiscoverySymbol] = this
  readonly [Symbol.toStringTag] = 'tempus/bootstrap-list'
  readonly [serviceCapabilities] = ['@libp2p/peer-discovery']

  isStarted (): boolean {
    return this.started
  }

  /**
   * Every listed peer is recorded before any service's `afterStart`, so the
   * keeper's first choice (at its own `afterStart`) is made among all of
   * them, not among the first ones recorded.
   */
  async start (): Promise<void> {
    this.started = true
    this.recorded = []
    for (const peer of this.peers) {
      try {
        await this.components.peerStore.merge(peer.id, { tags: { [BOOTSTRAP_TAG]: { value: 50 } }, multiaddrs: peer.multiaddrs })
        this.recorded.push(peer)
      } catch (err: any) {
        this.log.error('could not record bootstrap peer %p - %e', peer.id, err)
      }
    }
  }

  /** Then each is announced (the keeper and the sampler listen from their own `start`). */
  afterStart (): void {
    for (const peer of this.recorded) {
      if (!this.started) {
        return
      }
      this.safeDispatchEvent('peer', { detail: peer })
    }
  }

  stop (): void {
    this.started = false
  }
}

export function bootstrapList (init: BootstrapListInit): (components: BootstrapListComponents) => PeerDiscovery {
  return components => new BootstrapList(components, init)
}

/**
 * Remembers, per peer, its type and when it was last seen, in the persisted
 * peer store so both survive a restart (the keeper redials sentinels it knew).
 */
import { LAST_SEEN_METADATA, PEER_TYPE_METADATA } from './constants.ts'
import { isPeerType, peerTypeFromAgent } from './peer-type.ts'
import type { PeerType } from './config.ts'
import type { ComponentLogger, IdentifyResult, Libp2pEvents, Logger, Peer, PeerId, PeerStore, Startable } from '@libp2p/interface'
import type { TypedEventTarget } from 'main-event'

export interface PeerDirectoryComponents {
  peerId: PeerId
  peerStore: PeerStore
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
}

export interface PeerDirectoryInit {
  now?: () => number
}

export interface PeerDirectory {
  typeOf(peer: Peer): PeerType | undefined
  lastSeenOf(peer: Peer): number | undefined
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export class DefaultPeerDirectory implements PeerDirectory, Startable {
  private readonly components: PeerDirectoryComponents
  private readonly log: Logger
  private readonly now: () => number
  private readonly lastSeen = new Map<string, number>()

  constructor (components: PeerDirectoryComponents, init: PeerDirectoryInit = {}) {
    this.components = components
    this.log = components.logger.forComponent('tempus:peer-directory')
    this.now = init.now ?? Date.now
    this.onIdentify = this.onIdentify.bind(this)
    this.onSeen = this.onSeen.bind(this)
  }

  readonly [Symbol.toStringTag] = 'tempus/peer-directory'

  start (): void {
    this.components.events.addEventListener('peer:identify', this.onIdentify)
    this.components.events.addEventListener('peer:connect', this.onSeen)
    this.components.events.addEventListener('peer:disconnect', this.onSeen)
  }

  stop (): void {
    this.components.events.removeEventListener('peer:identify', this.onIdentify)
    this.components.events.removeEventListener('peer:connect', this.onSeen)
    this.components.events.removeEventListener('peer:disconnect', this.onSeen)
  }

  typeOf (peer: Peer): PeerType | undefined {
    const stored = peer.metadata.get(PEER_TYPE_METADATA)
    const type = stored == null ? undefined : decoder.decode(stored)
    return isPeerType(type) ? type : undefined
  }

  lastSeenOf (peer: Peer): number | undefined {
    const inMemory = this.lastSeen.get(peer.id.toString())
    if (inMemory != null) {
      return inMemory
    }
    const stored = peer.metadata.get(LAST_SEEN_METADATA)
    const value = stored == null ? NaN : Number(decoder.decode(stored))
    return Number.isFinite(value) ? value : undefined
  }

  private onIdentify (evt: CustomEvent<IdentifyResult>): void {
    const { peerId, agentVersion } = evt.detail
    const type = peerTypeFromAgent(agentVersion)
    if (type == null) {
      return
    }
    this.persist(peerId, { [PEER_TYPE_METADATA]: encoder.encode(type) })
  }

  private onSeen (evt: CustomEvent<PeerId>): void {
    const now = this.now()
    this.lastSeen.set(evt.detail.toString(), now)
    this.persist(evt.detail, { [LAST_SEEN_METADATA]: encoder.encode(String(now)) })
  }

  private persist (peerId: PeerId, metadata: Record<string, Uint8Array>): void {
    if (peerId.equals(this.components.peerId)) {
      return
    }
    this.components.peerStore.merge(peerId, { metadata })
      .catch(err => { this.log.error('could not update peer %p - %e', peerId, err) })
  }
}

export function peerDirectory (init: PeerDirectoryInit = {}): (components: PeerDirectoryComponents) => DefaultPeerDirectory {
  return (components) => new DefaultPeerDirectory(components, init)
}

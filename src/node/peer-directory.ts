/**
 * Remembers, per peer, its type and when it was last seen, in the persisted
 * peer store so both survive a restart (the keeper redials sentinels it knew).
 * The type is written by admission, from the peer's verified token; nothing
 * a peer merely claims (identify's agent version) is trusted for it.
 */
import { serviceCapabilities } from '@libp2p/interface'
import { LAST_SEEN_METADATA, PEER_TYPE_METADATA } from './constants.ts'
import { isPeerType } from '../core/peer-type.ts'
import { PEER_DIRECTORY_CAPABILITY } from '../liveness/peer-directory.ts'
import { endedByNetwork } from '../liveness/lost-peers.ts'
import type { PeerDirectory } from '../liveness/peer-directory.ts'
import type { PeerType } from '../core/peer-type.ts'
import type { ComponentLogger, Connection, Libp2pEvents, Logger, Peer, PeerId, PeerStore, Startable, StreamCloseEvent } from '@libp2p/interface'
import type { TypedEventTarget } from 'main-event'

export interface PeerDirectoryComponents {
  peerId: PeerId
  peerStore: PeerStore
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
}

export interface PeerDirectoryInit {
  now?: () => number
  /** the type a peer's verified token shows, while it is admitted */
  admittedType?: (peer: string) => PeerType | undefined
}


/** How the last connection to a peer ended: what an operator asks first when a link dropped. */
export interface ConnectionEnd {
  /** ms since the epoch */
  at: number
  /**
   * `aborted`: it ended with an error at this end: this node's own decision
   * (admission, suspicion, liveness) or a socket error such as ECONNRESET;
   * `reset`: the peer's muxer reset it; `closed`: a graceful close by either end
   */
  how: 'aborted' | 'reset' | 'closed'
  /** the error it ended with (its name, and message cut to 160 characters), or `closed` for a graceful close */
  cause: string
  /** a network fault ended it: the peer stopped answering, or the network said it is out of reach (the keeper redials it a while) */
  network: boolean
}

/** peers whose last connection end is remembered (the oldest is forgotten first) */
const MAX_REMEMBERED_ENDS = 4096
/**
 * How stale the stored last-seen may grow while a peer keeps connecting and
 * disconnecting. In memory it is exact; the store serves a restart, for which
 * a minute is as good, and a fleet's connect → call → close made two peer
 * store writes per call (each a record read, decoded, merged, encoded and
 * written: 5 % of a reconnect's CPU in bench:admission's profile).
 */
export const LAST_SEEN_PERSIST_MS = 60_000
const MAX_CAUSE_CHARS = 160

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export class DefaultPeerDirectory implements PeerDirectory, Startable {
  private readonly components: PeerDirectoryComponents
  private readonly log: Logger
  private readonly now: () => number
  private readonly admittedType: (peer: string) => PeerType | undefined
  private readonly lastSeen = new Map<string, number>()
  private readonly ends = new Map<string, ConnectionEnd>()
  /** what was last written for each peer, and when (bounded as `ends`) */
  private readonly persisted = new Map<string, { at: number, type?: PeerType }>()
  /** one write at a time per peer: concurrent merges would overwrite each other */
  private readonly writes = new Map<string, Promise<void>>()

  constructor (components: PeerDirectoryComponents, init: PeerDirectoryInit = {}) {
    this.components = components
    this.log = components.logger.forComponent('tempus:peer-directory')
    this.now = init.now ?? Date.now
    this.admittedType = init.admittedType ?? (() => undefined)
    this.onSeen = this.onSeen.bind(this)
    this.onOpen = this.onOpen.bind(this)
  }

  readonly [Symbol.toStringTag] = 'tempus/peer-directory'
  readonly [serviceCapabilities]: string[] = [PEER_DIRECTORY_CAPABILITY]

  start (): void {
    this.components.events.addEventListener('peer:connect', this.onSeen)
    this.components.events.addEventListener('peer:disconnect', this.onSeen)
    this.components.events.addEventListener('connection:open', this.onOpen)
  }

  stop (): void {
    this.components.events.removeEventListener('peer:connect', this.onSeen)
    this.components.events.removeEventListener('peer:disconnect', this.onSeen)
    this.components.events.removeEventListener('connection:open', this.onOpen)
  }

  /** How the last connection to `peer` ended (since this process started), or undefined. */
  lastEndOf (peer: string): ConnectionEnd | undefined {
    return this.ends.get(peer)
  }

  private onOpen (evt: CustomEvent<Connection>): void {
    const connection = evt.detail
    const peer = connection.remotePeer.toString()
    connection.addEventListener('close', (closed: StreamCloseEvent) => {
      const error = closed.error
      const cause = error == null ? 'closed' : `${error.name}: ${error.message}`.slice(0, MAX_CAUSE_CHARS)
      this.ends.delete(peer) // re-inserted last: the Map's order is the age order
      this.ends.set(peer, { at: this.now(), how: error == null ? 'closed' : closed.local === true ? 'aborted' : 'reset', cause, network: endedByNetwork(error) })
      if (this.ends.size > MAX_REMEMBERED_ENDS) {
        this.ends.delete(this.ends.keys().next().value as string)
      }
      this.log('connection %s to %p ended: %s', connection.id, connection.remotePeer, cause)
    }, { once: true })
  }

  typeOf (peer: Peer): PeerType | undefined {
    const admitted = this.admittedType(peer.id.toString())
    if (admitted != null) {
      return admitted
    }
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

  private onSeen (evt: CustomEvent<PeerId>): void {
    const now = this.now()
    const key = evt.detail.toString()
    this.lastSeen.set(key, now)
    const type = this.admittedType(key)
    const written = this.persisted.get(key)
    if (written != null && now - written.at < LAST_SEEN_PERSIST_MS && now >= written.at && written.type === type) {
      return
    }
    this.persisted.delete(key) // re-inserted last: the oldest is forgotten first
    this.persisted.set(key, { at: now, type })
    if (this.persisted.size > MAX_REMEMBERED_ENDS) {
      this.persisted.delete(this.persisted.keys().next().value as string)
    }
    const metadata: Record<string, Uint8Array> = { [LAST_SEEN_METADATA]: encoder.encode(String(now)) }
    if (type != null) {
      metadata[PEER_TYPE_METADATA] = encoder.encode(type)
    }
    this.persist(evt.detail, metadata)
  }

  private persist (peerId: PeerId, metadata: Record<string, Uint8Array>): void {
    if (peerId.equals(this.components.peerId)) {
      return
    }
    const key = peerId.toString()
    const previous = this.writes.get(key) ?? Promise.resolve()
    const next = previous
      .then(async () => { await this.components.peerStore.merge(peerId, { metadata }) })
      .catch(err => {
        // the next sighting writes again
        this.persisted.delete(key)
        this.log.error('could not update peer %p - %e', peerId, err)
      })
      .finally(() => { if (this.writes.get(key) === next) this.writes.delete(key) })
    this.writes.set(key, next)
  }
}

export function peerDirectory (init: PeerDirectoryInit = {}): (components: PeerDirectoryComponents) => DefaultPeerDirectory {
  return (components) => new DefaultPeerDirectory(components, init)
}

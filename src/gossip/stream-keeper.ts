/**
 * Gossipsub's streams follow the connection that is left.
 *
 * gossipsub (v17) opens one stream each way to a peer on whichever
 * connection it met the peer on, and learns of a peer's connections only
 * through libp2p's topology: `onConnect` for the first connection that
 * speaks its protocol, `onDisconnect` once the last one has closed. Two
 * tempus nodes often hold two connections for a while (both dialled at the
 * same moment; a Cyclon exchange beside a kept connection), and the
 * sampler's idle closer then releases one of them. If it is the one that
 * carried gossipsub's streams, gossipsub hears nothing (the peer is still
 * connected): it keeps the peer in its mesh, counted towards D so no other
 * peer is grafted in its place, and every message it "sends" there goes
 * nowhere, both ways, until the peer disconnects entirely. The same holds
 * when a stream is reset with its connection still open (gossipsub then
 * forgets the peer for good, still connected). Measured in `bench:gossip`
 * meshes: links dead for tens of seconds, and nodes whose every mesh link
 * was one of them missed anomalies on the live path (protocols/gossip.md,
 * "Live path").
 *
 * At each heartbeat this finds the connected peers that speak gossipsub
 * and have no outbound gossipsub stream for two heartbeats in a row (a
 * connection being set up has one within a heartbeat), and hands gossipsub
 * an open connection to them through its own topology handler, which
 * opens the stream and resends the subscriptions; the peer's side takes the
 * new stream as its inbound one and opens its own outbound stream back.
 * gossipsub opens outbound streams one at a time and skips a peer that has
 * one, so a repair never duplicates a stream; one that fails is tried again
 * four heartbeats later.
 *
 * The fields it reads are gossipsub's private ones, reached through the
 * narrow shape below; the live-path test fails if a version renames them.
 */

/** the little of a libp2p connection this needs */
export interface KeptConnection {
  status: string
  limits?: unknown
  remotePeer: { toString: () => string }
}

/** the stream under a connection's muxer, and the socket under that (libp2p's private fields) */
interface Underneath {
  muxer?: { status?: string, maConn?: { readStatus?: string, writeStatus?: string } }
  maConn?: { readStatus?: string, writeStatus?: string }
}

/**
 * Is the connection sound all the way down? A connection its remote has
 * closed stays `open` until the close has travelled up through the
 * encryption and the muxer, and a stream opened meanwhile makes yamux write
 * its opening frame to a closed stream from a microtask: an uncaught error
 * that ends the process (seen in `bench:gossip` on a loaded machine). Such a
 * connection is also exactly one whose gossipsub streams have just gone, so
 * it is left alone: its close arrives, or it is sound at a later heartbeat.
 */
function sound (connection: KeptConnection): boolean {
  const under = connection as unknown as Underneath
  const healthy = (s?: { readStatus?: string, writeStatus?: string }): boolean => s == null || ((s.readStatus == null || s.readStatus === 'readable' || s.readStatus === 'paused') && (s.writeStatus == null || s.writeStatus === 'writable' || s.writeStatus === 'paused'))
  return connection.status === 'open' && (under.muxer?.status == null || under.muxer.status === 'open') && healthy(under.muxer?.maConn) && healthy(under.maConn)
}

/** the little of gossipsub's internals this touches */
interface GossipsubStreams {
  streamsOutbound?: Map<string, unknown>
  onPeerConnected?: (peerId: unknown, connection: unknown) => void
}

/** a peer missing its stream this many heartbeats in a row is repaired, and again every REPAIR_EVERY after */
const REPAIR_AFTER = 2
const REPAIR_EVERY = 4

export class GossipStreamKeeper {
  private readonly pubsub: GossipsubStreams
  private readonly connections: () => KeptConnection[]
  private readonly speaksGossip: (peer: KeptConnection['remotePeer']) => Promise<boolean>
  /** peers seen without an outbound stream: consecutive heartbeats */
  private readonly missing = new Map<string, number>()
  /** repairs handed to gossipsub (what the live-path test and the metrics read) */
  repaired = 0

  constructor (pubsub: unknown, connections: () => KeptConnection[], speaksGossip: (peer: KeptConnection['remotePeer']) => Promise<boolean>) {
    this.pubsub = pubsub as GossipsubStreams
    this.connections = connections
    this.speaksGossip = speaksGossip
  }

  /** One heartbeat: repair the peers whose stream has been missing long enough. */
  async tick (): Promise<void> {
    const outbound = this.pubsub.streamsOutbound
    const connect = this.pubsub.onPeerConnected
    if (outbound == null || connect == null) {
      return
    }
    const open = new Map<string, KeptConnection>()
    for (const c of this.connections()) {
      // gossipsub runs on unlimited connections only
      if (c.limits == null && sound(c) && !open.has(c.remotePeer.toString())) {
        open.set(c.remotePeer.toString(), c)
      }
    }
    for (const peer of this.missing.keys()) {
      if (!open.has(peer) || outbound.has(peer)) {
        this.missing.delete(peer)
      }
    }
    for (const [peer, connection] of open) {
      if (outbound.has(peer)) {
        continue
      }
      const n = (this.missing.get(peer) ?? 0) + 1
      this.missing.set(peer, n)
      if (n >= REPAIR_AFTER && (n - REPAIR_AFTER) % REPAIR_EVERY === 0 && await this.speaksGossip(connection.remotePeer)) {
        // still open and still missing after the await?
        if (sound(connection) && this.pubsub.streamsOutbound?.has(peer) !== true) {
          this.repaired++
          connect.call(this.pubsub, connection.remotePeer, checkedWhenUsed(connection))
        }
      }
    }
  }
}

/**
 * The connection as gossipsub gets it for a repair: gossipsub opens its
 * outbound streams one at a time from a queue, possibly seconds after the
 * repair was handed in (a loaded machine), so soundness is checked again at
 * the moment it opens the stream; an unsound connection refuses, which
 * gossipsub logs, and the next repair tries again.
 */
function checkedWhenUsed<C extends KeptConnection> (connection: C): C {
  return new Proxy(connection, {
    get (target, property, receiver) {
      const value = Reflect.get(target, property, receiver)
      if (property !== 'newStream' || typeof value !== 'function') {
        return value
      }
      return async (...args: unknown[]) => {
        if (!sound(target)) {
          throw new Error('the connection is closing')
        }
        return await value.apply(target, args)
      }
    }
  })
}

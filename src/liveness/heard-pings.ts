/**
 * When the peer at the other end of a connection last pinged this node on
 * it, so the ping monitor pings only a connection the peer does not.
 *
 * Both ends of a connection run a ping monitor (ping-monitor.ts), and each
 * pinged every connection every interval: two pings and two answers per
 * connection per interval, nearly all that a settled idle mesh sends (an
 * idle 50-node dev mesh: about 17 connections per node, so 3.5 ping frames
 * and 3.5 answers a second per node, each encrypted, written, read and
 * decrypted). A ping from the peer, answered, proves to this end what its
 * own would: the peer's libp2p reads and writes on this very connection,
 * now. So a monitor leaves out a connection whose peer pinged it within
 * half an interval (`pingedWithin`): then one end pings and the other
 * answers. Half, not all of it: a skip needs a ping heard within the last
 * half interval, so in every round at least one end pings (two ends whose
 * beats fall together both ping rather than both wait), and a connection
 * is pinged at least every interval and a half. If the pinging end goes
 * silent (a link down, the peer gone), the other end's next beat finds no
 * ping heard and pings itself: its verdict comes at most one interval
 * after the other's.
 *
 * Read from Yamux's `handlePing` (a ping frame with the SYN flag: a
 * request, not an answer to ours), wrapped on each muxer; a muxer of
 * another shape is left alone, and every connection is then pinged from
 * both ends as before (`test/liveness/heard-pings.test.ts` fails if that
 * happens).
 */
import type { Connection, StreamMuxerFactory } from '@libp2p/interface'

type MuxerFactory = (components: any) => StreamMuxerFactory

/** Yamux's flag of a ping request (its `Flag.SYN`; an answer carries `ACK`, 2) */
const PING_REQUEST = 1

/** a ping frame's header as Yamux hands it to `handlePing` */
interface PingHeader {
  flag?: number
}

interface PingHandling {
  handlePing?: (header: PingHeader) => void
}

/** per muxer: when (performance.now()) its peer last asked for a ping */
const lastPinged = new WeakMap<object, number>()

/** `inner` (Yamux), each muxer remembering when its peer last pinged it. */
export function hearingPings (inner: MuxerFactory): MuxerFactory {
  return (components) => {
    const factory = inner(components)
    return {
      protocol: factory.protocol,
      createStreamMuxer (maConn) {
        const muxer = factory.createStreamMuxer(maConn) as ReturnType<StreamMuxerFactory['createStreamMuxer']> & PingHandling
        const handlePing = muxer.handlePing
        if (typeof handlePing === 'function') {
          muxer.handlePing = function (this: PingHandling, header: PingHeader) {
            if (header?.flag === PING_REQUEST) {
              lastPinged.set(muxer, performance.now())
            }
            handlePing.call(this, header)
          }
        }
        return muxer
      }
    }
  }
}

/** Did the peer ping this node on `connection` within the last `ms`? (false where it cannot be told) */
export function pingedWithin (connection: Connection, ms: number): boolean {
  const muxer = (connection as unknown as { muxer?: object }).muxer
  const at = muxer == null ? undefined : lastPinged.get(muxer)
  return at != null && performance.now() - at < ms
}

/**
 * Every inbound stream's protocol negotiation held to an honest dialler's
 * bounds, as the connection's own is before its security handshake
 * (src/core/negotiation-guard.ts, src/admission/gater.ts).
 *
 * libp2p hands each stream a peer opens to multistream-select's `handle`,
 * which reads the proposals with the same length decoder: a peer past
 * admission could open streams and send 0x80 0x80 … in each, every byte a
 * new Error and a turn of our loop, for as long as the stream stays open.
 * Wrapped around the muxer, this watches each inbound stream's bytes from
 * its first (the muxer's `onRemoteStream`, before libp2p sees the stream)
 * until the peer proposes a protocol this node handles, and resets the
 * stream at the first byte out of bounds; and each stream this node opens,
 * from the listener's first answer until it names the protocol (a
 * listener can flood its answers as a dialler can its proposals). What
 * follows is the protocol's, watched on only where `framing` says its
 * frames are read by libp2p's own length reader (identify, the DHT), which
 * has the same flaw after the negotiation (src/core/frame-guard.ts). A stream's proposals are
 * not counted (an optimistic dialler's frames follow a proposal the node
 * does not speak, read as more proposals); and what breaks the bounds after
 * such a proposal is cut but not charged: it may be those frames. A muxer of another shape is left alone;
 * `test/admission/negotiation-guard.test.ts` fails if that happens.
 */
import { answered, guardNegotiation } from '../admission/negotiation-watch.ts'
import type { GuardCut } from '../admission/negotiation-watch.ts'
import type { Connection, MessageStream, StreamMuxer, StreamMuxerFactory, TypedEventTarget, Libp2pEvents } from '@libp2p/interface'
import type { Registrar } from '@libp2p/interface-internal'

export interface NegotiationGuardedMuxerInit {
  /**
   * a stream of an admitted peer was cut for its negotiation (its
   * proposals, or its answers to ours): the node charges the peer. A stream
   * of a connection not yet announced (`connection:open`) is cut uncharged.
   */
  onViolation?: (peer: string, detail: string) => void
  /**
   * the longest frame of each protocol whose frames libp2p's own reader
   * takes (identify, the DHT: src/core/frame-guard.ts): a stream of one is
   * watched on after its negotiation, cut and charged the same way
   */
  framing?: (protocol: string) => number | undefined
}

type MuxerFactory = (components: any) => StreamMuxerFactory

/** the muxer's hook for a stream the remote opened (AbstractStreamMuxer's) */
type WithRemoteStreams = StreamMuxer & { onRemoteStream?: (stream: MessageStream) => void }

export function negotiationGuardedMuxer (inner: MuxerFactory, init: NegotiationGuardedMuxerInit = {}): MuxerFactory {
  return (components: { registrar: Registrar, events: TypedEventTarget<Libp2pEvents> }) => {
    const factory = inner(components)
    const handles = (protocol: string): boolean => components.registrar.getProtocols().includes(protocol)
    // whose connection each muxer carries: libp2p's connection holds its muxer (a field of its own)
    const peers = new WeakMap<object, string>()
    components.events.addEventListener('connection:open', (evt: CustomEvent<Connection>) => {
      const muxer = (evt.detail as Connection & { muxer?: object }).muxer
      if (muxer != null) {
        peers.set(muxer, evt.detail.remotePeer.toString())
      }
    })
    return {
      protocol: factory.protocol,
      createStreamMuxer (maConn) {
        const muxer = factory.createStreamMuxer(maConn) as WithRemoteStreams
        // after a proposal this node does not speak, out-of-bounds bytes may be an honest
        // dialler's optimistic frames (negotiation-guard.ts): cut, as libp2p would, not charged
        const charge = (cut: GuardCut): void => {
          const peer = peers.get(muxer)
          if (peer == null || (cut.phase === 'negotiation' && cut.afterUnspokenProposal)) {
            return
          }
          init.onViolation?.(peer, cut.phase === 'negotiation' ? `negotiation:${cut.reason}` : `frames:${cut.protocol}:${cut.reason}`)
        }
        const onRemoteStream = muxer.onRemoteStream
        if (typeof onRemoteStream === 'function') {
          muxer.onRemoteStream = function (this: WithRemoteStreams, stream: MessageStream) {
            guardNegotiation(stream, { protocols: handles, maxFrames: Number.POSITIVE_INFINITY, framing: init.framing }, charge)
            onRemoteStream.call(this, stream)
          }
        }
        // our own streams: the listener's answers until it names the protocol (not counted: a
        // listener that refused an optimistic proposal answers `na` to each frame written behind it)
        const createStream = muxer.createStream
        muxer.createStream = async function (this: WithRemoteStreams, ...args: Parameters<StreamMuxer['createStream']>) {
          const stream = await createStream.apply(this, args)
          guardNegotiation(stream, { protocols: answered, maxFrames: Number.POSITIVE_INFINITY, framing: init.framing }, charge)
          return stream
        }
        return muxer
      }
    }
  }
}

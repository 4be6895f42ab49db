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
 * follows is the protocol's, not watched here. A muxer of another shape is left alone;
 * `test/admission/negotiation-guard.test.ts` fails if that happens.
 */
import { answered, guardNegotiation } from '../admission/negotiation-watch.ts'
import type { MessageStream, StreamMuxer, StreamMuxerFactory } from '@libp2p/interface'
import type { Registrar } from '@libp2p/interface-internal'

type MuxerFactory = (components: any) => StreamMuxerFactory

/** the muxer's hook for a stream the remote opened (AbstractStreamMuxer's) */
type WithRemoteStreams = StreamMuxer & { onRemoteStream?: (stream: MessageStream) => void }

export function negotiationGuardedMuxer (inner: MuxerFactory): MuxerFactory {
  return (components: { registrar: Registrar }) => {
    const factory = inner(components)
    const handles = (protocol: string): boolean => components.registrar.getProtocols().includes(protocol)
    return {
      protocol: factory.protocol,
      createStreamMuxer (maConn) {
        const muxer = factory.createStreamMuxer(maConn) as WithRemoteStreams
        const onRemoteStream = muxer.onRemoteStream
        if (typeof onRemoteStream === 'function') {
          muxer.onRemoteStream = function (this: WithRemoteStreams, stream: MessageStream) {
            guardNegotiation(stream, handles)
            onRemoteStream.call(this, stream)
          }
        }
        // our own streams: the listener's answers until it names the protocol
        const createStream = muxer.createStream
        muxer.createStream = async function (this: WithRemoteStreams, ...args: Parameters<StreamMuxer['createStream']>) {
          const stream = await createStream.apply(this, args)
          guardNegotiation(stream, answered)
          return stream
        }
        return muxer
      }
    }
  }
}

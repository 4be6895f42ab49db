/**
 * The negotiation guard (src/core/negotiation-guard.ts) on a live
 * connection or stream: its bytes judged where they come in, and the
 * connection or stream cut at the first out of bounds.
 */
import { MULTISTREAM_HEADER, NegotiationGuard } from '../core/negotiation-guard.ts'
import { TempusError } from '../core/tempus-error.ts'
import type { NegotiationGuardInit, NegotiationVerdict, NegotiationViolation } from '../core/negotiation-guard.ts'
import type { MessageStream } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'

/** A connection or stream cut during its protocol negotiation: the remote broke the bounds an honest one keeps (negotiation-guard.ts). */
export class NegotiationError extends TempusError {
  readonly code: NegotiationViolation
  override readonly name = 'NegotiationError'
  constructor (reason: NegotiationViolation) {
    super(`the remote's side of a protocol negotiation broke its bounds (${reason}): cut`)
    this.code = reason
  }
}

/** what the guard reaches of an inbound connection (@libp2p/tcp's) or stream (Yamux's): where its bytes come in, and what it holds already */
type Guarded = MessageStream & { onData?: (data: Uint8Array | Uint8ArrayList) => void, readBuffer?: Uint8ArrayList }

/**
 * An outbound negotiation's end: the listener's answer names a protocol
 * (ours, echoed), not the header and not `na`.
 */
export function answered (protocol: string): boolean {
  return protocol !== MULTISTREAM_HEADER && protocol !== 'na'
}

/**
 * Watch the bytes a connection (or stream) receives while it negotiates
 * its protocol: a dialler's proposals inbound, a listener's answers
 * outbound (negotiation-guard.ts), at the point where they
 * come in: a listener of its `message` event would take them from
 * libp2p's own reader. Cut at the first byte out of bounds; let alone
 * once a protocol of `init.protocols` is proposed; `onCut` hears why it
 * was cut, and whether a proposal this node does not speak came first (a
 * caller that knows the peer charges it only if none did). One of another shape
 * (another transport or muxer, a changed libp2p) is left alone;
 * `test/admission/negotiation-guard.test.ts` fails if that happens.
 */
export function guardNegotiation (stream: MessageStream, init: NegotiationGuardInit, onCut?: (reason: NegotiationViolation, afterUnspokenProposal: boolean) => void): void {
  const conn = stream as Guarded
  const inner = conn.onData
  if (typeof inner !== 'function') {
    return
  }
  const guard = new NegotiationGuard(init)
  const judge = (bytes: Uint8Array): NegotiationVerdict => {
    const verdict = guard.feed(bytes)
    if (verdict !== 'watching' && verdict !== 'done') {
      conn.abort(new NegotiationError(verdict))
      onCut?.(verdict, guard.unspokenProposal)
    }
    return verdict
  }
  // bytes that came before this hook ran wait in the connection's buffer
  if (conn.readBuffer != null && conn.readBuffer.byteLength > 0 && judge(conn.readBuffer.subarray()) !== 'watching') {
    return
  }
  conn.onData = function (this: Guarded, data: Uint8Array | Uint8ArrayList) {
    const verdict = judge(data instanceof Uint8Array ? data : data.subarray())
    if (verdict !== 'watching') {
      conn.onData = inner // its own again: what follows is the protocol's
    }
    if (verdict === 'watching' || verdict === 'done') {
      inner.call(this, data)
    }
  }
}

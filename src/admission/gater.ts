/**
 * The connection gater: revoked, banned and quarantined peers are refused at
 * every hook where their PeerId is known, before any exchange; an inbound
 * connection is refused while this node is too starved to finish the
 * handshakes it has under way (inbound-load.ts); and an address that
 * reaches this node itself is never dialled (`isOwnAddress`).
 */
import { NegotiationGuard } from '../core/negotiation-guard.ts'
import { TempusError } from '../core/tempus-error.ts'
import type { NegotiationVerdict, NegotiationViolation } from '../core/negotiation-guard.ts'
import type { AdmissionState } from './state.ts'
import type { ConnectionGater, MultiaddrConnection, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Uint8ArrayList } from 'uint8arraylist'

/** An inbound connection cut before its security handshake: its negotiation broke the bounds an honest dialler keeps (negotiation-guard.ts). */
export class NegotiationError extends TempusError {
  readonly code: NegotiationViolation
  override readonly name = 'NegotiationError'
  constructor (reason: NegotiationViolation) {
    super(`the dialler's protocol negotiation before the security handshake broke its bounds (${reason}): connection cut`)
    this.code = reason
  }
}

/** what the guard reaches of @libp2p/tcp's inbound connection: where its socket's bytes come in, and what it holds already */
type GuardedConnection = MultiaddrConnection & { onData?: (data: Uint8Array) => void, readBuffer?: Uint8ArrayList }

/**
 * Watch the bytes an inbound connection sends before its security
 * handshake (negotiation-guard.ts), at the point where its socket hands
 * them in: a listener of the connection's `message` event would take them
 * from libp2p's own reader. Cut at the first byte out of bounds; let
 * alone once a security protocol is proposed. A connection of another
 * shape (another transport, a changed libp2p) is left alone;
 * `test/admission/negotiation-guard.test.ts` fails if that happens.
 */
export function guardNegotiation (maConn: MultiaddrConnection, protocols: readonly string[]): void {
  const conn = maConn as GuardedConnection
  const inner = conn.onData
  if (typeof inner !== 'function') {
    return
  }
  const guard = new NegotiationGuard({ protocols })
  const judge = (bytes: Uint8Array): NegotiationVerdict => {
    const verdict = guard.feed(bytes)
    if (verdict !== 'watching' && verdict !== 'done') {
      conn.abort(new NegotiationError(verdict))
    }
    return verdict
  }
  // bytes that came before this hook ran wait in the connection's buffer
  if (conn.readBuffer != null && conn.readBuffer.byteLength > 0 && judge(conn.readBuffer.subarray()) !== 'watching') {
    return
  }
  conn.onData = function (this: GuardedConnection, data: Uint8Array) {
    const verdict = judge(data)
    if (verdict !== 'watching') {
      conn.onData = inner // its own again: the rest is the security protocol's
    }
    if (verdict === 'watching' || verdict === 'done') {
      inner.call(this, data)
    }
  }
}

export interface AdmissionGaterInit {
  /** an address that, dialled, reaches this node itself (src/core/own-addresses.ts); refused, and the dialler tries the peer's others */
  isOwnAddress?: (ma: Multiaddr) => boolean
  /**
   * the security protocols this node speaks: an inbound connection's
   * negotiation before one of them is proposed is held to an honest
   * dialler's bounds (`guardNegotiation`); unset, it is not watched
   */
  securityProtocols?: readonly string[]
}

export function admissionGater (state: AdmissionState, init: AdmissionGaterInit = {}): ConnectionGater {
  const deny = (peer: PeerId): boolean => state.denies(peer.toString())
  return {
    // before any cryptography: a node too starved to finish the handshakes under way starts no
    // more (inbound-load.ts); its dialler is told at once and charged nothing
    denyInboundConnection: (maConn) => {
      if (init.securityProtocols != null) {
        guardNegotiation(maConn, init.securityProtocols)
      }
      return state.inbound.shouldShed()
    },
    denyDialPeer: deny,
    denyOutboundConnection: deny,
    denyInboundEncryptedConnection: deny,
    denyOutboundEncryptedConnection: deny,
    denyInboundUpgradedConnection: deny,
    denyOutboundUpgradedConnection: deny,
    // the default gater refuses private addresses; an overlay lives on them
    denyDialMultiaddr: (ma) => init.isOwnAddress?.(ma) ?? false
  }
}

/**
 * The connection gater: revoked, banned and quarantined peers are refused at
 * every hook where their PeerId is known, before any exchange; an inbound
 * connection is refused while this node is too starved to finish the
 * handshakes it has under way (inbound-load.ts); and an address that
 * reaches this node itself is never dialled (`isOwnAddress`).
 */
import { answered, guardNegotiation } from './negotiation-watch.ts'
import type { AdmissionState } from './state.ts'
import type { ConnectionGater, MultiaddrConnection, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface AdmissionGaterInit {
  /** an address that, dialled, reaches this node itself (src/core/own-addresses.ts); refused, and the dialler tries the peer's others */
  isOwnAddress?: (ma: Multiaddr) => boolean
  /**
   * the security protocols this node speaks: an inbound connection's
   * negotiation before one of them is proposed, and an outbound one's
   * answers before one is named, are held to an honest side's bounds
   * (`guardNegotiation`); unset, they are not watched
   */
  securityProtocols?: readonly string[]
  /**
   * an outbound connection to `peer` that was not denied, before its
   * negotiation starts: the resuming encrypter sends its hello with the
   * proposal (resuming-encrypter.ts, `EarlyHellos`)
   */
  onOutbound?: (peer: PeerId, maConn: MultiaddrConnection) => void
}

export function admissionGater (state: AdmissionState, init: AdmissionGaterInit = {}): ConnectionGater {
  const deny = (peer: PeerId): boolean => state.denies(peer.toString())
  return {
    // before any cryptography: a node too starved to finish the handshakes under way starts no
    // more (inbound-load.ts); its dialler is told at once and charged nothing
    denyInboundConnection: (maConn) => {
      if (init.securityProtocols != null) {
        guardNegotiation(maConn, { protocols: init.securityProtocols })
      }
      return state.inbound.shouldShed()
    },
    denyDialPeer: deny,
    denyOutboundConnection: (peer, maConn) => {
      // the listener's answers to our proposals, held to the same bounds
      if (init.securityProtocols != null) {
        guardNegotiation(maConn, { protocols: answered })
      }
      if (deny(peer)) {
        return true
      }
      init.onOutbound?.(peer, maConn)
      return false
    },
    denyInboundEncryptedConnection: deny,
    denyOutboundEncryptedConnection: deny,
    denyInboundUpgradedConnection: deny,
    denyOutboundUpgradedConnection: deny,
    // the default gater refuses private addresses; an overlay lives on them
    denyDialMultiaddr: (ma) => init.isOwnAddress?.(ma) ?? false
  }
}

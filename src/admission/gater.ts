/**
 * The connection gater: revoked, banned and quarantined peers are refused at
 * every hook where their PeerId is known, before any exchange.
 */
import type { AdmissionState } from './state.ts'
import type { ConnectionGater, PeerId } from '@libp2p/interface'

export function admissionGater (state: AdmissionState): ConnectionGater {
  const deny = (peer: PeerId): boolean => state.denies(peer.toString())
  return {
    denyDialPeer: deny,
    denyOutboundConnection: deny,
    denyInboundEncryptedConnection: deny,
    denyOutboundEncryptedConnection: deny,
    denyInboundUpgradedConnection: deny,
    denyOutboundUpgradedConnection: deny,
    // the default gater refuses private addresses; an overlay lives on them
    denyDialMultiaddr: () => false
  }
}

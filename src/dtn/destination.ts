/**
 * Destinations, pure: who a bundle is for (a peer, a type, everyone; in
 * this overlay or another), as text and back, and whether a node is one.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { PEER_TYPES } from '../core/peer-type.ts'
import { MAX_OVERLAY_BYTES } from './constants.ts'
import { DtnError } from './errors.ts'
import type { PeerType } from '../core/peer-type.ts'

/**
 * Who a bundle is for. `overlay` names another overlay the destination is
 * in (absent: the source's own); such a bundle is carried to a bridge, which
 * hands it across to a pinned bridge of that overlay.
 */
export type Destination = (
  | { kind: 'peer', peer: string }
  | { kind: 'type', type: PeerType }
  | { kind: 'everyone' }
) & { overlay?: string }

/** An overlay id as a destination names it: 1 to 128 printable characters, no spaces. */
export function validOverlayId (text: string): boolean {
  return text.length >= 1 && Buffer.byteLength(text) <= MAX_OVERLAY_BYTES && /^[\x21-\x7e]+$/.test(text)
}

/**
 * `<PeerId>`, `edge` / `bridge` / `sentinel`, or `*` (every node), in this
 * overlay or, followed by `@<overlay>`, in another one.
 */
export function parseDestination (text: string): Destination {
  const at = text.indexOf('@')
  if (at >= 0) {
    const overlay = text.slice(at + 1)
    if (!validOverlayId(overlay)) {
      throw new DtnError('bad-destination', 'the overlay after @ is 1 to 128 printable characters without spaces')
    }
    return { ...parseDestination(text.slice(0, at)), overlay }
  }
  if (text === '*' || text === 'everyone') {
    return { kind: 'everyone' }
  }
  if ((PEER_TYPES as readonly string[]).includes(text)) {
    return { kind: 'type', type: text as PeerType }
  }
  try {
    const id = peerIdFromString(text)
    if (id.type !== 'Ed25519') {
      throw new Error('not Ed25519')
    }
    return { kind: 'peer', peer: id.toString() }
  } catch {
    throw new DtnError('bad-destination', 'a destination is an Ed25519 PeerId, edge, bridge, sentinel or *, optionally followed by @<overlay>')
  }
}

export function formatDestination (d: Destination): string {
  const local = d.kind === 'peer' ? d.peer : d.kind === 'type' ? d.type : '*'
  return d.overlay == null ? local : `${local}@${d.overlay}`
}

/**
 * Is a node with this id and type, in overlay `home`, a destination of the
 * bundle? A bundle for another overlay has no destination here.
 */
export function destinedTo (d: Destination, peer: string, type: PeerType | undefined, home?: string): boolean {
  if (d.overlay != null && d.overlay !== home) {
    return false
  }
  return d.kind === 'everyone' || (d.kind === 'peer' && d.peer === peer) || (d.kind === 'type' && d.type === type)
}

/** Is the bundle for another overlay than `home` (to be handed to a bridge)? */
export function forOtherOverlay (d: Destination, home: string | undefined): boolean {
  return d.overlay != null && d.overlay !== home
}

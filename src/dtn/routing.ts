/**
 * Routing, pure: what a holder hands a peer it meets, and how many copies.
 *
 * - A peer that is a destination of the bundle gets it (direct delivery).
 *   For a single destination the holder's copy is released by the
 *   destination's receipt, which answers the next offer of it.
 * - A bundle for a type or for everyone is flooded within its hop limit:
 *   every node of the type delivers it and carries it on.
 * - A bundle for one peer travels by binary spray-and-wait (Spyropoulos,
 *   Psounis, Raghavendra 2005): the source starts with L copies; a holder
 *   with n > 1 hands half of them to a preferred carrier (a sentinel or a
 *   bridge: long-lived, well connected) and a quarter to any other peer;
 *   with one copy left it waits to meet the destination. `copies = 0` marks
 *   an epidemic bundle: every peer gets a copy.
 * - A bundle for another overlay is for the bridges here, which hand it
 *   across: every bridge met gets a copy (the holder keeps its own until
 *   the destination's receipt comes back); other peers carry it by spray
 *   (or flood, if epidemic) towards a bridge.
 */
import { destinedTo, forOtherOverlay } from './destination.ts'
import type { Destination } from './destination.ts'
import type { PeerType } from '../core/peer-type.ts'

export interface HeldCopy {
  source: string
  destination: Destination
  hops: number
  hopLimit: number
  /** spray copies held; 0 = epidemic */
  copies: number
}

export interface Meeting {
  peer: string
  type: PeerType | undefined
}

export interface Handover {
  /** the copies the peer receives (0 = epidemic) */
  give: number
  /** the copies the holder keeps (a copy handed to its single destination waits for the receipt) */
  keep: number
  direct: boolean
}

export const DEFAULT_PREFERRED_CARRIERS: readonly PeerType[] = ['sentinel', 'bridge']

/** What to hand `peer`, or undefined to hand it nothing; `home` is this overlay's id. */
export function handover (held: HeldCopy, peer: Meeting, preferred: readonly PeerType[] = DEFAULT_PREFERRED_CARRIERS, home?: string): Handover | undefined {
  if (held.hops >= held.hopLimit || peer.peer === held.source) {
    return undefined
  }
  if (forOtherOverlay(held.destination, home)) {
    if (peer.type === 'bridge') {
      return { give: held.copies, keep: held.copies, direct: true }
    }
    if (held.copies === 0) {
      return { give: 0, keep: 0, direct: false }
    }
    const give = Math.floor(held.copies / (peer.type != null && preferred.includes(peer.type) ? 2 : 4))
    return give < 1 ? undefined : { give, keep: held.copies - give, direct: false }
  }
  if (destinedTo(held.destination, peer.peer, peer.type, home)) {
    // a group bundle goes on spreading; a single destination ends its journey
    return held.destination.kind === 'peer'
      ? { give: held.copies, keep: 0, direct: true }
      : { give: 0, keep: held.copies, direct: true }
  }
  if (held.destination.kind !== 'peer' || held.copies === 0) {
    return { give: 0, keep: held.copies, direct: false }
  }
  const give = Math.floor(held.copies / (peer.type != null && preferred.includes(peer.type) ? 2 : 4))
  return give < 1 ? undefined : { give, keep: held.copies - give, direct: false }
}

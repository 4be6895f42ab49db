/**
 * A view entry of a real node: the peer, where to reach it, its type and
 * its evidence of admission (its token), which every receiver checks.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { isPeerType } from '../node/peer-type.ts'
import { MAX_ADDR_BYTES, MAX_ADDRS, MAX_ENTRIES } from './constants.ts'
import type { PeerType } from '../node/config.ts'
import type { CyclonEntry as WireEntry } from './pb/cyclon.ts'
import type { CyclonEntry } from './view.ts'

export interface PeerEntry extends CyclonEntry<string> {
  addrs: string[]
  type: PeerType
  token: string
  keyCertificate: string
  /**
   * When the evidence (the token) expires, in ms; set locally once the token
   * verified, never sent: a node drops an entry before its evidence lapses.
   */
  expiresAt?: number
  /** the signing-key epoch of the token; set locally, never sent */
  epoch?: number
}

export function toWire (entry: PeerEntry): WireEntry {
  return {
    peerId: entry.id,
    addrs: entry.addrs.slice(0, MAX_ADDRS).map(a => multiaddr(a).bytes),
    type: entry.type,
    token: entry.token,
    keyCertificate: entry.keyCertificate,
    age: Math.min(entry.age, 0xffff)
  }
}

/** Shape checks only (bounded sizes, parseable addresses); evidence is checked by the sampler. */
export function fromWire (wire: WireEntry[]): PeerEntry[] | undefined {
  if (wire.length > MAX_ENTRIES) {
    return undefined
  }
  const out: PeerEntry[] = []
  for (const w of wire) {
    if (!isPeerType(w.type) || w.peerId.length === 0 || w.peerId.length > 128 || w.addrs.length > MAX_ADDRS || w.token.length > 2048 || w.keyCertificate.length > 2048) {
      return undefined
    }
    const addrs: string[] = []
    for (const bytes of w.addrs) {
      if (bytes.length > MAX_ADDR_BYTES) {
        return undefined
      }
      try {
        addrs.push(multiaddr(bytes).toString())
      } catch {
        return undefined
      }
    }
    out.push({ id: w.peerId, addrs, type: w.type, token: w.token, keyCertificate: w.keyCertificate, age: w.age })
  }
  return out
}

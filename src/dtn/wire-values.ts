/** Values read off the wire for bundles and receipts: PeerIds from multihashes, 64-bit integers as safe numbers. */
import { peerIdFromMultihash } from '@libp2p/peer-id'
import * as Digest from 'multiformats/hashes/digest'
import { DtnError } from './errors.ts'

/** An Ed25519 PeerId from its multihash, or `malformed` naming `what`. */
export function peerOf (bytes: Uint8Array, what: string): string {
  try {
    const id = peerIdFromMultihash(Digest.decode(bytes))
    if (id.type !== 'Ed25519' || id.publicKey == null) {
      throw new Error('not Ed25519')
    }
    return id.toString()
  } catch {
    throw new DtnError('malformed', `the ${what} is not an Ed25519 PeerId`)
  }
}

/** A uint64 field that must fit a JS number, or `malformed` naming `what`. */
export function safeNumber (v: bigint, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new DtnError('malformed', `${what} is out of range`)
  }
  return Number(v)
}

/** A fragment as offers, wants and sessions name it: its bundle id (hex) and its offset. */
export function fragmentKey (id: string | Uint8Array, offset: number | bigint): string {
  return `${typeof id === 'string' ? id : Buffer.from(id).toString('hex')}/${offset}`
}

/**
 * An entry's addresses, signed by the peer they describe: a libp2p signed
 * peer record (a RecordEnvelope over a PeerRecord, domain
 * "libp2p-peer-record": the record identify exchanges). Cyclon entries are
 * forwarded by third parties; with unsigned addresses any admitted peer
 * could attach addresses of its choosing to an honest peer's entry, make
 * every receiver dial them (a reflection vector) and keep them for that
 * peer. A record is opened here, and only a record that the entry's own
 * peer signed about itself gives an address.
 */
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { PeerRecord, RecordEnvelope } from '@libp2p/peer-record'
import { equals } from 'uint8arrays/equals'
import { MAX_ADDR_BYTES, MAX_ADDRS, MAX_RECORD_BYTES } from './constants.ts'
import { BadRecordError } from './errors.ts'
import { ownBytes } from '../core/own-bytes.ts'
import type { PrivateKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** A record whose signature, signer and subject checked out. */
export interface CertifiedRecord {
  /** the peer it describes, which signed it */
  peerId: string
  /** the peer's sequence number: a higher one supersedes */
  seq: bigint
  addrs: string[]
  /** the envelope as received, to pass on and to hand to the peer store */
  envelope: Uint8Array
}

/**
 * Open `envelope` as the signed record of `peerId`, or throw a
 * `BadRecordError` saying why not. `alreadyVerified`: the envelope comes
 * from the peer store, which keeps only records whose signature it checked,
 * so the shape is read again but the signature is not (one Ed25519
 * verification less per entry on every shuffle).
 */
export async function openRecord (envelope: Uint8Array, peerId: string, options: { alreadyVerified?: boolean } = {}): Promise<CertifiedRecord> {
  if (envelope.byteLength === 0) {
    throw new BadRecordError('missing', `the entry for ${peerId} carries no signed record`)
  }
  if (envelope.byteLength > MAX_RECORD_BYTES) {
    throw new BadRecordError('malformed', `the record for ${peerId} is ${envelope.byteLength} bytes (at most ${MAX_RECORD_BYTES})`)
  }
  let opened: RecordEnvelope
  let record: PeerRecord
  try {
    opened = RecordEnvelope.createFromProtobuf(envelope)
    if (!equals(opened.payloadType, PeerRecord.CODEC)) {
      throw new Error('not a peer record')
    }
    record = PeerRecord.createFromProtobuf(opened.payload)
  } catch {
    throw new BadRecordError('malformed', `the record for ${peerId} is not a signed peer record`)
  }
  // who signed it, and whom it describes, before spending a verification on it
  if (peerIdFromPublicKey(opened.publicKey).toString() !== peerId || record.peerId.toString() !== peerId) {
    throw new BadRecordError('not-its-own', `the record in the entry for ${peerId} was signed by, or describes, another peer`)
  }
  let valid = options.alreadyVerified === true
  try {
    valid ||= await opened.validate(PeerRecord.DOMAIN)
  } catch {
    valid = false
  }
  if (!valid) {
    throw new BadRecordError('forged', `the signature on the record for ${peerId} does not verify`)
  }
  if (record.multiaddrs.length > MAX_ADDRS || record.multiaddrs.some(a => a.bytes.byteLength > MAX_ADDR_BYTES)) {
    throw new BadRecordError('too-many-addresses', `the record for ${peerId} has more than ${MAX_ADDRS} addresses or one longer than ${MAX_ADDR_BYTES} bytes`)
  }
  // kept in views, samplers and the newest-record memory for minutes: bytes of its own
  return { peerId, seq: record.seqNumber, addrs: record.multiaddrs.map(a => a.toString()), envelope: ownBytes(envelope) }
}

/**
 * This node's own record: its addresses (as many as an entry may carry and
 * fit the size bound), signed with its key.
 */
export async function sealRecord (privateKey: PrivateKey, addrs: Multiaddr[], seq: bigint): Promise<Uint8Array> {
  let usable = addrs.filter(a => a.bytes.byteLength <= MAX_ADDR_BYTES).slice(0, MAX_ADDRS)
  for (;;) {
    const record = new PeerRecord({ peerId: peerIdFromPublicKey(privateKey.publicKey), multiaddrs: usable, seqNumber: seq })
    const envelope = (await RecordEnvelope.seal(record, privateKey)).marshal()
    if (envelope.byteLength <= MAX_RECORD_BYTES || usable.length === 0) {
      return envelope
    }
    usable = usable.slice(0, -1)
  }
}

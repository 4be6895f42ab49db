/**
 * Delivery receipts: the destination signs that it delivered a bundle
 * (its id, source and expiry); carriers pass the receipt on until the
 * bundle expires and drop their copies when they see it.
 */
import { createHash } from 'node:crypto'
import { peerIdFromString } from '@libp2p/peer-id'
import { setBounded } from '../core/bounded-map.ts'
import { DOMAINS } from '../core/domains.ts'
import { keyObjectOf, publicKeyFromRawBytes, signDomain, verifyDomain } from '../core/keys.ts'
import { peerOf, safeNumber } from './wire-values.ts'
import { DTN_SKEW_MS, MAX_LIFETIME_MS } from './constants.ts'
import { DtnError } from './errors.ts'
import { ReceiptBody } from './pb/dtn.ts'
import type { Fragment } from './bundle.ts'
import type { Receipt as PbReceipt } from './pb/dtn.ts'
import type { PrivateKey } from '@libp2p/interface'

export interface Receipt {
  id: string
  /** the destination that delivered it (the signer) */
  destination: string
  source: string
  deliveredAt: number
  expiresAt: number
  /** the encoded, signed receipt as it travels */
  wire: PbReceipt
}

export function signReceipt (privateKey: PrivateKey, destination: string, f: Pick<Fragment, 'id' | 'source' | 'expiresAt'>, now: number): Receipt {
  const body = ReceiptBody.encode({
    id: Buffer.from(f.id, 'hex'),
    destination: peerIdFromString(destination).toMultihash().bytes,
    source: peerIdFromString(f.source).toMultihash().bytes,
    deliveredAt: BigInt(now),
    expiresAt: BigInt(f.expiresAt)
  })
  const signature = signDomain(keyObjectOf(privateKey), DOMAINS.dtnReceipt, body)
  return { id: f.id, destination, source: f.source, deliveredAt: now, expiresAt: f.expiresAt, wire: { body, signature } }
}

/**
 * Receipts whose signature checked here, by a digest of their bytes (body
 * and signature both: a valid signature beside another body is another
 * receipt). A receipt travels back through every carrier, and each peer
 * tells a node the receipts it has not told it yet, so a node with twenty
 * peers is told the same receipt up to twenty times; most are for bundles
 * it never carried, so it keeps none of them, and each used to cost an
 * Ed25519 check again (in the 40-process chaos run, `applyReceipts` was
 * the largest DTN cost of an edge). Bytes seen to verify are not checked
 * again; the times are, every time. Bounded: the least recent goes.
 */
export class VerifiedReceipts {
  private readonly seen = new Map<string, true>()
  private readonly max: number
  /** signatures not checked again (tests read it) */
  hits = 0

  constructor (max = 4096) {
    this.max = max
  }

  private digest (wire: PbReceipt): string {
    return createHash('sha256').update(wire.body).update(wire.signature).digest('base64')
  }

  has (wire: PbReceipt): boolean {
    const found = this.seen.has(this.digest(wire))
    if (found) {
      this.hits++
    }
    return found
  }

  add (wire: PbReceipt): void {
    setBounded(this.seen, this.digest(wire), true, this.max)
  }
}

/**
 * Check a receipt's signature by the destination it names (skipped for
 * bytes `verified` holds: they checked before), then its times.
 */
export function openReceipt (wire: PbReceipt, now: number, verified?: VerifiedReceipts): Receipt {
  if (wire.body.length > 512 || wire.signature.length !== 64) {
    throw new DtnError('bad-receipt', 'out of bounds')
  }
  let body: ReceiptBody
  try {
    body = ReceiptBody.decode(wire.body)
  } catch {
    throw new DtnError('bad-receipt', 'does not decode')
  }
  if (body.id.length !== 16) {
    throw new DtnError('bad-receipt', 'bad id')
  }
  let destination: string
  let source: string
  try {
    destination = peerOf(body.destination, 'destination')
    source = peerOf(body.source, 'source')
  } catch {
    throw new DtnError('bad-receipt', 'bad peer')
  }
  if (verified?.has(wire) !== true) {
    const key = peerIdFromString(destination).publicKey?.raw as Uint8Array
    if (!verifyDomain(publicKeyFromRawBytes(key), wire.signature, DOMAINS.dtnReceipt, wire.body)) {
      throw new DtnError('bad-receipt', 'bad signature')
    }
    verified?.add(wire)
  }
  const expiresAt = safeNumber(body.expiresAt, 'expiresAt')
  const deliveredAt = safeNumber(body.deliveredAt, 'deliveredAt')
  if (expiresAt <= now) {
    throw new DtnError('expired')
  }
  // no bundle lives longer, and nothing is delivered in the future
  if (expiresAt > now + MAX_LIFETIME_MS + DTN_SKEW_MS || deliveredAt > now + DTN_SKEW_MS) {
    throw new DtnError('bad-receipt', 'times out of range')
  }
  return { id: Buffer.from(body.id).toString('hex'), destination, source, deliveredAt, expiresAt, wire }
}

/**
 * Delivery receipts: the destination signs that it delivered a bundle
 * (its id, source and expiry); carriers pass the receipt on until the
 * bundle expires and drop their copies when they see it.
 */
import { peerIdFromString } from '@libp2p/peer-id'
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

/** Check a receipt's signature by the destination it names. */
export function openReceipt (wire: PbReceipt, now: number): Receipt {
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
  const key = peerIdFromString(destination).publicKey?.raw as Uint8Array
  if (!verifyDomain(publicKeyFromRawBytes(key), wire.signature, DOMAINS.dtnReceipt, wire.body)) {
    throw new DtnError('bad-receipt', 'bad signature')
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

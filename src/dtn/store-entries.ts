/** What the bundle store holds and reports, row by row: its quota, and the shapes its reads return. */
import type { Destination } from './destination.ts'

export interface Quota {
  totalBytes: number
  perSourceBytes: number
  receipts: number
}

/** A held fragment without its bytes: what routing and offers need. */
export interface HeldFragment {
  id: string
  offset: number
  length: number
  source: string
  destination: Destination
  expiresAt: number
  hops: number
  hopLimit: number
  copies: number
}

export interface OutboxEntry {
  id: string
  destination: string
  createdAt: number
  expiresAt: number
  size: number
  fragments: number
  deliveredAt?: number
}

export interface InboxEntry {
  id: string
  source: string
  /** the overlay of a source in another overlay (the bundle came through a bridge) */
  sourceOverlay?: string
  destination: string
  createdAt: number
  expiresAt: number
  receivedAt: number
  size: number
  payload?: Uint8Array
}

export interface CarriedEntry {
  id: string
  source: string
  destination: string
  expiresAt: number
  fragments: number
  bytes: number
  copies: number
}

export interface StoreUsage {
  bytes: number
  fragments: number
  inbox: number
  outbox: number
  receipts: number
}

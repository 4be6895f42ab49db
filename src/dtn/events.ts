/** What the DTN service tells its users: its events, its counters and a delivered bundle's shape. */
import type { Receipt } from './receipt.ts'
import type { DtnRefusal } from './errors.ts'
import type { InboxEntry } from './store.ts'

/** A bundle delivered here: its inbox entry, with the whole payload. */
export type DeliveredBundle = Omit<InboxEntry, 'size' | 'payload'> & { payload: Uint8Array }

export interface DtnEvents {
  /** a bundle addressed to this node was delivered (once) */
  bundle: CustomEvent<DeliveredBundle>
  /** a bundle sent from here was delivered: its destination's receipt arrived */
  receipt: CustomEvent<{ id: string, destination: string, deliveredAt: number }>
  /** a fragment was stored (handed over by `from`) */
  stored: CustomEvent<{ id: string, offset: number, from: string }>
  /** a receipt was confirmed here and kept (for any bundle this node held, sent or received) */
  confirmed: CustomEvent<Receipt>
  refused: CustomEvent<{ peer: string, reason: DtnRefusal }>
}

export interface DtnStats {
  sent: number
  delivered: number
  /** sessions this node opened to offer a peer fragments or receipts */
  sessions: number
  /** fragments handed to peers */
  transmissions: number
  /** fragments taken from peers */
  received: number
  /** fragments handed to us that we held or had delivered already */
  duplicates: number
  receipts: number
  refused: Partial<Record<DtnRefusal, number>>
}

/**
 * Delay-tolerant bundles: signed, fragmented, stored durably, handed over
 * directly or by spray-and-wait carriers, acknowledged by signed receipts.
 * See protocols/dtn.md.
 */
export { dtnService, DtnService } from './service.ts'
export type { DtnServiceInit, SendOptions } from './service.ts'
export type { DeliveredBundle, DtnEvents, DtnStats } from './events.ts'
export { BundleStore } from './store.ts'
export type { CarriedEntry, HeldFragment, InboxEntry, OutboxEntry, Quota, StoreUsage } from './store.ts'
export { createBundle, openFragment } from './bundle.ts'
export type { Fragment } from './bundle.ts'
export { openReceipt, signReceipt } from './receipt.ts'
export type { Receipt } from './receipt.ts'
export { destinedTo, formatDestination, parseDestination } from './destination.ts'
export type { Destination } from './destination.ts'
export { handover, DEFAULT_PREFERRED_CARRIERS } from './routing.ts'
export type { Handover, HeldCopy, Meeting } from './routing.ts'
export { isComplete, reassemble } from './reassembly.ts'
export { GroupCommit } from '../core/group-commit.ts'
export { DTN_PROTOCOL } from './constants.ts'
export { DtnError } from './errors.ts'
export type { DtnRefusal } from './errors.ts'

/**
 * What the parts of a DTN node share: the bundle store and its writer, the
 * admission state, this node's identity, the counters and the events. The
 * service builds one context; each part (offering, serving, delivery,
 * crossing overlays) takes the slice of it that it uses, so no part reaches
 * into another's state.
 */
import type { Fragment } from './bundle.ts'
import type { DtnRefusal } from './errors.ts'
import type { DtnEvents, DtnStats } from './events.ts'
import type { GroupCommit } from '../core/group-commit.ts'
import type { BundleStore } from './store.ts'
import type { AdmissionState } from '../admission/state.ts'
import type { PeerType } from '../core/peer-type.ts'
import type { Logger, PrivateKey } from '@libp2p/interface'
import type { TypedEventEmitter } from 'main-event'

/** Stores fragments; the writes of one turn share one commit (group-commit.ts). */
export type FragmentWriter = GroupCommit<{ fragments: Fragment[], outbox?: boolean, receivedFrom?: string }, boolean[]>

export interface DtnContext {
  readonly store: BundleStore
  readonly writer: FragmentWriter
  readonly state: AdmissionState
  /** this node's PeerId, as text */
  readonly self: string
  /** this node's type (it delivers bundles addressed to its type) */
  readonly type: PeerType
  /** this node's overlay: bundles for another one are handed to bridges */
  readonly overlay: string | undefined
  readonly privateKey: PrivateKey
  /** the largest payload a bundle may carry */
  readonly maxPayload: number
  readonly now: () => number
  readonly log: Logger
  readonly stats: DtnStats
  readonly events: Pick<TypedEventEmitter<DtnEvents>, 'safeDispatchEvent'>
  /** offer to every admitted peer shortly: there is news (coalesced) */
  offerSoon: () => void
}

/** Count a refusal that is nobody's fault (a duplicate, a full quota). */
export function countRefusal (ctx: Pick<DtnContext, 'stats'>, reason: DtnRefusal): void {
  ctx.stats.refused[reason] = (ctx.stats.refused[reason] ?? 0) + 1
}

/** Count a refusal against `peer`: it raises the peer's suspicion and is told to the application. */
export function refuse (ctx: Pick<DtnContext, 'stats' | 'state' | 'events'>, peer: string, reason: DtnRefusal): void {
  countRefusal(ctx, reason)
  ctx.state.raise(peer, 'bad-bundle')
  ctx.events.safeDispatchEvent('refused', { detail: { peer, reason } })
}

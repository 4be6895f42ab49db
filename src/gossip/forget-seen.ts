/**
 * Let gossipsub take a message again: drop its id from gossipsub's
 * seen-cache.
 *
 * gossipsub (v17) puts a message's id in its seen-cache before the topic
 * validator runs, so whatever the verdict on the first copy, every later
 * copy is a duplicate, dropped unread. That is right for a copy that was
 * checked: copies that share an id are byte for byte the same
 * (message-id.ts) and get the same verdict. It is wrong for a copy dropped
 * unchecked (source-gate.ts: a frame of a sender past the graylist count):
 * a flooder also forwards honest anomalies, and the honest copies of one it
 * forwarded first would be lost on the live path at this node (found in
 * `bench:gossip`: an honest anomaly during the flood not at every node
 * within 10 s, in two runs of two). After this, the next copy (a mesh peer's,
 * or one asked for after an IHAVE) is taken and checked.
 *
 * The cache is gossipsub's private field, reached through the narrow shape
 * below; if a version renames it this does nothing (the copy waits for
 * catch-up), and the flood test that counts honest deliveries fails.
 */
import { gossipMessageId } from './message-id.ts'

/** the little of gossipsub's internals this touches: the cache, and the id's text form it is keyed by */
interface SeenCache {
  seenCache?: { entries?: Map<string, unknown> }
  msgIdToStrFn?: (id: Uint8Array) => string
}

/** Forget that gossipsub saw `message`: its next copy is read and checked. */
export function forgetSeen (pubsub: unknown, message: { topic: string, data?: Uint8Array }): void {
  const internals = pubsub as SeenCache
  if (internals.msgIdToStrFn != null) {
    internals.seenCache?.entries?.delete(internals.msgIdToStrFn(gossipMessageId(message)))
  }
}

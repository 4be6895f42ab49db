/**
 * Gossipsub's message id for the tempus topics: a hash of the topic and of
 * the whole signed frame.
 *
 * The topics run under `StrictNoSign` (protocols/gossip.md, "One signature"):
 * gossipsub carries no author, sequence number or signature of its own, so
 * its id cannot be author ‖ sequence number. It is the frame itself:
 *
 * - every byte counts, so a copy that differs in any byte (a forged
 *   signature, swapped evidence, another encoding) has another id and can
 *   never take an honest copy's place in the seen-cache, which gossipsub
 *   fills before the validator runs: the only copies that share an id are
 *   byte for byte the same, and get the same verdict;
 * - the topic counts, so a frame sent first on another topic (where its
 *   signature, which binds the topic, fails) does not pre-empt it on its own;
 * - the same frame again is the same message: an anomaly, revocation list or
 *   key certificate published twice is one, which its content (derived id,
 *   list number, epoch) says anyway.
 *
 * One SHA-256 of about a kilobyte: a few microseconds, computed once per
 * copy received, before the seen-cache; no signature is checked for a copy
 * already seen.
 */
import { createHash } from 'node:crypto'

const DOMAIN = Buffer.from('tempus-gossip-message-id-v1\0', 'utf8')

/** SHA-256("tempus-gossip-message-id-v1" ‖ 0x00 ‖ topic ‖ 0x00 ‖ data) */
export function gossipMessageId (msg: { topic: string, data?: Uint8Array }): Uint8Array {
  return createHash('sha256').update(DOMAIN).update(msg.topic).update(Uint8Array.of(0)).update(msg.data ?? new Uint8Array(0)).digest()
}

/** the id as text, the key a validator's verdict waits under (verdicts.ts) */
export function gossipMessageKey (msg: { topic: string, data?: Uint8Array }): string {
  return Buffer.from(gossipMessageId(msg)).toString('base64')
}

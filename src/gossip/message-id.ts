/**
 * Gossipsub's fast message id: a hash of author, sequence number, topic and
 * data, computed before any signature check so that duplicate copies skip
 * the check.
 */
import { createHash } from 'node:crypto'

const EMPTY = new Uint8Array(0)

export function fastMessageId (msg: { from?: Uint8Array, seqno?: Uint8Array, topic: string, data?: Uint8Array }): string {
  const from = msg.from ?? EMPTY
  const seqno = msg.seqno ?? EMPTY
  return createHash('sha256')
    .update(Uint8Array.of(from.length, seqno.length)).update(from).update(seqno)
    .update(msg.topic).update(Uint8Array.of(0))
    .update(msg.data ?? EMPTY)
    .digest('base64')
}

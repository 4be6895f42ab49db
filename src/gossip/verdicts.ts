/**
 * A validator's verdict, carried to the `message` event that follows it.
 *
 * gossipsub (v17) calls a topic validator, which can answer only Accept,
 * Ignore or Reject, and for an Accept then dispatches `message` with the
 * message alone: it offers no supported way to carry what the validator
 * learned (the decoded anomaly, the revocation list) to the listener. Its
 * `asyncValidation` mode would let one handler do both, but it hands every
 * message to every listener before it is validated and changes how peers
 * are scored. So the verdict waits here, keyed by the message id the
 * tempus topics use (message-id.ts: a hash of the topic and the whole
 * frame), not by the object that carries it: gossipsub's seen-cache lets
 * an id into validation once, so no two messages in flight share a key, and
 * two that did would be the same bytes, with the same verdict. An Accept
 * whose event never comes (the
 * topic was left meanwhile) would stay, so the map is bounded: a verdict
 * lives for the few microtasks between the validator and the event, and
 * the oldest go first.
 */
import { gossipMessageKey } from './message-id.ts'
import type { Message } from '@libp2p/gossipsub'

/** verdicts waiting for their event; far more than can be between a validator and its event at once */
export const MAX_PENDING_VERDICTS = 4096

export class PendingVerdicts<T> {
  private readonly pending = new Map<string, T>()
  private readonly max: number

  constructor (max = MAX_PENDING_VERDICTS) {
    this.max = max
  }

  /** Keep the verdict on an accepted message until its event. */
  park (message: Message, verdict: T): void {
    const key = gossipMessageKey(message)
    this.pending.delete(key)
    this.pending.set(key, verdict)
    if (this.pending.size > this.max) {
      this.pending.delete(this.pending.keys().next().value as string)
    }
  }

  /** The verdict on a message whose event came, once. */
  take (message: Message): T | undefined {
    const key = gossipMessageKey(message)
    const verdict = this.pending.get(key)
    this.pending.delete(key)
    return verdict
  }

  get size (): number {
    return this.pending.size
  }

  clear (): void {
    this.pending.clear()
  }
}

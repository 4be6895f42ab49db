/** Why a federation handshake failed: each check has its own reason, and every one fails closed. */
import { TempusError } from '../core/tempus-error.ts'

export type FederationRefusal =
  // the other side said nothing in time (the deadline fell, its stream closed or was reset):
  // this side's verdict only, never sent, and not a refusal by the remote
  | 'no-answer'
  | 'malformed' | 'unsupported-schema' | 'bad-signature' | 'wrong-recipient' | 'unexpected-sender'
  | 'clock-skew' | 'untrusted-key' | 'replayed' | 'same-overlay' | 'stale-pin' | 'no-pin'

export class FederationError extends TempusError {
  override readonly name = 'FederationError'
  /** the same as `reason`: the one field every project error has */
  get code (): string { return this.reason }
  readonly reason: FederationRefusal
  constructor (reason: FederationRefusal, message?: string) {
    super(message ?? reason)
    this.name = 'FederationError'
    this.reason = reason
  }
}

/**
 * Issuer errors. `code` is what an HTTP client sees; the message is for the
 * issuer's log and CLI. Honest clients get a clear code; an attacker learns
 * nothing more than "refused".
 */
import { TempusError } from '../core/tempus-error.ts'
export type IssuerErrorCode =
  | 'bad-request'
  | 'invalid-code'
  /** the code enrols another type than the one the node asked for; the code was not used */
  | 'wrong-type'
  | 'invalid-challenge'
  | 'invalid-proof'
  /** an approval that the key really signed, but the key is no registered admin of this issuer */
  | 'not-admin'
  | 'attestation-failed'
  | 'invalid-credential'
  | 'revoked'
  /** another process refreshes tokens for this credential (refused only with `refuseTwins`) */
  | 'twin'
  | 'not-found'
  | 'conflict'
  | 'rate-limited'
  | 'not-initialised'
  /** this replica cannot reach its database now: another replica can answer (503) */
  | 'unavailable'

export class IssuerError extends TempusError {
  override readonly name = 'IssuerError'
  readonly code: IssuerErrorCode

  constructor (code: IssuerErrorCode, message?: string) {
    super(message ?? code)
    this.code = code
  }
}

/**
 * A refusal a route decides on: the status, the stable code that goes on
 * the wire as `{ "error": code }`, and a message saying what is wrong and
 * what to do. The message reaches only a caller who may see it (the admin
 * API's authenticated operator, as `detail`); everyone else gets the code.
 */
import { TempusError } from '../core/tempus-error.ts'
export class HttpError extends TempusError {
  override readonly name = 'HttpError'
  readonly status: number
  readonly code: string

  constructor (status: number, code: string, message: string) {
    super(message)
    this.status = status
    this.code = code
  }
}

/** What goes on the wire for a refusal. */
export interface ErrorAnswer {
  status: number
  code: string
  /** what the caller's own input got wrong; sent only where the server allows details */
  detail?: string
  /** headers the refusal carries (`www-authenticate`, `allow`, `retry-after`) */
  headers?: Record<string, string>
}

import { TempusError } from '../core/tempus-error.ts'
export class IdentityError extends TempusError {
  readonly code = 'identity'
  override readonly name = 'IdentityError'
}

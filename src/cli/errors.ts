import { TempusError } from '../core/tempus-error.ts'
export class UsageError extends TempusError {
  readonly code = 'usage'
  override readonly name = 'UsageError'
}

export class ApiError extends TempusError {
  readonly code = 'api'
  override readonly name = 'ApiError'
  readonly status: number

  constructor (message: string, status: number) {
    super(message)
    this.status = status
  }
}

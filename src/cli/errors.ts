export class UsageError extends Error {
  override readonly name = 'UsageError'
}

export class ApiError extends Error {
  override readonly name = 'ApiError'
  readonly status: number

  constructor (message: string, status: number) {
    super(message)
    this.status = status
  }
}

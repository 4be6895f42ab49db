/**
 * The bytes of request bodies a server holds at once, across every request:
 * per-route body limits bound one request, this bounds their sum, so many
 * large bodies at once cannot grow the process (four 42 MB bodies to the
 * admin API once took it from 202 to 467 MB). A request takes its share
 * from Content-Length before a byte is read (or chunk by chunk when the
 * length is not declared) and gives it back when its answer is done.
 */
export class BodyBudget {
  readonly capacity: number
  private held = 0
  private highest = 0

  constructor (capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new RangeError('a body budget needs a positive whole number of bytes')
    }
    this.capacity = capacity
  }

  /** bytes held right now */
  get inFlight (): number {
    return this.held
  }

  /** the most ever held at once (for tests and metrics) */
  get peak (): number {
    return this.highest
  }

  /** Take `bytes` if they fit; false (and nothing taken) when they do not. */
  take (bytes: number): boolean {
    if (bytes < 0 || this.held + bytes > this.capacity) {
      return false
    }
    this.held += bytes
    this.highest = Math.max(this.highest, this.held)
    return true
  }

  give (bytes: number): void {
    this.held = Math.max(0, this.held - bytes)
  }
}

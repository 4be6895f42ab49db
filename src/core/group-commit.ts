/**
 * Group commit: decisions that each need a durable write are collected while
 * the previous write is in flight and written together, in one transaction.
 * A caller's promise resolves once its decision is durable, so nothing is
 * acknowledged early; under load, one commit (one fsync, one pass of the
 * writer lock every replica shares) covers a whole batch instead of one
 * decision. Pure queueing: what a batch does is the `flush` function's.
 * Used by the issuer (token decisions) and the bundle store (fragments).
 */
export interface GroupCommitInit<T, R> {
  /**
   * write `items` durably (in one transaction); one result per item, in
   * order: an `Error` there is that item's refusal (its caller's promise
   * rejects with it), the others still resolve. A throw fails the batch.
   */
  flush: (items: T[]) => Promise<Array<R | Error>> | Array<R | Error>
  /**
   * items per batch at most (the rest wait for the next one)
   * @default 512
   */
  maxBatch?: number
  /**
   * When a batch starts after the first item arrives: a macrotask later by
   * default, so that every item decided in this turn of the event loop (each
   * signature that completed in this I/O phase) shares one commit. Starting
   * at once would write the first alone, and with a store that commits
   * within microtasks (node:sqlite) every later batch would hold one item.
   * @default setImmediate
   */
  schedule?: (task: () => void) => void
}

interface Waiting<T, R> {
  item: T
  resolve: (result: R) => void
  reject: (err: unknown) => void
}

export class GroupCommit<T, R> {
  private readonly flush: (items: T[]) => Promise<Array<R | Error>> | Array<R | Error>
  private readonly maxBatch: number
  private queue: Array<Waiting<T, R>> = []
  private flushing = false
  private readonly schedule: (task: () => void) => void

  constructor (init: GroupCommitInit<T, R>) {
    this.flush = init.flush
    this.maxBatch = init.maxBatch ?? 512
    this.schedule = init.schedule ?? (task => { setImmediate(task) })
  }

  /** Resolves with the item's result once the batch holding it is written; rejects if that batch failed. */
  async submit (item: T): Promise<R> {
    return await new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject })
      if (!this.flushing) {
        // flushing from now on: later items this turn join the queue, not a drain of their own
        this.flushing = true
        this.schedule(() => { void this.drain() })
      }
    })
  }

  /** how many items wait for a batch now */
  get waiting (): number {
    return this.queue.length
  }

  private async drain (): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.slice(0, this.maxBatch)
        this.queue = this.queue.slice(batch.length)
        try {
          const results = await this.flush(batch.map(w => w.item))
          batch.forEach((w, i) => {
            const result = results[i]
            if (result instanceof Error) {
              w.reject(result)
            } else {
              w.resolve(result as R)
            }
          })
        } catch (err) {
          for (const w of batch) {
            w.reject(err)
          }
        }
      }
    } finally {
      this.flushing = false
    }
  }
}

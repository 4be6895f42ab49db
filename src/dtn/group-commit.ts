/**
 * Group commit: writes submitted in the same turn of the event loop are
 * committed together in one transaction (one fsync), and each caller hears
 * back only once its write is on disk. Concurrent sends cost one fsync per
 * batch instead of one each; a lone send is still durable when it resolves.
 */
export class GroupCommit<T, R> {
  private readonly commit: (items: T[]) => Array<R | Error>
  private pending: Array<{ item: T, resolve: (r: R) => void, reject: (e: Error) => void }> = []
  private scheduled = false

  /** `commit` writes all items in one transaction and returns, per item, its result or its refusal. */
  constructor (commit: (items: T[]) => Array<R | Error>) {
    this.commit = commit
  }

  async submit (item: T): Promise<R> {
    return await new Promise<R>((resolve, reject) => {
      this.pending.push({ item, resolve, reject })
      if (!this.scheduled) {
        this.scheduled = true
        setImmediate(() => { this.flush() })
      }
    })
  }

  private flush (): void {
    this.scheduled = false
    const batch = this.pending
    this.pending = []
    let results: Array<R | Error>
    try {
      results = this.commit(batch.map(b => b.item))
    } catch (err) {
      batch.forEach(b => { b.reject(err as Error) })
      return
    }
    batch.forEach((b, i) => {
      const r = results[i] as R | Error
      if (r instanceof Error) {
        b.reject(r)
      } else {
        b.resolve(r)
      }
    })
  }
}

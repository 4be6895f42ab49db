/**
 * A datastore that keeps one key prefix (the peer store's `/peers/`) in
 * memory and writes it to the datastore below behind, at most once per key
 * per flush interval; every other key passes straight through.
 *
 * Why: libp2p's peer store reads a peer's record and writes it back on every
 * stream either side opens (the protocol joins the record; the write happens
 * even when nothing changed, since it stamps `updated`), and tempus records
 * last-seen times on every connect and disconnect. On `datastore-fs` each of
 * those is a file read plus a file write and a rename: an idle 50-node mesh
 * in one process did about 200 of each per second, a quarter of its CPU.
 * Held in memory, a read costs a Map lookup and the disk sees a peer's
 * latest record once per interval.
 *
 * What it costs: an ephemeral node keeps its whole peer store in memory
 * (`MemoryDatastore`); this keeps the same in memory, so memory is what an
 * ephemeral node pays. What a `kill -9` loses: the peer records of the last
 * flush interval (last-seen times, addresses learnt since, a peer's type):
 * the peer store is a cache of what the network says, relearnt on the next
 * connection. A clean stop flushes (`close()`). Bans and the DHT's records
 * live under other prefixes and are written through, as before.
 */
import { BaseDatastore } from 'datastore-core'
import { Key } from 'interface-datastore'
import { ownBytes } from '../core/own-bytes.ts'
import type { Datastore, KeyQuery, Pair, Query } from 'interface-datastore'

export interface WriteBehindInit {
  /** keys under this prefix are held in memory and written behind (e.g. `/peers/`) */
  prefix: string
  /**
   * a changed key reaches the datastore below at most this long after its
   * first unflushed change (ms)
   * @default 30_000
   */
  flushIntervalMs?: number
  /** where a failed flush is told (it is retried at the next interval) */
  onFlushError?: (err: unknown) => void
}

export const WRITE_BEHIND_FLUSH_MS = 30_000

/** where libp2p's peer store keeps its records (`@libp2p/peer-store`'s NAMESPACE_COMMON) */
export const PEER_STORE_PREFIX = '/peers/'

/** The not-found error stores throw (the peer store tells a missing peer by its `name`). */
class NotFoundError extends Error {
  override name = 'NotFoundError'
}

export class WriteBehindDatastore extends BaseDatastore {
  private readonly inner: Datastore
  private readonly prefix: string
  private readonly flushIntervalMs: number
  private readonly onFlushError: (err: unknown) => void
  /** every key under the prefix, as the peer store last wrote it */
  private readonly held = new Map<string, Uint8Array>()
  /** keys changed (written or deleted) since the last flush */
  private readonly dirty = new Set<string>()
  private timer?: ReturnType<typeof setTimeout>
  private flushing?: Promise<void>
  private loaded = false

  constructor (inner: Datastore, init: WriteBehindInit) {
    super()
    this.inner = inner
    this.prefix = init.prefix
    this.flushIntervalMs = init.flushIntervalMs ?? WRITE_BEHIND_FLUSH_MS
    this.onFlushError = init.onFlushError ?? (() => {})
  }

  /** Read every key under the prefix once; from here reads of the prefix never reach the datastore below. */
  async open (): Promise<void> {
    if (this.loaded) return
    for await (const { key, value } of this.inner.query({ prefix: this.prefix })) {
      this.held.set(key.toString(), ownBytes(value))
    }
    this.loaded = true
  }

  /** Write what changed, then stop the timer. */
  async close (): Promise<void> {
    clearTimeout(this.timer)
    this.timer = undefined
    await this.flush()
  }

  /** Changed keys not yet written below (for tests and the operator's curiosity). */
  get pending (): number {
    return this.dirty.size
  }

  private mine (key: Key): boolean {
    return this.loaded && key.toString().startsWith(this.prefix)
  }

  override async put (key: Key, val: Uint8Array, options?: any): Promise<Key> {
    if (!this.mine(key)) {
      return await this.inner.put(key, val, options)
    }
    this.held.set(key.toString(), ownBytes(val))
    this.changed(key)
    return key
  }

  override async get (key: Key, options?: any): Promise<Uint8Array> {
    if (!this.mine(key)) {
      return await this.inner.get(key, options)
    }
    const value = this.held.get(key.toString())
    if (value == null) {
      throw new NotFoundError(`no value for ${key.toString()}`)
    }
    return value
  }

  override async has (key: Key, options?: any): Promise<boolean> {
    return this.mine(key) ? this.held.has(key.toString()) : await this.inner.has(key, options)
  }

  override async delete (key: Key, options?: any): Promise<void> {
    if (!this.mine(key)) {
      await this.inner.delete(key, options)
      return
    }
    if (this.held.delete(key.toString())) {
      this.changed(key)
    }
  }

  override async * _all (q: Query, options?: any): AsyncGenerator<Pair> {
    // a query inside the prefix never reaches the disk
    if (!this.loaded || q.prefix == null || !q.prefix.startsWith(this.prefix)) {
      for await (const pair of this.inner.query({ prefix: q.prefix }, options)) {
        if (!this.mine(pair.key)) {
          yield pair
        }
      }
    }
    if (this.loaded && overlaps(q.prefix, this.prefix)) {
      for (const [key, value] of [...this.held]) {
        yield { key: new Key(key), value }
      }
    }
  }

  override async * _allKeys (q: KeyQuery, options?: any): AsyncGenerator<Key> {
    for await (const { key } of this._all({ prefix: q.prefix }, options)) {
      yield key
    }
  }

  /** Write every changed key below: its held value, or its deletion. */
  async flush (): Promise<void> {
    // one flush at a time; a change during one waits for the next
    await this.flushing
    if (this.dirty.size === 0) return
    const keys = [...this.dirty]
    this.dirty.clear()
    this.flushing = (async () => {
      for (const k of keys) {
        const key = new Key(k)
        const value = this.held.get(k)
        try {
          if (value == null) {
            await this.inner.delete(key)
          } else {
            await this.inner.put(key, value)
          }
        } catch (err: any) {
          if (value == null && err?.name === 'NotFoundError') continue
          // kept for the next flush, unless changed meanwhile (then it is dirty already)
          this.dirty.add(k)
          this.onFlushError(err)
        }
      }
    })()
    try {
      await this.flushing
    } finally {
      this.flushing = undefined
    }
  }

  private changed (key: Key): void {
    this.dirty.add(key.toString())
    this.schedule()
  }

  /** One timer for all changed keys, set by the first change after a flush. */
  private schedule (): void {
    if (this.timer != null || this.dirty.size === 0) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      // what failed or changed during the flush goes with the next one
      void this.flush().finally(() => { this.schedule() })
    }, this.flushIntervalMs)
    // a pending flush does not keep the process alive; close() writes it
    this.timer.unref?.()
  }
}

/** Whether a query for keys under `q` can return keys under `prefix`. */
function overlaps (q: string | undefined, prefix: string): boolean {
  return q == null || prefix.startsWith(q) || q.startsWith(prefix)
}

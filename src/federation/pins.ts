/**
 * Pinned remote bridges: who, which key, since when, and until when. A pin
 * expires (`rotationDue`) and is then refused until a new handshake; nothing
 * renews it silently. The store is pluggable: in memory by default, in
 * node:sqlite in a node (`SqlitePinStore`).
 */
import { openSqliteStore } from '../storage/index.ts'
import { DEFAULT_ROTATION_WINDOW_MS } from './constants.ts'
import type { VerifiedRemote } from './challenge.ts'
import type { DatabaseSync } from 'node:sqlite'

export interface Pin {
  remoteId: string
  overlay: string
  /** the remote bridge's Ed25519 public key, base64url */
  publicKey: string
  establishedAt: number
  rotationDue: number
}

export type PinState = 'fresh' | 'stale' | 'none'

export interface PinStore {
  get(remoteId: string): Pin | undefined
  put(pin: Pin): void
  delete(remoteId: string): boolean
  list(): Pin[]
}

export class MemoryPinStore implements PinStore {
  private readonly pins = new Map<string, Pin>()
  get (remoteId: string): Pin | undefined { return this.pins.get(remoteId) }
  put (pin: Pin): void { this.pins.set(pin.remoteId, { ...pin }) }
  delete (remoteId: string): boolean { return this.pins.delete(remoteId) }
  list (): Pin[] { return [...this.pins.values()].map(p => ({ ...p })) }
}

export class SqlitePinStore implements PinStore {
  private readonly db: DatabaseSync

  /**
   * `path` of a database file, or ':memory:'; `recovery`: what the operator
   * can do about a lost or damaged file (named in every storage error)
   */
  constructor (path: string, options: { recovery?: string } = {}) {
    // a lost or damaged file is refused, never silently recreated (src/storage)
    this.db = openSqliteStore(path, {
      recovery: options.recovery,
      setup: db => {
        db.exec('PRAGMA journal_mode = WAL')
        db.exec('PRAGMA synchronous = FULL')
        db.exec(`CREATE TABLE IF NOT EXISTS pins (
          remote_id TEXT PRIMARY KEY, overlay TEXT NOT NULL, public_key TEXT NOT NULL,
          established_at INTEGER NOT NULL, rotation_due INTEGER NOT NULL)`)
      }
    })
  }

  get (remoteId: string): Pin | undefined {
    const r = this.db.prepare('SELECT * FROM pins WHERE remote_id = ?').get(remoteId) as Record<string, any> | undefined
    return r == null ? undefined : fromRow(r)
  }

  put (pin: Pin): void {
    this.db.prepare('INSERT OR REPLACE INTO pins (remote_id, overlay, public_key, established_at, rotation_due) VALUES (?, ?, ?, ?, ?)')
      .run(pin.remoteId, pin.overlay, pin.publicKey, pin.establishedAt, pin.rotationDue)
  }

  delete (remoteId: string): boolean {
    return Number(this.db.prepare('DELETE FROM pins WHERE remote_id = ?').run(remoteId).changes) > 0
  }

  list (): Pin[] {
    return (this.db.prepare('SELECT * FROM pins ORDER BY overlay, remote_id').all() as Array<Record<string, any>>).map(fromRow)
  }

  close (): void {
    if (this.db.isOpen) {
      this.db.close()
    }
  }
}

function fromRow (r: Record<string, any>): Pin {
  return { remoteId: r.remote_id, overlay: r.overlay, publicKey: r.public_key, establishedAt: r.established_at, rotationDue: r.rotation_due }
}

export interface PinsInit {
  store?: PinStore
  /** how long a pin stays fresh after a handshake */
  rotationWindowMs?: number
  now?: () => number
}

/** The pins and their rules, over a store. */
export class Pins {
  readonly store: PinStore
  private readonly windowMs: number
  private readonly now: () => number

  constructor (init: PinsInit = {}) {
    this.store = init.store ?? new MemoryPinStore()
    this.windowMs = init.rotationWindowMs ?? DEFAULT_ROTATION_WINDOW_MS
    this.now = init.now ?? Date.now
  }

  /** Pin a remote that passed the handshake: established now, due after the window. */
  pin (remote: VerifiedRemote): Pin {
    const now = this.now()
    const pin: Pin = {
      remoteId: remote.remoteId,
      overlay: remote.overlay,
      publicKey: Buffer.from(remote.publicKey).toString('base64url'),
      establishedAt: now,
      rotationDue: now + this.windowMs
    }
    this.store.put(pin)
    return pin
  }

  state (remoteId: string): PinState {
    const pin = this.store.get(remoteId)
    return pin == null ? 'none' : pin.rotationDue > this.now() ? 'fresh' : 'stale'
  }

  /** The pin if it is fresh; a stale pin counts for nothing until a new handshake. */
  fresh (remoteId: string): Pin | undefined {
    const pin = this.store.get(remoteId)
    return pin != null && pin.rotationDue > this.now() ? pin : undefined
  }

  /** The key pinned for a remote, stale or not (a known key may re-establish its pin). */
  pinnedKey (remoteId: string): Uint8Array | undefined {
    const pin = this.store.get(remoteId)
    return pin == null ? undefined : Buffer.from(pin.publicKey, 'base64url')
  }

  forget (remoteId: string): boolean {
    return this.store.delete(remoteId)
  }

  snapshot (): Array<Pin & { state: PinState }> {
    const now = this.now()
    return this.store.list().map(p => ({ ...p, state: p.rotationDue > now ? 'fresh' : 'stale' }))
  }
}

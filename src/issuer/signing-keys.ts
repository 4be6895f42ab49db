/**
 * The overlay's signing keys under the root key, and strict rotation: a key
 * is announced (its root-signed certificate published) before it signs
 * anything, then activated, and from then on the old epoch is refused
 * everywhere. This replica's idea of the current key is re-read when
 * another process (a replica, the CLI) changed the keys; the token commit
 * re-checks the epoch under the writer lock anyway (`token-desk.ts`).
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { signKeyCertificate } from '../admission/key-certificate.ts'
import { rawPublicKey } from '../core/keys.ts'
import { IssuerError } from './errors.ts'
import { getMeta, setMeta } from './meta.ts'
import type { SigningKey } from '../admission/token.ts'
import type { SignerKey } from '../core/keys.ts'
import type { KeySet } from '../issuer-client/wire.ts'
import type { AuditLog } from './audit-log.ts'
import type { IssuerDb } from './db/sql.ts'
import type { KeyVault } from './key-vault.ts'
import type { OfflineRoot, PendingRootRequest } from './offline-root.ts'

/** How stale this replica's idea of the signing keys may be before a token request reads them again. */
export const KEYS_RECHECK_MS = 1000

export interface SigningKeysInit {
  db: IssuerDb
  audit: AuditLog
  /** where signing keys are made and opened (sealed, or a PKCS#11 token) */
  vault: KeyVault
  /** the root, when it is online: it certifies a new key at once */
  root?: SignerKey
  /** the root, when it is offline: a new key's certificate is a request it answers */
  offline?: OfflineRoot
  overlay: string
  now: () => number
}

/** The key to sign tokens with now, and its root-signed certificate (handed out with every token). */
export interface Signer {
  key: SigningKey
  certificate: string
}

export class SigningKeys {
  private readonly init: SigningKeysInit
  private version = ''
  private checkedAt = -Infinity
  private current?: Signer

  constructor (init: SigningKeysInit) {
    this.init = init
  }

  /** The current key: read again when `force`, or when this replica last looked over KEYS_RECHECK_MS ago. */
  async signer (force = false): Promise<Signer> {
    if (force || this.current == null || this.init.now() - this.checkedAt >= KEYS_RECHECK_MS) {
      await this.reload(force)
    }
    return this.current as Signer
  }

  /** Re-read the signing keys when another process changed them (`keys_version`). */
  async reload (force = false): Promise<void> {
    const { db } = this.init
    const version = await getMeta(db, 'keys_version') ?? ''
    this.checkedAt = this.init.now()
    if (!force && version === this.version && this.current != null) {
      return
    }
    const row = await db.one<{ epoch: number, kid: string, sealed: string, certificate: string }>('SELECT epoch, kid, sealed, certificate FROM signing_keys WHERE state = \'current\'')
    if (row == null) {
      throw new IssuerError('not-initialised', 'no current signing key')
    }
    const key = this.current?.key.kid === row.kid ? this.current.key : await this.open(row.kid, Number(row.epoch), row.sealed)
    this.current = { key, certificate: row.certificate }
    this.version = version
  }

  async keys (): Promise<KeySet> {
    const rows = await this.init.db.all<{ epoch: number, certificate: string, state: string }>('SELECT epoch, certificate, state FROM signing_keys WHERE state IN (\'current\', \'announced\') ORDER BY epoch DESC')
    const current = rows.find(r => r.state === 'current')
    if (current == null) {
      throw new IssuerError('not-initialised', 'no current signing key')
    }
    // an announced key whose certificate the offline root has not signed yet is nobody's business
    const announced = rows.find(r => r.state === 'announced' && r.certificate !== '')
    return { current: current.certificate, announced: announced?.certificate, epoch: Number(current.epoch) }
  }

  private async open (kid: string, epoch: number, stored: string): Promise<SigningKey> {
    const key = await this.init.vault.open(stored)
    return { kid, epoch, privateKey: key.signer, publicKey: key.publicKey }
  }

  /**
   * Publish the next signing key; it signs nothing until activated. With
   * an offline root the key is made and recorded, and its certificate is a
   * request (`request`) for the root to sign; until the answer is imported
   * the key is not published and cannot be activated.
   */
  async announce (): Promise<{ epoch: number, kid: string, certificate: string, request?: PendingRootRequest }> {
    const { db, audit, root, offline, vault, overlay, now } = this.init
    const existing = await db.one<{ epoch: number, kid: string, certificate: string }>('SELECT epoch, kid, certificate FROM signing_keys WHERE state = \'announced\'')
    if (existing != null) {
      return { epoch: Number(existing.epoch), kid: existing.kid, certificate: existing.certificate, request: await this.pendingRequest(existing.kid) }
    }
    const expected = Number((await db.one<{ e: number }>('SELECT MAX(epoch) AS e FROM signing_keys'))?.e ?? 0) + 1
    // made before the transaction (a token's key generation is no work to hold the writer lock for)
    const key = await vault.create(`signing-e${expected}`)
    const announced = await db.transaction(async tx => {
      // under the writer lock: two replicas announcing at once announce one key
      const existing = await tx.one<{ epoch: number, kid: string, certificate: string }>('SELECT epoch, kid, certificate FROM signing_keys WHERE state = \'announced\'')
      if (existing != null) {
        return { epoch: Number(existing.epoch), kid: existing.kid, certificate: existing.certificate }
      }
      const max = await tx.one<{ e: number }>('SELECT MAX(epoch) AS e FROM signing_keys')
      const epoch = Number(max?.e ?? 0) + 1
      if (epoch !== expected) {
        throw new IssuerError('conflict', 'another replica rotated the signing key meanwhile; announce again')
      }
      const kid = `e${epoch}-${randomBytes(4).toString('hex')}`
      let certificate = ''
      let request: PendingRootRequest | undefined
      if (root != null) {
        certificate = await signKeyCertificate(root, overlay, kid, epoch, key.publicKey, now())
      } else if (offline != null) {
        request = await offline.createIn(tx, 'signing-key', [{ kind: 'signing-key', kid, epoch, publicKey: Buffer.from(rawPublicKey(key.publicKey)).toString('base64url') }])
      } else {
        throw new IssuerError('not-initialised', 'the issuer has no root to certify a signing key')
      }
      await tx.run('INSERT INTO signing_keys (epoch, kid, sealed, certificate, state, announced_at) VALUES ($1, $2, $3, $4, \'announced\', $5)', [epoch, kid, key.stored, certificate, now()])
      await setMeta(tx, 'keys_version', randomUUID())
      await audit.append(tx, 'key-announced', { epoch, kid, ...(request != null ? { awaiting: request.request.nonce } : {}) })
      return { epoch, kid, certificate, request }
    })
    await this.reload()
    return announced
  }

  /** the pending root request that certifies the signing key `kid`, if any */
  private async pendingRequest (kid: string): Promise<PendingRootRequest | undefined> {
    return (await this.init.offline?.pending())?.find(p => p.request.items.some(i => i.kind === 'signing-key' && i.kid === kid))
  }

  /**
   * Make the announced key current; from now on the old epoch is refused
   * everywhere, and no replica hands out a token of the old epoch (its
   * token commits re-read the epoch under the same lock as this one).
   */
  async activate (): Promise<{ epoch: number, kid: string }> {
    const { db, audit, now } = this.init
    const next = await db.one<{ epoch: number, kid: string, sealed: string, certificate: string }>('SELECT epoch, kid, sealed, certificate FROM signing_keys WHERE state = \'announced\' ORDER BY epoch LIMIT 1')
    if (next == null) {
      throw new IssuerError('conflict', 'no key is announced; announce one first')
    }
    if (next.certificate === '') {
      throw new IssuerError('conflict', `signing key epoch ${next.epoch} has no certificate yet: have the offline root sign its request (tempus root sign), import the answer (tempus issuer import), then activate`)
    }
    // open the key first and switch to it right after the commit: the
    // moment /v1/keys names the new key current, this replica signs with it
    const key = await this.open(next.kid, Number(next.epoch), next.sealed)
    const version = randomUUID()
    await db.transaction(async tx => {
      const still = await tx.one('SELECT 1 AS a FROM signing_keys WHERE epoch = $1 AND state = \'announced\'', [next.epoch])
      if (still == null) {
        throw new IssuerError('conflict', `key epoch ${next.epoch} is no longer the announced one (another replica activated it?)`)
      }
      await tx.run('UPDATE signing_keys SET state = \'retired\' WHERE state = \'current\'')
      await tx.run('UPDATE signing_keys SET state = \'current\', activated_at = $1 WHERE epoch = $2', [now(), next.epoch])
      await setMeta(tx, 'keys_version', version)
      await audit.append(tx, 'key-activated', { epoch: Number(next.epoch), kid: next.kid })
    })
    this.current = { key, certificate: next.certificate }
    this.version = version
    this.checkedAt = now()
    return { epoch: Number(next.epoch), kid: next.kid }
  }
}

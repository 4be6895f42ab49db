/**
 * The issuer's half of an offline root: the requests it made (kept with
 * their exact bytes, in its database, so every replica knows them) and the
 * check of an answer before it is imported. `root-request.ts` has the file
 * formats and the root's half; `Issuer.importRootAnswer` applies an answer.
 */
import { randomBytes } from 'node:crypto'
import { IssuerError } from './errors.ts'
import { checkRootAnswer, parseRootAnswer, parseRootRequest, requestBytes, ROOT_REQUEST_FORMAT } from './root-request.ts'
import type { AuditLog } from './audit-log.ts'
import type { IssuerDb, SqlTx } from './db/sql.ts'
import type { RootRequest, RootRequestItem } from './root-request.ts'
import type { KeyObject } from 'node:crypto'

/** why a request was made: what importing its answer does */
export type RootRequestPurpose = 'init' | 'signing-key' | 'revocation-key' | 'admin'

export interface OfflineRootInit {
  db: IssuerDb
  audit: AuditLog
  overlay: string
  issuer: string
  /** the root's public key: raw base64url, and as a KeyObject */
  rootPublic: string
  rootKey: KeyObject
  now: () => number
}

export interface PendingRootRequest {
  purpose: RootRequestPurpose
  request: RootRequest
  /** the file's text, exactly as `tempus root sign` must see it */
  text: string
}

export class OfflineRoot {
  private readonly init: OfflineRootInit

  constructor (init: OfflineRootInit) {
    this.init = init
  }

  /** Record a new request in the caller's write transaction (audited). */
  async createIn (tx: SqlTx, purpose: RootRequestPurpose, items: RootRequestItem[]): Promise<PendingRootRequest> {
    const { overlay, issuer, rootPublic, now } = this.init
    const request: RootRequest = { format: ROOT_REQUEST_FORMAT, version: 1, overlay, issuer, root: rootPublic, nonce: randomBytes(16).toString('base64url'), createdAt: now(), items }
    const text = requestBytes(request)
    await tx.run('INSERT INTO root_requests (nonce, purpose, body, state, created_at) VALUES ($1, $2, $3, \'pending\', $4)', [request.nonce, purpose, text, now()])
    await this.init.audit.append(tx, 'root-request', { nonce: request.nonce, purpose, items: items.map(i => ({ kind: i.kind, publicKey: i.publicKey })) })
    return { purpose, request, text }
  }

  /** The requests still waiting for the root's answer, oldest first. */
  async pending (tx: Pick<SqlTx, 'all'> = this.init.db): Promise<PendingRootRequest[]> {
    const rows = await tx.all<{ purpose: RootRequestPurpose, body: string }>('SELECT purpose, body FROM root_requests WHERE state = \'pending\' ORDER BY created_at, nonce LIMIT 100')
    return rows.map(r => ({ purpose: r.purpose, request: parseRootRequest(r.body), text: r.body }))
  }

  /**
   * Check an answer file against the request this issuer recorded under its
   * nonce: signed by the root, for exactly that request, every certificate
   * for exactly its item. Returns the request (as recorded) and the
   * certificates; `markImportedIn` then makes it single-use.
   */
  async check (text: string): Promise<{ pending: PendingRootRequest, certificates: string[] }> {
    const answer = parseRootAnswer(text)
    if (answer.overlay !== this.init.overlay) {
      throw new IssuerError('invalid-proof', `the root's answer is for overlay ${answer.overlay.slice(0, 64)}, not ${this.init.overlay}`)
    }
    const row = await this.init.db.one<{ purpose: RootRequestPurpose, body: string, state: string }>('SELECT purpose, body, state FROM root_requests WHERE nonce = $1', [answer.nonce])
    if (row == null) {
      throw new IssuerError('invalid-proof', 'the root\'s answer is refused: this issuer made no request with its nonce')
    }
    if (row.state !== 'pending') {
      throw new IssuerError('conflict', 'the root\'s answer is refused: its request was imported already (a replayed answer)')
    }
    const pending = { purpose: row.purpose, request: parseRootRequest(row.body), text: row.body }
    await checkRootAnswer(answer, pending.request, this.init.rootKey)
    return { pending, certificates: answer.certificates }
  }

  /** Under the writer lock: the request is still pending (else a replay, or another replica imported it), and now is not. */
  async markImportedIn (tx: SqlTx, nonce: string): Promise<void> {
    const row = await tx.one<{ state: string }>('SELECT state FROM root_requests WHERE nonce = $1', [nonce])
    if (row?.state !== 'pending') {
      throw new IssuerError('conflict', 'the root\'s answer is refused: its request was imported already (a replayed answer)')
    }
    await tx.run('UPDATE root_requests SET state = \'imported\' WHERE nonce = $1', [nonce])
  }
}

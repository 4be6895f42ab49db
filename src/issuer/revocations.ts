/**
 * k-of-n revocation: an operator opens a request, registered admins approve
 * its exact payload with their keys, and at the k-th distinct approval the
 * peer (and every key re-keyed from it) is revoked and a new revocation
 * list (root-signed, or signed by a root-certified revocation key)
 * published, in one transaction. Approvals gathered on
 * different replicas count together, and list numbers never fork: both are
 * read and written under the writer lock.
 */
import { createHash, randomUUID } from 'node:crypto'
import { peerIdFromString } from '@libp2p/peer-id'
import { signRevocationList } from '../admission/revocation.ts'
import { cloneProofFromJson, cloneProofToJson, verifyCloneProof } from '../core/clone-proof.ts'
import { DOMAINS } from '../core/domains.ts'
import { publicKeyFromRawBytes, verifyDomain } from '../core/keys.ts'
import { b64, unb64 } from './encoding.ts'
import { IssuerError } from './errors.ts'
import { getMeta, setMeta } from './meta.ts'
import type { SignerKey } from '../core/keys.ts'
import type { RevocationRequest } from '../issuer-client/wire.ts'
import type { AuditLog } from './audit-log.ts'
import type { IssuerDb, SqlTx } from './db/sql.ts'

/** How far down a chain of re-keys a revocation follows (each link is one re-key of a revoked key). */
const REKEY_CHAIN_MAX = 64

/** What signs a revocation list: the root, or a revocation key and its root-signed certificate. */
export interface ListSigner {
  key: SignerKey
  certificate?: string
}

export interface RevocationsInit {
  db: IssuerDb
  audit: AuditLog
  /** read in the list's write transaction: another replica may have imported a newer revocation key */
  listSigner: (tx: Pick<SqlTx, 'one'>) => Promise<ListSigner>
  /**
   * Is this admin's registration in force? With an offline root, an admin
   * counts only with a root-signed admin certificate (checked on every
   * approval, so a row written straight into the database is no admin).
   */
  adminCertified?: (publicKey: string, tx: Pick<SqlTx, 'one'>) => Promise<boolean>
  overlay: string
  now: () => number
}

export class Revocations {
  private readonly init: RevocationsInit

  constructor (init: RevocationsInit) {
    this.init = init
  }

  async threshold (tx: Pick<SqlTx, 'one'> = this.init.db): Promise<number> {
    return Number(await getMeta(tx, 'revocation_threshold') ?? '2')
  }

  async setThreshold (k: number): Promise<void> {
    if (!Number.isInteger(k) || k < 1 || k > 100) {
      throw new IssuerError('bad-request', 'threshold must be 1 to 100')
    }
    await this.init.db.transaction(async tx => {
      await setMeta(tx, 'revocation_threshold', String(k))
      await this.init.audit.append(tx, 'threshold', { k })
    })
  }

  async addAdmin (publicKey: string, name: string): Promise<void> {
    const raw = unb64(publicKey, 'admin key', 64)
    if (raw.length !== 32 || typeof name !== 'string' || name.length === 0 || name.length > 64) {
      throw new IssuerError('bad-request', 'an admin needs a raw Ed25519 public key and a name')
    }
    await this.init.db.transaction(async tx => {
      await tx.run('INSERT INTO admins (public_key, name, added_at) VALUES ($1, $2, $3) ON CONFLICT (public_key) DO UPDATE SET name = excluded.name', [publicKey, name, this.init.now()])
      await this.init.audit.append(tx, 'admin-added', { publicKey, name })
    })
  }

  /** The name of a registered admin key (base64url raw Ed25519), or undefined. */
  async adminName (publicKey: string): Promise<string | undefined> {
    const row = await this.init.db.one<{ name: string }>('SELECT name FROM admins WHERE public_key = $1', [publicKey])
    if (row != null && this.init.adminCertified != null && !await this.init.adminCertified(publicKey, this.init.db)) {
      return undefined
    }
    return row?.name
  }

  async request (peerId: string, reason: string): Promise<RevocationRequest> {
    try {
      peerIdFromString(peerId)
    } catch {
      throw new IssuerError('bad-request', 'not a PeerId')
    }
    if (typeof reason !== 'string' || reason.length === 0 || reason.length > 200) {
      throw new IssuerError('bad-request', 'a revocation needs a reason of 1–200 characters')
    }
    const id = randomUUID()
    const payload = JSON.stringify({ overlay: this.init.overlay, action: 'revoke', peerId, reason, request: id })
    await this.init.db.transaction(async tx => {
      await tx.run('INSERT INTO revocation_requests (id, peer_id, reason, payload, state, created_at) VALUES ($1, $2, $3, $4, \'pending\', $5)', [id, peerId, reason, payload, this.init.now()])
      await this.init.audit.append(tx, 'revocation-requested', { id, peerId, reason })
    })
    return await this.get(id)
  }

  /**
   * A proof that a peer cloned a Cyclon descriptor, offered by a node as
   * grounds for revoking it (src/core/clone-proof.ts): checked here on its
   * own (two hand-overs of one descriptor, both signed by the cloner), then a
   * revocation request for the cloner is opened, with the proof in the audit
   * log, for admins to approve like any other. The one request already open
   * for that peer on such grounds is answered instead: many nodes offer
   * proofs of one cloner. A cloner that is not a member is `not-found`; one
   * already revoked, a `conflict`.
   */
  async fromCloneProof (json: unknown): Promise<RevocationRequest> {
    let cloner: string
    let proof
    try {
      proof = cloneProofFromJson(json)
      cloner = verifyCloneProof(proof)
    } catch (err: any) {
      throw new IssuerError('invalid-proof', `not a clone proof that verifies: ${String(err?.message ?? err).slice(0, 200)}`)
    }
    const evidence = cloneProofToJson(proof)
    const digest = createHash('sha256').update(JSON.stringify(evidence)).digest('hex').slice(0, 16)
    const reason = `cloned a ${proof.type} descriptor of ${proof.subject} (proof ${digest})`
    const id = await this.init.db.transaction(async tx => {
      // a proof pins a clone on whoever signed two hand-overs, and any key
      // can sign: only a member's is grounds (a throwaway key's would only
      // fill the request list and the audit log)
      if (await tx.one('SELECT 1 AS m FROM members WHERE peer_id = $1', [cloner]) == null) {
        throw new IssuerError('not-found', 'the peer the proof names as the cloner is not a member of this overlay')
      }
      if (await this.isRevoked(cloner, tx)) {
        throw new IssuerError('conflict', 'that peer is already revoked')
      }
      const open = await tx.one<{ id: string }>('SELECT id FROM revocation_requests WHERE peer_id = $1 AND state = \'pending\' AND reason LIKE \'cloned a %\' ORDER BY created_at LIMIT 1', [cloner])
      if (open != null) {
        return open.id
      }
      const id = randomUUID()
      const payload = JSON.stringify({ overlay: this.init.overlay, action: 'revoke', peerId: cloner, reason, request: id })
      await tx.run('INSERT INTO revocation_requests (id, peer_id, reason, payload, state, created_at) VALUES ($1, $2, $3, $4, \'pending\', $5)', [id, cloner, reason, payload, this.init.now()])
      await this.init.audit.append(tx, 'revocation-requested', { id, peerId: cloner, reason, proof: evidence })
      return id
    })
    return await this.get(id)
  }

  /** The requests awaiting approval, oldest first (at most 1,000). */
  async pending (): Promise<RevocationRequest[]> {
    const rows = await this.init.db.all<{ id: string }>('SELECT id FROM revocation_requests WHERE state = \'pending\' ORDER BY created_at, id LIMIT 1000')
    const out: RevocationRequest[] = []
    for (const r of rows) {
      out.push(await this.get(r.id))
    }
    return out
  }

  async get (id: string, tx: Pick<SqlTx, 'one'> = this.init.db): Promise<RevocationRequest> {
    const row = await tx.one<{ id: string, peer_id: string, reason: string, payload: string, state: 'pending' | 'done', n: number }>('SELECT id, peer_id, reason, payload, state, (SELECT COUNT(*) FROM approvals WHERE request_id = $1) AS n FROM revocation_requests WHERE id = $1', [id])
    if (row == null) {
      throw new IssuerError('not-found', 'no such revocation request')
    }
    return { id: row.id, peerId: row.peer_id, reason: row.reason, payload: b64(Buffer.from(row.payload)), approvals: Number(row.n), threshold: await this.threshold(tx), state: row.state }
  }

  /**
   * Record one admin's approval: a signature by a registered admin key over
   * the request's exact payload. At k distinct valid approvals the peer is
   * revoked and a new revocation list is published, in the same
   * transaction: the request is acknowledged only once its list is durable.
   */
  async approve (id: string, adminKey: string, signature: string): Promise<RevocationRequest> {
    const { db, audit, now } = this.init
    const request = await this.get(id)
    const admin = await this.adminName(adminKey)
    const raw = unb64(adminKey, 'admin key', 64)
    const sig = unb64(signature, 'signature', 128)
    const signed = raw.length === 32 && verifyDomain(publicKeyFromRawBytes(raw), sig, DOMAINS.revocationApproval, Buffer.from(request.payload, 'base64url'))
    if (admin == null || !signed) {
      await db.transaction(async tx => { await audit.append(tx, 'approval-refused', { id, adminKey }) })
      // the key's own holder (its signature verifies) learns that it is not
      // registered, which it needs to fix it; anyone else learns nothing
      if (signed) {
        throw new IssuerError('not-admin', 'this key is not a registered admin of this issuer: register it with `tempus issuer admin add` on the issuer host, then approve again')
      }
      throw new IssuerError('invalid-proof', 'not a valid approval by a registered admin for this payload')
    }
    return await db.transaction(async tx => {
      await tx.run('INSERT INTO approvals (request_id, admin_key, signature, at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [id, adminKey, signature, now()])
      await audit.append(tx, 'approval', { id, admin })
      // read under the writer lock: every replica's approvals are in
      const current = await this.get(id, tx)
      if (current.state !== 'pending' || current.approvals < current.threshold) {
        return current
      }
      await tx.run('UPDATE revocation_requests SET state = \'done\' WHERE id = $1', [id])
      await this.revokeIn(tx, request.peerId, request.reason, { request: id, approvals: current.approvals })
      // the keys re-keyed from it (a thief holding the old key may have moved first)
      for (const successor of await this.rekeyedFrom(tx, request.peerId)) {
        await this.revokeIn(tx, successor, `re-keyed from ${request.peerId}`, { from: request.peerId, request: id })
      }
      await this.publishListIn(tx, `request ${id}`)
      return await this.get(id, tx)
    })
  }

  /** Put `peerId` on the revoked set, audited, in the caller's transaction (the caller publishes the list). */
  async revokeIn (tx: SqlTx, peerId: string, reason: string, detail: Record<string, unknown> = {}): Promise<void> {
    await tx.run('INSERT INTO revoked (peer_id, reason, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [peerId, reason, this.init.now()])
    await this.init.audit.append(tx, 'revoke', { peerId, reason, ...detail })
  }

  /** The keys re-keyed from `peerId`, directly or down a chain (bounded). */
  private async rekeyedFrom (tx: SqlTx, peerId: string): Promise<string[]> {
    const out: string[] = []
    let from = peerId
    for (let depth = 0; depth < REKEY_CHAIN_MAX; depth++) {
      const next = await tx.one<{ new_peer_id: string }>('SELECT new_peer_id FROM rekeys WHERE old_peer_id = $1', [from])
      if (next == null || out.includes(next.new_peer_id)) {
        break
      }
      out.push(next.new_peer_id)
      from = next.new_peer_id
    }
    return out
  }

  /** Sign a new revocation list with the next number. */
  async publishList (why: string): Promise<{ n: number, jws: string }> {
    return await this.init.db.transaction(async tx => await this.publishListIn(tx, why))
  }

  /** In a write transaction: the next number and the list it covers are read and written under the writer lock, so numbers never fork across replicas. */
  async publishListIn (tx: SqlTx, why: string): Promise<{ n: number, jws: string }> {
    const { overlay, audit, now } = this.init
    const signer = await this.init.listSigner(tx)
    const revoked = (await tx.all<{ peer_id: string, reason: string, at: number }>('SELECT peer_id, reason, at FROM revoked ORDER BY at, peer_id'))
      .map(r => ({ sub: r.peer_id, reason: r.reason, at: Math.floor(Number(r.at) / 1000) }))
    const last = await tx.one<{ n: number | null }>('SELECT MAX(n) AS n FROM crls')
    const n = last?.n == null ? 1 : Number(last.n) + 1
    const jws = await signRevocationList(signer.key, overlay, n, revoked, now(), signer.certificate)
    await tx.run('INSERT INTO crls (n, jws, created_at) VALUES ($1, $2, $3)', [n, jws, now()])
    await audit.append(tx, 'crl', { n, entries: revoked.length, why })
    return { n, jws }
  }

  async list (): Promise<{ n: number, jws: string }> {
    const row = await this.init.db.one<{ n: number, jws: string }>('SELECT n, jws FROM crls ORDER BY n DESC LIMIT 1')
    if (row == null) {
      throw new IssuerError('not-initialised', 'no revocation list yet')
    }
    return { n: Number(row.n), jws: row.jws }
  }

  async isRevoked (peerId: string, tx: Pick<SqlTx, 'one'> = this.init.db): Promise<boolean> {
    return await tx.one('SELECT 1 AS r FROM revoked WHERE peer_id = $1', [peerId]) != null
  }
}

/**
 * The append-only audit log: every issuer decision is a leaf of an RFC 6962
 * Merkle tree; signed checkpoints (size, root) let nodes and admins check
 * that history was only ever appended to.
 */
import { DOMAINS } from '../admission/constants.ts'
import { signDomain, verifyDomain } from '../admission/keys.ts'
import { consistencyProof, inclusionProof, leafHash, rootOf, verifyConsistency } from './merkle.ts'
import type { Hash } from './merkle.ts'
import type { KeyObject } from 'node:crypto'
import type { DatabaseSync } from 'node:sqlite'

export interface AuditEntry {
  i: number
  at: number
  kind: string
  data: Record<string, unknown>
}

export interface Checkpoint {
  size: number
  root: string
  signature: string
  at: number
}

export interface AuditVerification {
  ok: boolean
  size: number
  checkpoints: number
  problems: string[]
}

function checkpointBytes (size: number, root: Uint8Array): Uint8Array {
  const s = Buffer.alloc(8)
  s.writeBigUInt64BE(BigInt(size))
  return Buffer.concat([s, root])
}

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url')
const unb64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64url'))

export class AuditLog {
  private readonly db: DatabaseSync
  private readonly key: KeyObject
  private readonly now: () => number
  private leaves: Hash[] | undefined
  private readonly insert
  private readonly count

  constructor (db: DatabaseSync, signingKey: KeyObject, now: () => number) {
    this.db = db
    this.key = signingKey
    this.now = now
    this.insert = db.prepare('INSERT INTO audit (idx, entry, leaf_hash) VALUES (?, ?, ?)')
    // MAX on the primary key is a walk to the end of the b-tree; COUNT(*) would scan every row
    this.count = db.prepare('SELECT COALESCE(MAX(idx) + 1, 0) AS n FROM audit')
  }

  get size (): number {
    return Number((this.count.get() as { n: number | bigint }).n)
  }

  /** Append a decision; call inside the transaction that makes the decision. */
  append (kind: string, data: Record<string, unknown>): number {
    const i = this.size
    const entry: AuditEntry = { i, at: this.now(), kind, data }
    const text = JSON.stringify(entry)
    const hash = leafHash(Buffer.from(text, 'utf8'))
    this.insert.run(i, text, hash)
    this.leaves?.push(hash)
    return i
  }

  entries (from = 0, limit = 1000): AuditEntry[] {
    const rows = this.db.prepare('SELECT entry FROM audit WHERE idx >= ? ORDER BY idx LIMIT ?').all(from, limit) as Array<{ entry: string }>
    return rows.map(r => JSON.parse(r.entry) as AuditEntry)
  }

  private allLeaves (): Hash[] {
    if (this.leaves == null || this.leaves.length !== this.size) {
      const rows = this.db.prepare('SELECT leaf_hash FROM audit ORDER BY idx').all() as Array<{ leaf_hash: Uint8Array }>
      this.leaves = rows.map(r => new Uint8Array(r.leaf_hash))
    }
    return this.leaves
  }

  /** Sign (size, root) of the log as it is now. */
  checkpoint (): Checkpoint {
    const leaves = this.allLeaves()
    const root = rootOf(leaves)
    const signature = signDomain(this.key, DOMAINS.checkpoint, checkpointBytes(leaves.length, root))
    const at = this.now()
    this.db.prepare('INSERT INTO checkpoints (size, root, signature, at) VALUES (?, ?, ?, ?) ON CONFLICT(size) DO NOTHING').run(leaves.length, root, signature, at)
    const row = this.db.prepare('SELECT size, root, signature, at FROM checkpoints WHERE size = ?').get(leaves.length) as { size: number, root: Uint8Array, signature: Uint8Array, at: number }
    return { size: row.size, root: b64(row.root), signature: b64(row.signature), at: row.at }
  }

  checkpoints (): Checkpoint[] {
    const rows = this.db.prepare('SELECT size, root, signature, at FROM checkpoints ORDER BY size').all() as Array<{ size: number, root: Uint8Array, signature: Uint8Array, at: number }>
    return rows.map(r => ({ size: Number(r.size), root: b64(r.root), signature: b64(r.signature), at: Number(r.at) }))
  }

  inclusion (index: number, size?: number): string[] {
    const leaves = this.allLeaves().slice(0, size ?? this.size)
    return inclusionProof(index, leaves).map(b64)
  }

  consistency (m: number, n: number): string[] {
    const leaves = this.allLeaves()
    if (n > leaves.length) {
      throw new RangeError(`the log has ${leaves.length} entries, not ${n}`)
    }
    return consistencyProof(m, leaves.slice(0, n)).map(b64)
  }

  /**
   * Recompute every leaf from the stored entries, check each checkpoint's
   * signature and root, and the consistency of each checkpoint with the next.
   */
  verify (publicKey: KeyObject): AuditVerification {
    const problems: string[] = []
    const rows = this.db.prepare('SELECT idx, entry, leaf_hash FROM audit ORDER BY idx').all() as Array<{ idx: number, entry: string, leaf_hash: Uint8Array }>
    const leaves: Hash[] = []
    rows.forEach((row, position) => {
      const recomputed = leafHash(Buffer.from(row.entry, 'utf8'))
      if (Number(row.idx) !== position) {
        problems.push(`entry ${position} is stored at index ${row.idx}`)
      }
      if (b64(recomputed) !== b64(new Uint8Array(row.leaf_hash))) {
        problems.push(`entry ${position} does not match its leaf hash`)
      }
      leaves.push(recomputed)
    })
    const checkpoints = this.checkpoints()
    let previous: { size: number, root: Uint8Array } | undefined
    for (const cp of checkpoints) {
      const root = unb64(cp.root)
      if (!verifyDomain(publicKey, unb64(cp.signature), DOMAINS.checkpoint, checkpointBytes(cp.size, root))) {
        problems.push(`checkpoint ${cp.size} has a bad signature`)
      }
      if (cp.size > leaves.length) {
        problems.push(`checkpoint ${cp.size} is beyond the log (${leaves.length} entries)`)
        continue
      }
      if (b64(rootOf(leaves.slice(0, cp.size))) !== cp.root) {
        problems.push(`checkpoint ${cp.size} root does not match the entries`)
      }
      if (previous != null && previous.size > 0 && !verifyConsistency(previous.size, cp.size, previous.root, root, consistencyProof(previous.size, leaves.slice(0, cp.size)))) {
        problems.push(`checkpoint ${cp.size} is not consistent with checkpoint ${previous.size}`)
      }
      previous = { size: cp.size, root }
    }
    return { ok: problems.length === 0, size: leaves.length, checkpoints: checkpoints.length, problems }
  }
}

/** A client's check: does checkpoint `b` extend checkpoint `a` (given the issuer's proof)? */
export function checkpointsConsistent (a: Checkpoint, b: Checkpoint, proof: string[], publicKey: KeyObject): boolean {
  const ok = (cp: Checkpoint): boolean => verifyDomain(publicKey, unb64(cp.signature), DOMAINS.checkpoint, checkpointBytes(cp.size, unb64(cp.root)))
  if (!ok(a) || !ok(b)) {
    return false
  }
  return verifyConsistency(a.size, b.size, unb64(a.root), unb64(b.root), proof.map(unb64))
}

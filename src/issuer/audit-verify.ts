/**
 * The admin's full audit of the log (`tempus issuer audit verify`), and a
 * client's check that one checkpoint extends another.
 */
import { DOMAINS } from '../core/domains.ts'
import { verifyDomain } from '../core/keys.ts'
import { b64, checkpointBytes, completingRow, SQL, sameBytes, scan, subtreeOf, subtreesColumn, toCheckpoint, unb64 } from './audit-rows.ts'
import { CompactRange, leafHash, verifyConsistency } from './merkle.ts'
import type { Checkpoint } from '../issuer-client/wire.ts'
import type { CheckpointRow, NodeRow } from './audit-rows.ts'
import type { SqlTx } from './db/sql.ts'
import type { KeyObject } from 'node:crypto'

export interface AuditVerification {
  ok: boolean
  size: number
  checkpoints: number
  problems: string[]
}

/** Problems `verifyAuditLog` lists one by one before it only counts them. */
const PROBLEMS_LISTED_MAX = 100

/**
 * The admin's full audit, in one pass over the entries (a page at a time):
 * recompute every leaf from its entry, every stored subtree from the
 * leaves, and the root at every checkpoint's size; check each
 * checkpoint's signature. Roots that all match one recomputed sequence of
 * leaves are consistent with each other by construction, so that is what
 * "consistent" means here; the served consistency proofs come from the
 * stored subtrees, which are checked node by node.
 */
export async function verifyAuditLog (db: Pick<SqlTx, 'all' | 'one'>, publicKey: KeyObject): Promise<AuditVerification> {
  const problems: string[] = []
  let unlisted = 0
  const problem = (p: string): void => {
    if (problems.length < PROBLEMS_LISTED_MAX) {
      problems.push(p)
    } else {
      unlisted++
    }
  }
  const checkpoints = scan<CheckpointRow>(db, SQL.checkpointPage, r => Number(r.size))
  let checkpointCount = 0
  let next = await checkpoints.next()
  const checkCheckpointsUpTo = async (range: CompactRange): Promise<void> => {
    while (next.done !== true && Number(next.value.size) <= range.size) {
      const cp = toCheckpoint(next.value)
      checkpointCount++
      if (!verifyDomain(publicKey, unb64(cp.signature), DOMAINS.checkpoint, checkpointBytes(cp.size, unb64(cp.root)))) {
        problem(`checkpoint ${cp.size} has a bad signature`)
      }
      if (cp.size === range.size && b64(range.root()) !== cp.root) {
        problem(`checkpoint ${cp.size} root does not match the entries`)
      }
      next = await checkpoints.next()
    }
  }
  const range = CompactRange.empty()
  await checkCheckpointsUpTo(range)
  for await (const row of scan<NodeRow & { entry: string }>(db, SQL.rowPage, r => Number(r.idx))) {
    const position = range.size
    const recomputed = leafHash(Buffer.from(row.entry, 'utf8'))
    if (Number(row.idx) !== position) {
      problem(`entry ${position} is stored at index ${row.idx}`)
    }
    if (!(row.leaf_hash instanceof Uint8Array) || !sameBytes(recomputed, row.leaf_hash)) {
      problem(`entry ${position} does not match its leaf hash`)
    }
    const completed = range.append(recomputed)
    const stored = row.subtrees instanceof Uint8Array ? row.subtrees : new Uint8Array(0)
    if (!sameBytes(subtreesColumn(completed) ?? new Uint8Array(0), stored)) {
      for (const node of completed) {
        const held = subtreeOf(await db.one<NodeRow>(SQL.row, [completingRow(node.level, node.index)]), node.level)
        if (held == null) {
          problem(`tree node (level ${node.level}, index ${node.index}) is missing`)
        } else if (!sameBytes(held, node.hash)) {
          problem(`tree node (level ${node.level}, index ${node.index}) does not match the entries`)
        }
      }
      if (stored.length > completed.length * 32 || (row.subtrees != null && !(row.subtrees instanceof Uint8Array))) {
        problem(`entry ${position} stores more subtrees than it completes`)
      }
    }
    await checkCheckpointsUpTo(range)
  }
  for (; next.done !== true; next = await checkpoints.next()) {
    checkpointCount++
    problem(`checkpoint ${Number(next.value.size)} is beyond the log (${range.size} entries)`)
  }
  if (unlisted > 0) {
    problems.push(`and ${unlisted} more problems`)
  }
  return { ok: problems.length === 0, size: range.size, checkpoints: checkpointCount, problems }
}

/** A client's check: does checkpoint `b` extend checkpoint `a` (given the issuer's proof)? */
export function checkpointsConsistent (a: Checkpoint, b: Checkpoint, proof: string[], publicKey: KeyObject): boolean {
  const ok = (cp: Checkpoint): boolean => verifyDomain(publicKey, unb64(cp.signature), DOMAINS.checkpoint, checkpointBytes(cp.size, unb64(cp.root)))
  if (!ok(a) || !ok(b)) {
    return false
  }
  return verifyConsistency(a.size, b.size, unb64(a.root), unb64(b.root), proof.map(unb64))
}

/**
 * A member moving to a new identity key: the old key proves it holds the
 * credential, the new key proves possession of itself, both over one fresh
 * challenge and the new key. The new PeerId becomes a member of the same
 * type with a credential of its own; the old PeerId is revoked when the new
 * one first fetches a token (so a node whose re-key answer was lost is not
 * locked out, and asks again). One re-key per old key: a second to another
 * new key is refused (`conflict`), since two claimants of one credential
 * are a leak in progress. Revoking either revokes the keys re-keyed from it
 * too (`revocations.ts`).
 */
import { DOMAINS } from '../core/domains.ts'
import { peerIdOfRaw, publicKeyFromRawBytes, verifyDomain } from '../core/keys.ts'
import { challengeMessage } from '../issuer-client/wire.ts'
import { unb64 } from './encoding.ts'
import { IssuerError } from './errors.ts'
import type { RekeyRequest, RekeyResult } from '../issuer-client/wire.ts'
import type { AuditLog } from './audit-log.ts'
import type { IssuerDb } from './db/sql.ts'
import type { Members } from './members.ts'
import type { Revocations } from './revocations.ts'

export interface RekeysInit {
  db: IssuerDb
  audit: AuditLog
  members: Members
  revocations: Revocations
  /** told when a new key fetched its first token and the old one was revoked */
  onDone?: (newPeerId: string) => void
}

export class Rekeys {
  private readonly init: RekeysInit

  constructor (init: RekeysInit) {
    this.init = init
  }

  async rekey (req: RekeyRequest, beforeIssue?: (peerId: string) => void): Promise<RekeyResult> {
    const { db, audit, members, revocations } = this.init
    const newKey = unb64(req?.publicKey, 'publicKey', 64)
    if (newKey.length !== 32) {
      throw new IssuerError('bad-request', 'publicKey must be a raw Ed25519 key')
    }
    const newSignature = unb64(req.newSignature, 'newSignature', 128)
    const { sub, typ, now, challenge } = await members.verify(req, 'rekey', newKey)
    if (!verifyDomain(publicKeyFromRawBytes(newKey), newSignature, DOMAINS.issuerChallenge, ...challengeMessage('rekey-new', challenge, newKey))) {
      throw new IssuerError('invalid-proof', 'the new key\'s signature does not prove possession of it')
    }
    const peerId = peerIdOfRaw(newKey)
    if (peerId === sub) {
      throw new IssuerError('bad-request', 'the new key is the old one')
    }
    beforeIssue?.(sub)
    const credential = await members.signCredential(peerId, typ, now)
    await db.transaction(async tx => {
      if (await revocations.isRevoked(peerId, tx)) {
        throw new IssuerError('revoked', 'the new key is revoked')
      }
      const earlier = await tx.one<{ new_peer_id: string }>('SELECT new_peer_id FROM rekeys WHERE old_peer_id = $1', [sub])
      if (earlier != null && earlier.new_peer_id !== peerId) {
        await audit.append(tx, 'rekey-refused', { from: sub, to: peerId, earlier: earlier.new_peer_id })
        return
      }
      if (earlier == null) {
        await tx.run('INSERT INTO rekeys (old_peer_id, new_peer_id, state, at) VALUES ($1, $2, \'pending\', $3)', [sub, peerId, now])
      }
      await tx.run('INSERT INTO members (peer_id, typ, enrolled_at) VALUES ($1, $2, $3) ON CONFLICT (peer_id) DO UPDATE SET typ = excluded.typ', [peerId, typ, now])
      await audit.append(tx, 'rekey', earlier == null ? { from: sub, to: peerId, typ } : { from: sub, to: peerId, typ, repeated: true })
    })
    const taken = await db.one<{ new_peer_id: string }>('SELECT new_peer_id FROM rekeys WHERE old_peer_id = $1', [sub])
    if (taken?.new_peer_id !== peerId) {
      throw new IssuerError('conflict', 'this credential was already re-keyed to another key; if that was not you, the old key has leaked: revoke it')
    }
    return { peerId, typ, credential, expiresAt: members.expiryOf(now) }
  }

  /** The new key of a re-key fetched its first token: revoke the old one, publish the list. */
  async complete (newPeerId: string): Promise<void> {
    const { db, revocations } = this.init
    let done = false
    await db.transaction(async tx => {
      const row = await tx.one<{ old_peer_id: string }>('SELECT old_peer_id FROM rekeys WHERE new_peer_id = $1 AND state = \'pending\'', [newPeerId])
      if (row == null) {
        return
      }
      await tx.run('UPDATE rekeys SET state = \'done\' WHERE new_peer_id = $1', [newPeerId])
      await revocations.revokeIn(tx, row.old_peer_id, 'rekeyed', { to: newPeerId })
      await revocations.publishListIn(tx, `rekey to ${newPeerId}`)
      done = true
    })
    if (done) {
      this.init.onDone?.(newPeerId)
    }
  }
}

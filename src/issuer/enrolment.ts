/**
 * Enrolment with one-time codes: a code (kept only as its hash, with a type,
 * a number of uses and a lifetime), the node's key proven on a fresh
 * challenge, optional attestation evidence → a membership credential.
 * Every condition that can refuse an enrolment is checked before the code
 * counts a use, and the use is taken in the same transaction that records
 * the member: a refused enrolment never spends a code.
 */
import { randomBytes } from 'node:crypto'
import { DOMAINS } from '../core/domains.ts'
import { peerIdOfRaw, publicKeyFromRawBytes, verifyDomain } from '../core/keys.ts'
import { isPeerType } from '../core/peer-type.ts'
import { challengeMessage } from '../issuer-client/wire.ts'
import { attestationVerdict } from './attestation.ts'
import { sha256hex, unb64 } from './encoding.ts'
import { IssuerError } from './errors.ts'
import type { PeerType } from '../core/peer-type.ts'
import type { EnrollRequest } from '../issuer-client/wire.ts'
import type { AttestationVerifier } from './attestation.ts'
import type { AuditLog } from './audit-log.ts'
import type { ChallengeBook } from './challenge.ts'
import type { IssuerDb } from './db/sql.ts'
import type { Members } from './members.ts'
import type { Revocations } from './revocations.ts'

/** a verifier's boolean as a verdict: a bare `false` is refused as `attestation` */
export interface EnrolmentInit {
  db: IssuerDb
  audit: AuditLog
  members: Members
  revocations: Revocations
  challenges: ChallengeBook
  attestation: AttestationVerifier
  now: () => number
}

/** An enrolment that passed: the member, and its new credential. */
export interface Enrolled {
  peerId: string
  typ: PeerType
  credential: string
}

export class Enrolment {
  private readonly init: EnrolmentInit

  constructor (init: EnrolmentInit) {
    this.init = init
  }

  async createCode (typ: PeerType, uses = 1, expiresInMs = 3_600_000): Promise<string> {
    if (!isPeerType(typ) || !Number.isInteger(uses) || uses < 1 || uses > 10_000 || !(expiresInMs > 0)) {
      throw new IssuerError('bad-request', 'a code needs a type, 1–10000 uses and a positive lifetime')
    }
    const code = randomBytes(16).toString('base64url')
    const now = this.init.now()
    await this.init.db.transaction(async tx => {
      await tx.run('INSERT INTO codes (code_hash, typ, uses_left, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)', [sha256hex(code), typ, uses, now + expiresInMs, now])
      await this.init.audit.append(tx, 'code', { code: sha256hex(code).slice(0, 16), typ, uses, expiresAt: now + expiresInMs })
    })
    return code
  }

  async enroll (req: EnrollRequest): Promise<Enrolled> {
    const { db, audit, members, revocations, challenges, attestation } = this.init
    if (typeof req?.code !== 'string' || req.code.length > 64) {
      throw new IssuerError('bad-request', 'code must be a string')
    }
    if (req.typ != null && !isPeerType(req.typ)) {
      throw new IssuerError('bad-request', 'typ must be edge, bridge or sentinel')
    }
    const publicKey = unb64(req.publicKey, 'publicKey', 64)
    if (publicKey.length !== 32) {
      throw new IssuerError('bad-request', 'publicKey must be a raw Ed25519 key')
    }
    const challenge = unb64(req.challenge, 'challenge', 128)
    const signature = unb64(req.signature, 'signature', 128)
    if (!verifyDomain(publicKeyFromRawBytes(publicKey), signature, DOMAINS.issuerChallenge, ...challengeMessage('enroll', challenge))) {
      throw new IssuerError('invalid-proof', 'the signature does not prove possession of the key')
    }
    const peerId = peerIdOfRaw(publicKey)
    const codeHash = sha256hex(req.code)
    // a code with uses left, or one whose use already went to this very key
    // (a repeated request: its answer was lost)
    const row = await db.one<{ typ: PeerType }>('SELECT typ FROM codes WHERE code_hash = $1 AND expires_at > $2 AND (uses_left > 0 OR EXISTS (SELECT 1 FROM code_uses WHERE code_uses.code_hash = codes.code_hash AND peer_id = $3))', [codeHash, this.init.now(), peerId])
    if (row == null) {
      throw new IssuerError('invalid-code', 'the enrolment code is not valid')
    }
    const typ = req.typ ?? row.typ
    if (typ !== row.typ) {
      await db.transaction(async tx => { await audit.append(tx, 'enroll-refused', { peerId, reason: 'wrong-type', code: codeHash.slice(0, 16), asked: typ }) })
      throw new IssuerError('wrong-type', `the code is not for a node of type ${typ}; it was not used; ask for a code of type ${typ}`)
    }
    const verdict = await attestationVerdict(attestation, req.attestation, { publicKey, challenge, typ })
    if (!verdict.ok) {
      // the check that failed goes to the audit log; the node learns only attestation-failed
      await db.transaction(async tx => { await audit.append(tx, 'enroll-refused', { peerId, reason: 'attestation', attestation: attestation.kind, detail: verdict.reason }) })
      throw new IssuerError('attestation-failed', 'the attestation evidence was not accepted')
    }
    // the challenge is spent only now, under the binding the verifier found
    // (a sealed challenge redeems only for the device it was sealed for), and
    // only a code holder gets this far, so each refusal is audited: a replay
    // is `challenge-used`
    const redeemed = challenges.redeemFor(challenge, verdict.binding)
    if (redeemed !== 'ok') {
      await db.transaction(async tx => { await audit.append(tx, 'enroll-refused', { peerId, reason: `challenge-${redeemed}` }) })
      throw new IssuerError('invalid-challenge', 'the challenge is unknown, used or stale; ask for a new one')
    }
    if (await revocations.isRevoked(peerId)) {
      throw new IssuerError('revoked', 'this key is revoked')
    }
    const now = this.init.now()
    const credential = await members.signCredential(peerId, typ, now)
    // the use is consumed atomically, under every condition checked above
    // (type, lifetime, uses left, not revoked): of N concurrent enrolments
    // with a one-use code, on any number of replicas, exactly one sees one
    // row changed by the conditional UPDATE, and a condition that changed
    // meanwhile (a revocation, the code's expiry) spends nothing
    await db.transaction(async tx => {
      if (await revocations.isRevoked(peerId, tx)) {
        throw new IssuerError('revoked', 'this key is revoked')
      }
      const repeated = await tx.one('SELECT 1 AS u FROM code_uses WHERE code_hash = $1 AND peer_id = $2', [codeHash, peerId]) != null
      if (!repeated) {
        const used = await tx.run('UPDATE codes SET uses_left = uses_left - 1 WHERE code_hash = $1 AND typ = $2 AND uses_left > 0 AND expires_at > $3', [codeHash, typ, now])
        if (used !== 1) {
          throw new IssuerError('invalid-code', 'the enrolment code is not valid')
        }
        await tx.run('INSERT INTO code_uses (code_hash, peer_id, at) VALUES ($1, $2, $3)', [codeHash, peerId, now])
      }
      await tx.run('INSERT INTO members (peer_id, typ, enrolled_at) VALUES ($1, $2, $3) ON CONFLICT (peer_id) DO UPDATE SET typ = excluded.typ, enrolled_at = excluded.enrolled_at', [peerId, typ, now])
      await audit.append(tx, 'enroll', repeated ? { peerId, typ, attestation: attestation.kind, repeated: true } : { peerId, typ, attestation: attestation.kind })
    })
    return { peerId, typ, credential }
  }
}

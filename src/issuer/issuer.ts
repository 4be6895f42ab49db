/**
 * The issuer (the producer): enrolment with one-time codes, short-lived
 * tokens against a credential and a proof of possession, strict signing-key
 * rotation under a long-term root key, k-of-n revocation, and an audit log
 * of every decision. Transport-free: `http.ts` serves it, the CLI drives it.
 *
 * Its state is in a database behind the storage port (`db/`): a node:sqlite
 * file by default, or PostgreSQL shared by any number of replicas. Nothing
 * a decision depends on is cached across requests unless a write
 * transaction re-checks it (the signing epoch), so replicas agree.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { Counter, Registry } from 'prom-client'
import { JWT_TYPE_CREDENTIAL, TOKEN_TTL_DEFAULT_MS, TOKEN_TTL_MAX_MS, TOKEN_TTL_MIN_MS } from '../admission/constants.ts'
import { DOMAINS } from '../core/domains.ts'
import { signKeyCertificate } from '../admission/key-certificate.ts'
import { generateEd25519, peerIdOfRaw, privateKeyFromPem, privateKeyToPem, publicKeyFromRawBytes, rawPublicKey, verifyDomain } from '../core/keys.ts'
import { signRevocationList } from '../admission/revocation.ts'
import { signToken, verifyTokenSignature } from '../admission/token.ts'
import { seal, unseal } from '../identity/seal.ts'
import { isPeerType } from '../core/peer-type.ts'
import { noAttestation } from './attestation.ts'
import { AuditLog } from './audit-log.ts'
import { ChallengeBook } from './challenge.ts'
import { IssuerError } from './errors.ts'
import { GroupCommit } from './group-commit.ts'
import { parseIssuerUrls } from '../issuer-client/issuer-url.ts'
import { ISSUER_DB, openIssuerStore, readStorePointer } from './db/store-location.ts'
export { ISSUER_DB }
import { readMarker } from '../storage/index.ts'
import { TwinWatch } from './twins.ts'
import { VerifiedCredentials } from './verified-credentials.ts'
import type { VerifiedCredential } from './verified-credentials.ts'
import type { SigningKey } from '../admission/token.ts'
import type { PeerType } from '../core/peer-type.ts'
import type { AttestationVerifier } from './attestation.ts'
import type { TwinReport } from './twins.ts'
import type { Ed25519KeyPair } from '../core/keys.ts'
import type { IssuerDb, SqlTx } from './db/sql.ts'
import { challengeMessage } from '../issuer-client/wire.ts'
import type { ChallengePurpose, EnrollRequest, EnrollResult, KeySet, OverlayConfig, RekeyRequest, RekeyResult, RenewRequest, RenewResult, RevocationRequest, TokenRequest, TokenResult } from '../issuer-client/wire.ts'
export { challengeMessage }
export type { ChallengePurpose, EnrollRequest, EnrollResult, KeySet, OverlayConfig, RekeyRequest, RekeyResult, RenewRequest, RenewResult, RevocationRequest, TokenRequest, TokenResult }

const SEAL_LABEL = 'tempus-mesh issuer key v1'
const CREDENTIAL_KID = 'credential'

export interface IssuerOpenOptions {
  dir: string
  passphrase: string
  /**
   * where the state is: `sqlite` (the file `issuer.db` in `dir`) or a
   * `postgres://USER@HOST:PORT/DATABASE` URL shared by replicas (the
   * password in PGPASSWORD or ~/.pgpass). Default: what `issuer init`
   * recorded in `dir`, else sqlite.
   */
  store?: string
  /** told of database errors on idle connections (PostgreSQL); never given secrets */
  onStoreError?: (err: Error) => void
  now?: () => number
  attestation?: AttestationVerifier
  /** scrypt cost for sealing keys (tests lower it) */
  scryptN?: number
  /** token lifetime, 2–5 minutes */
  tokenTtlMs?: number
  /** credential lifetime */
  credentialTtlMs?: number
  /**
   * Refuse (`twin`) token requests from the newer of two client instances
   * that refresh one credential within a token lifetime. Off by default: a
   * node restarted within one token lifetime after a kill (crash, OOM, power
   * cut) is indistinguishable from a twin until the old process is seen
   * again, so refusal would keep an honest restarted node out for up to one
   * token lifetime. Twins are always audited and counted.
   * @default false
   */
  refuseTwins?: boolean
  /** where the issuer's metrics are registered (`tempus_issuer_*`); its own registry by default */
  metrics?: Registry
  /** told of every twin report (for the operator's log); never given secrets */
  onTwin?: (event: TwinEvent) => void
  /** told when a re-keyed member's new key fetched its first token and the old key was revoked */
  onRekeyDone?: (newPeerId: string) => void
}

/** A twin report as audited: instances appear only as short hashes. */
export interface TwinEvent {
  peerId: string
  stage: TwinReport['stage']
  older: string
  newer: string
  olderSeenMsAgo: number
  /** the newer instance is refused (`refuseTwins`) */
  newerRefused: boolean
}

export interface IssuerInitOptions extends IssuerOpenOptions {
  overlay: string
  issuerId?: string
  bootstrap?: string[]
  /** approvals needed to revoke */
  revocationThreshold?: number
}












const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url')
const unb64 = (s: unknown, what: string, max = 512): Uint8Array => {
  if (typeof s !== 'string' || s.length === 0 || s.length > max || !/^[A-Za-z0-9_-]+$/.test(s)) {
    throw new IssuerError('bad-request', `${what} must be base64url`)
  }
  return new Uint8Array(Buffer.from(s, 'base64url'))
}
const sha256hex = (s: string): string => createHash('sha256').update(s).digest('hex')
/** how an instance id appears in the audit log and logs: enough to tell two apart, useless to impersonate one */
const instanceTag = (instance: string): string => instance === '' ? 'unnamed' : sha256hex(instance).slice(0, 12)
const INSTANCE_RE = /^[A-Za-z0-9_-]{8,64}$/

/**
 * Was an issuer made in `dir`? Its database is there, or the store marker
 * recorded one (then it vanished, and opening it refuses, naming the backup
 * to restore, rather than calling the directory empty).
 */
export function hasIssuer (dir: string): boolean {
  return existsSync(join(dir, ISSUER_DB)) || readMarker(dir).stores[ISSUER_DB] != null || readStorePointer(dir) != null
}

export function noIssuerMessage (dir: string): string {
  return `no issuer in ${dir} (create one with: tempus issuer init --data ${dir} --overlay ID)`
}



/** A token decided but not yet durable: what its audit row says. */
interface TokenDecision {
  peerId: string
  jti: string
  epoch: number
  exp: number
}

/** Attempts to sign a token when a rotation on another replica keeps invalidating the key in hand. */
const TOKEN_SIGN_ATTEMPTS = 3
/** How stale this replica's idea of the signing keys may be before a token request reads them again (the commit re-checks anyway). */
const KEYS_RECHECK_MS = 1000

export class Issuer {
  readonly db: IssuerDb
  readonly overlay: string
  readonly id: string
  readonly root: Ed25519KeyPair
  readonly audit: AuditLog
  readonly attestation: AttestationVerifier
  private readonly credentialKey: SigningKey
  private readonly passphrase: string
  private readonly now: () => number
  private readonly scryptN?: number
  private readonly tokenTtlMs: number
  private readonly credentialTtlMs: number
  private readonly challenges: ChallengeBook
  private readonly verifiedCredentials = new VerifiedCredentials()
  private readonly rootPublic: string
  private keysVersion = ''
  private keysCheckedAt = -Infinity
  private currentKey?: SigningKey
  /** the current key's root-signed certificate, handed out with every token */
  private currentCert = ''
  private readonly tokenCommits: GroupCommit<TokenDecision, boolean>
  private readonly twins: TwinWatch
  private readonly refuseTwins: boolean
  private readonly onTwin?: (event: TwinEvent) => void
  private readonly onRekeyDone?: (peerId: string) => void
  /** the issuer's metrics; serve them with `metrics.metrics()` */
  readonly metrics: Registry
  private readonly twinCounter: Counter<'stage'>
  private readonly staleKeyCounter: Counter

  private constructor (db: IssuerDb, audit: AuditLog, meta: { overlay: string, id: string, rootPublic: string }, root: Ed25519KeyPair, credentialKey: SigningKey, options: IssuerOpenOptions) {
    this.db = db
    this.audit = audit
    this.root = root
    this.credentialKey = credentialKey
    this.passphrase = options.passphrase
    this.now = options.now ?? Date.now
    this.scryptN = options.scryptN
    this.attestation = options.attestation ?? noAttestation()
    this.tokenTtlMs = options.tokenTtlMs ?? TOKEN_TTL_DEFAULT_MS
    this.credentialTtlMs = options.credentialTtlMs ?? 7 * 24 * 3_600_000
    this.overlay = meta.overlay
    this.id = meta.id
    this.rootPublic = meta.rootPublic
    this.challenges = new ChallengeBook(this.now)
    this.tokenCommits = new GroupCommit({ flush: async decisions => await this.commitTokens(decisions) })
    // one token lifetime: an honest node refreshes at half of it, so its own
    // instance never ages out between two of its requests
    this.twins = new TwinWatch({ windowMs: this.tokenTtlMs, now: this.now })
    this.refuseTwins = options.refuseTwins ?? false
    this.onTwin = options.onTwin
    this.onRekeyDone = options.onRekeyDone
    this.metrics = options.metrics ?? new Registry()
    this.twinCounter = new Counter({
      name: 'tempus_issuer_twin_suspected_total',
      help: 'credentials refreshed by two client instances within one token lifetime (stage: suspected = a newcomer, maybe a restart; confirmed = both alive)',
      labelNames: ['stage'],
      registers: [this.metrics]
    })
    this.staleKeyCounter = new Counter({
      name: 'tempus_issuer_token_resigned_total',
      help: 'tokens signed again because another replica activated a new signing key before they were committed (none of them was handed out)',
      registers: [this.metrics]
    })
  }

  /** Create a new issuer: root key, credential key and the first signing key (epoch 1). */
  static async init (options: IssuerInitOptions): Promise<Issuer> {
    if (!/^[a-z0-9][a-z0-9.-]{0,62}$/.test(options.overlay)) {
      throw new IssuerError('bad-request', 'overlay id: 1–63 of a-z, 0-9, ".", "-"')
    }
    checkTokenTtl(options.tokenTtlMs)
    const db = await openIssuerStore(options.dir, { store: options.store, create: true, now: options.now, onError: options.onStoreError })
    try {
      const now = options.now ?? Date.now
      const root = generateEd25519()
      const credential = generateEd25519()
      const sealKey = async (k: Ed25519KeyPair): Promise<string> => JSON.stringify(await seal(options.passphrase, SEAL_LABEL, Buffer.from(privateKeyToPem(k.privateKey)), options.scryptN))
      const sealedRoot = await sealKey(root)
      const sealedCredential = await sealKey(credential)
      const first = generateEd25519()
      const kid = `e1-${randomBytes(4).toString('hex')}`
      const cert = await signKeyCertificate(root.privateKey, options.overlay, kid, 1, first.publicKey, now())
      const sealedFirst = await sealKey(first)
      await db.transaction(async tx => {
        // under the writer lock: of two inits racing on one database, one wins
        if (await getMeta(tx, 'overlay') != null) {
          throw new IssuerError('conflict', `${db.location} holds an issuer already`)
        }
        await setMeta(tx, 'overlay', options.overlay)
        await setMeta(tx, 'issuer', options.issuerId ?? `issuer.${options.overlay}`)
        await setMeta(tx, 'root_key', sealedRoot)
        await setMeta(tx, 'root_public', b64(rawPublicKey(root.publicKey)))
        await setMeta(tx, 'credential_key', sealedCredential)
        await setMeta(tx, 'bootstrap', JSON.stringify(options.bootstrap ?? []))
        await setMeta(tx, 'revocation_threshold', String(options.revocationThreshold ?? 2))
        await setMeta(tx, 'keys_version', randomUUID())
        await tx.run('INSERT INTO signing_keys (epoch, kid, sealed, certificate, state, announced_at, activated_at) VALUES (1, $1, $2, $3, \'current\', $4, $5)', [kid, sealedFirst, cert, now(), now()])
      })
    } finally {
      await db.close()
    }
    const issuer = await Issuer.open(options)
    await issuer.db.transaction(async tx => {
      await issuer.audit.append(tx, 'init', { overlay: issuer.overlay, issuer: issuer.id, root: issuer.rootPublic })
      await issuer.audit.append(tx, 'key-activated', { epoch: 1, kid: issuer.currentKey?.kid })
      await issuer.publishRevocationListIn(tx, 'init')
    })
    return issuer
  }

  static async open (options: IssuerOpenOptions): Promise<Issuer> {
    checkTokenTtl(options.tokenTtlMs)
    // opening reads an issuer, it never creates one (a mistyped directory
    // would otherwise get a stray, empty issuer.db)
    if (options.store == null && !hasIssuer(options.dir)) {
      throw new IssuerError('not-initialised', noIssuerMessage(options.dir))
    }
    const db = await openIssuerStore(options.dir, { store: options.store, create: false, now: options.now, onError: options.onStoreError })
    try {
      const overlay = await getMeta(db, 'overlay')
      if (overlay == null) {
        throw new IssuerError('not-initialised', db.kind === 'sqlite' ? noIssuerMessage(options.dir) : `no issuer in ${db.location} (create one with: tempus issuer init --data DIR --store URL --overlay ID)`)
      }
      const open = async (name: string): Promise<Ed25519KeyPair> => {
        try {
          return privateKeyFromPem(Buffer.from(await unseal(options.passphrase, SEAL_LABEL, JSON.parse(await getMeta(db, name) ?? '{}'))).toString())
        } catch {
          throw new IssuerError('bad-request', 'cannot open the issuer keys: wrong passphrase or corrupted database')
        }
      }
      const root = await open('root_key')
      const credential = await open('credential_key')
      const now = options.now ?? Date.now
      const audit = await AuditLog.open(db, root.privateKey, now)
      const meta = { overlay, id: await getMeta(db, 'issuer') ?? '', rootPublic: await getMeta(db, 'root_public') ?? '' }
      const issuer = new Issuer(db, audit, meta, root, { kid: CREDENTIAL_KID, epoch: 0, ...credential }, options)
      await issuer.reloadKeys(true)
      return issuer
    } catch (err) {
      await db.close()
      throw err
    }
  }

  async close (): Promise<void> {
    // the checkpoint still owed to this process's last decisions (the CLI exits right after)
    await this.audit.close()
    await this.db.close()
  }

  get rootPublicKey (): string {
    return this.rootPublic
  }

  async revocationThreshold (tx: Pick<SqlTx, 'one'> = this.db): Promise<number> {
    return Number(await getMeta(tx, 'revocation_threshold') ?? '2')
  }

  async setRevocationThreshold (k: number): Promise<void> {
    if (!Number.isInteger(k) || k < 1 || k > 100) {
      throw new IssuerError('bad-request', 'threshold must be 1 to 100')
    }
    await this.db.transaction(async tx => {
      await setMeta(tx, 'revocation_threshold', String(k))
      await this.audit.append(tx, 'threshold', { k })
    })
  }

  async overlayConfig (): Promise<OverlayConfig> {
    const issuers: string[] = JSON.parse(await getMeta(this.db, 'issuer_urls') ?? '[]')
    return {
      overlay: this.overlay,
      issuer: this.id,
      rootPublicKey: this.rootPublic,
      bootstrap: JSON.parse(await getMeta(this.db, 'bootstrap') ?? '[]'),
      ...(issuers.length > 0 ? { issuers } : {})
    }
  }

  async setBootstrap (list: string[]): Promise<void> {
    await this.db.transaction(async tx => { await setMeta(tx, 'bootstrap', JSON.stringify(list)) })
  }

  /**
   * Every replica's base URL, handed to nodes at enrolment so that they can
   * fail over (http(s) URLs without credentials, query or fragment; at most 16).
   */
  async setIssuerUrls (urls: string[]): Promise<void> {
    let clean: string[]
    try {
      clean = urls.length === 0 ? [] : parseIssuerUrls(urls)
    } catch (err: any) {
      throw new IssuerError('bad-request', String(err.message))
    }
    await this.db.transaction(async tx => {
      await setMeta(tx, 'issuer_urls', JSON.stringify(clean))
      await this.audit.append(tx, 'replicas', { urls: clean })
    })
  }

  /** Re-read the signing keys when another process (a replica, the CLI) changed them. */
  private async reloadKeys (force = false): Promise<void> {
    const version = await getMeta(this.db, 'keys_version') ?? ''
    this.keysCheckedAt = this.now()
    if (!force && version === this.keysVersion && this.currentKey != null) {
      return
    }
    const current = await this.db.one<{ epoch: number, kid: string, sealed: string, certificate: string }>('SELECT epoch, kid, sealed, certificate FROM signing_keys WHERE state = \'current\'')
    if (current == null) {
      throw new IssuerError('not-initialised', 'no current signing key')
    }
    if (this.currentKey?.kid !== current.kid) {
      const pair = privateKeyFromPem(Buffer.from(await unseal(this.passphrase, SEAL_LABEL, JSON.parse(current.sealed))).toString())
      this.currentKey = { kid: current.kid, epoch: Number(current.epoch), ...pair }
    }
    this.currentCert = current.certificate
    this.keysVersion = version
  }

  async keys (): Promise<KeySet> {
    const rows = await this.db.all<{ epoch: number, certificate: string, state: string }>('SELECT epoch, certificate, state FROM signing_keys WHERE state IN (\'current\', \'announced\') ORDER BY epoch DESC')
    const current = rows.find(r => r.state === 'current')
    if (current == null) {
      throw new IssuerError('not-initialised', 'no current signing key')
    }
    const announced = rows.find(r => r.state === 'announced')
    return { current: current.certificate, announced: announced?.certificate, epoch: Number(current.epoch) }
  }

  // ---- enrolment ----------------------------------------------------------

  async createCode (typ: PeerType, uses = 1, expiresInMs = 3_600_000): Promise<string> {
    if (!isPeerType(typ) || !Number.isInteger(uses) || uses < 1 || uses > 10_000 || !(expiresInMs > 0)) {
      throw new IssuerError('bad-request', 'a code needs a type, 1–10000 uses and a positive lifetime')
    }
    const code = randomBytes(16).toString('base64url')
    const now = this.now()
    await this.db.transaction(async tx => {
      await tx.run('INSERT INTO codes (code_hash, typ, uses_left, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)', [sha256hex(code), typ, uses, now + expiresInMs, now])
      await this.audit.append(tx, 'code', { code: sha256hex(code).slice(0, 16), typ, uses, expiresAt: now + expiresInMs })
    })
    return code
  }

  challenge (): string {
    return b64(this.challenges.issue())
  }

  /**
   * Every condition that can refuse an enrolment is checked before the code
   * counts a use, and the use is taken in the same transaction that records
   * the member: a refused enrolment never spends a code.
   */
  async enroll (req: EnrollRequest): Promise<EnrollResult> {
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
    if (!this.challenges.redeem(challenge)) {
      throw new IssuerError('invalid-challenge', 'the challenge is unknown, used or stale; ask for a new one')
    }
    if (!verifyDomain(publicKeyFromRawBytes(publicKey), signature, DOMAINS.issuerChallenge, ...challengeMessage('enroll', challenge))) {
      throw new IssuerError('invalid-proof', 'the signature does not prove possession of the key')
    }
    const peerId = peerIdOfRaw(publicKey)
    const codeHash = sha256hex(req.code)
    // a code with uses left, or one whose use already went to this very key
    // (a repeated request: its answer was lost)
    const row = await this.db.one<{ typ: PeerType }>('SELECT typ FROM codes WHERE code_hash = $1 AND expires_at > $2 AND (uses_left > 0 OR EXISTS (SELECT 1 FROM code_uses WHERE code_uses.code_hash = codes.code_hash AND peer_id = $3))', [codeHash, this.now(), peerId])
    if (row == null) {
      throw new IssuerError('invalid-code', 'the enrolment code is not valid')
    }
    const typ = req.typ ?? row.typ
    if (typ !== row.typ) {
      await this.db.transaction(async tx => { await this.audit.append(tx, 'enroll-refused', { peerId, reason: 'wrong-type', code: codeHash.slice(0, 16), asked: typ }) })
      throw new IssuerError('wrong-type', `the code is not for a node of type ${typ}; it was not used; ask for a code of type ${typ}`)
    }
    if (!await this.attestation.verify(req.attestation, { publicKey, challenge, typ })) {
      await this.db.transaction(async tx => { await this.audit.append(tx, 'enroll-refused', { peerId, reason: 'attestation' }) })
      throw new IssuerError('attestation-failed', 'the attestation evidence was not accepted')
    }
    if (await this.isRevoked(peerId)) {
      throw new IssuerError('revoked', 'this key is revoked')
    }
    const now = this.now()
    const credential = await this.signCredential(peerId, typ, now)
    // the use is consumed atomically, under every condition checked above
    // (type, lifetime, uses left, not revoked): of N concurrent enrolments
    // with a one-use code, on any number of replicas, exactly one sees one
    // row changed by the conditional UPDATE, and a condition that changed
    // meanwhile (a revocation, the code's expiry) spends nothing
    await this.db.transaction(async tx => {
      if (await this.isRevoked(peerId, tx)) {
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
      await this.audit.append(tx, 'enroll', repeated ? { peerId, typ, attestation: this.attestation.kind, repeated: true } : { peerId, typ, attestation: this.attestation.kind })
    })
    return { ...await this.overlayConfig(), peerId, typ, credential, keys: await this.keys() }
  }

  // ---- tokens -------------------------------------------------------------

  async token (req: TokenRequest, beforeIssue?: (peerId: string) => void): Promise<TokenResult> {
    if (req?.instance != null && (typeof req.instance !== 'string' || !INSTANCE_RE.test(req.instance))) {
      throw new IssuerError('bad-request', 'instance must be 8–64 base64url characters')
    }
    const { sub, typ, now, rekeyed } = await this.verifyMember(req, 'token')
    // a twin refused here must not spend the per-peer budget it shares with the original
    await this.watchTwins(sub, req.instance ?? '')
    beforeIssue?.(sub)
    const token = await this.issueToken(sub, typ, now)
    if (rekeyed) {
      // the new key is in use: the old one it replaced is revoked now
      await this.completeRekey(sub)
    }
    return token
  }

  /**
   * Move a member to a new identity key: the old key proves it holds the
   * credential, the new key proves possession of itself, both over one
   * fresh challenge and the new key. The new PeerId becomes a member of the
   * same type with a credential of its own; the old PeerId is revoked when
   * the new one first fetches a token (so a node whose re-key answer was
   * lost is not locked out, and asks again). One re-key per old key: a
   * second to another new key is refused (`conflict`), since two claimants
   * of one credential are a leak in progress. Revoking either revokes the
   * keys re-keyed from it too (`approve`).
   */
  async rekey (req: RekeyRequest, beforeIssue?: (peerId: string) => void): Promise<RekeyResult> {
    const newKey = unb64(req?.publicKey, 'publicKey', 64)
    if (newKey.length !== 32) {
      throw new IssuerError('bad-request', 'publicKey must be a raw Ed25519 key')
    }
    const newSignature = unb64(req.newSignature, 'newSignature', 128)
    const { sub, typ, now, challenge } = await this.verifyMember(req, 'rekey', newKey)
    if (!verifyDomain(publicKeyFromRawBytes(newKey), newSignature, DOMAINS.issuerChallenge, ...challengeMessage('rekey-new', challenge, newKey))) {
      throw new IssuerError('invalid-proof', 'the new key\'s signature does not prove possession of it')
    }
    const peerId = peerIdOfRaw(newKey)
    if (peerId === sub) {
      throw new IssuerError('bad-request', 'the new key is the old one')
    }
    beforeIssue?.(sub)
    const credential = await this.signCredential(peerId, typ, now)
    await this.db.transaction(async tx => {
      if (await this.isRevoked(peerId, tx)) {
        throw new IssuerError('revoked', 'the new key is revoked')
      }
      const earlier = await tx.one<{ new_peer_id: string }>('SELECT new_peer_id FROM rekeys WHERE old_peer_id = $1', [sub])
      if (earlier != null && earlier.new_peer_id !== peerId) {
        await this.audit.append(tx, 'rekey-refused', { from: sub, to: peerId, earlier: earlier.new_peer_id })
        return
      }
      if (earlier == null) {
        await tx.run('INSERT INTO rekeys (old_peer_id, new_peer_id, state, at) VALUES ($1, $2, \'pending\', $3)', [sub, peerId, now])
      }
      await tx.run('INSERT INTO members (peer_id, typ, enrolled_at) VALUES ($1, $2, $3) ON CONFLICT (peer_id) DO UPDATE SET typ = excluded.typ', [peerId, typ, now])
      await this.audit.append(tx, 'rekey', earlier == null ? { from: sub, to: peerId, typ } : { from: sub, to: peerId, typ, repeated: true })
    })
    const taken = await this.db.one<{ new_peer_id: string }>('SELECT new_peer_id FROM rekeys WHERE old_peer_id = $1', [sub])
    if (taken?.new_peer_id !== peerId) {
      throw new IssuerError('conflict', 'this credential was already re-keyed to another key; if that was not you, the old key has leaked: revoke it')
    }
    return { peerId, typ, credential, expiresAt: Math.floor((now + this.credentialTtlMs) / 1000) * 1000 }
  }

  /** The new key of a re-key fetched its first token: revoke the old one, publish the list. */
  private async completeRekey (newPeerId: string): Promise<void> {
    let done = false
    await this.db.transaction(async tx => {
      const row = await tx.one<{ old_peer_id: string }>('SELECT old_peer_id FROM rekeys WHERE new_peer_id = $1 AND state = \'pending\'', [newPeerId])
      if (row == null) {
        return
      }
      await tx.run('UPDATE rekeys SET state = \'done\' WHERE new_peer_id = $1', [newPeerId])
      await tx.run('INSERT INTO revoked (peer_id, reason, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [row.old_peer_id, 'rekeyed', this.now()])
      await this.audit.append(tx, 'revoke', { peerId: row.old_peer_id, reason: 'rekeyed', to: newPeerId })
      await this.publishRevocationListIn(tx, `rekey to ${newPeerId}`)
      done = true
    })
    if (done) {
      this.onRekeyDone?.(newPeerId)
    }
  }

  /**
   * A new credential (same subject and type, a new lifetime) for a member
   * whose current credential is still valid: the checks are those of a token
   * request, on a proof made for renewal. A node renews at half its
   * credential's life, so an honest node never depends on this path after
   * its credential expired; an expired one re-enrols with a new code.
   */
  async renew (req: RenewRequest, beforeIssue?: (peerId: string) => void): Promise<RenewResult> {
    const { sub, typ, now } = await this.verifyMember(req, 'renew')
    beforeIssue?.(sub)
    const credential = await this.signCredential(sub, typ, now)
    const expiresAt = Math.floor((now + this.credentialTtlMs) / 1000) * 1000
    await this.db.transaction(async tx => { await this.audit.append(tx, 'renew', { peerId: sub, typ, expiresAt }) })
    return { credential, expiresAt }
  }

  private async signCredential (peerId: string, typ: PeerType, now: number): Promise<string> {
    return await signToken(this.credentialKey, {
      iss: this.id,
      aud: this.overlay,
      sub: peerId,
      typ,
      iat: Math.floor(now / 1000),
      nbf: Math.floor(now / 1000),
      exp: Math.floor((now + this.credentialTtlMs) / 1000),
      jti: randomUUID()
    }, JWT_TYPE_CREDENTIAL)
  }

  /**
   * The one check of a member's request (token or renewal): a credential of
   * this issuer, unexpired, for a member that is neither revoked nor of
   * another type now, presented with a proof of possession of its key on a
   * fresh challenge signed for `purpose`.
   */
  private async verifyMember (req: { credential: unknown, challenge: unknown, signature: unknown }, purpose: ChallengePurpose, ...bound: Uint8Array[]): Promise<{ sub: string, typ: PeerType, now: number, challenge: Uint8Array, rekeyed: boolean }> {
    if (typeof req?.credential !== 'string' || req.credential.length > 2048) {
      throw new IssuerError('bad-request', 'credential must be a string')
    }
    const challenge = unb64(req.challenge, 'challenge', 128)
    const signature = unb64(req.signature, 'signature', 128)
    const verified = await this.verifiedCredential(req.credential)
    const claims = verified.claims
    const now = this.now()
    if (claims.aud !== this.overlay || claims.iss !== this.id || claims.exp * 1000 < now) {
      throw new IssuerError('invalid-credential', 'the credential is expired or for another overlay')
    }
    if (!this.challenges.redeem(challenge)) {
      throw new IssuerError('invalid-challenge', 'the challenge is unknown, used or stale; ask for a new one')
    }
    if (!verifyDomain(verified.holderKey, signature, DOMAINS.issuerChallenge, ...challengeMessage(purpose, challenge, ...bound))) {
      throw new IssuerError('invalid-proof', 'the signature does not prove possession of the key')
    }
    // membership, revocation and a re-key waiting for this key, in one read
    const member = await this.db.one<{ typ: PeerType, revoked: number | boolean, rekeyed: number | boolean }>('SELECT typ, EXISTS (SELECT 1 FROM revoked WHERE revoked.peer_id = members.peer_id) AS revoked, EXISTS (SELECT 1 FROM rekeys WHERE rekeys.new_peer_id = members.peer_id AND rekeys.state = \'pending\') AS rekeyed FROM members WHERE peer_id = $1', [claims.sub])
    // a credential of a type the member no longer has (it re-enrolled as
    // another type) is as dead as a revoked one
    if (member == null || Boolean(member.revoked) || member.typ !== claims.typ) {
      throw new IssuerError('revoked', 'this key is revoked')
    }
    return { sub: claims.sub, typ: claims.typ, now, challenge, rekeyed: Boolean(member.rekeyed) }
  }

  /** A credential's claims once its signature verified (cached: `verified-credentials.ts`), with its holder's key. */
  private async verifiedCredential (credential: string): Promise<VerifiedCredential> {
    const known = this.verifiedCredentials.get(credential)
    if (known != null) {
      return known
    }
    let claims
    try {
      claims = (await verifyTokenSignature(credential, this.credentialKey.publicKey, JWT_TYPE_CREDENTIAL)).claims
    } catch {
      throw new IssuerError('invalid-credential', 'the credential is not valid')
    }
    let holder
    try {
      holder = peerIdFromString(claims.sub).publicKey
    } catch {}
    if (holder?.type !== 'Ed25519') {
      throw new IssuerError('invalid-credential', 'the credential names no Ed25519 key')
    }
    const entry = { claims, holderKey: publicKeyFromRawBytes(holder.raw) }
    this.verifiedCredentials.set(credential, entry)
    return entry
  }

  /**
   * A credential refreshed by two client instances within one token
   * lifetime: audited and counted once per pair and stage, and the newer
   * instance refused when `refuseTwins` is on. Only requests that proved
   * possession of the key get here, so nobody else can raise an alarm for
   * a member. (Each replica watches the requests it serves.)
   */
  private async watchTwins (peerId: string, instance: string): Promise<void> {
    const seen = this.twins.observe(peerId, instance)
    const refused = this.refuseTwins && seen.newer
    if (seen.report != null) {
      const event: TwinEvent = {
        peerId,
        stage: seen.report.stage,
        older: instanceTag(seen.report.older),
        newer: instanceTag(seen.report.newer),
        olderSeenMsAgo: seen.report.olderSeenMsAgo,
        newerRefused: this.refuseTwins
      }
      await this.db.transaction(async tx => {
        await this.audit.append(tx, 'twin-suspected', {
          ...event,
          why: event.stage === 'suspected'
            ? 'a newer client instance refreshes this credential within one token lifetime of the older one: a twin, or a restart after a kill'
            : 'the older instance refreshed again after the newer one appeared: two live processes hold this credential'
        })
      })
      this.twinCounter.inc({ stage: event.stage })
      this.onTwin?.(event)
    }
    if (refused) {
      throw new IssuerError('twin', 'another client instance refreshes this credential; stop the other process (or wait one token lifetime after it stopped)')
    }
  }

  /**
   * Sign a token for an enrolled member (the path `token()` takes after its
   * checks). The token is handed out only once its audit row is committed,
   * in a group with every other token decided meanwhile; that commit reads
   * the current signing epoch under the writer lock, so a token signed with
   * a key another replica retired meanwhile is never handed out: it is
   * signed again with the new key.
   */
  async issueToken (peerId: string, typ: PeerType, now = this.now()): Promise<TokenResult> {
    for (let attempt = 1; attempt <= TOKEN_SIGN_ATTEMPTS; attempt++) {
      if (attempt > 1 || this.now() - this.keysCheckedAt >= KEYS_RECHECK_MS) {
        await this.reloadKeys(attempt > 1)
      }
      const key = this.currentKey as SigningKey
      const certificate = this.currentCert
      const nbf = Math.floor(now / 1000)
      const exp = Math.floor((now + this.tokenTtlMs) / 1000)
      const jti = randomUUID()
      const token = await signToken(key, { iss: this.id, aud: this.overlay, sub: peerId, typ, iat: nbf, nbf, exp, jti })
      if (await this.tokenCommits.add({ peerId, jti, epoch: key.epoch, exp })) {
        return { token, expiresAt: exp * 1000, keyCertificate: certificate }
      }
      this.staleKeyCounter.inc()
    }
    throw new IssuerError('unavailable', 'the signing key changed under every attempt; ask again')
  }

  /** One commit for a group of token decisions: those signed with the current epoch are audited (true); the rest are not handed out (false). */
  private async commitTokens (decisions: TokenDecision[]): Promise<boolean[]> {
    return await this.db.transaction(async tx => {
      const current = await tx.one<{ epoch: number }>('SELECT epoch FROM signing_keys WHERE state = \'current\'')
      const ok = decisions.map(d => Number(current?.epoch) === d.epoch)
      const fresh = decisions.filter((_, i) => ok[i])
      if (fresh.length > 0) {
        await this.audit.appendMany(tx, fresh.map(d => ({ kind: 'token', data: { peerId: d.peerId, jti: d.jti, epoch: d.epoch, exp: d.exp } })))
        // the group's checkpoint in its own commit: no second transaction per group
        await this.audit.checkpointIn(tx)
      }
      return ok
    })
  }

  // ---- rotation -----------------------------------------------------------

  /** Publish the next signing key; it signs nothing until activated. */
  async announceKey (): Promise<{ epoch: number, kid: string, certificate: string }> {
    const pair = generateEd25519()
    const sealed = JSON.stringify(await seal(this.passphrase, SEAL_LABEL, Buffer.from(privateKeyToPem(pair.privateKey)), this.scryptN))
    const announced = await this.db.transaction(async tx => {
      // under the writer lock: two replicas announcing at once announce one key
      const existing = await tx.one<{ epoch: number, kid: string, certificate: string }>('SELECT epoch, kid, certificate FROM signing_keys WHERE state = \'announced\'')
      if (existing != null) {
        return { epoch: Number(existing.epoch), kid: existing.kid, certificate: existing.certificate }
      }
      const max = await tx.one<{ e: number }>('SELECT MAX(epoch) AS e FROM signing_keys')
      const epoch = Number(max?.e ?? 0) + 1
      const kid = `e${epoch}-${randomBytes(4).toString('hex')}`
      const certificate = await signKeyCertificate(this.root.privateKey, this.overlay, kid, epoch, pair.publicKey, this.now())
      await tx.run('INSERT INTO signing_keys (epoch, kid, sealed, certificate, state, announced_at) VALUES ($1, $2, $3, $4, \'announced\', $5)', [epoch, kid, sealed, certificate, this.now()])
      await setMeta(tx, 'keys_version', randomUUID())
      await this.audit.append(tx, 'key-announced', { epoch, kid })
      return { epoch, kid, certificate }
    })
    await this.reloadKeys()
    return announced
  }

  /**
   * Make the announced key current; from now on the old epoch is refused
   * everywhere, and no replica hands out a token of the old epoch (its
   * token commits re-read the epoch under the same lock as this one).
   */
  async activateKey (): Promise<{ epoch: number, kid: string }> {
    const next = await this.db.one<{ epoch: number, kid: string, sealed: string, certificate: string }>('SELECT epoch, kid, sealed, certificate FROM signing_keys WHERE state = \'announced\' ORDER BY epoch LIMIT 1')
    if (next == null) {
      throw new IssuerError('conflict', 'no key is announced; announce one first')
    }
    // unseal the key first and switch to it right after the commit: the
    // moment /v1/keys names the new key current, this replica signs with it
    const pair = privateKeyFromPem(Buffer.from(await unseal(this.passphrase, SEAL_LABEL, JSON.parse(next.sealed))).toString())
    const version = randomUUID()
    await this.db.transaction(async tx => {
      const still = await tx.one('SELECT 1 AS a FROM signing_keys WHERE epoch = $1 AND state = \'announced\'', [next.epoch])
      if (still == null) {
        throw new IssuerError('conflict', `key epoch ${next.epoch} is no longer the announced one (another replica activated it?)`)
      }
      await tx.run('UPDATE signing_keys SET state = \'retired\' WHERE state = \'current\'')
      await tx.run('UPDATE signing_keys SET state = \'current\', activated_at = $1 WHERE epoch = $2', [this.now(), next.epoch])
      await setMeta(tx, 'keys_version', version)
      await this.audit.append(tx, 'key-activated', { epoch: Number(next.epoch), kid: next.kid })
    })
    this.currentKey = { kid: next.kid, epoch: Number(next.epoch), ...pair }
    this.currentCert = next.certificate
    this.keysVersion = version
    this.keysCheckedAt = this.now()
    return { epoch: Number(next.epoch), kid: next.kid }
  }

  // ---- revocation ---------------------------------------------------------

  async addAdmin (publicKey: string, name: string): Promise<void> {
    const raw = unb64(publicKey, 'admin key', 64)
    if (raw.length !== 32 || typeof name !== 'string' || name.length === 0 || name.length > 64) {
      throw new IssuerError('bad-request', 'an admin needs a raw Ed25519 public key and a name')
    }
    await this.db.transaction(async tx => {
      await tx.run('INSERT INTO admins (public_key, name, added_at) VALUES ($1, $2, $3) ON CONFLICT (public_key) DO UPDATE SET name = excluded.name', [publicKey, name, this.now()])
      await this.audit.append(tx, 'admin-added', { publicKey, name })
    })
  }

  /** The name of a registered admin key (base64url raw Ed25519), or undefined. */
  async adminName (publicKey: string): Promise<string | undefined> {
    const row = await this.db.one<{ name: string }>('SELECT name FROM admins WHERE public_key = $1', [publicKey])
    return row?.name
  }

  async requestRevocation (peerId: string, reason: string): Promise<RevocationRequest> {
    try {
      peerIdFromString(peerId)
    } catch {
      throw new IssuerError('bad-request', 'not a PeerId')
    }
    if (typeof reason !== 'string' || reason.length === 0 || reason.length > 200) {
      throw new IssuerError('bad-request', 'a revocation needs a reason of 1–200 characters')
    }
    const id = randomUUID()
    const payload = JSON.stringify({ overlay: this.overlay, action: 'revoke', peerId, reason, request: id })
    await this.db.transaction(async tx => {
      await tx.run('INSERT INTO revocation_requests (id, peer_id, reason, payload, state, created_at) VALUES ($1, $2, $3, $4, \'pending\', $5)', [id, peerId, reason, payload, this.now()])
      await this.audit.append(tx, 'revocation-requested', { id, peerId, reason })
    })
    return await this.revocationRequest(id)
  }

  async revocationRequest (id: string, tx: Pick<SqlTx, 'one'> = this.db): Promise<RevocationRequest> {
    const row = await tx.one<{ id: string, peer_id: string, reason: string, payload: string, state: 'pending' | 'done', n: number }>('SELECT id, peer_id, reason, payload, state, (SELECT COUNT(*) FROM approvals WHERE request_id = $1) AS n FROM revocation_requests WHERE id = $1', [id])
    if (row == null) {
      throw new IssuerError('not-found', 'no such revocation request')
    }
    return { id: row.id, peerId: row.peer_id, reason: row.reason, payload: b64(Buffer.from(row.payload)), approvals: Number(row.n), threshold: await this.revocationThreshold(tx), state: row.state }
  }

  /**
   * Record one admin's approval: a signature by a registered admin key over
   * the request's exact payload. At k distinct valid approvals the peer is
   * revoked and a new revocation list is published, in the same
   * transaction: approvals gathered on different replicas count together,
   * and the request is acknowledged only once its list is durable.
   */
  async approve (id: string, adminKey: string, signature: string): Promise<RevocationRequest> {
    const request = await this.revocationRequest(id)
    const admin = await this.adminName(adminKey)
    const raw = unb64(adminKey, 'admin key', 64)
    const sig = unb64(signature, 'signature', 128)
    if (admin == null || raw.length !== 32 ||
      !verifyDomain(publicKeyFromRawBytes(raw), sig, DOMAINS.revocationApproval, Buffer.from(request.payload, 'base64url'))) {
      await this.db.transaction(async tx => { await this.audit.append(tx, 'approval-refused', { id, adminKey }) })
      throw new IssuerError('invalid-proof', 'not a valid approval by a registered admin for this payload')
    }
    return await this.db.transaction(async tx => {
      await tx.run('INSERT INTO approvals (request_id, admin_key, signature, at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [id, adminKey, signature, this.now()])
      await this.audit.append(tx, 'approval', { id, admin })
      // read under the writer lock: every replica's approvals are in
      const now = await this.revocationRequest(id, tx)
      if (now.state === 'pending' && now.approvals >= now.threshold) {
        await tx.run('UPDATE revocation_requests SET state = \'done\' WHERE id = $1', [id])
        await tx.run('INSERT INTO revoked (peer_id, reason, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [request.peerId, request.reason, this.now()])
        await this.audit.append(tx, 'revoke', { peerId: request.peerId, reason: request.reason, request: id, approvals: now.approvals })
        // the keys re-keyed from it (a thief holding the old key may have moved first)
        for (const successor of await this.rekeyedFrom(tx, request.peerId)) {
          await tx.run('INSERT INTO revoked (peer_id, reason, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [successor, `re-keyed from ${request.peerId}`, this.now()])
          await this.audit.append(tx, 'revoke', { peerId: successor, reason: 're-keyed from a revoked key', from: request.peerId, request: id })
        }
        await this.publishRevocationListIn(tx, `request ${id}`)
        return await this.revocationRequest(id, tx)
      }
      return now
    })
  }

  /** The keys re-keyed from `peerId`, directly or down a chain (bounded). */
  private async rekeyedFrom (tx: SqlTx, peerId: string): Promise<string[]> {
    const out: string[] = []
    let from = peerId
    for (let depth = 0; depth < 64; depth++) {
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
  async publishRevocationList (why: string): Promise<{ n: number, jws: string }> {
    return await this.db.transaction(async tx => await this.publishRevocationListIn(tx, why))
  }

  /** In a write transaction: the next number and the list it covers are read and written under the writer lock, so numbers never fork across replicas. */
  private async publishRevocationListIn (tx: SqlTx, why: string): Promise<{ n: number, jws: string }> {
    const revoked = (await tx.all<{ peer_id: string, reason: string, at: number }>('SELECT peer_id, reason, at FROM revoked ORDER BY at, peer_id'))
      .map(r => ({ sub: r.peer_id, reason: r.reason, at: Math.floor(Number(r.at) / 1000) }))
    const last = await tx.one<{ n: number | null }>('SELECT MAX(n) AS n FROM crls')
    const n = last?.n == null ? 1 : Number(last.n) + 1
    const jws = await signRevocationList(this.root.privateKey, this.overlay, n, revoked, this.now())
    await tx.run('INSERT INTO crls (n, jws, created_at) VALUES ($1, $2, $3)', [n, jws, this.now()])
    await this.audit.append(tx, 'crl', { n, entries: revoked.length, why })
    return { n, jws }
  }

  async revocationList (): Promise<{ n: number, jws: string }> {
    const row = await this.db.one<{ n: number, jws: string }>('SELECT n, jws FROM crls ORDER BY n DESC LIMIT 1')
    if (row == null) {
      throw new IssuerError('not-initialised', 'no revocation list yet')
    }
    return { n: Number(row.n), jws: row.jws }
  }

  async isRevoked (peerId: string, tx: Pick<SqlTx, 'one'> = this.db): Promise<boolean> {
    return await tx.one('SELECT 1 AS r FROM revoked WHERE peer_id = $1', [peerId]) != null
  }
}

function checkTokenTtl (ttl: number | undefined): void {
  if (ttl != null && (ttl < TOKEN_TTL_MIN_MS || ttl > TOKEN_TTL_MAX_MS)) {
    throw new RangeError('token lifetime must be 2 to 5 minutes')
  }
}

async function getMeta (db: Pick<SqlTx, 'one'>, key: string): Promise<string | undefined> {
  return (await db.one<{ value: string }>('SELECT value FROM meta WHERE key = $1', [key]))?.value
}

async function setMeta (tx: SqlTx, key: string, value: string): Promise<void> {
  await tx.run('INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value])
}

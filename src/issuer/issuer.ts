/**
 * The issuer (the producer): enrolment with one-time codes, short-lived
 * tokens against a credential and a proof of possession, strict signing-key
 * rotation under a long-term root key, k-of-n revocation, and an audit log
 * of every decision. Transport-free: `http.ts` serves it, the CLI drives it.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { Counter, Registry } from 'prom-client'
import { DOMAINS, JWT_TYPE_CREDENTIAL, TOKEN_TTL_DEFAULT_MS, TOKEN_TTL_MAX_MS, TOKEN_TTL_MIN_MS } from '../admission/constants.ts'
import { signKeyCertificate } from '../admission/key-certificate.ts'
import { generateEd25519, peerIdOfRaw, privateKeyFromPem, privateKeyToPem, publicKeyFromRawBytes, rawPublicKey, verifyDomain } from '../admission/keys.ts'
import { signRevocationList } from '../admission/revocation.ts'
import { signToken, verifyTokenSignature } from '../admission/token.ts'
import { seal, unseal } from '../identity/seal.ts'
import { isPeerType } from '../node/peer-type.ts'
import { noAttestation } from './attestation.ts'
import { AuditLog } from './audit-log.ts'
import { ChallengeBook } from './challenge.ts'
import { IssuerError } from './errors.ts'
import { getMeta, openIssuerDb, setMeta, transaction } from './store.ts'
import { readMarker } from '../storage/index.ts'
import { TwinWatch } from './twins.ts'
import type { SigningKey } from '../admission/token.ts'
import type { PeerType } from '../node/config.ts'
import type { AttestationVerifier } from './attestation.ts'
import type { TwinReport } from './twins.ts'
import type { Ed25519KeyPair } from '../admission/keys.ts'
import type { DatabaseSync } from 'node:sqlite'

export const ISSUER_DB = 'issuer.db'
const SEAL_LABEL = 'tempus-mesh issuer key v1'
const CREDENTIAL_KID = 'credential'

export interface IssuerOpenOptions {
  dir: string
  passphrase: string
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

export interface OverlayConfig {
  overlay: string
  issuer: string
  /** base64url raw Ed25519 */
  rootPublicKey: string
  bootstrap: string[]
}

export interface KeySet {
  current: string
  announced?: string
  epoch: number
}

export interface EnrollRequest {
  code: string
  /** base64url raw Ed25519 public key of the node */
  publicKey: string
  /** base64url, from `challenge()` */
  challenge: string
  /** base64url signature by the node key over the challenge (domain issuer-challenge, purpose "enroll") */
  signature: string
  attestation?: string
  /**
   * the type the node wants; a code of another type is refused
   * (`wrong-type`) without using it. Absent: the node takes the code's type.
   */
  typ?: PeerType
}

export interface EnrollResult extends OverlayConfig {
  peerId: string
  typ: PeerType
  credential: string
  keys: KeySet
}

export interface TokenRequest {
  credential: string
  challenge: string
  signature: string
  /**
   * the requesting client's instance: random per process, kept in memory
   * only, so that two processes holding one credential (a copied data
   * directory) are told apart. Absent: one shared "unnamed" instance.
   */
  instance?: string
}

/** A current credential and a proof of possession on a fresh challenge (purpose "renew"). */
export interface RenewRequest {
  credential: string
  challenge: string
  signature: string
}

export interface RenewResult {
  /** the new credential: same subject and type, a new lifetime */
  credential: string
  /** ms since the epoch */
  expiresAt: number
}

export interface TokenResult {
  token: string
  /** ms since the epoch */
  expiresAt: number
  /** the certificate of the key that signed it */
  keyCertificate: string
}

export interface RevocationRequest {
  id: string
  peerId: string
  reason: string
  /** what admins sign (base64url of its bytes in `approve`) */
  payload: string
  approvals: number
  threshold: number
  state: 'pending' | 'done'
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
  return existsSync(join(dir, ISSUER_DB)) || readMarker(dir).stores[ISSUER_DB] != null
}

export function noIssuerMessage (dir: string): string {
  return `no issuer in ${dir} (create one with: tempus issuer init --data ${dir} --overlay ID)`
}

/**
 * What a proof of possession is for. The purpose is signed, so a proof made
 * for one request (a token) cannot be replayed as another (a renewal).
 */
export type ChallengePurpose = 'enroll' | 'token' | 'renew'

/** The bytes a node signs to prove it holds its key, for one purpose. */
export function challengeMessage (purpose: ChallengePurpose, challenge: Uint8Array): Uint8Array[] {
  return [Buffer.from(purpose), challenge]
}

export class Issuer {
  readonly db: DatabaseSync
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
  private keysVersion = ''
  private currentKey?: SigningKey
  /** the current key's root-signed certificate, handed out with every token */
  private currentCert = ''
  private readonly revokedCheck
  private readonly memberCheck
  private readonly adminByKey
  private readonly codeUsedBy
  private readonly twins: TwinWatch
  private readonly refuseTwins: boolean
  private readonly onTwin?: (event: TwinEvent) => void
  /** the issuer's metrics; serve them with `metrics.metrics()` */
  readonly metrics: Registry
  private readonly twinCounter: Counter<'stage'>

  private constructor (db: DatabaseSync, root: Ed25519KeyPair, credentialKey: SigningKey, options: IssuerOpenOptions) {
    this.db = db
    this.root = root
    this.credentialKey = credentialKey
    this.passphrase = options.passphrase
    this.now = options.now ?? Date.now
    this.scryptN = options.scryptN
    this.attestation = options.attestation ?? noAttestation()
    this.tokenTtlMs = options.tokenTtlMs ?? TOKEN_TTL_DEFAULT_MS
    if (this.tokenTtlMs < TOKEN_TTL_MIN_MS || this.tokenTtlMs > TOKEN_TTL_MAX_MS) {
      throw new RangeError('token lifetime must be 2 to 5 minutes')
    }
    this.credentialTtlMs = options.credentialTtlMs ?? 7 * 24 * 3_600_000
    this.overlay = getMeta(db, 'overlay') ?? ''
    this.id = getMeta(db, 'issuer') ?? ''
    this.audit = new AuditLog(db, root.privateKey, this.now)
    this.challenges = new ChallengeBook(this.now)
    this.revokedCheck = db.prepare('SELECT 1 AS r FROM revoked WHERE peer_id = ?')
    this.memberCheck = db.prepare('SELECT typ FROM members WHERE peer_id = ?')
    this.adminByKey = db.prepare('SELECT name FROM admins WHERE public_key = ?')
    // which key each code use went to: a node whose enrolment answer was lost
    // on the way repeats the request and gets its credential again, instead
    // of finding its code spent (kept here, beside the one query that needs it)
    db.exec('CREATE TABLE IF NOT EXISTS code_uses (code_hash TEXT NOT NULL, peer_id TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (code_hash, peer_id))')
    this.codeUsedBy = db.prepare('SELECT 1 AS u FROM code_uses WHERE code_hash = ? AND peer_id = ?')
    // one token lifetime: an honest node refreshes at half of it, so its own
    // instance never ages out between two of its requests
    this.twins = new TwinWatch({ windowMs: this.tokenTtlMs, now: this.now })
    this.refuseTwins = options.refuseTwins ?? false
    this.onTwin = options.onTwin
    this.metrics = options.metrics ?? new Registry()
    this.twinCounter = new Counter({
      name: 'tempus_issuer_twin_suspected_total',
      help: 'credentials refreshed by two client instances within one token lifetime (stage: suspected = a newcomer, maybe a restart; confirmed = both alive)',
      labelNames: ['stage'],
      registers: [this.metrics]
    })
  }

  /** Create a new issuer: root key, credential key and the first signing key (epoch 1). */
  static async init (options: IssuerInitOptions): Promise<Issuer> {
    if (!/^[a-z0-9][a-z0-9.-]{0,62}$/.test(options.overlay)) {
      throw new IssuerError('bad-request', 'overlay id: 1–63 of a-z, 0-9, ".", "-"')
    }
    const db = openIssuerDb(join(options.dir, ISSUER_DB))
    if (getMeta(db, 'overlay') != null) {
      db.close()
      throw new IssuerError('conflict', `${options.dir} holds an issuer already`)
    }
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
    transaction(db, () => {
      setMeta(db, 'overlay', options.overlay)
      setMeta(db, 'issuer', options.issuerId ?? `issuer.${options.overlay}`)
      setMeta(db, 'root_key', sealedRoot)
      setMeta(db, 'root_public', b64(rawPublicKey(root.publicKey)))
      setMeta(db, 'credential_key', sealedCredential)
      setMeta(db, 'bootstrap', JSON.stringify(options.bootstrap ?? []))
      setMeta(db, 'revocation_threshold', String(options.revocationThreshold ?? 2))
      setMeta(db, 'keys_version', randomUUID())
      db.prepare('INSERT INTO signing_keys (epoch, kid, sealed, certificate, state, announced_at, activated_at) VALUES (1, ?, ?, ?, \'current\', ?, ?)').run(kid, sealedFirst, cert, now(), now())
    })
    db.close()
    const issuer = await Issuer.open(options)
    transaction(issuer.db, () => {
      issuer.audit.append('init', { overlay: issuer.overlay, issuer: issuer.id, root: b64(rawPublicKey(root.publicKey)) })
      issuer.audit.append('key-activated', { epoch: 1, kid })
    })
    await issuer.publishRevocationList('init')
    return issuer
  }

  static async open (options: IssuerOpenOptions): Promise<Issuer> {
    // opening reads an issuer, it never creates one (a mistyped directory
    // would otherwise get a stray, empty issuer.db)
    if (!hasIssuer(options.dir)) {
      throw new IssuerError('not-initialised', noIssuerMessage(options.dir))
    }
    const db = openIssuerDb(join(options.dir, ISSUER_DB))
    if (getMeta(db, 'overlay') == null) {
      db.close()
      throw new IssuerError('not-initialised', noIssuerMessage(options.dir))
    }
    const open = async (name: string): Promise<Ed25519KeyPair> => {
      try {
        return privateKeyFromPem(Buffer.from(await unseal(options.passphrase, SEAL_LABEL, JSON.parse(getMeta(db, name) ?? '{}'))).toString())
      } catch {
        db.close()
        throw new IssuerError('bad-request', 'cannot open the issuer keys: wrong passphrase or corrupted database')
      }
    }
    const root = await open('root_key')
    const credential = await open('credential_key')
    const issuer = new Issuer(db, root, { kid: CREDENTIAL_KID, epoch: 0, ...credential }, options)
    await issuer.reloadKeys()
    return issuer
  }

  close (): void {
    // the checkpoint still owed to this process's last decisions (the CLI exits right after)
    this.audit.close()
    this.db.close()
  }

  get rootPublicKey (): string {
    return getMeta(this.db, 'root_public') ?? ''
  }

  get revocationThreshold (): number {
    return Number(getMeta(this.db, 'revocation_threshold') ?? '2')
  }

  setRevocationThreshold (k: number): void {
    if (!Number.isInteger(k) || k < 1 || k > 100) {
      throw new IssuerError('bad-request', 'threshold must be 1 to 100')
    }
    transaction(this.db, () => {
      setMeta(this.db, 'revocation_threshold', String(k))
      this.audit.append('threshold', { k })
    })
  }

  overlayConfig (): OverlayConfig {
    return { overlay: this.overlay, issuer: this.id, rootPublicKey: this.rootPublicKey, bootstrap: JSON.parse(getMeta(this.db, 'bootstrap') ?? '[]') }
  }

  setBootstrap (list: string[]): void {
    setMeta(this.db, 'bootstrap', JSON.stringify(list))
  }

  /** Re-read signing keys when another process (the CLI) rotated them. */
  private async reloadKeys (): Promise<void> {
    const version = getMeta(this.db, 'keys_version') ?? ''
    if (version === this.keysVersion && this.currentKey != null) {
      return
    }
    const current = this.db.prepare('SELECT epoch, kid, sealed, certificate FROM signing_keys WHERE state = \'current\'').get() as { epoch: number, kid: string, sealed: string, certificate: string } | undefined
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

  keys (): KeySet {
    const current = this.db.prepare('SELECT epoch, certificate FROM signing_keys WHERE state = \'current\'').get() as { epoch: number, certificate: string }
    const announced = this.db.prepare('SELECT certificate FROM signing_keys WHERE state = \'announced\' ORDER BY epoch DESC LIMIT 1').get() as { certificate: string } | undefined
    return { current: current.certificate, announced: announced?.certificate, epoch: Number(current.epoch) }
  }

  // ---- enrolment ----------------------------------------------------------

  createCode (typ: PeerType, uses = 1, expiresInMs = 3_600_000): string {
    if (!isPeerType(typ) || !Number.isInteger(uses) || uses < 1 || uses > 10_000 || !(expiresInMs > 0)) {
      throw new IssuerError('bad-request', 'a code needs a type, 1–10000 uses and a positive lifetime')
    }
    const code = randomBytes(16).toString('base64url')
    const now = this.now()
    transaction(this.db, () => {
      this.db.prepare('INSERT INTO codes (code_hash, typ, uses_left, expires_at, created_at) VALUES (?, ?, ?, ?, ?)').run(sha256hex(code), typ, uses, now + expiresInMs, now)
      this.audit.append('code', { code: sha256hex(code).slice(0, 16), typ, uses, expiresAt: now + expiresInMs })
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
    const row = this.db.prepare('SELECT typ FROM codes WHERE code_hash = ? AND expires_at > ? AND (uses_left > 0 OR EXISTS (SELECT 1 FROM code_uses WHERE code_uses.code_hash = codes.code_hash AND peer_id = ?))').get(codeHash, this.now(), peerId) as { typ: PeerType } | undefined
    if (row == null) {
      throw new IssuerError('invalid-code', 'the enrolment code is not valid')
    }
    const typ = req.typ ?? row.typ
    if (typ !== row.typ) {
      transaction(this.db, () => { this.audit.append('enroll-refused', { peerId, reason: 'wrong-type', code: codeHash.slice(0, 16), asked: typ }) })
      throw new IssuerError('wrong-type', `the code is not for a node of type ${typ}; it was not used; ask for a code of type ${typ}`)
    }
    if (!await this.attestation.verify(req.attestation, { publicKey, challenge, typ })) {
      transaction(this.db, () => { this.audit.append('enroll-refused', { peerId, reason: 'attestation' }) })
      throw new IssuerError('attestation-failed', 'the attestation evidence was not accepted')
    }
    if (this.revokedCheck.get(peerId) != null) {
      throw new IssuerError('revoked', 'this key is revoked')
    }
    const now = this.now()
    const credential = await this.signCredential(peerId, typ, now)
    // the use is consumed atomically, under every condition checked above
    // (type, lifetime, uses left, not revoked): of N concurrent enrolments
    // with a one-use code exactly one sees `changes === 1`, and a condition
    // that changed meanwhile (a revocation, the code's expiry) spends nothing
    transaction(this.db, () => {
      if (this.revokedCheck.get(peerId) != null) {
        throw new IssuerError('revoked', 'this key is revoked')
      }
      const repeated = this.codeUsedBy.get(codeHash, peerId) != null
      if (!repeated) {
        const used = this.db.prepare('UPDATE codes SET uses_left = uses_left - 1 WHERE code_hash = ? AND typ = ? AND uses_left > 0 AND expires_at > ?').run(codeHash, typ, now)
        if (Number(used.changes) !== 1) {
          throw new IssuerError('invalid-code', 'the enrolment code is not valid')
        }
        this.db.prepare('INSERT INTO code_uses (code_hash, peer_id, at) VALUES (?, ?, ?)').run(codeHash, peerId, now)
      }
      this.db.prepare('INSERT INTO members (peer_id, typ, enrolled_at) VALUES (?, ?, ?) ON CONFLICT(peer_id) DO UPDATE SET typ = excluded.typ, enrolled_at = excluded.enrolled_at').run(peerId, typ, now)
      this.audit.append('enroll', repeated ? { peerId, typ, attestation: this.attestation.kind, repeated: true } : { peerId, typ, attestation: this.attestation.kind })
    })
    return { ...this.overlayConfig(), peerId, typ, credential, keys: this.keys() }
  }

  // ---- tokens -------------------------------------------------------------

  async token (req: TokenRequest, beforeIssue?: (peerId: string) => void): Promise<TokenResult> {
    if (req?.instance != null && (typeof req.instance !== 'string' || !INSTANCE_RE.test(req.instance))) {
      throw new IssuerError('bad-request', 'instance must be 8–64 base64url characters')
    }
    const { sub, typ, now } = await this.verifyMember(req, 'token')
    // a twin refused here must not spend the per-peer budget it shares with the original
    this.watchTwins(sub, req.instance ?? '')
    beforeIssue?.(sub)
    return this.issueToken(sub, typ, now)
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
    transaction(this.db, () => { this.audit.append('renew', { peerId: sub, typ, expiresAt }) })
    return { credential, expiresAt }
  }

  private async signCredential (peerId: string, typ: PeerType, now: number): Promise<string> {
    return signToken(this.credentialKey, {
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
  private async verifyMember (req: { credential: unknown, challenge: unknown, signature: unknown }, purpose: ChallengePurpose): Promise<{ sub: string, typ: PeerType, now: number }> {
    if (typeof req?.credential !== 'string' || req.credential.length > 2048) {
      throw new IssuerError('bad-request', 'credential must be a string')
    }
    const challenge = unb64(req.challenge, 'challenge', 128)
    const signature = unb64(req.signature, 'signature', 128)
    let claims
    try {
      claims = (await verifyTokenSignature(req.credential, this.credentialKey.publicKey, JWT_TYPE_CREDENTIAL)).claims
    } catch {
      throw new IssuerError('invalid-credential', 'the credential is not valid')
    }
    const now = this.now()
    if (claims.aud !== this.overlay || claims.iss !== this.id || claims.exp * 1000 < now) {
      throw new IssuerError('invalid-credential', 'the credential is expired or for another overlay')
    }
    if (!this.challenges.redeem(challenge)) {
      throw new IssuerError('invalid-challenge', 'the challenge is unknown, used or stale; ask for a new one')
    }
    const nodeKey = peerIdFromString(claims.sub).publicKey
    if (nodeKey?.type !== 'Ed25519' || !verifyDomain(publicKeyFromRawBytes(nodeKey.raw), signature, DOMAINS.issuerChallenge, ...challengeMessage(purpose, challenge))) {
      throw new IssuerError('invalid-proof', 'the signature does not prove possession of the key')
    }
    const member = this.memberCheck.get(claims.sub) as { typ: PeerType } | undefined
    // a credential of a type the member no longer has (it re-enrolled as
    // another type) is as dead as a revoked one
    if (this.revokedCheck.get(claims.sub) != null || member == null || member.typ !== claims.typ) {
      throw new IssuerError('revoked', 'this key is revoked')
    }
    return { sub: claims.sub, typ: claims.typ, now }
  }

  /**
   * A credential refreshed by two client instances within one token
   * lifetime: audited and counted once per pair and stage, and the newer
   * instance refused when `refuseTwins` is on. Only requests that proved
   * possession of the key get here, so nobody else can raise an alarm for
   * a member.
   */
  private watchTwins (peerId: string, instance: string): void {
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
      transaction(this.db, () => {
        this.audit.append('twin-suspected', {
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

  /** Sign a token for an enrolled member (the path `token()` takes after its checks). */
  async issueToken (peerId: string, typ: PeerType, now = this.now()): Promise<TokenResult> {
    await this.reloadKeys()
    const key = this.currentKey as SigningKey
    const nbf = Math.floor(now / 1000)
    const exp = Math.floor((now + this.tokenTtlMs) / 1000)
    const jti = randomUUID()
    const token = await signToken(key, { iss: this.id, aud: this.overlay, sub: peerId, typ, iat: nbf, nbf, exp, jti })
    this.audit.append('token', { peerId, jti, epoch: key.epoch, exp })
    return { token, expiresAt: exp * 1000, keyCertificate: this.currentCert }
  }

  // ---- rotation -----------------------------------------------------------

  /** Publish the next signing key; it signs nothing until activated. */
  async announceKey (): Promise<{ epoch: number, kid: string, certificate: string }> {
    const existing = this.db.prepare('SELECT epoch, kid, certificate FROM signing_keys WHERE state = \'announced\'').get() as { epoch: number, kid: string, certificate: string } | undefined
    if (existing != null) {
      return { epoch: Number(existing.epoch), kid: existing.kid, certificate: existing.certificate }
    }
    const max = (this.db.prepare('SELECT MAX(epoch) AS e FROM signing_keys').get() as { e: number }).e
    const epoch = Number(max) + 1
    const pair = generateEd25519()
    const kid = `e${epoch}-${randomBytes(4).toString('hex')}`
    const certificate = await signKeyCertificate(this.root.privateKey, this.overlay, kid, epoch, pair.publicKey, this.now())
    const sealed = JSON.stringify(await seal(this.passphrase, SEAL_LABEL, Buffer.from(privateKeyToPem(pair.privateKey)), this.scryptN))
    transaction(this.db, () => {
      this.db.prepare('INSERT INTO signing_keys (epoch, kid, sealed, certificate, state, announced_at) VALUES (?, ?, ?, ?, \'announced\', ?)').run(epoch, kid, sealed, certificate, this.now())
      setMeta(this.db, 'keys_version', randomUUID())
      this.audit.append('key-announced', { epoch, kid })
    })
    await this.reloadKeys()
    return { epoch, kid, certificate }
  }

  /** Make the announced key current; from now on the old epoch is refused everywhere. */
  async activateKey (): Promise<{ epoch: number, kid: string }> {
    const next = this.db.prepare('SELECT epoch, kid FROM signing_keys WHERE state = \'announced\' ORDER BY epoch LIMIT 1').get() as { epoch: number, kid: string } | undefined
    if (next == null) {
      throw new IssuerError('conflict', 'no key is announced; announce one first')
    }
    // unseal the key first and switch to it in the same turn as the commit:
    // the moment /v1/keys names the new key current, tokens are signed with it
    // (otherwise nodes that learned the new epoch are handed tokens of the
    // old one while the key unseals, and fail admission)
    const row = this.db.prepare('SELECT sealed, certificate FROM signing_keys WHERE epoch = ?').get(next.epoch) as { sealed: string, certificate: string }
    const pair = privateKeyFromPem(Buffer.from(await unseal(this.passphrase, SEAL_LABEL, JSON.parse(row.sealed))).toString())
    const version = randomUUID()
    transaction(this.db, () => {
      this.db.prepare('UPDATE signing_keys SET state = \'retired\' WHERE state = \'current\'').run()
      this.db.prepare('UPDATE signing_keys SET state = \'current\', activated_at = ? WHERE epoch = ?').run(this.now(), next.epoch)
      setMeta(this.db, 'keys_version', version)
      this.audit.append('key-activated', { epoch: Number(next.epoch), kid: next.kid })
    })
    this.currentKey = { kid: next.kid, epoch: Number(next.epoch), ...pair }
    this.currentCert = row.certificate
    this.keysVersion = version
    return { epoch: Number(next.epoch), kid: next.kid }
  }

  // ---- revocation ---------------------------------------------------------

  addAdmin (publicKey: string, name: string): void {
    const raw = unb64(publicKey, 'admin key', 64)
    if (raw.length !== 32 || typeof name !== 'string' || name.length === 0 || name.length > 64) {
      throw new IssuerError('bad-request', 'an admin needs a raw Ed25519 public key and a name')
    }
    transaction(this.db, () => {
      this.db.prepare('INSERT INTO admins (public_key, name, added_at) VALUES (?, ?, ?) ON CONFLICT(public_key) DO UPDATE SET name = excluded.name').run(publicKey, name, this.now())
      this.audit.append('admin-added', { publicKey, name })
    })
  }

  /** The name of a registered admin key (base64url raw Ed25519), or undefined. */
  adminName (publicKey: string): string | undefined {
    // on every signed admin request: prepared once
    const row = this.adminByKey.get(publicKey) as { name: string } | undefined
    return row?.name
  }

  requestRevocation (peerId: string, reason: string): RevocationRequest {
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
    transaction(this.db, () => {
      this.db.prepare('INSERT INTO revocation_requests (id, peer_id, reason, payload, state, created_at) VALUES (?, ?, ?, ?, \'pending\', ?)').run(id, peerId, reason, payload, this.now())
      this.audit.append('revocation-requested', { id, peerId, reason })
    })
    return this.revocationRequest(id)
  }

  revocationRequest (id: string): RevocationRequest {
    const row = this.db.prepare('SELECT id, peer_id, reason, payload, state FROM revocation_requests WHERE id = ?').get(id) as { id: string, peer_id: string, reason: string, payload: string, state: 'pending' | 'done' } | undefined
    if (row == null) {
      throw new IssuerError('not-found', 'no such revocation request')
    }
    const approvals = Number((this.db.prepare('SELECT COUNT(*) AS n FROM approvals WHERE request_id = ?').get(id) as { n: number }).n)
    return { id: row.id, peerId: row.peer_id, reason: row.reason, payload: b64(Buffer.from(row.payload)), approvals, threshold: this.revocationThreshold, state: row.state }
  }

  /**
   * Record one admin's approval: a signature by a registered admin key over
   * the request's exact payload. At k distinct valid approvals the peer is
   * revoked and a new revocation list is published.
   */
  async approve (id: string, adminKey: string, signature: string): Promise<RevocationRequest> {
    const request = this.revocationRequest(id)
    const admin = this.adminName(adminKey)
    const raw = unb64(adminKey, 'admin key', 64)
    const sig = unb64(signature, 'signature', 128)
    if (admin == null || raw.length !== 32 ||
      !verifyDomain(publicKeyFromRawBytes(raw), sig, DOMAINS.revocationApproval, Buffer.from(request.payload, 'base64url'))) {
      transaction(this.db, () => { this.audit.append('approval-refused', { id, adminKey }) })
      throw new IssuerError('invalid-proof', 'not a valid approval by a registered admin for this payload')
    }
    let reached = false
    transaction(this.db, () => {
      this.db.prepare('INSERT INTO approvals (request_id, admin_key, signature, at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING').run(id, adminKey, signature, this.now())
      this.audit.append('approval', { id, admin })
      const count = Number((this.db.prepare('SELECT COUNT(*) AS n FROM approvals WHERE request_id = ?').get(id) as { n: number }).n)
      if (request.state === 'pending' && count >= this.revocationThreshold) {
        this.db.prepare('UPDATE revocation_requests SET state = \'done\' WHERE id = ?').run(id)
        this.db.prepare('INSERT INTO revoked (peer_id, reason, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING').run(request.peerId, request.reason, this.now())
        this.audit.append('revoke', { peerId: request.peerId, reason: request.reason, request: id, approvals: count })
        reached = true
      }
    })
    if (reached) {
      await this.publishRevocationList(`request ${id}`)
    }
    return this.revocationRequest(id)
  }

  /** Sign a new revocation list with the next number. */
  async publishRevocationList (why: string): Promise<{ n: number, jws: string }> {
    const revoked = (this.db.prepare('SELECT peer_id, reason, at FROM revoked ORDER BY at').all() as Array<{ peer_id: string, reason: string, at: number }>)
      .map(r => ({ sub: r.peer_id, reason: r.reason, at: Math.floor(Number(r.at) / 1000) }))
    const last = (this.db.prepare('SELECT MAX(n) AS n FROM crls').get() as { n: number | null }).n
    const n = last == null ? 1 : Number(last) + 1
    const jws = await signRevocationList(this.root.privateKey, this.overlay, n, revoked, this.now())
    transaction(this.db, () => {
      this.db.prepare('INSERT INTO crls (n, jws, created_at) VALUES (?, ?, ?)').run(n, jws, this.now())
      this.audit.append('crl', { n, entries: revoked.length, why })
    })
    return { n, jws }
  }

  revocationList (): { n: number, jws: string } {
    const row = this.db.prepare('SELECT n, jws FROM crls ORDER BY n DESC LIMIT 1').get() as { n: number, jws: string }
    return { n: Number(row.n), jws: row.jws }
  }

  isRevoked (peerId: string): boolean {
    return this.revokedCheck.get(peerId) != null
  }
}

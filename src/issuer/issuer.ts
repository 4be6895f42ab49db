/**
 * The issuer (the producer): enrolment with one-time codes, short-lived
 * tokens against a credential and a proof of possession, strict signing-key
 * rotation under a long-term root key, k-of-n revocation, re-keying, and an
 * audit log of every decision. Transport-free: `http.ts` serves it, the CLI
 * drives it.
 *
 * This file opens and creates an issuer and holds its parts, one concept
 * each: `enrolment.ts`, `members.ts` (credentials and the member check),
 * `token-desk.ts` (tokens, renewals, twins), `signing-keys.ts` (rotation),
 * `revocations.ts`, `rekeys.ts`, `audit-log.ts`. Its state is in a database
 * behind the storage port (`db/`): a node:sqlite file by default, or
 * PostgreSQL shared by any number of replicas. Nothing a decision depends
 * on is cached across requests unless a write transaction re-checks it
 * (the signing epoch), so replicas agree.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { randomBytes, randomUUID } from 'node:crypto'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { Registry } from 'prom-client'
import { TOKEN_TTL_DEFAULT_MS, TOKEN_TTL_MAX_MS, TOKEN_TTL_MIN_MS } from '../admission/constants.ts'
import { signKeyCertificate } from '../admission/key-certificate.ts'
import { verifyRoleCertificate } from '../admission/role-certificate.ts'
import { publicKeyFromRawBytes, rawPublicKey } from '../core/keys.ts'
import { parseIssuerUrls } from '../issuer-client/issuer-url.ts'
import { challengeMessage } from '../issuer-client/wire.ts'
import { readMarker } from '../storage/index.ts'
import { noAttestation } from './attestation.ts'
import { AuditLog } from './audit-log.ts'
import { ChallengeBook } from './challenge.ts'
import { ISSUER_DB, openIssuerStore, readStorePointer } from './db/store-location.ts'
import { b64 } from './encoding.ts'
import { Enrolment } from './enrolment.ts'
import { IssuerError } from './errors.ts'
import { Members } from './members.ts'
import { getMeta, setMeta } from './meta.ts'
import { Rekeys } from './rekeys.ts'
import { Revocations } from './revocations.ts'
import { KeyVault, SEALED_BACKEND } from './key-vault.ts'
import { OfflineRoot } from './offline-root.ts'
import { SigningKeys } from './signing-keys.ts'
import { TokenDesk } from './token-desk.ts'
import type { SigningKey } from '../admission/token.ts'
import type { SignerKey } from '../core/keys.ts'
import type { IssuerKey } from './key-vault.ts'
import type { PendingRootRequest } from './offline-root.ts'
import type { KeyObject } from 'node:crypto'
import type { PeerType } from '../core/peer-type.ts'
import type { ChallengePurpose, EnrollRequest, EnrollResult, KeySet, OverlayConfig, RekeyRequest, RekeyResult, RenewRequest, RenewResult, RevocationRequest, TokenRequest, TokenResult } from '../issuer-client/wire.ts'
import type { AttestationVerifier } from './attestation.ts'
import type { IssuerDb, SqlTx } from './db/sql.ts'
import type { TwinEvent } from './token-desk.ts'

export { ISSUER_DB, challengeMessage }
export type { ChallengePurpose, EnrollRequest, EnrollResult, KeySet, OverlayConfig, PendingRootRequest, RekeyRequest, RekeyResult, RenewRequest, RenewResult, RevocationRequest, TokenRequest, TokenResult, TwinEvent }

const CREDENTIAL_KID = 'credential'
const CREDENTIAL_TTL_DEFAULT_MS = 7 * 24 * 3_600_000
/** how long a revocation key's certificate is asked for by default: a ceremony a quarter */
export const REVOCATION_KEY_VALIDITY_DEFAULT_MS = 90 * 24 * 3_600_000
/** an audit key's and an admin's certificate: as long as the overlay is likely to live */
const LONG_VALIDITY_MS = 10 * 365 * 24 * 3_600_000

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
  /** where a PKCS#11 token's PIN is looked up (TEMPUS_PKCS11_PIN_FILE, TEMPUS_PKCS11_PIN); default process.env */
  env?: NodeJS.ProcessEnv
}

export interface IssuerInitOptions extends IssuerOpenOptions {
  overlay: string
  issuerId?: string
  bootstrap?: string[]
  /** approvals needed to revoke */
  revocationThreshold?: number
  /**
   * Where the issuer's private keys are made: sealed with the passphrase in
   * the database (default), or a `pkcs11:` URI (token, base label
   * `object=…`, module-path) under which each key is generated in the token.
   */
  keys?: string
  /**
   * The base64url raw Ed25519 public key of an offline root (`tempus root
   * init`): the issuer then holds no root key; its first signing key, its
   * revocation key and its audit key wait for the root's answer to the
   * request `pendingRootRequests()` returns.
   */
  offlineRoot?: string
  /** the validity asked for a revocation key's certificate (offline root) */
  revocationKeyValidityMs?: number
}

/** The issuer's keys as opened: what signs each kind of statement. */
interface OpenedKeys {
  vault: KeyVault
  /** the root public key */
  rootPublic: KeyObject
  /** the root's private key, when it is online */
  root?: IssuerKey
  credential: IssuerKey
  /** what signs audit checkpoints: the root, or (offline root) the audit key */
  audit: IssuerKey
}

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



/** bootstrap peers an issuer hands to nodes at most */
const MAX_BOOTSTRAP_PEERS = 16

export class Issuer {
  readonly db: IssuerDb
  readonly overlay: string
  readonly id: string
  /** the root's public key (its private key is here only when the root is online) */
  readonly root: { publicKey: KeyObject }
  /** the key the audit log's checkpoints verify under: the root's, or the root-certified audit key's */
  readonly auditPublicKey: KeyObject
  /** is the root kept offline (every act that needs it is a request)? */
  readonly offlineRoot: boolean
  readonly audit: AuditLog
  readonly attestation: AttestationVerifier
  /** the issuer's metrics; serve them with `metrics.metrics()` */
  readonly metrics: Registry
  private readonly rootPublic: string
  private readonly challenges: ChallengeBook
  private readonly signingKeys: SigningKeys
  private readonly revocations: Revocations
  private readonly enrolment: Enrolment
  private readonly desk: TokenDesk
  private readonly rekeys: Rekeys
  private readonly vault: KeyVault
  private readonly offline?: OfflineRoot
  private readonly now: () => number

  private constructor (db: IssuerDb, audit: AuditLog, meta: { overlay: string, id: string, rootPublic: string }, keys: OpenedKeys, options: IssuerOpenOptions) {
    const now = options.now ?? Date.now
    this.now = now
    this.db = db
    this.audit = audit
    this.vault = keys.vault
    this.root = { publicKey: keys.rootPublic }
    this.auditPublicKey = keys.audit.publicKey
    this.offlineRoot = keys.root == null
    this.overlay = meta.overlay
    this.id = meta.id
    this.rootPublic = meta.rootPublic
    this.attestation = options.attestation ?? noAttestation()
    this.metrics = options.metrics ?? new Registry()
    this.challenges = new ChallengeBook(now)
    const root = keys.root?.signer
    this.offline = root == null ? new OfflineRoot({ db, audit, overlay: this.overlay, issuer: this.id, rootPublic: this.rootPublic, rootKey: keys.rootPublic, now }) : undefined
    this.signingKeys = new SigningKeys({ db, audit, vault: this.vault, root, offline: this.offline, overlay: this.overlay, now })
    this.revocations = new Revocations({
      db,
      audit,
      listSigner: async tx => root != null ? { key: root } : await this.revocationSigner(tx),
      adminCertified: root != null ? undefined : async (publicKey, tx) => await this.adminCertified(publicKey, tx),
      overlay: this.overlay,
      now
    })
    const credentialKey: SigningKey = { kid: CREDENTIAL_KID, epoch: 0, privateKey: keys.credential.signer, publicKey: keys.credential.publicKey }
    const members = new Members({ db, credentialKey, challenges: this.challenges, overlay: this.overlay, issuer: this.id, credentialTtlMs: options.credentialTtlMs ?? CREDENTIAL_TTL_DEFAULT_MS, now })
    this.enrolment = new Enrolment({ db, audit, members, revocations: this.revocations, challenges: this.challenges, attestation: this.attestation, now })
    this.rekeys = new Rekeys({ db, audit, members, revocations: this.revocations, onDone: options.onRekeyDone })
    this.desk = new TokenDesk({
      db,
      audit,
      members,
      keys: this.signingKeys,
      rekeys: this.rekeys,
      overlay: this.overlay,
      issuer: this.id,
      tokenTtlMs: options.tokenTtlMs ?? TOKEN_TTL_DEFAULT_MS,
      refuseTwins: options.refuseTwins ?? false,
      onTwin: options.onTwin,
      metrics: this.metrics,
      now
    })
  }

  /**
   * Create a new issuer: root key (unless `offlineRoot`), credential key
   * and the first signing key (epoch 1), in the key backend `keys`. With an
   * offline root the issuer also makes its revocation and audit keys and a
   * request for the root to certify them and the first signing key; it
   * serves nothing until the answer is imported (`importRootAnswer`).
   */
  static async init (options: IssuerInitOptions): Promise<Issuer> {
    if (!/^[a-z0-9][a-z0-9.-]{0,62}$/.test(options.overlay)) {
      throw new IssuerError('bad-request', 'overlay id: 1–63 of a-z, 0-9, ".", "-"')
    }
    checkTokenTtl(options.tokenTtlMs)
    let offlineRoot: KeyObject | undefined
    if (options.offlineRoot != null) {
      try {
        offlineRoot = publicKeyFromRawBytes(new Uint8Array(Buffer.from(options.offlineRoot, 'base64url')))
      } catch {
        throw new IssuerError('bad-request', '--offline-root must be the root\'s raw Ed25519 public key in base64url (43 characters), as tempus root init prints it')
      }
    }
    const validity = options.revocationKeyValidityMs ?? REVOCATION_KEY_VALIDITY_DEFAULT_MS
    if (!Number.isSafeInteger(validity) || validity < 3_600_000 || validity > LONG_VALIDITY_MS) {
      throw new IssuerError('bad-request', 'a revocation key\'s validity must be from 1 hour to 10 years')
    }
    const vault = new KeyVault({ backend: options.keys ?? SEALED_BACKEND, passphrase: options.passphrase, scryptN: options.scryptN, env: options.env })
    const db = await openIssuerStore(options.dir, { store: options.store, create: true, now: options.now, onError: options.onStoreError })
    let kid: string
    try {
      const now = options.now ?? Date.now
      const root = offlineRoot == null ? await vault.create('root') : undefined
      const rootPublic = b64(rawPublicKey(root?.publicKey ?? offlineRoot as KeyObject))
      const credential = await vault.create('credential')
      const first = await vault.create('signing-e1')
      const online = offlineRoot == null ? undefined : { revocation: await vault.create('revocation-s1'), audit: await vault.create('audit') }
      kid = `e1-${randomBytes(4).toString('hex')}`
      const cert = root != null ? await signKeyCertificate(root.signer, options.overlay, kid, 1, first.publicKey, now()) : ''
      await db.transaction(async tx => {
        // under the writer lock: of two inits racing on one database, one wins
        if (await getMeta(tx, 'overlay') != null) {
          throw new IssuerError('conflict', `${db.location} holds an issuer already`)
        }
        await setMeta(tx, 'overlay', options.overlay)
        await setMeta(tx, 'issuer', options.issuerId ?? `issuer.${options.overlay}`)
        await setMeta(tx, 'key_backend', vault.backend)
        if (root != null) {
          await setMeta(tx, 'root_key', root.stored)
        } else if (online != null) {
          await setMeta(tx, 'root_mode', 'offline')
          await setMeta(tx, 'revocation_validity_ms', String(validity))
          await setMeta(tx, 'audit_key', online.audit.stored)
          await setMeta(tx, `pending_key:${b64(rawPublicKey(online.revocation.publicKey))}`, online.revocation.stored)
        }
        await setMeta(tx, 'root_public', rootPublic)
        await setMeta(tx, 'credential_key', credential.stored)
        await setMeta(tx, 'bootstrap', JSON.stringify(options.bootstrap ?? []))
        await setMeta(tx, 'revocation_threshold', String(options.revocationThreshold ?? 2))
        await setMeta(tx, 'keys_version', randomUUID())
        // with an offline root the first key waits, announced, for its certificate
        await tx.run(`INSERT INTO signing_keys (epoch, kid, sealed, certificate, state, announced_at, activated_at) VALUES (1, $1, $2, $3, '${root != null ? 'current' : 'announced'}', $4, $5)`, [kid, first.stored, cert, now(), root != null ? now() : null])
      })
    } finally {
      await db.close()
      vault.close()
    }
    const issuer = await Issuer.open(options)
    await issuer.db.transaction(async tx => {
      await issuer.audit.append(tx, 'init', { overlay: issuer.overlay, issuer: issuer.id, root: issuer.rootPublic, offlineRoot: issuer.offlineRoot, keys: issuer.vault.inToken ? 'pkcs11' : 'sealed' })
      if (issuer.offline == null) {
        await issuer.audit.append(tx, 'key-activated', { epoch: 1, kid })
        await issuer.revocations.publishListIn(tx, 'init')
        return
      }
      const row = await tx.one<{ sealed: string }>('SELECT sealed FROM signing_keys WHERE epoch = 1')
      const first = await issuer.vault.open(row?.sealed ?? '')
      // the revocation key made above waits under its public key (pending_key:<public key>)
      const revocationPublic = (await tx.one<{ key: string }>('SELECT key FROM meta WHERE key LIKE \'pending_key:%\''))?.key.slice('pending_key:'.length) ?? ''
      const nowS = Math.floor(issuer.now() / 1000)
      await issuer.offline.createIn(tx, 'init', [
        { kind: 'signing-key', kid, epoch: 1, publicKey: b64(rawPublicKey(first.publicKey)) },
        { kind: 'revocation-key', serial: 1, publicKey: revocationPublic, notBefore: nowS, notAfter: nowS + Math.floor(validity / 1000) },
        { kind: 'audit-key', serial: 1, publicKey: b64(rawPublicKey(issuer.auditPublicKey)), notBefore: nowS, notAfter: nowS + Math.floor(LONG_VALIDITY_MS / 1000) }
      ])
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
    let vault: KeyVault | undefined
    try {
      const overlay = await getMeta(db, 'overlay')
      if (overlay == null) {
        throw new IssuerError('not-initialised', db.kind === 'sqlite' ? noIssuerMessage(options.dir) : `no issuer in ${db.location} (create one with: tempus issuer init --data DIR --store URL --overlay ID)`)
      }
      vault = new KeyVault({ backend: await getMeta(db, 'key_backend') ?? SEALED_BACKEND, passphrase: options.passphrase, scryptN: options.scryptN, env: options.env ?? process.env })
      const opened = vault
      const open = async (name: string): Promise<IssuerKey> => await opened.open(await getMeta(db, name) ?? '{}')
      const rootPublicText = await getMeta(db, 'root_public') ?? ''
      const offline = await getMeta(db, 'root_mode') === 'offline'
      const root = offline ? undefined : await open('root_key')
      const keys: OpenedKeys = {
        vault,
        rootPublic: publicKeyFromRawBytes(new Uint8Array(Buffer.from(rootPublicText, 'base64url'))),
        root,
        credential: await open('credential_key'),
        audit: root ?? await open('audit_key')
      }
      const audit = await AuditLog.open(db, keys.audit.signer, options.now ?? Date.now)
      const meta = { overlay, id: await getMeta(db, 'issuer') ?? '', rootPublic: rootPublicText }
      const issuer = new Issuer(db, audit, meta, keys, options)
      if (await db.one('SELECT 1 AS c FROM signing_keys WHERE state = \'current\'') != null) {
        await issuer.signingKeys.reload(true)
      }
      return issuer
    } catch (err) {
      vault?.close()
      await db.close()
      throw err
    }
  }

  async close (): Promise<void> {
    // the checkpoint still owed to this process's last decisions (the CLI exits right after)
    await this.audit.close()
    await this.db.close()
    this.vault.close()
  }

  get rootPublicKey (): string {
    return this.rootPublic
  }

  // ---- the offline root ------------------------------------------------------

  /** The requests this issuer made of its offline root and has not imported an answer for. */
  async pendingRootRequests (): Promise<PendingRootRequest[]> {
    return await this.offline?.pending() ?? []
  }

  /**
   * Import the offline root's answer to one of this issuer's requests
   * (`tempus issuer import`): checked (`OfflineRoot.check`), then applied in
   * one transaction that also makes the request single-use. A signing key
   * gets its certificate (the first one becomes current), a revocation key
   * replaces the old one and a list signed by it is published at once, the
   * audit key's certificate is kept, an admin is registered.
   */
  async importRootAnswer (text: string): Promise<{ nonce: string, purpose: string, imported: string[] }> {
    if (this.offline == null) {
      throw new IssuerError('conflict', 'this issuer holds its root key online; there is nothing to import')
    }
    const offline = this.offline
    const { pending, certificates } = await offline.check(text)
    const imported: string[] = []
    await this.db.transaction(async tx => {
      await offline.markImportedIn(tx, pending.request.nonce)
      let newRevocationKey = false
      for (const [i, item] of pending.request.items.entries()) {
        const certificate = certificates[i] as string
        if (item.kind === 'signing-key') {
          const first = pending.purpose === 'init'
          await tx.run(`UPDATE signing_keys SET certificate = $1${first ? ', state = \'current\', activated_at = $3' : ''} WHERE kid = $2 AND certificate = ''`, first ? [certificate, item.kid, this.now()] : [certificate, item.kid])
          await this.audit.append(tx, first ? 'key-activated' : 'key-certified', { epoch: item.epoch, kid: item.kid })
          imported.push(`signing key epoch ${item.epoch}${first ? ' (current)' : ' (announced; activate it when nodes have seen it)'}`)
        } else if (item.kind === 'revocation-key') {
          const stored = await getMeta(tx, `pending_key:${item.publicKey}`)
          if (stored == null) {
            throw new IssuerError('conflict', 'the revocation key this answer certifies is no longer held by the issuer')
          }
          await setMeta(tx, 'revocation_key', stored)
          await setMeta(tx, 'revocation_certificate', certificate)
          await tx.run('DELETE FROM meta WHERE key = $1', [`pending_key:${item.publicKey}`])
          await this.audit.append(tx, 'revocation-key', { serial: item.serial, publicKey: item.publicKey, notAfter: item.notAfter })
          newRevocationKey = true
          imported.push(`revocation key serial ${item.serial}, valid until ${new Date(item.notAfter * 1000).toISOString()}`)
        } else if (item.kind === 'audit-key') {
          await setMeta(tx, 'audit_certificate', certificate)
          await this.audit.append(tx, 'audit-key', { serial: item.serial, publicKey: item.publicKey })
          imported.push(`audit key serial ${item.serial}`)
        } else if (item.kind === 'admin') {
          await tx.run('INSERT INTO admins (public_key, name, added_at) VALUES ($1, $2, $3) ON CONFLICT (public_key) DO UPDATE SET name = excluded.name', [item.publicKey, item.name, this.now()])
          await tx.run('INSERT INTO admin_certificates (public_key, certificate) VALUES ($1, $2) ON CONFLICT (public_key) DO UPDATE SET certificate = excluded.certificate', [item.publicKey, certificate])
          await this.audit.append(tx, 'admin-added', { publicKey: item.publicKey, name: item.name, serial: item.serial })
          imported.push(`admin ${item.name}`)
        }
      }
      await setMeta(tx, 'keys_version', randomUUID())
      await this.audit.append(tx, 'root-answer', { nonce: pending.request.nonce, purpose: pending.purpose })
      if (newRevocationKey) {
        // nodes learn the new key (and retire the old one's serial) with this list
        await this.revocations.publishListIn(tx, 'revocation key certified')
      }
    })
    if (await this.db.one('SELECT 1 AS c FROM signing_keys WHERE state = \'current\'') != null) {
      await this.signingKeys.reload(true)
    }
    return { nonce: pending.request.nonce, purpose: pending.purpose, imported }
  }

  /**
   * Make a new revocation key and ask the offline root to certify it with
   * the next serial (`validityMs`, default what init was given). Nodes that
   * see a list signed under it refuse lists signed under every older serial:
   * this is how a revocation key is renewed before it expires, or retired
   * when it may have leaked.
   */
  async requestRevocationKey (validityMs?: number): Promise<PendingRootRequest> {
    const offline = this.offlineOrRefuse('a revocation key')
    const validity = validityMs ?? Number(await getMeta(this.db, 'revocation_validity_ms') ?? REVOCATION_KEY_VALIDITY_DEFAULT_MS)
    if (!Number.isSafeInteger(validity) || validity < 3_600_000 || validity > LONG_VALIDITY_MS) {
      throw new IssuerError('bad-request', 'a revocation key\'s validity must be from 1 hour to 10 years')
    }
    const serial = await this.nextSerial('revocation-key', this.db)
    const key = await this.vault.create(`revocation-s${serial}`)
    const publicKey = b64(rawPublicKey(key.publicKey))
    return await this.db.transaction(async tx => {
      // under the writer lock: two requests at once never ask for one serial
      if (await this.nextSerial('revocation-key', tx) !== serial) {
        throw new IssuerError('conflict', 'another revocation key was requested meanwhile; see tempus issuer requests')
      }
      await setMeta(tx, `pending_key:${publicKey}`, key.stored)
      const nowS = Math.floor(this.now() / 1000)
      return await offline.createIn(tx, 'revocation-key', [{ kind: 'revocation-key', serial, publicKey, notBefore: nowS, notAfter: nowS + Math.floor(validity / 1000) }])
    })
  }

  /** When the revocation key's certificate runs out (ms since the epoch; offline root), or undefined. */
  async revocationKeyExpiry (): Promise<number | undefined> {
    const certificate = await getMeta(this.db, 'revocation_certificate')
    if (certificate == null) {
      return undefined
    }
    const exp = JSON.parse(Buffer.from(certificate.split('.')[1] ?? '', 'base64url').toString('utf8')).exp
    return Number.isSafeInteger(exp) ? exp * 1000 : undefined
  }

  /** The audit key's root-signed certificate (offline root), for whoever checks checkpoints. */
  async auditCertificate (): Promise<string | undefined> {
    return await getMeta(this.db, 'audit_certificate')
  }

  private offlineOrRefuse (what: string): OfflineRoot {
    if (this.offline == null) {
      throw new IssuerError('conflict', `${what} is certified by the root at once on this issuer (its root is online)`)
    }
    return this.offline
  }

  /** a serial above every one this issuer asked for of `kind` (requests imported or not) */
  private async nextSerial (kind: 'revocation-key' | 'admin', tx: Pick<SqlTx, 'all'>): Promise<number> {
    let max = 0
    for (const row of await tx.all<{ body: string }>('SELECT body FROM root_requests WHERE purpose IN (\'init\', $1)', [kind])) {
      for (const item of JSON.parse(row.body).items ?? []) {
        if (item.kind === kind && Number.isSafeInteger(item.serial)) {
          max = Math.max(max, item.serial)
        }
      }
    }
    return max + 1
  }

  /** What signs revocation lists with an offline root: the certified revocation key, while its certificate is valid. */
  private async revocationSigner (tx: Pick<SqlTx, 'one'>): Promise<{ key: SignerKey, certificate: string }> {
    const stored = await getMeta(tx, 'revocation_key')
    const certificate = await getMeta(tx, 'revocation_certificate')
    if (stored == null || certificate == null) {
      throw new IssuerError('not-initialised', 'no certified revocation key yet: have the offline root sign the pending request (tempus root sign), then tempus issuer import')
    }
    try {
      await verifyRoleCertificate(certificate, this.root.publicKey, this.overlay, 'revocation', this.now())
    } catch (err: any) {
      throw new IssuerError('not-initialised', `the revocation key's certificate is not valid now (${String(err.message)}); renew it: tempus issuer revocation-key --data DIR, then tempus root sign and tempus issuer import`)
    }
    return { key: (await this.vault.open(stored)).signer, certificate }
  }

  /** Is this admin registered by the offline root (a valid root-signed admin certificate for this key)? */
  private async adminCertified (publicKey: string, tx: Pick<SqlTx, 'one'>): Promise<boolean> {
    const row = await tx.one<{ certificate: string }>('SELECT certificate FROM admin_certificates WHERE public_key = $1', [publicKey])
    if (row == null) {
      return false
    }
    try {
      const cert = await verifyRoleCertificate(row.certificate, this.root.publicKey, this.overlay, 'admin', this.now())
      return cert.x === publicKey
    } catch {
      return false
    }
  }

  // ---- the overlay's settings ----------------------------------------------

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

  /**
   * The bootstrap peers handed to nodes at enrolment: multiaddrs ending in
   * /p2p/<PeerId> (canonical), at most 16; audited. Nodes enrolled before
   * keep theirs (their config's `bootstrap` replaces it).
   */
  async setBootstrap (list: string[]): Promise<void> {
    if (list.length > MAX_BOOTSTRAP_PEERS) {
      throw new IssuerError('bad-request', `at most ${MAX_BOOTSTRAP_PEERS} bootstrap peers`)
    }
    for (const addr of list) {
      let id: string | undefined
      try {
        id = multiaddr(addr).getComponents().findLast(c => c.name === 'p2p')?.value
      } catch {
        throw new IssuerError('bad-request', `${addr.slice(0, 256)} is not a multiaddr (write it as /ip4/203.0.113.7/tcp/4001/p2p/12D3KooW…)`)
      }
      let canonical = false
      try {
        canonical = id != null && peerIdFromString(id).toString() === id
      } catch {}
      if (!canonical) {
        throw new IssuerError('bad-request', `${addr.slice(0, 256)} does not end in /p2p/<PeerId> (the sentinel's PeerId: tempus id --data DIR)`)
      }
    }
    await this.db.transaction(async tx => {
      await setMeta(tx, 'bootstrap', JSON.stringify(list))
      await this.audit.append(tx, 'bootstrap', { peers: list })
    })
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

  // ---- enrolment, tokens, renewal, re-keying --------------------------------

  challenge (): string {
    return b64(this.challenges.issue())
  }

  /**
   * A challenge sealed for one device (TPM: its EK certificate and AK,
   * protocols/attestation.md): the answer carries no challenge in clear,
   * only what the device alone can open.
   */
  sealedChallenge (device: unknown): Record<string, unknown> {
    if (this.attestation.sealChallenge == null) {
      throw new IssuerError('bad-request', `this issuer's attestation (${this.attestation.kind}) takes a plain challenge: send {}`)
    }
    const seal = this.attestation.sealChallenge(device)
    return seal.seal(this.challenges.issue(seal.binding))
  }

  async createCode (typ: PeerType, uses = 1, expiresInMs = 3_600_000): Promise<string> {
    return await this.enrolment.createCode(typ, uses, expiresInMs)
  }

  async enroll (req: EnrollRequest): Promise<EnrollResult> {
    const enrolled = await this.enrolment.enroll(req)
    return { ...await this.overlayConfig(), ...enrolled, keys: await this.keys() }
  }

  async token (req: TokenRequest, beforeIssue?: (peerId: string) => void): Promise<TokenResult> {
    return await this.desk.token(req, beforeIssue)
  }

  /** Sign a token for an enrolled member (the path `token()` takes after its checks). */
  async issueToken (peerId: string, typ: PeerType, now?: number): Promise<TokenResult> {
    return await this.desk.issue(peerId, typ, now)
  }

  async renew (req: RenewRequest, beforeIssue?: (peerId: string) => void): Promise<RenewResult> {
    return await this.desk.renew(req, beforeIssue)
  }

  async rekey (req: RekeyRequest, beforeIssue?: (peerId: string) => void): Promise<RekeyResult> {
    return await this.rekeys.rekey(req, beforeIssue)
  }

  // ---- signing keys ---------------------------------------------------------

  async keys (): Promise<KeySet> {
    return await this.signingKeys.keys()
  }

  /** Publish the next signing key; it signs nothing until activated. */
  async announceKey (): Promise<{ epoch: number, kid: string, certificate: string, request?: PendingRootRequest }> {
    return await this.signingKeys.announce()
  }

  /** Make the announced key current; from now on the old epoch is refused everywhere. */
  async activateKey (): Promise<{ epoch: number, kid: string }> {
    return await this.signingKeys.activate()
  }

  // ---- revocation -----------------------------------------------------------

  async revocationThreshold (tx?: Pick<SqlTx, 'one'>): Promise<number> {
    return await this.revocations.threshold(tx)
  }

  async setRevocationThreshold (k: number): Promise<void> {
    await this.revocations.setThreshold(k)
  }

  /**
   * Register an admin. With an offline root the admin is registered only
   * when the root's answer to the returned request is imported: approvals
   * count only from admins the root certified, so whoever can write to the
   * issuer's database cannot make up approvers.
   */
  async addAdmin (publicKey: string, name: string): Promise<PendingRootRequest | undefined> {
    if (this.offline == null) {
      await this.revocations.addAdmin(publicKey, name)
      return undefined
    }
    const raw = new Uint8Array(Buffer.from(typeof publicKey === 'string' ? publicKey : '', 'base64url'))
    if (raw.length !== 32 || b64(raw) !== publicKey || typeof name !== 'string' || name.length === 0 || name.length > 64) {
      throw new IssuerError('bad-request', 'an admin needs a raw Ed25519 public key (base64url) and a name of 1–64 characters')
    }
    const offline = this.offline
    const nowS = Math.floor(this.now() / 1000)
    return await this.db.transaction(async tx => {
      const serial = await this.nextSerial('admin', tx)
      return await offline.createIn(tx, 'admin', [{ kind: 'admin', serial, publicKey, name, notBefore: nowS, notAfter: nowS + Math.floor(LONG_VALIDITY_MS / 1000) }])
    })
  }

  /** The name of a registered admin key (base64url raw Ed25519), or undefined. */
  async adminName (publicKey: string): Promise<string | undefined> {
    return await this.revocations.adminName(publicKey)
  }

  async requestRevocation (peerId: string, reason: string): Promise<RevocationRequest> {
    return await this.revocations.request(peerId, reason)
  }

  /** A node's proof that a peer cloned a descriptor: checked, and a revocation request opened for admins to approve (`Revocations.fromCloneProof`). */
  async offerCloneProof (json: unknown): Promise<RevocationRequest> {
    return await this.revocations.fromCloneProof(json)
  }

  /** The revocation requests awaiting approval, oldest first. */
  async pendingRevocations (): Promise<RevocationRequest[]> {
    return await this.revocations.pending()
  }

  async revocationRequest (id: string): Promise<RevocationRequest> {
    return await this.revocations.get(id)
  }

  async approve (id: string, adminKey: string, signature: string): Promise<RevocationRequest> {
    return await this.revocations.approve(id, adminKey, signature)
  }

  /** Sign a new revocation list with the next number. */
  async publishRevocationList (why: string): Promise<{ n: number, jws: string }> {
    return await this.revocations.publishList(why)
  }

  async revocationList (): Promise<{ n: number, jws: string }> {
    return await this.revocations.list()
  }

  async isRevoked (peerId: string): Promise<boolean> {
    return await this.revocations.isRevoked(peerId)
  }
}

function checkTokenTtl (ttl: number | undefined): void {
  if (ttl != null && (ttl < TOKEN_TTL_MIN_MS || ttl > TOKEN_TTL_MAX_MS)) {
    throw new RangeError('token lifetime must be 2 to 5 minutes')
  }
}

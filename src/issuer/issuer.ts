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
import { generateEd25519, rawPublicKey } from '../core/keys.ts'
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
import { sealKey, unsealKey } from './sealed-keys.ts'
import { SigningKeys } from './signing-keys.ts'
import { TokenDesk } from './token-desk.ts'
import type { SigningKey } from '../admission/token.ts'
import type { Ed25519KeyPair } from '../core/keys.ts'
import type { PeerType } from '../core/peer-type.ts'
import type { ChallengePurpose, EnrollRequest, EnrollResult, KeySet, OverlayConfig, RekeyRequest, RekeyResult, RenewRequest, RenewResult, RevocationRequest, TokenRequest, TokenResult } from '../issuer-client/wire.ts'
import type { AttestationVerifier } from './attestation.ts'
import type { IssuerDb, SqlTx } from './db/sql.ts'
import type { TwinEvent } from './token-desk.ts'

export { ISSUER_DB, challengeMessage }
export type { ChallengePurpose, EnrollRequest, EnrollResult, KeySet, OverlayConfig, RekeyRequest, RekeyResult, RenewRequest, RenewResult, RevocationRequest, TokenRequest, TokenResult, TwinEvent }

const CREDENTIAL_KID = 'credential'
const CREDENTIAL_TTL_DEFAULT_MS = 7 * 24 * 3_600_000

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

export interface IssuerInitOptions extends IssuerOpenOptions {
  overlay: string
  issuerId?: string
  bootstrap?: string[]
  /** approvals needed to revoke */
  revocationThreshold?: number
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
  readonly root: Ed25519KeyPair
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

  private constructor (db: IssuerDb, audit: AuditLog, meta: { overlay: string, id: string, rootPublic: string }, root: Ed25519KeyPair, credentialKey: SigningKey, options: IssuerOpenOptions) {
    const now = options.now ?? Date.now
    this.db = db
    this.audit = audit
    this.root = root
    this.overlay = meta.overlay
    this.id = meta.id
    this.rootPublic = meta.rootPublic
    this.attestation = options.attestation ?? noAttestation()
    this.metrics = options.metrics ?? new Registry()
    this.challenges = new ChallengeBook(now)
    this.signingKeys = new SigningKeys({ db, audit, root, overlay: this.overlay, passphrase: options.passphrase, scryptN: options.scryptN, now })
    this.revocations = new Revocations({ db, audit, root, overlay: this.overlay, now })
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

  /** Create a new issuer: root key, credential key and the first signing key (epoch 1). */
  static async init (options: IssuerInitOptions): Promise<Issuer> {
    if (!/^[a-z0-9][a-z0-9.-]{0,62}$/.test(options.overlay)) {
      throw new IssuerError('bad-request', 'overlay id: 1–63 of a-z, 0-9, ".", "-"')
    }
    checkTokenTtl(options.tokenTtlMs)
    const db = await openIssuerStore(options.dir, { store: options.store, create: true, now: options.now, onError: options.onStoreError })
    let kid: string
    try {
      const now = options.now ?? Date.now
      const root = generateEd25519()
      const credential = generateEd25519()
      const sealedRoot = await sealKey(options.passphrase, root, options.scryptN)
      const sealedCredential = await sealKey(options.passphrase, credential, options.scryptN)
      const first = generateEd25519()
      kid = `e1-${randomBytes(4).toString('hex')}`
      const cert = await signKeyCertificate(root.privateKey, options.overlay, kid, 1, first.publicKey, now())
      const sealedFirst = await sealKey(options.passphrase, first, options.scryptN)
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
      await issuer.audit.append(tx, 'key-activated', { epoch: 1, kid })
      await issuer.revocations.publishListIn(tx, 'init')
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
          return await unsealKey(options.passphrase, await getMeta(db, name) ?? '{}')
        } catch {
          throw new IssuerError('bad-request', 'cannot open the issuer keys: wrong passphrase or corrupted database')
        }
      }
      const root = await open('root_key')
      const credential = await open('credential_key')
      const audit = await AuditLog.open(db, root.privateKey, options.now ?? Date.now)
      const meta = { overlay, id: await getMeta(db, 'issuer') ?? '', rootPublic: await getMeta(db, 'root_public') ?? '' }
      const issuer = new Issuer(db, audit, meta, root, { kid: CREDENTIAL_KID, epoch: 0, ...credential }, options)
      await issuer.signingKeys.reload(true)
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
  async announceKey (): Promise<{ epoch: number, kid: string, certificate: string }> {
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

  async addAdmin (publicKey: string, name: string): Promise<void> {
    await this.revocations.addAdmin(publicKey, name)
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

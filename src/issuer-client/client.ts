/**
 * A node's side of the issuer API over HTTP(S): challenges, enrolment,
 * tokens, keys and revocation lists. Every answer is checked for shape; the
 * signatures inside are checked by the node's verifier.
 */
import { TempusError } from '../core/tempus-error.ts'
import { randomBytes } from 'node:crypto'
import { DOMAINS } from '../core/domains.ts'
import { patientTimeout } from '../core/loop-lag.ts'
import { domainBytes } from '../core/keys.ts'
import { signAdminRequest } from './admin-request.ts'
import { challengeMessage } from './wire.ts'
import { parseIssuerUrls } from './issuer-url.ts'
import type { CloneProofJson } from '../core/clone-proof.ts'
import type { TpmActivation, TpmChallengeRequest } from './tpm-wire.ts'
import type { AuditEntry } from './wire.ts'
import type { ChallengePurpose, EnrollResult, KeySet, RekeyResult, RenewResult, RevocationRequest, TokenResult } from './wire.ts'
import type { PeerType } from '../core/peer-type.ts'
import type { PrivateKey } from '@libp2p/interface'
import type { KeyObject } from 'node:crypto'

export class IssuerClientError extends TempusError {
  override readonly name = 'IssuerClientError'
  /** the issuer's error code, or `unreachable` */
  readonly code: string
  readonly status: number
  /** with `unreachable`: what the network said (`timeout`, `ECONNREFUSED`, …) */
  readonly reason?: string

  constructor (code: string, status: number, message: string, reason?: string) {
    super(message)
    this.code = code
    this.status = status
    this.reason = reason
  }
}

/** A platform that obtains its own enrolment challenge and vouches for the node key on it. */
export interface EnrolmentAttestor {
  /** the challenge to enrol with (a TPM: one sealed for it, which it opens) */
  challenge(client: IssuerClient): Promise<Uint8Array>
  /** the evidence for that challenge and the node's raw Ed25519 public key */
  evidence(challenge: Uint8Array, publicKey: Uint8Array): Promise<string>
}

export interface IssuerClientInit {
  url: string
  timeoutMs?: number
  /**
   * this client's instance id, sent with every token request so the issuer
   * can tell two processes holding one credential apart. Drawn at random per
   * client (one per node process) and kept only in memory: persisting it
   * would copy it along with a data directory.
   * @default 16 random bytes, base64url
   */
  instance?: string
  /** the clock signed admin requests carry */
  now?: () => number
}

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url')

/** the `reason` of a request ended by `interrupt` (not the issuer's doing, nor the network's as it is now) */
export const INTERRUPTED = 'interrupted'

/** Was this failure a request ended by `interrupt`? */
export function isInterrupted (err: unknown): boolean {
  return err instanceof IssuerClientError && err.code === 'unreachable' && err.reason === INTERRUPTED
}

/**
 * Run `request`, and once more if a network change ended it (`interrupt`):
 * it went out on the old network, and the new one may well carry it. Any
 * other failure, a second interruption, or one after `signal` aborted, is
 * thrown as it came.
 */
export async function onceMoreIfInterrupted<T> (request: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  try {
    return await request()
  } catch (err) {
    if (!isInterrupted(err) || signal?.aborted === true) {
      throw err
    }
    return await request()
  }
}

/**
 * What the host's own network says when no packet can reach the issuer: no
 * route, or no neighbour answering for it (a partition, a link down). Such a
 * request never reached the issuer, so retrying it soon costs the issuer
 * nothing. `ETIMEDOUT` is not among them: an overloaded issuer times out too.
 */
const NO_ROUTE_CODES = new Set(['EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN'])

/** Did this request fail because this host had no way to the issuer (every replica, through `IssuerReplicas`)? */
export function isNoRoute (err: unknown): boolean {
  return err instanceof IssuerClientError && err.code === 'unreachable' && NO_ROUTE_CODES.has(err.reason ?? '')
}

/** Did the issuer say it held a request that asked to wait (`Preference-Applied: wait=N`)? */
function preferenceApplied (waitS: number, headers: Headers): boolean {
  return waitS > 0 && /(?:^|[,;\s])wait\s*=/i.test(headers.get('preference-applied') ?? '')
}

/** connection-level failures of a reused keep-alive socket */
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET'])

export class IssuerClient {
  readonly url: string
  readonly instance: string
  /** the URL of the last answer, refusals included (one URL here; see `IssuerReplicas` for several) */
  lastAnswered?: string
  private readonly timeoutMs: number
  private readonly now: () => number
  /** aborted by `interrupt`: every request in flight ends with it */
  private cut = new AbortController()

  constructor (init: IssuerClientInit) {
    this.url = init.url.replace(/\/+$/, '')
    this.timeoutMs = init.timeoutMs ?? 10_000
    this.instance = init.instance ?? randomBytes(16).toString('base64url')
    this.now = init.now ?? Date.now
  }

  /** the issuer's base URLs: this client's one */
  get urls (): string[] {
    return [this.url]
  }

  /**
   * End every request in flight now, as `unreachable` with the reason
   * `interrupted`: the host's network changed under them (a link came
   * back), so an answer may never come on the socket they went out on, and
   * waiting out their timeout only delays the request sent again on the
   * new network. Later requests are not affected.
   */
  interrupt (): void {
    this.cut.abort()
    this.cut = new AbortController()
  }

  /**
   * `held`: the issuer may keep this request for up to that many ms before
   * answering (a long poll), added to the timeout; `signal`: the caller's
   * own end (a stopping node), reported as `interrupted`.
   */
  private async request<T> (method: 'GET' | 'POST', path: string, body?: unknown, headers: Record<string, string> = {}, options: { heldMs?: number, signal?: AbortSignal } = {}): Promise<{ status: number, body: T | undefined, headers: Headers }> {
    // a deadline that falls while this node's own loop ran late is moved on (loop-lag.ts)
    const patience = patientTimeout(this.timeoutMs + (options.heldMs ?? 0))
    try {
      return await this.requestWithin<T>(patience.signal, method, path, body, headers, options.signal)
    } finally {
      patience.close()
    }
  }

  private async requestWithin<T> (timeout: AbortSignal, method: 'GET' | 'POST', path: string, body: unknown, headers: Record<string, string>, ended?: AbortSignal): Promise<{ status: number, body: T | undefined, headers: Headers }> {
    let res: Response | undefined
    const cut = ended == null ? this.cut.signal : AbortSignal.any([this.cut.signal, ended])
    const signal = AbortSignal.any([timeout, cut])
    for (let attempt = 1; res == null; attempt++) {
      try {
        res = await fetch(this.url + path, {
          method,
          headers: body == null ? headers : { 'content-type': 'application/json', ...headers },
          body: body == null ? undefined : JSON.stringify(body),
          signal
        })
      } catch (err: any) {
        // a kept-alive socket the server closed as we reused it: sent again
        // once on a new one (a request that did arrive is refused the second
        // time by its one-use challenge, so nothing is done twice)
        if (attempt === 1 && RESET_CODES.has(err?.cause?.code) && !signal.aborted) {
          continue
        }
        const reason = cut.aborted ? INTERRUPTED : timeout.aborted ? 'timeout' : String(err?.cause?.code ?? err?.name ?? 'error')
        throw new IssuerClientError('unreachable', 0, `issuer ${this.url} unreachable: ${reason}`, reason)
      }
    }
    this.lastAnswered = this.url
    if (res.status === 304) {
      return { status: 304, body: undefined, headers: res.headers }
    }
    let text: string
    try {
      text = await res.text()
    } catch (err: any) {
      // the answer began but did not finish (a timeout, a dropped connection)
      const reason = signal.aborted ? 'timeout' : String(err?.cause?.code ?? err?.name ?? 'error')
      throw new IssuerClientError('unreachable', 0, `issuer ${this.url} stopped answering: ${reason}`, reason)
    }
    let parsed: any
    try {
      parsed = JSON.parse(text)
    } catch {
      throw new IssuerClientError('bad-response', res.status, `issuer answered ${res.status} with something that is not JSON`)
    }
    if (!res.ok) {
      const code = typeof parsed?.error === 'string' ? parsed.error : 'error'
      // the issuer's `detail` (what to change), when it gives one: cut, and printable only
      const detail = typeof parsed?.detail === 'string' ? parsed.detail.slice(0, 300).replace(/[^\x20-\x7e\u00a0-\uffff]/g, '?') : undefined
      throw new IssuerClientError(code, res.status, `issuer refused ${path}: ${code}${detail != null ? ` (${detail})` : ''}`)
    }
    return { status: res.status, body: parsed as T, headers: res.headers }
  }

  async challenge (): Promise<Uint8Array> {
    const { body } = await this.request<{ challenge: string }>('POST', '/v1/challenge', {})
    if (typeof body?.challenge !== 'string') {
      throw new IssuerClientError('bad-response', 200, 'no challenge in the answer')
    }
    return new Uint8Array(Buffer.from(body.challenge, 'base64url'))
  }

  /** A fresh challenge and the node key's signature over it, for one purpose. */
  private async prove (key: PrivateKey, purpose: ChallengePurpose): Promise<{ raw: Uint8Array, challenge: string, signature: string }> {
    const raw = await this.challenge()
    const signature = await key.sign(domainBytes(DOMAINS.issuerChallenge, ...challengeMessage(purpose, raw)))
    return { raw, challenge: b64(raw), signature: b64(signature) }
  }

  /**
   * A challenge sealed for a TPM (protocols/attestation.md): only the TPM
   * holding this EK and this AK opens it, with TPM2_ActivateCredential.
   */
  async sealedChallenge (tpm: TpmChallengeRequest): Promise<TpmActivation> {
    const { body } = await this.request<{ activation?: TpmActivation }>('POST', '/v1/challenge', { tpm })
    const a = body?.activation
    if (typeof a?.credentialBlob !== 'string' || typeof a.encryptedSecret !== 'string' || a.pcrs == null || typeof a.pcrs !== 'object') {
      throw new IssuerClientError('bad-response', 200, 'no sealed challenge in the answer')
    }
    return a
  }

  /**
   * Enrol `key` with a one-time code. With `typ`, the issuer refuses a code
   * of another type (`wrong-type`) without using it up. `attestation`: a
   * function of the challenge giving the evidence, or an `EnrolmentAttestor`
   * that also obtains the challenge (a TPM opens a sealed one).
   */
  async enroll (key: PrivateKey, code: string, attestation?: ((challenge: Uint8Array) => string | Promise<string>) | EnrolmentAttestor, typ?: PeerType): Promise<EnrollResult> {
    let proof: { raw: Uint8Array, challenge: string, signature: string }
    let evidence: string | undefined
    if (attestation != null && typeof attestation !== 'function') {
      const raw = await attestation.challenge(this)
      const signature = await key.sign(domainBytes(DOMAINS.issuerChallenge, ...challengeMessage('enroll', raw)))
      proof = { raw, challenge: b64(raw), signature: b64(signature) }
      evidence = await attestation.evidence(raw, key.publicKey.raw)
    } else {
      proof = await this.prove(key, 'enroll')
      // a platform's attestation API is asynchronous (Android's keystore, App Attest)
      evidence = attestation == null ? undefined : await attestation(proof.raw)
    }
    const { body } = await this.request<EnrollResult>('POST', '/v1/enroll', {
      code,
      publicKey: b64(key.publicKey.raw),
      challenge: proof.challenge,
      signature: proof.signature,
      attestation: evidence,
      typ
    })
    if (typeof body?.credential !== 'string' || typeof body.rootPublicKey !== 'string' || typeof body.keys?.current !== 'string') {
      throw new IssuerClientError('bad-response', 200, 'incomplete enrolment answer')
    }
    const issuers = (body as { issuers?: unknown }).issuers
    if (issuers != null) {
      // every replica's URL, kept in the enrollment file and asked by the node: checked like a config's
      try {
        (body as { issuers?: string[] }).issuers = parseIssuerUrls(issuers)
      } catch (err: any) {
        throw new IssuerClientError('bad-response', 200, `the enrolment answer's replica list is not usable: ${String(err.message)}`)
      }
    }
    if (typ != null && body.typ !== typ) {
      // an issuer that ignores `typ` (older than the field) used the code anyway
      throw new IssuerClientError('wrong-type', 200, `the issuer enrolled this key as ${String(body.typ)}, not ${typ}`)
    }
    return body
  }

  async token (key: PrivateKey, credential: string): Promise<TokenResult> {
    const proof = await this.prove(key, 'token')
    const { body } = await this.request<TokenResult>('POST', '/v1/token', { credential, challenge: proof.challenge, signature: proof.signature, instance: this.instance })
    if (typeof body?.token !== 'string' || typeof body.keyCertificate !== 'string' || !Number.isFinite(body.expiresAt)) {
      throw new IssuerClientError('bad-response', 200, 'incomplete token answer')
    }
    return body
  }

  /**
   * Move the member holding `credential` (for `oldKey`) to `newKey`: both
   * keys prove possession over one fresh challenge and the new public key.
   * The answer is a credential for the new PeerId; the issuer revokes the
   * old one when the new one fetches its first token.
   */
  async rekey (oldKey: PrivateKey, credential: string, newKey: PrivateKey): Promise<RekeyResult> {
    const raw = await this.challenge()
    const bound = newKey.publicKey.raw
    const signature = await oldKey.sign(domainBytes(DOMAINS.issuerChallenge, ...challengeMessage('rekey', raw, bound)))
    const newSignature = await newKey.sign(domainBytes(DOMAINS.issuerChallenge, ...challengeMessage('rekey-new', raw, bound)))
    const { body } = await this.request<RekeyResult>('POST', '/v1/rekey', { credential, challenge: b64(raw), signature: b64(signature), publicKey: b64(bound), newSignature: b64(newSignature) })
    if (typeof body?.credential !== 'string' || typeof body.peerId !== 'string' || !Number.isFinite(body.expiresAt)) {
      throw new IssuerClientError('bad-response', 200, 'incomplete re-key answer')
    }
    return body
  }

  /**
   * A new credential for `key` (same subject and type, a new lifetime),
   * against its current, still valid credential.
   */
  async renew (key: PrivateKey, credential: string): Promise<RenewResult> {
    const proof = await this.prove(key, 'renew')
    const { body } = await this.request<RenewResult>('POST', '/v1/renew', { credential, challenge: proof.challenge, signature: proof.signature })
    if (typeof body?.credential !== 'string' || !Number.isFinite(body.expiresAt)) {
      throw new IssuerClientError('bad-response', 200, 'incomplete renewal answer')
    }
    return body
  }

  async keys (): Promise<KeySet> {
    return (await this.awaitKeys()).keys as KeySet
  }

  /**
   * The issuer's keys if they are not the ones tagged `known` (the `tag`
   * of an earlier answer); with `waitMs`, the issuer may hold the request
   * until they change or the wait ends, as `awaitRevocationList` does.
   */
  async awaitKeys (known?: string, options: { waitMs?: number, signal?: AbortSignal } = {}): Promise<{ keys?: KeySet, tag?: string, held: boolean }> {
    const { status, body, headers: answered, held } = await this.poll<KeySet>('/v1/keys', known, options)
    if (status === 304) {
      return { held, tag: known }
    }
    if (typeof body?.current !== 'string') {
      throw new IssuerClientError('bad-response', 200, 'incomplete key set')
    }
    // an entity tag of the plain form only (it goes back in If-None-Match as it came)
    const etag = answered.get('etag') ?? undefined
    return { keys: body, tag: etag != null && /^"[\x21\x23-\x7e]{1,100}"$/.test(etag) ? etag : undefined, held }
  }

  /**
   * A conditional GET (`If-None-Match: tag`) that the issuer may hold up to
   * `waitMs` until what it names changes (`Prefer: wait`, whole seconds;
   * only with a tag: without one the answer is the thing itself, at once).
   * `held`: the issuer said it held it (`Preference-Applied`).
   */
  private async poll<T> (path: string, tag: string | undefined, options: { waitMs?: number, signal?: AbortSignal }): Promise<{ status: number, body: T | undefined, headers: Headers, held: boolean }> {
    const headers: Record<string, string> = tag == null ? {} : { 'if-none-match': tag }
    const waitS = tag == null ? 0 : Math.floor((options.waitMs ?? 0) / 1000)
    if (waitS > 0) {
      headers.prefer = `wait=${waitS}`
    }
    const answer = await this.request<T>('GET', path, undefined, headers, { heldMs: waitS * 1000, signal: options.signal })
    return { ...answer, held: preferenceApplied(waitS, answer.headers) }
  }

  /** The newest revocation list, or undefined when it is still the one numbered `known`. */
  async revocationList (known?: number): Promise<{ n: number, jws: string } | undefined> {
    return (await this.awaitRevocationList(known)).list
  }

  /**
   * The revocation list if it is newer than `known`; with `waitMs`, the
   * issuer may hold the request until a newer one exists or the wait ends
   * (`Prefer: wait`, protocols/issuer.md). `held`: the issuer said it
   * waited (an issuer that does not hold answers at once, without saying
   * so), so the next request may follow at once.
   */
  async awaitRevocationList (known?: number, options: { waitMs?: number, signal?: AbortSignal } = {}): Promise<{ list?: { n: number, jws: string }, held: boolean }> {
    const { status, body, held } = await this.poll<{ n: number, jws: string }>('/v1/crl', known == null ? undefined : `"${known}"`, options)
    if (status === 304) {
      return { held }
    }
    if (typeof body?.jws !== 'string' || typeof body.n !== 'number') {
      throw new IssuerClientError('bad-response', 200, 'incomplete revocation list')
    }
    return { list: { n: body.n, jws: body.jws }, held }
  }

  /**
   * Offer a proof that a peer cloned a Cyclon descriptor (src/core/clone-proof.ts)
   * as grounds for revoking it: the issuer checks it and opens a revocation
   * request (or answers with the one already open), which admins approve.
   */
  async offerCloneProof (proof: CloneProofJson): Promise<RevocationRequest> {
    const { body } = await this.request<RevocationRequest>('POST', '/v1/evidence/clone', proof)
    if (typeof body?.id !== 'string' || typeof body.peerId !== 'string') {
      throw new IssuerClientError('bad-response', 200, 'incomplete revocation request')
    }
    return body
  }

  /**
   * Audit log entries (they name members and their types, so the issuer
   * serves them only to a request signed by a registered admin key; see
   * `admin-request.ts`).
   */
  async auditEntries (admin: { privateKey: KeyObject, publicKey: KeyObject }, options: { from?: number, limit?: number } = {}): Promise<AuditEntry[]> {
    const query = new URLSearchParams()
    if (options.from != null) query.set('from', String(options.from))
    if (options.limit != null) query.set('limit', String(options.limit))
    const path = `/v1/audit/entries${query.size === 0 ? '' : `?${query.toString()}`}`
    // what the issuer sees as the request target: the path under the issuer's URL, exactly as sent
    const target = new URL(this.url + path)
    const { body } = await this.request<{ entries: AuditEntry[] }>('GET', path, undefined, signAdminRequest(admin, 'GET', target.pathname + target.search, this.now()))
    if (!Array.isArray(body?.entries)) {
      throw new IssuerClientError('bad-response', 200, 'no entries in the answer')
    }
    return body.entries
  }
}

/**
 * Where the issuer's private keys live, behind one small port: each key is
 * created and opened by the vault, and the database keeps only what the
 * vault hands back to find it again (`stored`). Two backends:
 *
 * - `sealed` (the default): PKCS#8 sealed with the issuer passphrase
 *   (`sealed-keys.ts`); `stored` is the sealed box.
 * - `pkcs11`: generated inside a PKCS#11 token (never extractable, signs in
 *   the token); `stored` is the key's RFC 7512 URI with its CKA_ID and its
 *   public key, no secret. Each key gets its own object, labelled
 *   `<object>-<role>` with a fresh CKA_ID.
 *
 * Everything the issuer signs goes through the `Ed25519Signer` the vault
 * opens, so no caller knows (or can leak) where a key is.
 */
import { randomBytes } from 'node:crypto'
import { generateEd25519, memorySigner, publicKeyFromRawBytes } from '../core/keys.ts'
import { openPkcs11Key } from '../identity/pkcs11-key.ts'
import { resolvePin } from '../identity/pkcs11-pin.ts'
import { formatPkcs11Uri, parsePkcs11Uri } from '../identity/pkcs11-uri.ts'
import { IssuerError } from './errors.ts'
import { sealKey, unsealKey } from './sealed-keys.ts'
import type { Ed25519Signer } from '../core/keys.ts'
import type { Pkcs11Ed25519Key } from '../identity/pkcs11-key.ts'
import type { Pkcs11Uri } from '../identity/pkcs11-uri.ts'
import type { KeyObject } from 'node:crypto'

/** the `key_backend` meta value of an issuer whose keys are sealed in its database */
export const SEALED_BACKEND = 'sealed'
const MAX_STORED_BYTES = 8192

export interface IssuerKey {
  /** what the database keeps to open the key again */
  stored: string
  signer: Ed25519Signer
  publicKey: KeyObject
}

export interface KeyVaultInit {
  /** `sealed`, or the `pkcs11:` URI of the token and base label the keys are made under */
  backend: string
  passphrase: string
  scryptN?: number
  /** where the token's PIN is looked up (TEMPUS_PKCS11_PIN_FILE, TEMPUS_PKCS11_PIN) */
  env?: NodeJS.ProcessEnv
}

interface Pkcs11Reference {
  backend: 'pkcs11'
  uri: string
  publicKey: string
}

export class KeyVault {
  readonly backend: string
  private readonly init: KeyVaultInit
  private readonly base?: Pkcs11Uri
  private pin?: string
  private readonly opened = new Map<string, IssuerKey>()
  private readonly tokenKeys: Pkcs11Ed25519Key[] = []

  constructor (init: KeyVaultInit) {
    this.init = init
    if (init.backend === SEALED_BACKEND) {
      this.backend = SEALED_BACKEND
    } else {
      const uri = parsePkcs11Uri(init.backend)
      if (uri.object == null) {
        throw new IssuerError('bad-request', 'the issuer\'s PKCS#11 URI must name a base label: object=tempus-issuer (each key gets <object>-<role>)')
      }
      const { id: _id, ...base } = uri
      this.base = base
      this.backend = formatPkcs11Uri(base)
    }
  }

  get inToken (): boolean {
    return this.base != null
  }

  /** Create a new key for `role` (credential, signing-e3, revocation-s2, …). */
  async create (role: string): Promise<IssuerKey> {
    if (this.base == null) {
      const pair = generateEd25519()
      const stored = await sealKey(this.init.passphrase, pair, this.init.scryptN)
      return this.remember(stored, { stored, signer: memorySigner(pair.privateKey), publicKey: pair.publicKey })
    }
    const uri: Pkcs11Uri = { ...this.base, object: `${this.base.object ?? 'tempus-issuer'}-${role}`.slice(0, 128), id: new Uint8Array(randomBytes(16)) }
    const key = openPkcs11Key(uri, { pin: await this.tokenPin(), generate: true })
    this.tokenKeys.push(key)
    const ref: Pkcs11Reference = { backend: 'pkcs11', uri: key.uri, publicKey: Buffer.from(key.publicKey).toString('base64url') }
    const stored = JSON.stringify(ref)
    return this.remember(stored, { stored, signer: key, publicKey: publicKeyFromRawBytes(key.publicKey) })
  }

  /** Open a key the database keeps (`stored`), sealed or in the token; opened once per process. */
  async open (stored: string): Promise<IssuerKey> {
    const held = this.opened.get(stored)
    if (held != null) {
      return held
    }
    let value: any
    try {
      value = stored.length <= MAX_STORED_BYTES ? JSON.parse(stored) : undefined
    } catch {}
    if (value?.backend === 'pkcs11') {
      if (typeof value.uri !== 'string' || typeof value.publicKey !== 'string') {
        throw new IssuerError('bad-request', 'a damaged PKCS#11 key reference in the issuer database; restore it from a backup')
      }
      const key = openPkcs11Key(value.uri, { pin: await this.tokenPin(parsePkcs11Uri(value.uri).pinSource) })
      this.tokenKeys.push(key)
      if (Buffer.from(key.publicKey).toString('base64url') !== value.publicKey) {
        throw new IssuerError('bad-request', `the token's key at ${String(value.uri)} is not the one the issuer database names (another token, or the label reused); put the right token in`)
      }
      return this.remember(stored, { stored, signer: key, publicKey: publicKeyFromRawBytes(key.publicKey) })
    }
    let pair
    try {
      pair = await unsealKey(this.init.passphrase, stored)
    } catch {
      throw new IssuerError('bad-request', 'cannot open the issuer keys: wrong passphrase or corrupted database')
    }
    return this.remember(stored, { stored, signer: memorySigner(pair.privateKey), publicKey: pair.publicKey })
  }

  /** Close the token sessions this vault opened. */
  close (): void {
    for (const key of this.tokenKeys.splice(0)) {
      key.close()
    }
    this.opened.clear()
  }

  private remember (stored: string, key: IssuerKey): IssuerKey {
    this.opened.set(stored, key)
    return key
  }

  private async tokenPin (pinSource?: string): Promise<string> {
    this.pin ??= await resolvePin({ pinSource: pinSource ?? this.base?.pinSource, env: this.init.env })
    return this.pin
  }
}

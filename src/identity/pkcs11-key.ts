/**
 * An Ed25519 key that lives in a PKCS#11 token (PKCS#11 3.0's
 * CKK_EC_EDWARDS / CKM_EDDSA): generated inside the token, sensitive and
 * never extractable, found again by the URI's label or id. Only its public
 * key leaves the token; every signature is made by the token.
 */
import { randomBytes, verify as edVerify } from 'node:crypto'
import pkcs11js from 'pkcs11js'
import { publicKeyFromRawBytes } from '../core/keys.ts'
import { KeyError } from './key-error.ts'
import { acquireModule, ckrOf, releaseModule } from './pkcs11-module.ts'
import { formatPkcs11Uri, parsePkcs11Uri } from './pkcs11-uri.ts'
import type { Ed25519Signer } from '../core/keys.ts'
import type { Pkcs11Module } from './pkcs11-module.ts'
import type { Pkcs11Uri } from './pkcs11-uri.ts'

// PKCS#11 3.0 values that pkcs11js 2.x does not name
export const CKK_EC_EDWARDS = 0x40
export const CKM_EC_EDWARDS_KEY_PAIR_GEN = 0x1055
export const CKM_EDDSA = 0x1057
/** DER of the OID 1.3.101.112 (id-Ed25519), the key's CKA_EC_PARAMS */
const ED25519_OID = Buffer.from('06032b6570', 'hex')
/** the same curve named as a PrintableString, which some tokens report */
const ED25519_NAME = Buffer.concat([Buffer.of(0x13, 12), Buffer.from('edwards25519')])
/** tokens that match a URI, most we look at */
const MAX_OBJECTS = 8

export interface OpenPkcs11KeyOptions {
  /** the token's user PIN (see `resolvePin`) */
  pin: string
  /** create the key pair in the token when no key matches; default false */
  generate?: boolean
}

type Handle = pkcs11js.Handle

function tokenError (what: string, err: unknown): KeyError {
  if (err instanceof KeyError) {
    return err
  }
  return new KeyError('token', `the PKCS#11 token refused to ${what} (${ckrOf(err) ?? 'error'})`)
}

function slotNumber (slot: Handle): number {
  return Number(BigInt('0x' + (Buffer.from(slot).reverse().toString('hex') || '0')))
}

function trimmed (value: string | undefined): string {
  return (value ?? '').replace(/[\s\0]+$/, '')
}

export class Pkcs11Ed25519Key implements Ed25519Signer {
  readonly backend = 'pkcs11' as const
  readonly publicKey: Uint8Array
  /** the URI that finds this key again (canonical, with its CKA_ID; never a PIN) */
  readonly uri: string
  /** true when this call generated the key in the token */
  readonly created: boolean
  private readonly mod: Pkcs11Module
  private readonly reopen: () => { session: Handle, privateKey: Handle }
  private session: Handle
  private privateKey: Handle
  private closed = false

  /** @internal use `openPkcs11Key` */
  constructor (init: { mod: Pkcs11Module, uri: string, created: boolean, publicKey: Uint8Array, session: Handle, privateKey: Handle, reopen: () => { session: Handle, privateKey: Handle } }) {
    this.mod = init.mod
    this.uri = init.uri
    this.created = init.created
    this.publicKey = init.publicKey
    this.session = init.session
    this.privateKey = init.privateKey
    this.reopen = init.reopen
  }

  sign (data: Uint8Array): Uint8Array<ArrayBuffer> {
    if (this.closed) {
      throw new KeyError('token', 'the PKCS#11 key was closed')
    }
    try {
      return this.signOnce(data)
    } catch (err) {
      // a token that was re-plugged or restarted loses sessions and logins: open again once
      const ckr = ckrOf(err)
      if (ckr !== 'CKR_SESSION_HANDLE_INVALID' && ckr !== 'CKR_SESSION_CLOSED' && ckr !== 'CKR_USER_NOT_LOGGED_IN' && ckr !== 'CKR_OBJECT_HANDLE_INVALID' && ckr !== 'CKR_KEY_HANDLE_INVALID') {
        throw tokenError('sign', err)
      }
      try {
        ({ session: this.session, privateKey: this.privateKey } = this.reopen())
        return this.signOnce(data)
      } catch (again) {
        throw tokenError('sign', again)
      }
    }
  }

  private signOnce (data: Uint8Array): Uint8Array<ArrayBuffer> {
    const lib = this.mod.lib
    lib.C_SignInit(this.session, { mechanism: CKM_EDDSA }, this.privateKey)
    const signature = lib.C_Sign(this.session, Buffer.from(data.buffer, data.byteOffset, data.byteLength), Buffer.alloc(64))
    if (signature.length !== 64) {
      throw new KeyError('token', `the PKCS#11 token gave a ${signature.length}-byte signature; Ed25519's is 64`)
    }
    return new Uint8Array(signature)
  }

  close (): void {
    if (this.closed) {
      return
    }
    this.closed = true
    try { this.mod.lib.C_CloseSession(this.session) } catch {}
    releaseModule(this.mod)
  }
}

/** Find (or, with `generate`, create) the Ed25519 key a `pkcs11:` URI names, logged in with the PIN. */
export function openPkcs11Key (uriText: string | Pkcs11Uri, options: OpenPkcs11KeyOptions): Pkcs11Ed25519Key {
  const uri = typeof uriText === 'string' ? parsePkcs11Uri(uriText) : uriText
  const mod = acquireModule(uri.modulePath)
  try {
    const slot = findSlot(mod, uri)
    let created = false
    const attach = (): { session: Handle, privateKey: Handle, publicObject?: Handle } => {
      const session = openSession(mod, slot, options.pin)
      try {
        const privateKey = findOne(mod.lib, session, pkcs11js.CKO_PRIVATE_KEY, uri)
        if (privateKey == null) {
          throw new KeyError('not-found', `no private key ${describeKey(uri)} in the token; create it with: tempus init --key '${formatPkcs11Uri(uri)}'`)
        }
        return { session, privateKey, publicObject: findOne(mod.lib, session, pkcs11js.CKO_PUBLIC_KEY, uri) }
      } catch (err) {
        try { mod.lib.C_CloseSession(session) } catch {}
        throw err
      }
    }
    let found: { session: Handle, privateKey: Handle, publicObject?: Handle }
    try {
      found = attach()
    } catch (err) {
      if (!(err instanceof KeyError && err.code === 'not-found' && options.generate === true)) {
        throw err
      }
      uri.id ??= new Uint8Array(randomBytes(16))
      generate(mod, slot, uri, options.pin)
      created = true
      found = attach()
    }
    const { session, privateKey, publicObject } = found
    try {
      checkPrivateKey(mod.lib, session, privateKey, uri)
      if (publicObject == null) {
        throw new KeyError('unsuitable', `the token holds no public key ${describeKey(uri)} beside the private one; tempus needs both (same label and id)`)
      }
      const publicKey = readPublicKey(mod.lib, session, publicObject, uri)
      if (uri.id == null) {
        const id = attribute(mod.lib, session, privateKey, pkcs11js.CKA_ID)
        if (id.length > 0) {
          uri.id = new Uint8Array(id)
        }
      }
      const key = new Pkcs11Ed25519Key({
        mod,
        uri: formatPkcs11Uri(uri),
        created,
        publicKey,
        session,
        privateKey,
        reopen: () => {
          const again = attach()
          return { session: again.session, privateKey: again.privateKey }
        }
      })
      selfTest(key, uri)
      return key
    } catch (err) {
      try { mod.lib.C_CloseSession(session) } catch {}
      throw err
    }
  } catch (err) {
    releaseModule(mod)
    throw err
  }
}

function describeKey (uri: Pkcs11Uri): string {
  return uri.object != null ? `labelled "${uri.object.slice(0, 64)}"` : `with id ${Buffer.from(uri.id ?? []).toString('hex')}`
}

function findSlot (mod: Pkcs11Module, uri: Pkcs11Uri): Handle {
  let slots: Handle[]
  try {
    slots = mod.lib.C_GetSlotList(true)
  } catch (err) {
    throw tokenError('list its slots', err)
  }
  const matches: Handle[] = []
  const labels: string[] = []
  for (const slot of slots) {
    let info: pkcs11js.TokenInfo
    try {
      info = mod.lib.C_GetTokenInfo(slot)
    } catch {
      continue
    }
    labels.push(trimmed(info.label))
    if ((uri.token == null || trimmed(info.label) === uri.token) &&
      (uri.serial == null || trimmed(info.serialNumber) === uri.serial) &&
      (uri.manufacturer == null || trimmed(info.manufacturerID) === uri.manufacturer) &&
      (uri.model == null || trimmed(info.model) === uri.model) &&
      (uri.slotId == null || slotNumber(slot) === uri.slotId)) {
      matches.push(slot)
    }
  }
  if (matches.length === 0) {
    const seen = labels.length === 0 ? 'no initialised token is present' : `tokens present: ${labels.slice(0, 8).map(l => `"${l}"`).join(', ')}`
    throw new KeyError('not-found', `no PKCS#11 token matches the URI (${seen}); for SoftHSM2: softhsm2-util --init-token --free --label LABEL`)
  }
  if (matches.length > 1) {
    throw new KeyError('not-found', `${matches.length} tokens match the URI; name one with serial=… or slot-id=…`)
  }
  return matches[0] as Handle
}

function openSession (mod: Pkcs11Module, slot: Handle, pin: string): Handle {
  let session: Handle
  try {
    session = mod.lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION)
  } catch (err) {
    throw tokenError('open a session', err)
  }
  try {
    mod.lib.C_Login(session, pkcs11js.CKU_USER, pin)
  } catch (err) {
    const ckr = ckrOf(err)
    if (ckr !== 'CKR_USER_ALREADY_LOGGED_IN') {
      try { mod.lib.C_CloseSession(session) } catch {}
      if (ckr === 'CKR_PIN_INCORRECT' || ckr === 'CKR_PIN_INVALID' || ckr === 'CKR_PIN_LEN_RANGE') {
        throw new KeyError('pin', 'the PKCS#11 token refused the PIN; check TEMPUS_PKCS11_PIN_FILE / TEMPUS_PKCS11_PIN (repeated wrong PINs lock the token)')
      }
      if (ckr === 'CKR_PIN_LOCKED') {
        throw new KeyError('pin', 'the PKCS#11 token\'s user PIN is locked; its security officer must reset it')
      }
      throw tokenError('log in', err)
    }
  }
  return session
}

function findOne (lib: pkcs11js.PKCS11, session: Handle, cls: number, uri: Pkcs11Uri): Handle | undefined {
  const template: pkcs11js.Template = [{ type: pkcs11js.CKA_CLASS, value: cls }]
  if (uri.object != null) template.push({ type: pkcs11js.CKA_LABEL, value: uri.object })
  if (uri.id != null) template.push({ type: pkcs11js.CKA_ID, value: Buffer.from(uri.id) })
  let handles: Handle[]
  try {
    lib.C_FindObjectsInit(session, template)
    try {
      handles = lib.C_FindObjects(session, MAX_OBJECTS)
    } finally {
      lib.C_FindObjectsFinal(session)
    }
  } catch (err) {
    throw tokenError('search its objects', err)
  }
  if (handles.length > 1) {
    throw new KeyError('unsuitable', `${handles.length} keys ${describeKey(uri)} are in the token; add id=… to the URI to name one`)
  }
  return handles[0]
}

function attribute (lib: pkcs11js.PKCS11, session: Handle, object: Handle, type: number): Buffer {
  try {
    const [attr] = lib.C_GetAttributeValue(session, object, [{ type }])
    return Buffer.isBuffer(attr?.value) ? attr.value : Buffer.alloc(0)
  } catch (err) {
    throw tokenError('read a key attribute', err)
  }
}

function flag (lib: pkcs11js.PKCS11, session: Handle, object: Handle, type: number): boolean {
  const v = attribute(lib, session, object, type)
  return v.length > 0 && v[0] !== 0
}

function isEd25519Params (params: Buffer): boolean {
  return params.equals(ED25519_OID) || params.equals(ED25519_NAME)
}

/** Refuse a key that is not Ed25519, cannot sign, or could be copied out of the token. */
function checkPrivateKey (lib: pkcs11js.PKCS11, session: Handle, key: Handle, uri: Pkcs11Uri): void {
  const type = attribute(lib, session, key, pkcs11js.CKA_KEY_TYPE)
  if (type.length === 0 || type.readUIntLE(0, Math.min(type.length, 6)) !== CKK_EC_EDWARDS || !isEd25519Params(attribute(lib, session, key, pkcs11js.CKA_EC_PARAMS))) {
    throw new KeyError('unsuitable', `the key ${describeKey(uri)} is not an Ed25519 key (CKK_EC_EDWARDS on edwards25519); tempus identities are Ed25519`)
  }
  if (!flag(lib, session, key, pkcs11js.CKA_SIGN)) {
    throw new KeyError('unsuitable', `the key ${describeKey(uri)} may not sign (CKA_SIGN is false)`)
  }
  if (flag(lib, session, key, pkcs11js.CKA_EXTRACTABLE) || !flag(lib, session, key, pkcs11js.CKA_SENSITIVE)) {
    throw new KeyError('unsuitable', `the key ${describeKey(uri)} can be read out of the token (CKA_EXTRACTABLE true or CKA_SENSITIVE false): a copyable key is refused; let tempus generate one in the token`)
  }
}

function readPublicKey (lib: pkcs11js.PKCS11, session: Handle, object: Handle, uri: Pkcs11Uri): Uint8Array {
  const point = attribute(lib, session, object, pkcs11js.CKA_EC_POINT)
  // PKCS#11 3.0 wants the 32 bytes in a DER OCTET STRING; some tokens give them bare
  if (point.length === 34 && point[0] === 0x04 && point[1] === 0x20) {
    return new Uint8Array(point.subarray(2))
  }
  if (point.length === 32) {
    return new Uint8Array(point)
  }
  throw new KeyError('unsuitable', `the public key ${describeKey(uri)} is not an Ed25519 point (${point.length} bytes)`)
}

function generate (mod: Pkcs11Module, slot: Handle, uri: Pkcs11Uri, pin: string): void {
  const session = openSession(mod, slot, pin)
  const id = Buffer.from(uri.id ?? randomBytes(16))
  const naming: pkcs11js.Template = uri.object != null ? [{ type: pkcs11js.CKA_LABEL, value: uri.object }, { type: pkcs11js.CKA_ID, value: id }] : [{ type: pkcs11js.CKA_ID, value: id }]
  try {
    mod.lib.C_GenerateKeyPair(session, { mechanism: CKM_EC_EDWARDS_KEY_PAIR_GEN }, [
      { type: pkcs11js.CKA_TOKEN, value: true },
      { type: pkcs11js.CKA_KEY_TYPE, value: CKK_EC_EDWARDS },
      { type: pkcs11js.CKA_EC_PARAMS, value: ED25519_OID },
      { type: pkcs11js.CKA_VERIFY, value: true },
      { type: pkcs11js.CKA_PRIVATE, value: false },
      ...naming
    ], [
      { type: pkcs11js.CKA_TOKEN, value: true },
      { type: pkcs11js.CKA_KEY_TYPE, value: CKK_EC_EDWARDS },
      { type: pkcs11js.CKA_PRIVATE, value: true },
      { type: pkcs11js.CKA_SENSITIVE, value: true },
      { type: pkcs11js.CKA_EXTRACTABLE, value: false },
      { type: pkcs11js.CKA_SIGN, value: true },
      ...naming
    ])
  } catch (err) {
    const ckr = ckrOf(err)
    throw ckr === 'CKR_MECHANISM_INVALID' || ckr === 'CKR_DOMAIN_PARAMS_INVALID' || ckr === 'CKR_CURVE_NOT_SUPPORTED'
      ? new KeyError('unsuitable', `the PKCS#11 token cannot generate Ed25519 keys (${ckr}); it needs PKCS#11 3.0's CKM_EC_EDWARDS_KEY_PAIR_GEN (SoftHSM2 ≥ 2.6 has it)`)
      : tokenError('generate a key pair', err)
  } finally {
    try { mod.lib.C_CloseSession(session) } catch {}
  }
}

/** A public and a private object of one label that are not one pair would sign what nobody can check. */
function selfTest (key: Pkcs11Ed25519Key, uri: Pkcs11Uri): void {
  const probe = randomBytes(32)
  const signature = key.sign(probe)
  if (!edVerify(null, probe, publicKeyFromRawBytes(key.publicKey), signature)) {
    key.close()
    throw new KeyError('unsuitable', `the private and public keys ${describeKey(uri)} in the token are not one pair`)
  }
}

/**
 * One loaded, initialised PKCS#11 library per path and process. A library
 * is initialised once (a second C_Initialize fails), and the login state
 * belongs to the token, not the session: every key opened on one token
 * shares it. Finalised when the last key using it closes.
 */
import pkcs11js from 'pkcs11js'
import { KeyError } from './key-error.ts'

export interface Pkcs11Module {
  readonly path: string
  readonly lib: pkcs11js.PKCS11
  /** tokens of this library this process logged in to (by slot) */
  readonly loggedIn: Set<string>
  refs: number
}

const modules = new Map<string, Pkcs11Module>()

/** The PKCS#11 return-value name of an error thrown by pkcs11js (`CKR_PIN_INCORRECT`, …), or undefined. */
export function ckrOf (err: unknown): string | undefined {
  const m = /\b(CKR_[A-Z_]+)\b/.exec(String((err as Error | undefined)?.message ?? ''))
  return m?.[1]
}

export function acquireModule (path: string): Pkcs11Module {
  let mod = modules.get(path)
  if (mod == null) {
    const lib = new pkcs11js.PKCS11()
    try {
      lib.load(path)
    } catch (err) {
      throw new KeyError('module', `cannot load the PKCS#11 library ${path}: ${((err as Error).message.split('\n')[0] ?? '').slice(0, 200)}; check module-path (e.g. /usr/lib/softhsm/libsofthsm2.so from Debian's softhsm2)`)
    }
    try {
      lib.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK })
    } catch (err) {
      if (ckrOf(err) !== 'CKR_CRYPTOKI_ALREADY_INITIALIZED') {
        try { lib.close() } catch {}
        throw new KeyError('module', `the PKCS#11 library ${path} refused to initialise (${ckrOf(err) ?? 'error'}); for SoftHSM2, check SOFTHSM2_CONF and its tokendir`)
      }
    }
    mod = { path, lib, loggedIn: new Set(), refs: 0 }
    modules.set(path, mod)
  }
  mod.refs++
  return mod
}

export function releaseModule (mod: Pkcs11Module): void {
  mod.refs--
  if (mod.refs > 0 || modules.get(mod.path) !== mod) {
    return
  }
  modules.delete(mod.path)
  try { mod.lib.C_Finalize() } catch {}
  try { mod.lib.close() } catch {}
}

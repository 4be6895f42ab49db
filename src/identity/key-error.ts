import { TempusError } from '../core/tempus-error.ts'

export type KeyErrorCode =
  /** a `pkcs11:` URI that does not parse, or names an attribute this backend does not take */
  | 'bad-uri'
  /** no PIN given, or the PIN was refused by the token */
  | 'pin'
  /** the PKCS#11 module cannot be loaded or initialised */
  | 'module'
  /** no token, or no key, matches the URI */
  | 'not-found'
  /** the key found is not usable: not Ed25519, exportable, or not for signing */
  | 'unsuitable'
  /** the token refused an operation */
  | 'token'
  /** the private key lives in a token and cannot be read out */
  | 'not-exportable'

/** A key backend (file or PKCS#11 token) that cannot give what was asked; the message says what to do. */
export class KeyError extends TempusError {
  override readonly name = 'KeyError'
  readonly code: KeyErrorCode
  constructor (code: KeyErrorCode, message: string) {
    super(message)
    this.code = code
  }
}
